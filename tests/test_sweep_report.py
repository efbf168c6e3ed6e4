"""The sweep as the MLflow UI shows it: child states, the parent's summary metrics and description."""

from orchestrator.search.report import best_metrics, child_state, parent_note

SUMMARY = {"objectives": {"tool_f1": "max", "median_latency_s": "min"}, "pareto_front": ["a"],
           "trials": [{"trial_id": "a", "status": "ok", "epoch": 3, "tool_f1": 0.5, "median_latency_s": 0.4,
                       "config": {"train.learning_rate": 0.0002}},
                      {"trial_id": "b", "status": "ok", "epoch": 1, "tool_f1": 0.2, "median_latency_s": 0.3,
                       "config": {"train.learning_rate": 0.001}},
                      {"trial_id": "c", "status": "error", "epoch": None, "config": {"train.learning_rate": 0.01}}]}


def test_child_states_read_as_phrases():
    assert child_state("ok", 3, 3) == "finished"
    assert child_state("ok", 1, 3) == "stopped early at epoch 1"
    assert child_state("ok", 3, 3, retries=2) == "finished; retried 2 times"
    assert child_state("error", None, None, 1, "Traceback ...\nOSError: [Errno 28] No space left on device") == \
        "failed: OSError: [Errno 28] No space left on device; retried 1 time"


def test_best_metrics_follow_each_direction_and_skip_failed_trials():
    assert best_metrics(SUMMARY) == {"best.tool_f1": 0.5, "best.median_latency_s": 0.3,
                                     "trials.finished": 2, "trials.failed": 1}


def test_parent_note_has_the_table_front_and_decision():
    promotion = {"promote": False, "trial_id": "a", "against": "base", "primary_quant": "q4_k_m",
                 "eval_set": "evals/sets/test.jsonl", "reasons": ["guard regressed credibly (no_tool_accuracy)"],
                 "rows": {"tool_f1": {"a": 0.15, "b": 0.38, "diff": 0.23, "ci95": [0.11, 0.34], "credible": True}}}
    note = parent_note("smoke", SUMMARY, {"b": "stopped early at epoch 1"}, promotion)
    assert "| a * | ok | 0.5 | 0.4 | 0.0002 |" in note and "| b | stopped early at epoch 1 |" in note
    assert "**Pareto front:** a" in note and "**NOT PROMOTED**" in note
    assert note.splitlines()[2] == ("**Best:** tool_f1 0.5 (trial a), median_latency_s 0.3 (trial b) · "
                                    "**NOT PROMOTED** (trial a against the base)")
    assert "| tool_f1 | 0.15 | 0.38 | +0.230 | [+0.110, +0.340] | yes |" in note
    assert "- guard regressed credibly (no_tool_accuracy)" in note
