"""Generated sources (`data.sources.<name>.generate`): validation, determinism, the cache, and their
rows flowing through the same stages as file sources (honesty quota filled from a generated source)."""

from pathlib import Path

import pytest

from orchestrator.config import ConfigError, GenerateConfig, parse_config
from orchestrator.data.generated import cache_key, generate_rows
from orchestrator.train.chat_template import load_template

TEMPLATE = load_template("toolchat")


def _no_tokenizer():
    raise AssertionError("only long-context generation needs a tokenizer")


@pytest.mark.parametrize("gen, message", [
    ({"kind": "long_context", "count": 2}, "long_context needs target_tokens"),
    ({"kind": "toolset", "count": 2}, "toolset needs toolset"),
    ({"kind": "honesty", "count": 0}, "greater than 0"),
    ({"kind": "poems", "count": 2}, "Input should be 'long_context', 'honesty', 'judgment' or 'toolset'"),
])
def test_generate_config_errors_name_the_source(gen, message):
    with pytest.raises(ConfigError, match=message) as err:
        parse_config({"name": "s", "data": {"sources": {"gen": {"generate": gen}}}})
    assert "data.sources.gen.generate" in str(err.value)


def test_path_and_generate_together_are_refused():
    with pytest.raises(ConfigError, match="exactly one of `path`"):
        parse_config({"name": "s", "data": {"sources": {"a": {"path": "x.jsonl",
                                                               "generate": {"kind": "honesty", "count": 3}}}}})


def test_rows_are_deterministic_tracked_and_keyed_by_their_config():
    gen = GenerateConfig(kind="honesty", count=12, seed=3)
    a, b = generate_rows(gen, TEMPLATE, _no_tokenizer), generate_rows(gen, TEMPLATE, _no_tokenizer)
    assert a == b and len(a) == 12 and {r["meta"]["track"] for r in a} == {"honesty"}
    toolset = GenerateConfig(kind="toolset", count=20, toolset="data/toolsets/starter.yaml")
    rows = generate_rows(toolset, TEMPLATE, _no_tokenizer)
    assert len(rows) == 20 and all(r["meta"]["track"] == "toolset" for r in rows)
    keys = {cache_key(gen, TEMPLATE), cache_key(gen.model_copy(update={"count": 13}), TEMPLATE),
            cache_key(gen.model_copy(update={"seed": 4}), TEMPLATE), cache_key(gen, TEMPLATE + " "),
            cache_key(toolset, TEMPLATE)}
    assert len(keys) == 5


@pytest.mark.parametrize("kind, edited_module", [
    ("judgment", "judgment.py"),  # the kind's own generator
    ("honesty", "starter.py"),    # a module it draws intents and slot pools from
])
def test_cache_key_follows_every_generator_source(tmp_path, monkeypatch, kind, edited_module):
    """An edited or upgraded generator makes its rows again, also when the change is in a module the
    kind imports: honesty rows cached before starter.py's write-file texts changed kept a request
    the dev set fills, and every context sweep failed its leakage check."""
    import shutil

    from orchestrator.data import generated

    gen = GenerateConfig(kind=kind, count=12)
    before = cache_key(gen, TEMPLATE)
    copy = tmp_path / "generators"
    shutil.copytree(generated.GENERATORS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(generated, "GENERATORS", copy)
    assert cache_key(gen, TEMPLATE) == before  # the same sources, the same key
    (copy / edited_module).write_bytes((copy / edited_module).read_bytes() + b"# changed\n")
    assert cache_key(gen, TEMPLATE) != before


def test_generated_honesty_source_fills_the_honesty_quota(tmp_path):
    from orchestrator.recipes.trial import build_data

    cfg = parse_config({"name": "s", "data": {
        "sources": {"starter": {"path": "data/starter/train.jsonl"},
                    "honesty": {"generate": {"kind": "honesty", "count": 30, "seed": 1}}},
        "mix": {"total": 40, "no_tool_ratio": 0.1, "honesty_ratio": 0.25, "seed": 0}}})
    result = build_data(cfg, tmp_path)
    cached = list((tmp_path / "generated").glob("honesty-*.jsonl"))
    assert len(cached) == 1 and len(cached[0].read_text().splitlines()) == 30
    tracks = [r["meta"].get("track") for r in result.rows]
    assert len(result.rows) == 40 and tracks.count("honesty") == 10
    assert result.stage("read")["rows_in"] == 346 + 30
    again = build_data(cfg, tmp_path)  # from the cache now: the same mix
    assert [r["id"] for r in again.rows] == [r["id"] for r in result.rows]
