"""Strict scoring of parsed calls against a case's expected calls.

Tool selection compares the multiset of tool names (parallel calls are unordered).
Arguments compare exactly after the schema's defaults are filled in on both sides, so
omitting `unit: celsius` where celsius is the default is not an error. A case may declare
`arg_rules` ({tool: {argument: rule}}) for equivalent values: `any_of` (more accepted values),
`casefold` (case-insensitive text), `tolerance` (absolute, for numbers, at most that far apart in
decimal: 0.26 is within 0.01 of 0.25, though their binary floats differ by 0.010000000000000009).
Argument values (and keys within them) compare in Unicode's composed form (NFC): "café" typed with
a combining accent, as macOS pastes it, is the same text as the precomposed one. Schema validity
checks the text as written (an `enum` of "Zürich" refuses the decomposed form).
"""

from __future__ import annotations

import math
import unicodedata
from collections import Counter

from evals.metrics import METRICS, ratio_value
from evals.parser import Parsed
from evals.tools import argument_validator, exact_decimal


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


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def within(want: float | int, got: float | int, tolerance: float | int) -> bool:
    """|want - got| <= tolerance in decimal, as the case's author reads the numbers: in binary floats
    0.26 - 0.25 is above 0.01, so a value at the stated bound matched or not by its representation."""
    if any(isinstance(v, float) and not math.isfinite(v) for v in (want, got, tolerance)):
        try:  # (JSON holds neither infinity nor NaN: only a caller of this function can pass them)
            return abs(float(want) - float(got)) <= float(tolerance)
        except OverflowError:  # an integer beyond any float beside an infinity
            return False
    return abs(exact_decimal(want) - exact_decimal(got)) <= exact_decimal(tolerance)


def _text(value: str) -> str:
    return unicodedata.normalize("NFC", value)


def json_equal(a, b) -> bool:
    """Equality of two JSON values as JSON means it: 1 equals 1.0, but true is not 1 and "1" is not 1,
    at any depth (Python's == says True == 1, so {"on": true} would match {"on": 1}); text in NFC."""
    if _is_number(a) and _is_number(b):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, str):
        return a == b or _text(a) == _text(b)
    if isinstance(a, dict):
        a, b = ({_text(k): v for k, v in d.items()} for d in (a, b))
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    return a == b


def value_matches(expected, got, rule: dict | None = None) -> bool:
    """Equality of one argument value under an optional `arg_rules` entry:
    `any_of` (other accepted values), `casefold` (case-insensitive text), `tolerance` (absolute, numbers)."""
    rule = rule or {}
    accepted = [expected, *rule.get("any_of", [])]
    for want in accepted:
        if json_equal(want, got):
            return True
        if rule.get("casefold") and isinstance(want, str) and isinstance(got, str) and \
                _text(_text(want).casefold()) == _text(_text(got).casefold()):
            return True
        if "tolerance" in rule and _is_number(want) and _is_number(got) and within(want, got, rule["tolerance"]):
            return True
    return False


def _args_match(exp: dict, got: dict, schema: dict, rules: dict) -> bool:
    exp, got = with_defaults(exp, schema), with_defaults(got, schema)
    if set(exp) != set(got):
        return False
    return all(value_matches(exp[k], got[k], rules.get(k)) for k in exp)


