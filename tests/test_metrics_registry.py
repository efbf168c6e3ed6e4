"""The one metric table (evals/metrics.py) covers every number the harness reports, and every reader
(config validation, gate, cards, scorer denominators) takes its names from it."""

import pytest

from evals import metrics
from evals.harness import build_report
from orchestrator.release.cards import HEADLINE_ROWS
from orchestrator.config import GATE_METRICS, OBJECTIVE_METRICS, parse_config
from orchestrator.errors import ConfigError
from orchestrator.release.gate import direction_of


def _call(i, scenario="single", no_tool=False, called=True, ok=True):
    return {"id": f"c{i}", "scenario": scenario, "kind": "call", "tp": int(called and not no_tool), "fp": int(called and no_tool),
            "fn": 0, "no_tool_expected": no_tool, "called_tool": called, "parse_ok": ok, "tool_correct": called != no_tool,
            "args_exact": called and not no_tool, "schema_valid": called, "key_tp": 1, "key_fp": 0, "key_fn": 0,
            "lenient_tool_correct": True, "expected": [], "output": "", "latency_s": 0.1, "completion_tokens": 1,
            "prompt_tokens": 1, **{f"attribution_{t}": None for t in ("strict", "lenient")}}


def test_every_reported_metric_is_in_the_table_and_back():
    records = [_call(0), _call(1, no_tool=True, called=False), _call(2, scenario="multi")]
    report = build_report(records)
    produced = {k for k in report["metrics"] if k != "n_cases"}
    in_table = {n for n, m in metrics.METRICS.items() if m.source in ("calls", "probes") and n != "bfcl_accuracy"}
    assert produced == in_table
    assert set(report["ci95"]) >= set(metrics.REPORTED)


def test_readers_take_their_names_from_the_table():
    assert OBJECTIVE_METRICS == metrics.OBJECTIVES and GATE_METRICS == metrics.GATED
    assert {n for n, _ in HEADLINE_ROWS} <= set(metrics.METRICS)
    assert all(label == metrics.METRICS[n].label for n, label in HEADLINE_ROWS)
    for name, m in metrics.METRICS.items():
        assert direction_of(name) == m.direction
    assert direction_of("n_cases") == "max"  # a count outside the table


def test_denominators():
    scores = [_call(0), _call(1, no_tool=True, called=False), _call(2, no_tool=True, called=True)]
    assert metrics.measured_count("no_tool_accuracy", scores) == 2
    assert metrics.measured_count("argument_exact_match", scores) == 1
    assert metrics.measured_count("schema_validity", scores) == 2
    # F1 counts the cases that add to its tp + fp + fn: not a no-tool case answered without a call
    assert metrics.measured_count("tool_f1", scores) == 2
    assert metrics.measured_count("tool_recall", scores) == 1 and metrics.measured_count("tool_precision", scores) == 2
    assert metrics.measured_count("parse_success", scores) == 3


def test_a_metric_outside_the_table_is_refused_by_name():
    with pytest.raises(ConfigError, match="bfcl_accuracy"):
        parse_config({"name": "x", "search": {"objectives": {"bfcl_accuracy": "max"}}}, "x.yaml")
    with pytest.raises(ConfigError, match="gguf_size_mb"):
        parse_config({"name": "x", "promote": {"guards": ["gguf_size_mb"]}}, "x.yaml")
