"""Eval reports built from constructed per-case records (no model): the real `build_report`
aggregates them, so metrics, CIs, per-scenario and attribution tables are the harness's own."""

from evals.harness import build_report


def call_record(cid: str, scenario: str, correct: bool, no_tool: bool = False,
                cause: str = "model_decision_failure") -> dict:
    if no_tool:
        called, tp, fp, fn = (False, 0, 0, 0) if correct else (True, 0, 1, 0)
    else:
        called, tp, fp, fn = (True, 1, 0, 0) if correct else (True, 0, 1, 1)
    return {"id": cid, "scenario": scenario, "kind": "call", "parse_ok": True, "no_tool_expected": no_tool,
            "called_tool": called, "tp": tp, "fp": fp, "fn": fn, "tool_correct": correct, "args_exact": correct,
            "schema_valid": True, "key_tp": tp, "key_fp": fp, "key_fn": fn, "lenient_tool_correct": correct,
            "attribution_strict": None if correct else cause, "attribution_lenient": None if correct else cause,
            "latency_s": 1.0, "completion_tokens": 10, "prompt_tokens": 100}


def probe_record(cid: str, outcome: str, kind: str = "single") -> dict:
    return {"id": cid, "scenario": "fabrication_probe", "kind": "probe", "probe_kind": kind, "outcome": outcome,
            "rounds": 1 if outcome != "retried_to_exhaustion" else 3, "outputs": [""], "output": "",
            "latency_s": 1.0, "completion_tokens": 10, "prompt_tokens": 100}


def report(correct_by_scenario: dict[str, tuple[int, int]], probes: dict[str, int] | None = None,
           no_tool_scenario: str = "no_tool") -> dict:
    """`{"single_tool": (9, 10)}` = 9 of 10 correct; case ids are stable, so two reports pair up."""
    records = []
    for scenario, (ok, n) in correct_by_scenario.items():
        for i in range(n):
            records.append(call_record(f"{scenario}-{i:03d}", scenario, i < ok, no_tool=scenario == no_tool_scenario))
    i = 0
    for outcome, n in (probes or {}).items():
        for _ in range(n):
            records.append(probe_record(f"probe-{i:03d}", outcome, "single" if i % 2 == 0 else "repeated"))
            i += 1
    return build_report(records, seed=0)
