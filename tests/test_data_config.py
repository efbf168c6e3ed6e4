"""Data knobs in the sweep YAML: validation, sweepable mix weights and no-tool ratio, MLflow params,
the mix fingerprint and dataset lineage in a real MLflow store, and the source readers."""

import json
from pathlib import Path

import pytest

from orchestrator.errors import DataError
from orchestrator.config import ConfigError, flat_params, parse_config, sampled_config
from orchestrator.search.space import space_spec

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests/fixtures"

TWO_SOURCES = {"sources": {"starter": {"path": "data/starter/train.jsonl"},
                           "traces": {"path": "tests/fixtures/dirty_trace.jsonl", "format": "trace"}},
               "mix": {"total": 32, "no_tool_ratio": 0.15}}


def test_mix_weights_and_no_tool_ratio_are_sweepable():
    cfg = parse_config({"name": "s", "data": TWO_SOURCES, "search_space": {
        "data.sources.traces.weight": {"uniform": [0.5, 2.0]}, "data.mix.no_tool_ratio": {"uniform": [0.1, 0.2]}}})
    assert [d.key for d in space_spec(cfg.search_space)] == ["data.mix.no_tool_ratio", "data.sources.traces.weight"]
    trial = sampled_config(cfg.model_dump(mode="json"), {"data.sources.traces.weight": 1.5, "data.mix.no_tool_ratio": 0.125})
    assert trial.data.sources["traces"].weight == 1.5 and trial.data.sources["starter"].weight == 1.0
    assert trial.data.mix.no_tool_ratio == 0.125
    params = flat_params(trial)
    assert params["data.sources.traces.weight"] == 1.5 and params["data.mix.no_tool_ratio"] == 0.125


@pytest.mark.parametrize("space, message", [
    ({"data.sources.nope.weight": {"choice": [1.0]}}, "search_space key 'data.sources.nope.weight' names no config field"),
    ({"data.sources.starter.wieght": {"choice": [1.0]}}, "names no config field"),
])
def test_search_keys_into_sources_are_checked(space, message):
    with pytest.raises(ConfigError, match=message):
        parse_config({"name": "s", "data": TWO_SOURCES, "search_space": space})


def test_ratios_and_weights_need_a_total():
    with pytest.raises(ConfigError, match="needs a data.mix.total"):
        parse_config({"name": "s", "search_space": {"data.mix.no_tool_ratio": {"uniform": [0.1, 0.2]}}})
    with pytest.raises(ConfigError, match="no_tool_ratio and honesty_ratio need a mix.total"):
        parse_config({"name": "s", "data": {"mix": {"no_tool_ratio": 0.1}}})
    with pytest.raises(ConfigError, match="source weights need a mix.total"):
        parse_config({"name": "s", "data": {"sources": {"a": {"path": "x.jsonl", "weight": 2}}}})
    with pytest.raises(ConfigError, match="must not exceed 1"):
        parse_config({"name": "s", "data": {"mix": {"total": 5, "no_tool_ratio": 0.6, "honesty_ratio": 0.5}}})


def test_a_long_context_source_longer_than_max_length_is_refused_before_compute():
    long = {"sources": {"starter": {"path": "data/starter/train.jsonl"}, "long": {"generate": {
        "kind": "long_context", "count": 3, "target_tokens": 3000}}}, "mix": {"total": 32}}
    with pytest.raises(ConfigError, match=r"data.sources.long.generate.target_tokens 3000 is more than "
                                          r"train.max_length 1024: every row of the source would be quarantined"):
        parse_config({"name": "s", "data": long, "train": {"max_length": 1024}})
    assert parse_config({"name": "s", "data": long, "train": {"max_length": 4096}})
    weightless = {**long, "sources": {**long["sources"], "long": {**long["sources"]["long"], "weight": 0}}}
    assert parse_config({"name": "s", "data": weightless, "train": {"max_length": 1024}})


