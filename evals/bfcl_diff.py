"""Differential check: our BFCL-rules scorer (`evals.bfcl.bfcl_match`) against the official BFCL
AST checker (`evals.bfcl_official.official_match`), on every case of every category, fed the
ground truth and systematic perturbations of it (some still correct, most not).

    python -m evals.bfcl_diff [--limit N] [--show K] [category ...]

prints the agreement rate per category and exits non-zero on any disagreement.
"""

from __future__ import annotations

import argparse
import copy
import sys
from typing import Any

from evals.bfcl import CATEGORIES, bfcl_match, find_function, is_irrelevance, load_category, standardise
from evals.bfcl_official import official_match

MAX_ALTERNATIVES = 3  # alternative accepted values tried per parameter
_DUMMY = {"string": "example", "integer": 1, "float": 1.5, "boolean": True, "array": [], "tuple": [],
          "dict": {}, "any": "example"}


def _deep_norm(value: Any) -> Any:
    if isinstance(value, str):
        return standardise(value)
    if isinstance(value, list):
        return [_deep_norm(v) for v in value]
    if isinstance(value, dict):
        return {k: _deep_norm(v) for k, v in value.items()}
    return value


def _accepted(value: Any, accepted: list) -> bool:
    """Loosely, whether `value` is among the accepted values (literally or after normalising)."""
    norm = _deep_norm(value)
    return any(value == a or norm == _deep_norm(a) for a in accepted)


def _changed(value: Any) -> Any:
    """A value of the same kind that differs from `value`."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1000003
    if isinstance(value, float):
        return value + 1000.5
    if isinstance(value, str):
        return f"{value} zq9"
    if isinstance(value, list):
        return value + [copy.deepcopy(value[-1])] if value else ["zq9"]
    if isinstance(value, dict):
        if not value:
            return {"zq9": 1}
        key = next(iter(value))
        return {**copy.deepcopy(value), key: _changed(value[key])}
    return "zq9"


def _restyled(value: Any) -> Any:
    """The same value as BFCL's string normalisation sees it: upper case, spaces as `_`, a `.` added."""
    if isinstance(value, str):
        return value.upper().replace(" ", "_") + "."
    if isinstance(value, list):
        return [_restyled(v) for v in value]
    if isinstance(value, dict):
        return {k: _restyled(v) for k, v in value.items()}
    return value


def _with_args(calls: list[dict], index: int, arguments: dict) -> list[dict]:
    out = copy.deepcopy(calls)
    out[index]["arguments"] = arguments
    return out


def _fabricated(case: dict) -> list[tuple[str, list[dict]]]:
    functions = case["bfcl"]["functions"]
    if not functions:
        return [("fabricated_call", [{"name": "search", "arguments": {"query": "example"}}])]
    doc = functions[0]
    schema = doc.get("parameters") or {}
    props = schema.get("properties") or {}
    args = {p: copy.deepcopy(_DUMMY.get((props.get(p) or {}).get("type"), "example"))
            for p in schema.get("required") or []}
    return [("fabricated_call", [{"name": doc["name"], "arguments": args}]),
            ("fabricated_call_no_args", [{"name": doc["name"], "arguments": {}}])]


def _alternatives(answer: dict) -> list[tuple[str, str, object]]:
    """(label, parameter, value) for the other accepted values of each answer parameter, at most
    MAX_ALTERNATIVES per parameter on average; blank alternatives are left to `omit_optional`."""
    out = []
    for param, accepted in answer.items():
        if not isinstance(accepted, list):
            continue
        for k, alt in enumerate(accepted[1:], 1):
            if len(out) >= MAX_ALTERNATIVES * max(1, len(answer)):
                break
            if isinstance(alt, str) and alt == "":
                continue
            # dict answers hold lists of accepted values per key: take each key's first value
            if isinstance(alt, dict) and all(isinstance(v, list) for v in alt.values()):
                alt = {key: vals[0] for key, vals in alt.items() if vals and vals[0] != ""}
            out.append((f"alt_value_{k}", param, copy.deepcopy(alt)))
    return out


