"""Strict scoring of parsed calls against a case's expected calls.

Tool selection compares the multiset of tool names (parallel calls are unordered).
Arguments compare exactly after the schema's defaults are filled in on both sides, so
omitting `unit: celsius` where celsius is the default is not an error.
"""

from __future__ import annotations

import json
from collections import Counter

from evals.parser import Parsed


def tool_schemas(tools: list[dict]) -> dict[str, dict]:
    out = {}
    for t in tools:
        fn = t.get("function", t)
        out[fn["name"]] = fn.get("parameters") or {}
    return out


def with_defaults(arguments: dict, schema: dict) -> dict:
    filled = dict(arguments)
    for key, prop in (schema.get("properties") or {}).items():
        if key not in filled and isinstance(prop, dict) and "default" in prop:
            filled[key] = prop["default"]
    return filled


def _canonical(call: dict, schemas: dict[str, dict]) -> str:
    args = with_defaults(call.get("arguments") or {}, schemas.get(call["name"], {}))
    return json.dumps([call["name"], args], sort_keys=True)


def score_case(case: dict, parsed: Parsed) -> dict:
    """Per-case facts, all plain numbers and booleans, ready to aggregate."""
    expected = case["expected"]["calls"]
    predicted = parsed.calls if parsed.ok else []
    exp_names, pred_names = Counter(c["name"] for c in expected), Counter(c["name"] for c in predicted)
    tp = sum((exp_names & pred_names).values())
    schemas = tool_schemas(case["tools"])
    args_exact = Counter(_canonical(c, schemas) for c in expected) == Counter(_canonical(c, schemas) for c in predicted)
    tool_correct = exp_names == pred_names and parsed.ok
    return {
        "id": case["id"],
        "scenario": case.get("scenario", "unknown"),
        "parse_ok": parsed.ok,
        "no_tool_expected": not expected,
        "called_tool": bool(predicted),
        "tp": tp,
        "fp": sum(pred_names.values()) - tp,
        "fn": sum(exp_names.values()) - tp,
        "tool_correct": tool_correct,
        "args_exact": bool(tool_correct and args_exact),
    }


def _ratio(num: float, den: float) -> float | None:
    return num / den if den else None


def aggregate(scores: list[dict]) -> dict[str, float | None]:
    """Headline metrics over a list of `score_case` results (None where undefined)."""
    tp = sum(s["tp"] for s in scores)
    fp = sum(s["fp"] for s in scores)
    fn = sum(s["fn"] for s in scores)
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    no_tool = [s for s in scores if s["no_tool_expected"]]
    with_tool = [s for s in scores if not s["no_tool_expected"]]
    return {
        "n_cases": float(len(scores)),
        "parse_success": _ratio(sum(s["parse_ok"] for s in scores), len(scores)),
        "tool_selection_accuracy": _ratio(sum(s["tool_correct"] for s in scores), len(scores)),
        "tool_precision": precision,
        "tool_recall": recall,
        "tool_f1": f1,
        "no_tool_accuracy": _ratio(sum(not s["called_tool"] and s["parse_ok"] for s in no_tool), len(no_tool)),
        "argument_exact_match": _ratio(sum(s["args_exact"] for s in with_tool), len(with_tool)),
    }


def per_scenario(scores: list[dict]) -> dict[str, dict[str, float | None]]:
    groups: dict[str, list[dict]] = {}
    for s in scores:
        groups.setdefault(s["scenario"], []).append(s)
    return {name: aggregate(group) for name, group in sorted(groups.items())}