def test_source_names_and_locations_are_validated():
    with pytest.raises(ConfigError, match=r"source names may hold letters, digits, '_' and '-' only: \['my.src'\]"):
        parse_config({"name": "s", "data": {"sources": {"my.src": {"path": "x.jsonl"}}}})
    with pytest.raises(ConfigError, match="exactly one of `path`"):
        parse_config({"name": "s", "data": {"sources": {"a": {"path": "x.jsonl", "hub": "org/ds"}}}})
    with pytest.raises(ConfigError, match=r"data.filter.skip.0: Input should be"):
        parse_config({"name": "s", "data": {"filter": {"skip": ["spelling"]}}})


def test_mix_params_fingerprint_and_lineage_reach_mlflow(tmp_path):
    from mlflow.tracking import MlflowClient

    from orchestrator.config import TrackingConfig
    from orchestrator.data.pipeline import metrics, run_stages, write_outputs
    from orchestrator.tracking import Tracker
    from orchestrator.recipes.trial import Inputs, log_data
    from tests.test_data_pipeline import read_jsonl

    cfg = parse_config({"name": "s", "data": TWO_SOURCES, "search_space": {
        "data.sources.traces.weight": {"uniform": [0.5, 2.0]}}})
    cfg = sampled_config(cfg.model_dump(mode="json"), {"data.sources.traces.weight": 0.75})
    tracker = Tracker(TrackingConfig(uri=f"sqlite:///{tmp_path}/mlflow.db", artifact_root=tmp_path / "art",
                                     experiment="data"))
    run_id = tracker.start_run("r")
    tracker.log_params(run_id, flat_params(cfg))
    data = run_stages(cfg.data, read_jsonl)
    out = write_outputs(data, tmp_path / "data")
    (tmp_path / "data/leakage.json").write_text("[]\n")
    inputs = Inputs("base", "", "", None, None, [], data.quarantine, metrics(data), data, out)
    log_data(tracker, run_id, inputs)
    run = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db").get_run(run_id)
    p = run.data.params
    assert (p["data.sources.traces.weight"], p["data.sources.starter.weight"], p["data.mix.no_tool_ratio"]) == \
        ("0.75", "1.0", "0.15")
    assert run.data.tags["toolsweep.data.fingerprint"] == out["fingerprint"]
    m = run.data.metrics
    assert m["data.stage.read.rows_in"] == 346 + 9
    short = sum(t["shortfall"] for t in data.mix_table)
    assert short > 0 and m["data.stage.mix.rows_out"] == 32 - short == len(data.rows)
    assert sum(v for k, v in m.items() if k.startswith("data.mix.") and k.endswith(".shortfall")) == short
    assert m["data.quarantine.bad_structure"] == 1 and m["data.quarantine.bad_timestamp"] == 1
    by_name = {i.dataset.name: i for i in run.inputs.dataset_inputs}
    assert set(by_name) == {"source:starter", "source:traces", "training-mix"}
    assert by_name["training-mix"].dataset.digest == out["fingerprint"][:16]
    assert {t.value for t in by_name["training-mix"].tags} == {"training"}
    assert by_name["source:starter"].dataset.digest == out["source_sha256"]["starter"][:16]
    arts = {a.path for a in MlflowClient(f"sqlite:///{tmp_path}/mlflow.db").list_artifacts(run_id, "data")}
    assert arts == {"data/train.jsonl", "data/quarantine.jsonl", "data/stages.json", "data/stages.md",
                    "data/leakage.json"}