def calls_match(expected: list[dict], predicted: list[dict], schemas: dict[str, dict], arg_rules: dict) -> bool:
    """Multiset match of calls; `arg_rules` is {tool: {argument: rule}} (see `value_matches`).

    Parallel calls are unordered, and a rule (a tolerance, `any_of`) can let one answered call fit
    several expected ones, so taking the first fit would make the verdict depend on the order the
    model wrote its calls in: this asks whether *some* one-to-one pairing fits (a bipartite
    matching, by augmenting paths)."""
    if len(expected) != len(predicted):
        return False
    fits = [[j for j, p in enumerate(predicted) if p["name"] == e["name"] and _args_match(
        e.get("arguments") or {}, p.get("arguments") or {}, schemas.get(e["name"], {}),
        arg_rules.get(e["name"], {}))] for e in expected]
    owner: dict[int, int] = {}  # predicted index -> expected index it is paired with

    def pair(i: int, seen: set[int]) -> bool:
        for j in fits[i]:
            if j not in seen:
                seen.add(j)
                if j not in owner or pair(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    return all(pair(i, set()) for i in range(len(expected)))


def schema_valid(calls: list[dict], schemas: dict[str, dict]) -> bool:
    """Every call names an offered tool and its arguments validate against that tool's schema."""
    for call in calls:
        if call["name"] not in schemas:
            return False
        if any(True for _ in argument_validator(schemas[call["name"]]).iter_errors(call["arguments"])):
            return False
    return True


def _key_counts(expected: list[dict], predicted: list[dict], schemas: dict[str, dict]) -> tuple[int, int, int]:
    """Argument-key (tp, fp, fn). Keys are read after the schema's defaults are filled in, as
    `calls_match` reads them (leaving out a default is not a missing key). Calls of the same name
    are paired to share the most keys, whatever order they were written in; an unpaired answered
    call's keys are false positives, an unpaired expected call's false negatives."""
    def keys(calls: list[dict]) -> dict[str, list[set]]:
        out: dict[str, list[set]] = {}
        for c in calls:
            out.setdefault(c["name"], []).append(set(with_defaults(c.get("arguments") or {}, schemas.get(c["name"], {}))))
        return out

    exp, got = keys(expected), keys(predicted)
    n_exp = sum(len(k) for ks in exp.values() for k in ks)
    n_got = sum(len(k) for ks in got.values() for k in ks)
    tp = sum(_most_shared_keys(exp[name], got[name]) for name in exp.keys() & got.keys())
    return tp, n_got - tp, n_exp - tp


def _most_shared_keys(a: list[set], b: list[set]) -> int:
    """The most keys a one-to-one pairing of two lists of key sets can share (an assignment problem;
    the totals of tp, fp and fn depend only on this number)."""
    if len(a) == 1 or len(b) == 1:  # the usual case: one call of a name on one side
        return max(len(x & y) for x in a for y in b)
    from scipy.optimize import linear_sum_assignment

    shared = [[len(x & y) for y in b] for x in a]
    rows, cols = linear_sum_assignment(shared, maximize=True)
    return int(sum(shared[r][c] for r, c in zip(rows, cols)))


def tool_name_counts(expected: list[dict], calls: list[dict], parsed_ok: bool) -> dict:
    """The tool-selection facts of one answer (`calls` count only when it parsed): whether it called,
    tp / fp / fn of tool names as multisets (parallel calls unordered), and whether they all agree."""
    want, got = Counter(c["name"] for c in expected), Counter(c["name"] for c in calls if parsed_ok)
    tp = sum((want & got).values())
    return {"called_tool": bool(got), "tp": tp, "fp": sum(got.values()) - tp, "fn": sum(want.values()) - tp,
            "tool_correct": want == got and parsed_ok}


def score_case(case: dict, parsed: Parsed) -> dict:
    """Per-case facts, all plain numbers and booleans, ready to aggregate."""
    expected = case["expected"]["calls"]
    predicted = parsed.calls if parsed.ok else []
    schemas = tool_schemas(case["tools"])
    args_exact = calls_match(expected, predicted, schemas, case.get("arg_rules") or {})
    names = tool_name_counts(expected, parsed.calls, parsed.ok)
    ktp, kfp, kfn = _key_counts(expected, predicted, schemas)
    return {
        "id": case["id"],
        "scenario": case.get("scenario", "unknown"),
        "parse_ok": parsed.ok,
        "no_tool_expected": not expected,
        **names,
        "args_exact": bool(names["tool_correct"] and args_exact),
        "schema_valid": parsed.ok and schema_valid(predicted, schemas),
        "key_tp": ktp, "key_fp": kfp, "key_fn": kfn,
    }


# The metrics `score_case`'s facts define (the harness adds the lenient tier's and BFCL's), in the
# registry's order; each one's per-case ratio is in `evals.metrics.METRICS`.
SCORED = ("parse_success", "tool_selection_accuracy", "tool_precision", "tool_recall", "tool_f1",
          "no_tool_accuracy", "no_tool_precision", "false_tool_call_rate", "argument_exact_match",
          "argument_key_f1", "schema_validity")


def aggregate(scores: list[dict]) -> dict[str, float | None]:
    """Headline metrics over a list of `score_case` results (None where undefined)."""
    return {"n_cases": float(len(scores)), **{n: ratio_value(METRICS[n].ratio, scores) for n in SCORED}}


def per_scenario(scores: list[dict]) -> dict[str, dict[str, float | None]]:
    groups: dict[str, list[dict]] = {}
    for s in scores:
        groups.setdefault(s["scenario"], []).append(s)
    return {name: aggregate(group) for name, group in sorted(groups.items())}
