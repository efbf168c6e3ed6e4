"""Registry against a real MLflow SQLite store with constructed runs (no training): a sweep's trials
read back at their last epoch, champion/previous aliases, and a second candidate that is not credibly
better leaves the champion in place."""

import json

import pytest

from fake_reports import report
from orchestrator.release import registry
from orchestrator.config import PromoteConfig, SweepConfig, TrackingConfig
from orchestrator.recipes.promote import decide
from orchestrator.release.gate import choose_candidate, variant_fronts

STATS = {"seed": 0, "n_resamples": 300, "confidence": 0.95}
PROMOTE = PromoteConfig(family="fam", primary="tool_f1", guards=["no_tool_accuracy"], quant_types=["q4_k_m"])


@pytest.fixture(scope="module")
def tracker(tmp_path_factory):
    """One store for the module: creating MLflow's SQLite schema takes seconds."""
    from orchestrator.tracking import Tracker
    tmp = tmp_path_factory.mktemp("mlflow")
    return Tracker(TrackingConfig(uri=f"sqlite:///{tmp}/mlflow.db", artifact_root=tmp / "artifacts", experiment="reg"))


def _sweep(tracker, name="s4k"):
    cfg = SweepConfig(name=name, train={"max_length": 4096}, quantize={"types": ["q4_k_m"]},
                      search={"objectives": {"tool_f1": "max", "no_tool_accuracy": "max"}})
    parent = tracker.start_run(f"{name}-x", tags={"toolsweep.kind": "sweep", "toolsweep.sweep": name})
    tracker.log_dict(parent, cfg.model_dump(mode="json"), "sweep_config.json")
    epochs = {"t1": [(0.5, 0.9), (0.7, 0.9)], "t2": [(0.6, 0.95), (0.6, 1.0)], "t3": [(0.9, 0.2)]}
    status = {"t1": "finished", "t2": "stopped_early", "t3": "failed"}
    for tid, history in epochs.items():
        run = tracker.start_run(f"{name}-{tid}", parent_run_id=parent, tags={
            "toolsweep.kind": "trial", "toolsweep.trial_id": tid, "toolsweep.context": "4096",
            "toolsweep.status": status[tid]})
        tracker.log_params(run, {"train.lora.rank": 8})
        for epoch, (f1, nt) in enumerate(history, start=1):
            tracker.log_metrics(run, {"dev/tool_f1": f1, "dev/no_tool_accuracy": nt,
                                      "dev/gguf_size_mb": 100.0}, step=epoch)
    return parent


def test_sweep_trials_read_last_epoch_and_find_parent(tracker, tmp_path):
    parent = _sweep(tracker, "s4k-read")
    client = tracker.client
    assert registry.find_sweep_parent(client, tracker.experiment_id, "s4k-read") == parent
    assert registry.find_sweep_parent(client, tracker.experiment_id, parent) == parent
    (tmp_path / "sweepdir").mkdir()
    (tmp_path / "sweepdir" / registry.STATE_FILE).write_text(json.dumps({"parent_run_id": parent}))
    assert registry.find_sweep_parent(client, tracker.experiment_id, str(tmp_path / "sweepdir")) == parent
    with pytest.raises(LookupError):
        registry.find_sweep_parent(client, tracker.experiment_id, "no-such-sweep")
    objectives = {"tool_f1": "max", "no_tool_accuracy": "max"}
    trials = registry.sweep_trials(client, tracker.experiment_id, parent, objectives)
    got = {t["trial_id"]: (t["status"], t["context"], t["metrics"]["tool_f1"], t["metrics"]["no_tool_accuracy"])
           for t in trials}
    assert got == {"t1": ("finished", 4096, 0.7, 0.9), "t2": ("stopped_early", 4096, 0.6, 1.0),
                   "t3": ("failed", 4096, 0.9, 0.2)}
    front = variant_fronts(trials, objectives)["4k"]
    assert [t["trial_id"] for t in front] == ["t1", "t2"]  # t3 failed: never a candidate
    assert choose_candidate(front, "tool_f1", ["no_tool_accuracy"], objectives)["trial_id"] == "t1"
    assert registry.sweep_config(client, parent)["name"] == "s4k-read"


def _promotion_run(tracker, parent, rep, tag):
    run = tracker.start_run(f"promote-{tag}", parent_run_id=parent, tags={"toolsweep.kind": "promotion"})
    tracker.log_dict(run, rep, "eval/tuned-q4_k_m.json")
    return run


