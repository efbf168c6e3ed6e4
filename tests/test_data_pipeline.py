"""The data pipeline on the starter data and on dirty fixtures in all three formats: exact counts per
stage and reason, nothing unaccounted for, byte-identical mixes, and the leakage guard."""

import hashlib
import json
from pathlib import Path

import pytest

from orchestrator.config import parse_config
from orchestrator.data.leakage import LeakageError
from orchestrator.data.mix import MixError
from orchestrator.data.pipeline import add_render_stage, guard_leakage, run_stages, unaccounted, write_outputs

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests/fixtures"


def read_jsonl(name, src):
    """The JSONL reader's contract without `datasets`: (line index, text) of non-blank lines."""
    lines = Path(src.path).read_text(encoding="utf-8").split("\n")
    return [(i, line) for i, line in enumerate(lines) if line.strip()]


def dirty_config(**mix):
    return parse_config({"name": "dirty", "data": {
        "sources": {"openai": {"path": str(FIX / "dirty_openai.jsonl")},
                    "sharegpt": {"path": str(FIX / "dirty_sharegpt.jsonl"), "format": "sharegpt"},
                    "traces": {"path": str(FIX / "dirty_trace.jsonl"), "format": "trace", "max_per_session": 2,
                               "weight": 2}},
        "mix": {"total": 8, "no_tool_ratio": 0.25, "seed": 0, **mix},
        "filter": {"stale_after_s": 3600}}})


def starter_config(**data):
    return parse_config({"name": "s", "data": {"mix": {"total": 64, "no_tool_ratio": 0.15}, **data}})


def test_dirty_fixtures_stage_table_counts_every_reason():
    res = run_stages(dirty_config().data, read_jsonl)
    table = {s["stage"]: (s["rows_in"], s["rows_out"], s["quarantined"], s["not_sampled"]) for s in res.stages}
    assert table == {"read": (34, 34, 0, 0), "normalise": (34, 26, 8, 0), "filter": (26, 14, 12, 0),
                     "dedupe": (14, 12, 2, 0), "cap": (12, 11, 1, 0), "mix": (11, 8, 0, 3)}
    assert res.stage("normalise")["by_check"] == {"bad_structure": 3, "bad_timestamp": 1, "malformed_json": 2,
                                                  "not_an_object": 1, "unrecognised_format": 1}
    assert res.stage("filter")["by_check"] == {
        "arguments_not_object": 1, "empty_assistant_turn": 2, "invalid_arguments": 1, "missing_required_argument": 1,
        "orphan_tool_result": 2, "stale_state": 1, "truncated_assistant_turn": 1, "unknown_tool": 2,
        "unsupported_tool_claim": 1}
    assert res.stage("dedupe")["by_check"] == {"duplicate": 2}
    assert res.stage("cap")["by_check"] == {"over_session_cap": 1}
    where = {q["id"]: (q["stage"], q["check"]) for q in res.quarantine.rows}
    assert where == {
        "openai:2": ("normalise", "malformed_json"), "openai:3": ("normalise", "not_an_object"),
        "openai:4": ("normalise", "unrecognised_format"), "openai:5": ("normalise", "bad_structure"),
        "sharegpt:3": ("normalise", "malformed_json"), "sharegpt:5": ("normalise", "bad_structure"),
        "traces:5": ("normalise", "bad_timestamp"), "traces:6": ("normalise", "bad_structure"),
        "openai:6": ("filter", "unknown_tool"), "openai:7": ("filter", "arguments_not_object"),
        "openai:8": ("filter", "missing_required_argument"), "openai:9": ("filter", "invalid_arguments"),
        "openai:10": ("filter", "empty_assistant_turn"), "openai:11": ("filter", "truncated_assistant_turn"),
        "openai:12": ("filter", "orphan_tool_result"), "openai:13": ("filter", "unsupported_tool_claim"),
        "sharegpt:4": ("filter", "orphan_tool_result"), "sharegpt:7": ("filter", "unknown_tool"),
        "traces:4": ("filter", "stale_state"), "traces:7": ("filter", "empty_assistant_turn"),
        "openai:14": ("dedupe", "duplicate"), "sharegpt:6": ("dedupe", "duplicate"),
        "traces:2": ("cap", "over_session_cap")}
    reasons = {q["id"]: q["reason"] for q in res.quarantine.rows}
    assert reasons["openai:14"] == reasons["sharegpt:6"] == "duplicate of openai:0"
    assert reasons["traces:4"] == "message 2: tool result 14400 s older than the final user turn (limit 3600 s)"
    assert reasons["openai:9"].endswith("'kelvin' is not one of ['celsius', 'fahrenheit']")
    # the raw row travels with its reason
    assert json.loads(next(q["raw"] for q in res.quarantine.rows if q["id"] == "openai:3")) == [1, 2]