def test_readers_agree_across_jsonl_streaming_parquet_and_saved_datasets(tmp_path):
    import datasets

    from orchestrator.data.normalise import normalise
    from orchestrator.data.sources import read_records

    lines = (FIX / "dirty_sharegpt.jsonl").read_text().splitlines()
    plain = list(read_records(str(FIX / "dirty_sharegpt.jsonl"), None, "train", None, False, tmp_path))
    streamed = list(read_records(str(FIX / "dirty_sharegpt.jsonl"), None, "train", None, True, tmp_path))
    assert plain == streamed == list(enumerate(lines))
    good = [json.loads(line) for line in (ROOT / "data/starter/train.jsonl").read_text().splitlines()[:5]]
    as_columns = [{"id": r["id"], "messages": json.dumps(r["messages"]), "tools": json.dumps(r["tools"])} for r in good]
    ds = datasets.Dataset.from_list(as_columns)
    ds.to_parquet(str(tmp_path / "rows.parquet"))
    ds.save_to_disk(str(tmp_path / "saved"))
    for path in (tmp_path / "rows.parquet", tmp_path / "saved"):
        for streaming in (False, True):
            records = list(read_records(str(path), None, "train", None, streaming, tmp_path))
            assert [i for i, _ in records] == [0, 1, 2, 3, 4]
            rows = [normalise(raw, "p", i) for i, raw in records]
            assert [r["meta"]["original_id"] for r in rows] == [r["id"] for r in good]
            assert rows[0]["tools"] == good[0]["tools"] and rows[0]["messages"][1] == good[0]["messages"][1]
    with pytest.raises(DataError, match="missing.jsonl: no such file or directory"):
        read_records(str(tmp_path / "missing.jsonl"), None, "train", None, False, tmp_path)


def test_data_command_prints_the_stage_table_and_fails_on_a_leak(tmp_path):
    import os
    import subprocess
    import sys

    cfg = {"name": "dirty", "data": {
        "sources": {"openai": {"path": str(FIX / "dirty_openai.jsonl")},
                    "sharegpt": {"path": str(FIX / "dirty_sharegpt.jsonl"), "format": "sharegpt"},
                    "traces": {"path": str(FIX / "dirty_trace.jsonl"), "format": "trace", "max_per_session": 2,
                               "weight": 2},
                    "starter": {"path": str(ROOT / "data/starter/train.jsonl"), "weight": 0}},
        "mix": {"total": 8, "no_tool_ratio": 0.25}, "filter": {"stale_after_s": 3600},
        "eval": str(ROOT / "data/starter/heldout.jsonl")}}
    (tmp_path / "dirty.yaml").write_text(json.dumps(cfg))
    res = subprocess.run([sys.executable, "-m", "orchestrator.cli", "data", str(tmp_path / "dirty.yaml"), "--out",
                          str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "COLUMNS": "200"})
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:6]]
            for line in res.stdout.splitlines() if line.startswith("│") and line.split("│")[1].strip() in
            ("read", "normalise", "filter", "dedupe", "cap", "mix")}
    # the weight-0 starter source is read, filtered and deduped, then never sampled
    assert rows == {"read": ["380", "380", "0", "0"], "normalise": ["380", "372", "8", "0"],
                    "filter": ["372", "360", "12", "0"], "dedupe": ["360", "358", "2", "0"],
                    "cap": ["358", "357", "1", "0"], "mix": ["357", "8", "0", "349"]}, res.stdout
    assert len((tmp_path / "out/train.jsonl").read_text().splitlines()) == 8
    assert len((tmp_path / "out/quarantine.jsonl").read_text().splitlines()) == 23
    # no starter row is sampled, so the heldout cases find nothing of theirs in the mix
    assert res.returncode == 0, res.stderr[-2000:]
    assert "leakage check: passed" in res.stdout
    leaky = subprocess.run([sys.executable, "-m", "orchestrator.cli", "data", str(tmp_path / "dirty.yaml"), "--out",
                            str(tmp_path / "out2"), "--set", "data.mix.total=300",
                            "--set", "data.sources.starter.weight=100"],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert leaky.returncode == 2
    err = " ".join(leaky.stderr.split())  # rich wraps long lines
    assert "leakage check failed: eval cases overlap the training mix (" in err
    assert "data/starter/heldout.jsonl case 'starter-" in err
    # the report beside the leaking mix is this run's: every blocking leak, not an earlier run's "[]"
    leaks = json.loads((tmp_path / "out2/leakage.json").read_text())
    assert leaks and all(lk["blocking"] for lk in leaks) and any("heldout" in lk["eval_set"] for lk in leaks)