def test_champion_aliases_and_gate_against_the_registry(tracker, tmp_path):
    client = tracker.client
    parent = _sweep(tracker)
    base = report({"single_tool": (10, 40), "no_tool": (8, 10)})
    first = report({"single_tool": (20, 40), "no_tool": (8, 10)})
    # first promotion: no champion, gated against the base (20/40 vs 10/40 on the same cases)
    from evals.harness import compare_reports
    decision, current = decide(client, PROMOTE, "4k", first, compare_reports(base, first, **STATS), STATS, tmp_path / "c")
    assert current is None and decision.against == "base" and decision.promote
    v1, prev = registry.register(client, "fam", "4k", _promotion_run(tracker, parent, first, "1"),
                                 {"toolsweep.trial_id": "t1", "metric.q4_k_m.tool_f1": "0.5"}, "first")
    assert (v1, prev) == ("1", None)

    # second candidate: one more case right (21/40) -- not credibly better: champion stays
    second = report({"single_tool": (21, 40), "no_tool": (8, 10)})
    decision, current = decide(client, PROMOTE, "4k", second, [], STATS, tmp_path / "c2")
    assert str(current.version) == "1" and decision.against == "champion" and decision.promote is False
    assert decision.rows["tool_f1"]["credible"] is False
    assert str(client.get_model_version_by_alias("fam", "champion-4k").version) == "1"
    with pytest.raises(Exception):
        client.get_model_version_by_alias("fam", "previous-4k")

    # third: 36/40 right, no-tool unchanged -- credibly better, so it takes the alias
    third = report({"single_tool": (36, 40), "no_tool": (8, 10)})
    decision, _ = decide(client, PROMOTE, "4k", third, [], STATS, tmp_path / "c3")
    assert decision.promote is True and decision.rows["tool_f1"]["ci95"][0] > 0
    v3, prev = registry.register(client, "fam", "4k", _promotion_run(tracker, parent, third, "3"),
                                 {"toolsweep.trial_id": "t9"}, "third")
    assert (v3, prev) == ("2", "1")

    from mlflow.tracking import MlflowClient
    fresh = MlflowClient(tracking_uri=tracker.uri)
    assert str(fresh.get_model_version_by_alias("fam", "champion-4k").version) == "2"
    assert str(fresh.get_model_version_by_alias("fam", "previous-4k").version) == "1"
    mv = fresh.get_model_version("fam", "2")
    assert mv.tags["toolsweep.trial_id"] == "t9" and mv.tags["toolsweep.variant"] == "4k"
    assert {k: str(v.version) for k, v in registry.champions(fresh, "fam").items()} == {"4k": "2"}

    # a candidate that improves the primary but credibly loses no-tool accuracy is refused
    fourth = report({"single_tool": (40, 40), "no_tool": (0, 10)})
    decision, _ = decide(client, PROMOTE, "4k", fourth, [], STATS, tmp_path / "c4")
    assert decision.promote is False and any(r.startswith("guard regressed credibly (no_tool_accuracy")
                                             for r in decision.reasons)


def test_auto_promote_reports_a_failure_without_failing_the_sweep(tracker):
    """`promote: auto` on a sweep whose trials all failed: an error record and a tag on the parent."""
    from orchestrator.recipes.promote import auto_promote

    parent = _sweep(tracker, "s4k-allfailed")
    for run in tracker.client.search_runs([tracker.experiment_id], f"tags.`mlflow.parentRunId` = '{parent}'"):
        tracker.set_tags(run.info.run_id, {"toolsweep.status": "failed"})
    tracker.end_run(parent, "FINISHED")
    cfg = SweepConfig(name="s4k-allfailed", tracking=TrackingConfig(uri=tracker.uri, experiment="reg"),
                      promote={"mode": "auto", "family": "fam-auto"})
    lines = []
    record = auto_promote(cfg, parent, log=lines.append)
    assert record["error"].startswith("PromotionError: sweep s4k-allfailed")
    assert "no finished trial with tool_f1 on the Pareto front (3 trials, statuses ['failed'])" in record["error"]
    run = tracker.client.get_run(parent)
    assert run.info.status == "FINISHED" and run.data.tags["toolsweep.promotion_error"] == record["error"]
    assert lines == [f"promotion failed: {record['error']}"]


def _register_killed_at(client, tracker, parent, family, alias_call: int):
    """register() with the process 'killed' (KeyboardInterrupt) at its alias_call-th alias write."""
    calls = {"n": 0}
    real = client.set_registered_model_alias

    def dying(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == alias_call:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    client.set_registered_model_alias = dying
    try:
        with pytest.raises(KeyboardInterrupt):
            registry.register(client, family, "4k", _promotion_run(tracker, parent, report({"a": (1, 2)}), "k"), {}, "k")
    finally:
        del client.set_registered_model_alias


def test_a_promotion_killed_between_alias_writes_is_untouched_or_completed(tracker):
    client = tracker.client
    parent = _sweep(tracker, "kill")
    aliases = lambda: {k: str(v) for k, v in client.get_registered_model("fam-kill").aliases.items()}  # noqa: E731
    for _ in range(2):  # champion v2, previous v1
        registry.register(client, "fam-kill", "4k", _promotion_run(tracker, parent, report({"a": (1, 2)}), "x"), {}, "x")
    assert aliases() == {"champion-4k": "2", "previous-4k": "1"}

    # killed before the champion alias moved: a version without an alias, the aliases untouched
    _register_killed_at(client, tracker, parent, "fam-kill", alias_call=1)
    assert aliases() == {"champion-4k": "2", "previous-4k": "1"}
    assert registry.finish_alias_moves(client, "fam-kill") == []

    # killed after the champion moved (v4) but before previous followed: the next read completes the move
    _register_killed_at(client, tracker, parent, "fam-kill", alias_call=2)
    assert aliases() == {"champion-4k": "4", "previous-4k": "1"}
    assert {k: str(v.version) for k, v in registry.champions(client, "fam-kill").items()} == {"4k": "4"}
    assert aliases() == {"champion-4k": "4", "previous-4k": "2"}