def _per_argument(case: dict, calls: list[dict], index: int) -> list[tuple[str, list[dict]]]:
    """Perturbations of one call's arguments, labelled `kind:call index:parameter`."""
    meta = case["bfcl"]
    call = calls[index]
    answer = next(iter(meta["ground_truth"][index].values()))
    doc = find_function(meta["functions"], call["name"]) or {}
    schema = doc.get("parameters") or {}
    props = schema.get("properties") or {}
    args = call["arguments"]
    out: list[tuple[str, list[dict]]] = []

    def variant(kind: str, param: str, arguments: dict) -> None:
        out.append((f"{kind}:{index}:{param}", _with_args(calls, index, arguments)))

    for param in schema.get("required") or []:
        if param in args:
            variant("missing_required", param, {k: v for k, v in args.items() if k != param})
    for param, value in args.items():
        accepted = answer.get(param, [])
        kind = (props.get(param) or {}).get("type")
        wrong = _changed(value)
        if not _accepted(wrong, accepted):
            variant("wrong_value", param, {**args, param: wrong})
        if "" in accepted:
            variant("omit_optional", param, {k: v for k, v in args.items() if k != param})
        if _deep_norm(value) != value or isinstance(value, (list, dict)):
            variant("restyled", param, {**args, param: _restyled(value)})
        if isinstance(value, str) and ("'" in value or '"' in value):
            swapped = value.replace("'", '"') if "'" in value else value.replace('"', "'")
            variant("quotes_swapped", param, {**args, param: swapped})
        if kind == "float" and isinstance(value, float) and value.is_integer():
            variant("int_for_float", param, {**args, param: int(value)})
        if type(value) is int:
            variant("float_for_int", param, {**args, param: float(value)})
        if isinstance(value, (bool, int, float)):
            variant("stringified", param, {**args, param: str(value)})
        if isinstance(value, list) and any(isinstance(v, (bool, int, float)) for v in value):
            variant("stringified_items", param, {**args, param: [str(v) for v in value]})
        if isinstance(value, list) and any(isinstance(v, float) and v.is_integer() for v in value):
            variant("int_items", param, {**args, param: [
                int(v) if isinstance(v, float) and v.is_integer() else v for v in value]})
        if isinstance(value, list) and len(value) > 1:
            variant("reversed_list", param, {**args, param: value[::-1]})
        if isinstance(value, dict) and value:
            variant("dict_key_dropped", param, {**args, param: dict(list(value.items())[1:])})
        variant("null_value", param, {**args, param: None})
    for kind, param, alt in _alternatives(answer):
        variant(kind, param, {**args, param: alt})
    for param, accepted in answer.items():
        kind = (props.get(param) or {}).get("type")
        if param not in args and param in props:
            variant("added_optional", param, {**args, param: copy.deepcopy(_DUMMY.get(kind, "example"))})
        if kind == "string" and isinstance(accepted, list) and "" in accepted:
            # blank after normalisation: passes as "" unless BFCL compares this answer literally
            variant("blank_like", param, {**args, param: " - "})
    out.append((f"unknown_param:{index}", _with_args(calls, index, {**args, "zq_unknown": 1})))
    return out


