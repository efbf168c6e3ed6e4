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


RAY_WRAPPED = ("\x1b[36mray::ImplicitFunc.train()\x1b[39m (pid=32174, ip=127.0.0.1, repr=run_sweep_trial)\n"
               "           ^^^^^^^^^^^^^^^^^^^^\n  File \"/x/ray/tune/trainable/trainable.py\", line 331, in train\n"
               "    raise skipped from exception_cause(skipped)\n"
               "ray.exceptions.RayTaskError(DataError): ray::ImplicitFunc.train()\n"
               "orchestrator.errors.DataError: data source 'starter' (/d/train.jsonl): no such file or directory\n")


def test_a_failed_trials_reason_is_its_last_exception_line_without_module_path_or_colour():
    """The summary's `error` was Ray's traceback header cut at 300 characters, colour codes and all."""
    from orchestrator.search.report import failure_reason

    assert failure_reason(RAY_WRAPPED) == "DataError: data source 'starter' (/d/train.jsonl): no such file or directory"
    assert failure_reason("no space left on device during epoch 1 export") == "no space left on device during epoch 1 export"
    assert failure_reason("Traceback (most recent call last):\n  File \"x\"\nKeyboardInterrupt") == "KeyboardInterrupt"
    assert failure_reason("") is None and failure_reason(None) is None


def test_a_sweep_with_no_finished_trial_exits_1_and_prints_each_reason(capsys):
    from orchestrator.cli import _sweep_outcome

    failed = {"objectives": {"tool_f1": "max"}, "pareto_front": [], "parent_run_id": "p", "experiment_dir": "/e",
              "trials": [{"trial_id": t, "status": "error", "epoch": None, "config": {},
                          "error": "DataError: data source 'starter': no such file"} for t in ("a", "b")]}
    assert _sweep_outcome(failed, None) == 1
    said = capsys.readouterr()
    assert said.out.count("failed: DataError: data source 'starter': no such file") == 2
    assert "error: no trial of the sweep finished (2 error;" in said.err
    ok = {**failed, "trials": [*failed["trials"][:1], {**SUMMARY["trials"][0], "trial_id": "c"}], "pareto_front": ["c"]}
    assert _sweep_outcome(ok, None) == 0   # one finished trial: the sweep did its work (the failure is listed)


def test_tunes_per_attempt_traceback_becomes_the_line_with_its_reason():
    import logging
    import sys

    from orchestrator.recipes.sweep import _OneLineFailure

    try:
        raise RuntimeError(RAY_WRAPPED)
    except RuntimeError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("ray.tune.execution.tune_controller", logging.ERROR, "x.py", 1,
                               "Trial task failed for trial %s", ("t1",), exc_info)
    assert _OneLineFailure().filter(record) and record.exc_info is None
    assert record.getMessage() == ("Trial task failed for trial t1: DataError: data source 'starter' (/d/train.jsonl): "
                                   "no such file or directory")