def test_dirty_fixtures_leave_no_row_unaccounted():
    res = run_stages(dirty_config().data, read_jsonl)
    assert unaccounted(res.stages) == []
    read = {f"{name}:{i}" for name, src in dirty_config().data.sources.items() for i, _ in read_jsonl(name, src)}
    mixed, quarantined = {r["id"] for r in res.rows}, {q["id"] for q in res.quarantine.rows}
    assert len(read) == 34
    assert mixed | quarantined | set(res.not_sampled) == read
    assert not (mixed & quarantined) and not (mixed & set(res.not_sampled)) and not (quarantined & set(res.not_sampled))
    assert sorted(mixed) == ["openai:0", "openai:16", "openai:17", "sharegpt:1", "traces:0", "traces:1", "traces:3",
                             "traces:8"]


def test_a_row_no_rule_foresaw_is_quarantined_with_its_error_not_a_failed_build(monkeypatch):
    """The safety net under the named checks: whatever a row's shape makes the reader or a filter
    raise, that row lands in quarantine with the error's text and is counted; the rest go on."""
    from orchestrator.data import pipeline

    real_normalise, real_problem = pipeline.normalise, pipeline.row_problem

    def normalise(raw, source, index, *args):  # stand-ins for a reader and a filter bug on one row each
        if (source, index) == ("openai", 0):
            raise TypeError("unhashable type: 'list'")
        return real_normalise(raw, source, index, *args)

    def row_problem(row, *args):
        if row["id"] == "openai:16":
            raise KeyError("function")
        return real_problem(row, *args)

    monkeypatch.setattr(pipeline, "normalise", normalise)
    monkeypatch.setattr(pipeline, "row_problem", row_problem)
    res = run_stages(dirty_config().data, read_jsonl)
    assert unaccounted(res.stages) == []
    unreadable = {q["id"]: (q["stage"], q["reason"]) for q in res.quarantine.rows if q["check"] == "unreadable_row"}
    assert unreadable == {"openai:0": ("normalise", "cannot be read (TypeError: unhashable type: 'list')"),
                          "openai:16": ("filter", "cannot be read (KeyError: 'function')")}
    assert {"openai:0", "openai:16"}.isdisjoint(r["id"] for r in res.rows)


def test_dirty_mix_quotas_follow_weights_and_no_tool_ratio():
    res = run_stages(dirty_config().data, read_jsonl)
    quota = {(t["category"], t["source"]): (t["available"], t["quota"], t["selected"], t["shortfall"])
             for t in res.mix_table}
    # 8 rows: 2 no-tool, 6 tool; weights 1:1:2 among the sources that have rows of the category
    assert quota == {("no_tool", "openai"): (2, 1, 1, 0), ("no_tool", "sharegpt"): (1, 0, 0, 0),
                     ("no_tool", "traces"): (1, 1, 1, 0), ("tool", "openai"): (2, 2, 2, 0),
                     ("tool", "sharegpt"): (2, 1, 1, 0), ("tool", "traces"): (3, 3, 3, 0)}


