from pathlib import Path

import pytest

from orchestrator.config import ConfigError, load_config, parse_config, parse_override

ROOT = Path(__file__).resolve().parent.parent


def test_shipped_smoke_config_loads():
    cfg = load_config(ROOT / "sweeps/smoke.yaml")
    assert cfg.name == "smoke"
    assert cfg.model.base == "smollm2-135m"
    assert cfg.quantize.types == ["q4_k_m"]


def test_unknown_key_names_file_and_key_path(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("name: x\ntrain:\n  lora:\n    rnak: 8\n")
    with pytest.raises(ConfigError) as err:
        load_config(f)
    msg = str(err.value)
    assert str(f) in msg
    assert "train.lora.rnak: unknown key" in msg


def test_wrong_type_names_key(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("name: x\ntrain:\n  learning_rate: fast\n")
    with pytest.raises(ConfigError, match=r"train\.learning_rate: Input should be a valid number"):
        load_config(f)


def test_every_problem_is_listed(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("name: x\nepochs: 3\nquantize:\n  types: [q3_xs]\n")
    msg = str(pytest.raises(ConfigError, load_config, f).value)
    assert "2 problem(s)" in msg
    assert "epochs: unknown key" in msg
    assert "quantize.types: unknown quant type(s) ['q3_xs']" in msg


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="no such sweep file"):
        load_config(tmp_path / "nope.yaml")
    f = tmp_path / "broken.yaml"
    f.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(f)


def test_search_space_keys_must_name_fields():
    ok = parse_config({"name": "s", "search_space": {"train.learning_rate": {"loguniform": [5e-5, 2e-4]},
                                                     "train.lora.rank": {"choice": [8, 16]}}})
    assert set(ok.search_space) == {"train.learning_rate", "train.lora.rank"}
    with pytest.raises(ConfigError, match="search_space key 'train.lr' names no config field"):
        parse_config({"name": "s", "search_space": {"train.lr": {"choice": [1]}}})


@pytest.mark.parametrize("section", ["train.lora", "train", "data.sources", "data.sources.starter", "eval"])
def test_a_search_space_key_that_names_a_section_is_refused(section):
    """A draw of a whole section replaced it (dropping keys such as top_layers) and skipped the checks made
    before compute: a missing eval set or an impossible target module passed check-config."""
    with pytest.raises(ConfigError, match=rf"search_space key '{section}' names a section, not a field"):
        parse_config({"name": "s", "data": {"sources": {"starter": {"path": "data/starter/train.jsonl"}}},
                      "search_space": {section: {"choice": [{}]}}})


@pytest.mark.parametrize("key, value", [("train.bf16", "yes"), ("train.bf16", "on"), ("train.bf16", 1),
                                        ("train.gradient_checkpointing", "NO"), ("quantize.keep_f16", "n"),
                                        ("data.leakage.check", "no"), ("eval.compare_base", 0)])
def test_a_switch_takes_only_true_or_false(tmp_path, key, value):
    """The loader keeps `on`/`NO`/`yes` as words (YAML 1.2), but pydantic then read them as booleans:
    `data.leakage.check: "no"` turned the leakage guard off without a word."""
    with pytest.raises(ConfigError, match=rf"{key}: expected true or false, got {value!r}"):
        load_config(ROOT / "sweeps/smoke.yaml", {key: value})
    assert load_config(ROOT / "sweeps/smoke.yaml", {key: False}) is not None
    assert load_config(ROOT / "sweeps/smoke.yaml", {"data.leakage.allow": ["exact"]}).data.leakage.allow == ["exact"]


def test_overrides_are_yaml_values(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("name: x\n")
    cfg = load_config(f, dict([parse_override("train.epochs=2"), parse_override("quantize.types=[q8_0, q4_k_m]")]))
    assert cfg.train.epochs == 2
    assert cfg.quantize.types == ["q8_0", "q4_k_m"]
    with pytest.raises(ConfigError, match="must look like"):
        parse_override("train.epochs")


@pytest.mark.parametrize("name", ["smoke", "context4k", "context16k", "context32k"])
def test_every_shipped_sweep_loads(name):
    cfg = load_config(ROOT / f"sweeps/{name}.yaml")
    assert cfg.search.objectives and cfg.search_space
    if name.startswith("context"):
        assert cfg.model.base == "Qwen/Qwen3.5-4B"
        assert cfg.train.max_length == {"context4k": 4096, "context16k": 16384, "context32k": 32768}[name]
        assert cfg.train.lora.resolved_alpha == 2 * cfg.train.lora.rank


def test_alpha_follows_rank():
    cfg = parse_config({"name": "s", "train": {"lora": {"rank": 24, "alpha": "2x_rank"}}})
    assert cfg.train.lora.resolved_alpha == 48
    with pytest.raises(ConfigError, match="train.lora.alpha: alpha must be a positive int"):
        parse_config({"name": "s", "train": {"lora": {"alpha": "double"}}})


def test_a_searched_honesty_ratio_beside_a_natural_no_tool_share_loads():
    """no_tool_ratio null (the natural share, no quota) counts as 0 when the largest draws are summed."""
    cfg = parse_config({"name": "x", "data": {"mix": {"total": 40, "honesty_ratio": 0.2}},
                        "search_space": {"data.mix.honesty_ratio": {"uniform": [0.1, 0.3]}}})
    assert cfg.data.mix.no_tool_ratio is None


def test_set_can_address_a_dotted_search_space_key(tmp_path):
    """`--set search_space.train.lora.rank.choice=[8, 16]`: the key is itself dotted, so the override
    finds it (the last part names the distribution); before, it made a `train` key under search_space."""
    f = tmp_path / "c.yaml"
    f.write_text("name: x\n")
    cfg = load_config(f, dict([parse_override("search_space.train.lora.rank.choice=[8, 16]"),
                               parse_override("search_space.train.epochs={choice: [1, 2]}")]))
    assert set(cfg.search_space) == {"train.lora.rank", "train.epochs"}
    assert cfg.search_space["train.lora.rank"].choice == [8, 16]


def test_set_of_a_whole_section_merges_into_it_and_a_mapping_field_is_replaced():
    smoke = ROOT / "sweeps/smoke.yaml"
    merged = load_config(smoke, {"train": {"epochs": 2, "lora": {"rank": 8}}})
    fixed = load_config(smoke)
    assert merged.train.epochs == 2 and merged.train.lora.rank == 8
    assert (merged.train.learning_rate, merged.train.lora.top_layers, merged.train.lora.target_modules) == (
        fixed.train.learning_rate, fixed.train.lora.top_layers, fixed.train.lora.target_modules)
    added = load_config(smoke, {"data.sources.extra": {"path": str(ROOT / "data/starter/heldout.jsonl"), "weight": 0}})
    assert list(added.data.sources) == ["starter", "judgment", "honesty", "extra"]
    replaced = load_config(smoke, {"search.objectives": {"tool_f1": "max"}, "search.rung_weights": {}})
    assert replaced.search.objectives == {"tool_f1": "max"}
