"""The one table of metrics: what each number toolsweep reports is, which way is better, which cases
it is measured on, and where it may be used (a sweep objective, a promotion guard, a headline).

Everything that names a metric reads it from here: config validation (objectives, primary, guards),
the harness (which metrics get CIs), the scorer (denominators), preflight (can this set measure it),
the promotion gate (direction), the cards (labels) and the MLflow key scheme. Pure: no imports
beyond the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal

# What a denominator counts, from one `evals.scorer.score_case` result.
CasePredicate = Callable[[dict], bool]
# One case's share of a metric's numerator and denominator: every metric of cases is a ratio of sums
# (F1 too: 2tp / (2tp + fp + fn)), so its value on any set of cases, a bootstrap draw included, is
# sum of numerators / sum of denominators (undefined where that is 0).
CaseRatio = Callable[[dict], tuple[int, int]]


@dataclass(frozen=True)
class Metric:
    name: str
    label: str                                  # how cards and reports name it
    direction: Literal["max", "min"]            # which way is better
    measured_on: str                            # in words: the cases its denominator counts
    # score_case predicate for the denominator; None = every call case (or, for probes/files, n/a)
    counts: CasePredicate | None = None
    source: Literal["calls", "probes", "file", "timing"] = "calls"
    objective: bool = True                      # a sweep may optimise it (search.objectives)
    gated: bool = True                          # the promotion gate can compare it case by case
    headline: bool = False                      # in the report's first table and the card's headline
    with_ci: bool = True                        # the report carries a bootstrap CI for it
    proportion: bool = False                    # a share of counted cases with a yes/no outcome
    ratio: CaseRatio | None = None              # for metrics of cases (see CaseRatio)


def _no_tool(s: dict) -> bool:
    return s["no_tool_expected"]


def _call_expected(s: dict) -> bool:
    return not s["no_tool_expected"]


def _called(s: dict) -> bool:
    return s["called_tool"]


def _answered_plainly(s: dict) -> bool:
    return not s["called_tool"] and s["parse_ok"]


def _call_expected_or_made(s: dict) -> bool:
    """A case that adds to tool F1's tp + fp + fn: a no-tool case answered without a call adds nothing."""
    return not s["no_tool_expected"] or s["called_tool"]


def _keys_in_play(s: dict) -> bool:
    return s["key_tp"] + s["key_fp"] + s["key_fn"] > 0


# Facts enter the sums as the records hold them (True counts 1), as a plain sum over the cases would.
def _share(fact: str) -> CaseRatio:
    return lambda s: (s[fact], 1)


def _f1(tp: str, fp: str, fn: str) -> CaseRatio:
    return lambda s: (2 * s[tp], 2 * s[tp] + s[fp] + s[fn])


def _share_of(fact: CasePredicate, among: CasePredicate) -> CaseRatio:
    return lambda s: (fact(s), 1) if among(s) else (0, 0)


def _bfcl(s: dict) -> tuple[int, int]:
    return (s["bfcl_correct"], 1) if "bfcl_correct" in s else (0, 0)


# In report order: the headline first.
METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("parse_success", "JSON validity (parse success)", "max", "every call case", headline=True,
           proportion=True, ratio=_share("parse_ok")),
    Metric("tool_selection_accuracy", "Tool selection accuracy", "max", "every call case", headline=True,
           proportion=True, ratio=_share("tool_correct")),
    # F1, precision and recall count only the cases that add to their tp, fp and fn: a no-tool case
    # answered without a call adds nothing, and counting it would let a set of many such cases and
    # two call cases pass promote.min_cases on tool F1.
    Metric("tool_f1", "Tool selection F1", "max", "cases that expect a call or where the model called one",
           _call_expected_or_made, headline=True, ratio=_f1("tp", "fp", "fn")),
    Metric("tool_precision", "Tool precision", "max", "cases where the model called a tool", _called,
           headline=True, ratio=lambda s: (s["tp"], s["tp"] + s["fp"])),
    Metric("tool_recall", "Tool recall", "max", "cases that expect a call", _call_expected, headline=True,
           ratio=lambda s: (s["tp"], s["tp"] + s["fn"])),
    Metric("no_tool_accuracy", "No-tool accuracy", "max", "cases that expect no call", _no_tool, headline=True,
           proportion=True, ratio=_share_of(_answered_plainly, _no_tool)),
    Metric("argument_exact_match", "Argument correctness (exact)", "max", "cases that expect a call",
           _call_expected, headline=True, proportion=True,
           ratio=_share_of(lambda s: s["args_exact"], _call_expected)),
    Metric("no_tool_precision", "No-tool precision", "max", "cases the model answered without a call",
           _answered_plainly, proportion=True, ratio=_share_of(_no_tool, _answered_plainly)),
    Metric("false_tool_call_rate", "False tool-call rate", "min", "cases that expect no call", _no_tool,
           proportion=True, ratio=_share_of(_called, _no_tool)),
    Metric("argument_key_f1", "Argument key-F1", "max", "cases whose expected or answered calls have argument keys",
           _keys_in_play, ratio=_f1("key_tp", "key_fp", "key_fn")),
    Metric("schema_validity", "Schema validity", "max", "cases where the model called a tool", _called,
           proportion=True, ratio=_share_of(lambda s: s["schema_valid"], _called)),
    Metric("lenient_tool_selection_accuracy", "Tool selection accuracy (lenient parse)", "max", "every call case",
           proportion=True, ratio=_share("lenient_tool_correct")),
    Metric("fabrication_rate", "Fabrication rate", "min", "fabrication probes", source="probes", proportion=True,
           ratio=lambda p: (p["outcome"] == "fabricated", 1)),
    Metric("bfcl_accuracy", "BFCL AST accuracy", "max", "cases imported from BFCL", objective=False,
           gated=False, proportion=True, ratio=_bfcl),
    Metric("median_latency_s", "Median latency (s)", "min", "every case", source="timing", gated=False,
           with_ci=False),
    Metric("gguf_size_mb", "GGUF size (MB)", "min", "the quantized file", source="file", gated=False,
           with_ci=False),
)}

OBJECTIVES = tuple(n for n, m in METRICS.items() if m.objective)
GATED = tuple(n for n, m in METRICS.items() if m.gated)
HEADLINE = tuple(n for n, m in METRICS.items() if m.headline)
# Call-case metrics the harness reports with a bootstrap CI (bfcl_accuracy only when BFCL cases ran).
REPORTED = tuple(n for n, m in METRICS.items() if m.source == "calls" and m.with_ci and n != "bfcl_accuracy")


def label_of(name: str) -> str:
    return METRICS[name].label if name in METRICS else name


def measured_count(name: str, scores: list[dict]) -> int:
    """How many of these `score_case` results the metric's denominator counts."""
    counts = METRICS[name].counts if name in METRICS else None
    return len(scores) if counts is None else sum(1 for s in scores if counts(s))



def ratio_value(ratio: CaseRatio, cases: list[dict]) -> float | None:
    """A metric's value on these cases: sum of numerators / sum of denominators (None where that is 0)."""
    num = den = 0
    for case in cases:
        n, d = ratio(case)
        num, den = num + n, den + d
    return num / den if den else None