def test_shortfall_is_reported_or_fails():
    res = run_stages(dirty_config(total=20).data, read_jsonl)
    short = {(t["category"], t["source"]): t["shortfall"] for t in res.mix_table if t["shortfall"]}
    # 20 rows: 5 no-tool (quotas 1/1/3 of 2/1/1 available), 15 tool (quotas 4/4/7 of 2/2/3 available)
    assert short == {("no_tool", "traces"): 2, ("tool", "openai"): 2, ("tool", "sharegpt"): 2, ("tool", "traces"): 4}
    assert res.stage("mix")["rows_out"] == 10 and unaccounted(res.stages) == []
    with pytest.raises(MixError, match="tool/traces: quota 7, available 3"):
        run_stages(dirty_config(total=20, on_shortfall="fail").data, read_jsonl)


def test_honesty_ratio_draws_from_the_honesty_track():
    cfg = parse_config({"name": "h", "data": {
        "sources": {"starter": {"path": str(ROOT / "data/starter/train.jsonl")},
                    "honest": {"path": str(FIX / "dirty_trace.jsonl"), "format": "trace", "track": "honesty"}},
        "mix": {"total": 20, "honesty_ratio": 0.25, "no_tool_ratio": 0.1}}})
    res = run_stages(cfg.data, read_jsonl)
    got = {(t["category"], t["source"]): (t["quota"], t["selected"]) for t in res.mix_table}
    assert got == {("honesty", "honest"): (5, 5), ("no_tool", "starter"): (2, 2), ("tool", "starter"): (13, 13)}
    assert sum(r["meta"]["track"] == "honesty" for r in res.rows) == 5


def test_starter_mix_stage_table():
    res = run_stages(starter_config().data, read_jsonl)
    table = [(s["stage"], s["rows_in"], s["rows_out"], s["quarantined"], s["not_sampled"]) for s in res.stages]
    assert table == [("read", 346, 346, 0, 0), ("normalise", 346, 346, 0, 0), ("filter", 346, 346, 0, 0),
                     ("dedupe", 346, 346, 0, 0), ("cap", 346, 346, 0, 0), ("mix", 346, 64, 0, 282)]
    assert [(t["category"], t["available"], t["selected"]) for t in res.mix_table] == [("no_tool", 53, 10),
                                                                                       ("tool", 293, 54)]


def test_render_stage_joins_the_table():
    res = run_stages(starter_config().data, read_jsonl)
    dropped = res.rows[:3]
    for r in dropped:  # what orchestrator.train.trainer.tokenize does for a row over max_length
        res.quarantine.add(r["meta"]["source"], r["meta"]["row"], "render", "over_max_length", "2000 tokens > 1024", r)
    add_render_stage(res, res.rows[3:])
    assert res.stages[-1] == {"stage": "render", "rows_in": 64, "rows_out": 61, "quarantined": 3, "not_sampled": 0,
                              "by_check": {"over_max_length": 3}}
    assert unaccounted(res.stages) == []


def test_same_config_writes_byte_identical_files(tmp_path):
    a = write_outputs(run_stages(starter_config().data, read_jsonl), tmp_path / "a")
    b = write_outputs(run_stages(starter_config().data, read_jsonl), tmp_path / "b")
    assert (tmp_path / "a/train.jsonl").read_bytes() == (tmp_path / "b/train.jsonl").read_bytes()
    assert a["fingerprint"] == b["fingerprint"] and len(a["fingerprint"]) == 64
    other = parse_config({"name": "s", "data": {"mix": {"total": 64, "no_tool_ratio": 0.15, "seed": 1}}})
    c = write_outputs(run_stages(other.data, read_jsonl), tmp_path / "c")
    assert c["file_sha256"] != a["file_sha256"] and c["config_sha256"] != a["config_sha256"]
    stages = json.loads((tmp_path / "a/stages.json").read_text())
    assert stages["unaccounted"] == [] and stages["summary"]["by_category"]["no_tool"] == {"rows": 10, "share": 0.1562}


def test_dirty_quarantine_file_has_one_line_per_row(tmp_path):
    res = run_stages(dirty_config().data, read_jsonl)
    out = write_outputs(res, tmp_path)
    lines = [json.loads(line) for line in out["quarantine"].read_text().splitlines()]
    assert len(lines) == 23
    assert set(lines[0]) == {"source", "row", "id", "stage", "check", "reason", "raw"}