def perturbations(case: dict) -> list[tuple[str, list[dict]]]:
    """(label, calls) pairs: the ground truth as our case states it, then systematic perturbations:
    wrong name, missing required argument, wrong value, extra call, no call, and more (omitted
    optional, restyled strings, int for float, alternative accepted values, reordered calls...).
    Irrelevance cases: no call, and fabricated calls."""
    truth = copy.deepcopy(case["expected"]["calls"])
    out: list[tuple[str, list[dict]]] = [("ground_truth", truth)]
    if is_irrelevance(case["bfcl"]["category"]):
        return out + _fabricated(case)
    if not truth:
        return out
    names = [t["function"]["name"] for t in case["tools"]]
    out.append(("no_call", []))
    out.append(("extra_call", truth + [copy.deepcopy(truth[0])]))
    renamed = copy.deepcopy(truth)
    renamed[0]["name"] += "_v2"
    out.append(("wrong_name", renamed))
    other = next((n for n in names if n != truth[0]["name"]), None)
    if other is not None:
        swapped = copy.deepcopy(truth)
        swapped[0]["name"] = other
        out.append(("other_tool", swapped))
    if len(truth) > 1:
        out.append(("reordered", truth[::-1]))
        out.append(("dropped_call", truth[:-1]))
        out.append(("repeated_call", truth[:-1] + [copy.deepcopy(truth[0])]))
    for index in range(len(truth)):
        out += _per_argument(case, truth, index)
    return out


def _compare(case: dict, label: str, calls: list[dict]) -> tuple[bool, Any]:
    ours = bfcl_match(case, calls)
    try:
        theirs: Any = official_match(case, calls)
    except Exception as err:  # noqa: BLE001 - a crash in the official checker is a finding
        theirs = f"error: {err!r}"
    return ours, theirs


def agreement(categories: tuple[str, ...] | list[str] = CATEGORIES, limit: int | None = None) -> dict[str, dict]:
    """Per category: how many (case, perturbation) outputs the two scorers judged, how many alike,
    the rate, how many ground truths the official checker accepts, and each disagreement."""
    report = {}
    for category in categories:
        cases = load_category(category, limit)
        n = agree = truth_accepted = 0
        disagreements = []
        for case in cases:
            for label, calls in perturbations(case):
                ours, theirs = _compare(case, label, calls)
                n += 1
                if label == "ground_truth" and theirs is True:
                    truth_accepted += 1
                if ours == theirs:
                    agree += 1
                else:
                    disagreements.append({"id": case["id"], "label": label, "calls": calls,
                                          "ours": ours, "official": theirs})
        report[category] = {"n_cases": len(cases), "n_outputs": n, "agree": agree,
                            "rate": agree / n if n else 1.0, "truth_accepted": truth_accepted,
                            "disagreements": disagreements}
    return report


def format_table(report: dict[str, dict]) -> str:
    head = f"{'category':<24}{'cases':>7}{'outputs':>9}{'agree':>9}{'rate':>9}{'truth ok':>10}"
    lines = [head, "-" * len(head)]
    for category, r in report.items():
        lines.append(f"{category:<24}{r['n_cases']:>7}{r['n_outputs']:>9}{r['agree']:>9}"
                     f"{r['rate']:>9.2%}{r['truth_accepted']:>6}/{r['n_cases']:<3}")
    total_n = sum(r["n_outputs"] for r in report.values())
    total_agree = sum(r["agree"] for r in report.values())
    lines.append("-" * len(head))
    lines.append(f"{'all':<24}{sum(r['n_cases'] for r in report.values()):>7}{total_n:>9}{total_agree:>9}"
                 f"{(total_agree / total_n if total_n else 1.0):>9.2%}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("categories", nargs="*", metavar="category", help=f"default: all of {', '.join(CATEGORIES)}")
    ap.add_argument("--limit", type=int, default=None, help="first N cases per category")
    ap.add_argument("--show", type=int, default=5, help="disagreements to print per category")
    args = ap.parse_args(argv)
    unknown = [c for c in args.categories if c not in CATEGORIES]
    if unknown:
        ap.error(f"unknown categories {unknown}; known: {', '.join(CATEGORIES)}")
    report = agreement(args.categories or CATEGORIES, args.limit)
    print(format_table(report))
    for category, r in report.items():
        for d in r["disagreements"][:args.show]:
            print(f"  {category} {d['id']} [{d['label']}] ours={d['ours']} official={d['official']} calls={d['calls']}")
    return 0 if all(not r["disagreements"] for r in report.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