def test_starter_passes_the_leakage_guard_against_dev_and_test():
    cfg = starter_config(leakage={"eval_sets": [str(ROOT / "evals/sets/test.jsonl")]}, mix={"total": None})
    res = run_stages(cfg.data, read_jsonl)
    assert len(res.rows) == 346
    assert guard_leakage(res.rows, cfg.data) == []


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    """One cache for the shipped sweeps: the tokenizer and the generated sources they share are made once."""
    return tmp_path_factory.mktemp("cache")


@pytest.mark.parametrize("sweep", sorted(p.name for p in (ROOT / "sweeps").glob("*.yaml")
                                          if "variants:" not in p.read_text()))
def test_every_shipped_sweep_mix_passes_its_leakage_check(sweep, shared_cache):
    """Each shipped sweep's own mix (generated sources made afresh) against its eval sets: every
    context sweep once failed its data stage on one dev probe whose request the honesty generator
    also wrote (the two shared starter.py's write-file texts)."""
    from orchestrator.config import load_config
    from orchestrator.recipes.trial import build_data

    cfg = load_config(ROOT / "sweeps" / sweep)
    assert guard_leakage(build_data(cfg, shared_cache).rows, cfg.data) == []


def test_starter_heldout_leaks_and_names_the_cases():
    cfg = starter_config(eval=str(ROOT / "data/starter/heldout.jsonl"), mix={"total": None})
    res = run_stages(cfg.data, read_jsonl)
    with pytest.raises(LeakageError) as err:
        guard_leakage(res.rows, cfg.data)
    msg = str(err.value)
    assert msg.startswith("eval cases overlap the training mix (9 ngram, 92 arguments)")
    assert "case 'starter-0078' ~ train starter:146, starter:151: 100% of its 8-word shingles" in msg
    allowed = parse_config({"name": "s", "data": {"eval": str(ROOT / "data/starter/heldout.jsonl"),
                                                  "leakage": {"allow": ["ngram", "arguments"]}}})
    assert len(guard_leakage(res.rows, allowed.data)) == 101


def test_exact_leak_is_caught(tmp_path):
    row = json.loads((ROOT / "data/starter/train.jsonl").read_text().splitlines()[0])
    from evals.cases import case_from_example
    case = case_from_example(row)
    case["expected"]["calls"], case["scenario"] = [], "no_tool_needed"  # only the request is shared
    (tmp_path / "eval.jsonl").write_text(json.dumps(case) + "\n")
    cfg = starter_config(eval=str(tmp_path / "eval.jsonl"), mix={"total": None})
    res = run_stages(cfg.data, read_jsonl)
    with pytest.raises(LeakageError, match=r"exact: .* case 'starter-0000' ~ train starter:0: same user text"):
        guard_leakage(res.rows, cfg.data)


def test_apportion_and_categories():
    from orchestrator.data.mix import apportion, category

    assert apportion(10, {"a": 1.0, "b": 1.0, "c": 1.0}) == {"a": 4, "b": 3, "c": 3}  # tie: first listed
    assert apportion(7, {"a": 1.0, "b": 2.0}) == {"a": 2, "b": 5}
    assert apportion(5, {"a": 0.0}) == {"a": 0}
    chat = {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    assert category({**chat, "meta": {"track": None}}) == "no_tool"
    assert category({**chat, "meta": {"track": "long_context", "source_track": "honesty"}}) == "honesty"
    assert category({**chat, "meta": {"track": "honesty"}}) == "honesty"


def test_a_short_case_copied_into_a_longer_request_leaks():
    """A case under 8 words has no 8-word run to share; its words inside a training row's request
    ("Quick one: What's 18% of 114?") are a leak all the same. Fewer than 4 words are not compared."""
    from orchestrator.data.leakage import find_leaks

    def row(rid: str, text: str) -> dict:
        return {"id": rid, "messages": [{"role": "user", "content": text}, {"role": "assistant", "content": "ok"}]}

    def case(cid: str, text: str) -> dict:
        return {"id": cid, "messages": [{"role": "user", "content": text}], "expected": {"calls": []}, "tools": []}

    train = [row("t:0", "Quick one: what's 18% of 114? Thanks!"), row("t:1", "Thanks a lot, that helps.")]
    leaks = find_leaks(train, {"test": [case("c1", "What's 18% of 114?"), case("c2", "Thanks a lot"),
                                        case("c3", "What's 18% of 115?")]})
    assert [(lk.kind, lk.case_id, lk.train_ids) for lk in leaks] == [("ngram", "c1", ("t:0",))]


def _mix_row(rid: str, source: str, kind: str) -> dict:
    msgs = [{"role": "user", "content": rid}]
    if kind == "tool":
        msgs.append({"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "f", "arguments": {}}}]})
    msgs.append({"role": "assistant", "content": "done."})
    return {"id": rid, "messages": msgs, "meta": {"source": source, "track": "honesty" if kind == "honesty" else None}}


def test_mix_targets_sum_to_the_total_and_an_empty_weighted_source_shows_its_shortfall():
    from orchestrator.data.mix import MixSpec, build_mix

    rows = [_mix_row(f"a{i}", "a", kind) for i, kind in enumerate(["tool"] * 10 + ["no_tool"] * 10 + ["honesty"] * 10)]
    # 7 at 0.5 / 0.5: rounding gave 4 + 4 (8 rows for a total of 7); the tool share is 0
    mixed, _, table = build_mix(rows, MixSpec(7, {"a": 1.0}, 0.5, 0.5, 0))
    assert len(mixed) == 7 and all(t["quota"] >= 0 for t in table)
    assert not any(t["category"] == "tool" and t["selected"] for t in table)
    # a weighted source none of whose rows survived keeps its share, as a shortfall
    mixed, _, table = build_mix(rows, MixSpec(20, {"a": 1.0, "b": 1.0}, 0.5, 0.0, 0))
    b_rows = [t for t in table if t["source"] == "b"]
    assert len(mixed) == 10 and sum(t["shortfall"] for t in b_rows) == 10
    with pytest.raises(Exception, match="b: quota"):
        build_mix(rows, MixSpec(20, {"a": 1.0, "b": 1.0}, 0.5, 0.0, 0, on_shortfall="fail"))


def test_dedupe_keeps_the_copy_that_can_be_trained():
    """A weight-0 source listed first held copies of trained rows: those clean rows were quarantined as
    its duplicates and its own copies were never sampled, so neither was trained."""
    from orchestrator.data.dedupe import dedupe

    ref, real = _mix_row("ref:0", "ref", "tool"), _mix_row("real:0", "real", "tool")
    real["messages"][0]["content"] = ref["messages"][0]["content"] = "same request"
    for row in (ref, real):
        row["tools"] = []
    kept, dropped = dedupe([ref, real], frozenset({"ref"}))
    assert [r["id"] for r in kept] == ["real:0"] and [(r["id"], first) for r, first in dropped] == [("ref:0", "real:0")]
    kept, _ = dedupe([ref, real])  # no untrained source: the first copy, as before
    assert [r["id"] for r in kept] == ["ref:0"]


def test_a_weighted_source_whose_drawn_rows_all_fail_rendering_fails_the_build():
    """A long-context source longer than train.max_length: the mix drew its rows, rendering
    quarantined every one, and the build exited 0 with the track silently gone from training."""
    from orchestrator.data.pipeline import DataResult, add_render_stage, empty_mix_problem
    from orchestrator.data.quarantine import Quarantine

    rows = [{"meta": {"source": src, "row": i}} for src, i in (("starter", 0), ("starter", 1), ("long", 0), ("long", 1))]
    table = [{"category": "all", "source": src, "weight": 1.0, "available": 2, "quota": 2, "selected": 2,
              "shortfall": 0} for src in ("starter", "long")]
    result = DataResult(rows, Quarantine(), [], table, "sha")
    assert empty_mix_problem(result, 1024) is None
    for r in rows[2:]:
        result.quarantine.add("long", r["meta"]["row"], "render", "over_max_length", "3100 tokens > 1024", r)
    add_render_stage(result, rows[:2])
    problem = empty_mix_problem(result, 1024)
    assert problem and "data source 'long' (weight 1) has no usable row (over_max_length 2" in problem


def test_a_mix_category_whose_drawn_rows_all_fail_rendering_fails_the_build():
    """A blind probe: 60 tools offered six at a time rendered past max_length, so all 200 tool rows were
    quarantined and a no_tool_ratio of 0.2 trained as 1.0, exit 0."""
    from orchestrator.data.pipeline import DataResult, add_render_stage, empty_mix_problem
    from orchestrator.data.quarantine import Quarantine

    def row(i, calls):
        msgs = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "" if calls else "a",
                                                    **({"tool_calls": [{"function": {"name": "f"}}]} if calls else {})}]
        return {"messages": msgs, "meta": {"source": "gen", "row": i}}
    rows = [row(0, True), row(1, True), row(2, False)]
    table = [{"category": c, "source": "gen", "weight": 1.0, "available": n, "quota": n, "selected": n, "shortfall": 0}
             for c, n in (("tool", 2), ("no_tool", 1))]
    result = DataResult(rows, Quarantine(), [], table, "sha")
    assert empty_mix_problem(result, 1024) is None
    for r in rows[:2]:
        result.quarantine.add("gen", r["meta"]["row"], "render", "over_max_length", "1381 tokens > 1024", r)
    add_render_stage(result, rows[2:])
    assert empty_mix_problem(result, 1024) == (
        "the mix drew 2 tool row(s) and rendering quarantined every one (over_max_length 2; raise train.max_length "
        "1024, or offer fewer tools per row): the trial would train without that category")


def test_an_argument_leak_names_the_training_tool_the_value_is_an_argument_of():
    """A blind probe: a namespace 'payments' of scale_deployment in training was reported as a value of
    the case's create_ticket, with nothing naming the training side."""
    from orchestrator.data.leakage import find_leaks

    train = [{"id": "t:0", "messages": [{"role": "user", "content": "Scale the payments deployment to 3."},
                                        {"role": "assistant", "content": "", "tool_calls": [{"function": {
                                            "name": "scale_deployment", "arguments": {"namespace": "payments"}}}]}]}]
    case = {"id": "c1", "messages": [{"role": "user", "content": "Open a ticket in PAYMENTS about the outage."}],
            "expected": {"calls": [{"name": "create_ticket", "arguments": {"project": "PAYMENTS"}}]}, "tools": []}
    (leak,) = find_leaks(train, {"test": [case]})
    assert (leak.kind, leak.train_ids) == ("arguments", ("t:0",))
    assert leak.detail == ("argument value 'PAYMENTS' of 'create_ticket' is an argument of 'scale_deployment' in "
                           "training too (compared in any case)")


def test_the_config_hash_covers_a_toolset_sources_yaml_file(tmp_path):
    """An edited request template changes the rows; the config half of the fingerprint stayed the same."""
    from orchestrator.config import DataConfig
    from orchestrator.data.pipeline import config_sha256

    toolset = tmp_path / "ts.yaml"
    toolset.write_text((ROOT / "data/toolsets/starter.yaml").read_text())
    cfg = DataConfig.model_validate({"sources": {"ts": {"generate": {"kind": "toolset", "toolset": str(toolset),
                                                                     "count": 10}}}})
    before = config_sha256(cfg, {"ts": None})
    toolset.write_text(toolset.read_text().replace("What's the weather like in", "What is the weather like in"))
    assert config_sha256(cfg, {"ts": None}) != before
    plain = DataConfig.model_validate({"sources": {"s": {"path": "data/starter/train.jsonl"}}})
    assert config_sha256(plain, {"s": "ab"}) == hashlib.sha256(json.dumps(   # configs without one: the hash as before
        {"config": plain.model_dump(mode="json", include={"sources", "mix", "filter", "dedupe"}),
         "source_sha256": {"s": "ab"}}, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
