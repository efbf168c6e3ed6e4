"""Promotion rules as plain functions: which trial is the candidate, and whether it replaces the champion.

Pure core: no MLflow, no models. `orchestrator/recipes/promote.py` gathers the numbers (the sweep's
trials from MLflow, paired-bootstrap rows from `evals.harness.compare_reports`) and calls these.

The rule, in three steps:

1. **Front.** Per context variant, the Pareto front of the finished trials over the sweep's
   objectives, on the quantized model's last-epoch dev metrics.
2. **Candidate.** From the front, the trial with the best sweep score: the same weighted sum of
   the objectives that ASHA ranks trials by (`search.rung_weights`; the first objective alone when
   empty). A front is a set of trade-offs; the sweep's config already says how to weigh them, and
   picking by the primary alone would ignore the other objectives, the ones the guards then check.
   Ties go to the better primary metric, then the guard metrics in the order listed, then the
   smaller GGUF, then the lower trial id.
3. **Gate.** The candidate is evaluated on the promotion eval set and compared, case by case,
   with the current champion's stored report (paired bootstrap, b − a = candidate − champion).
   It replaces the champion only when the CI of the primary difference excludes 0 in the better
   direction and no guard metric's CI lies entirely on the worse side. A gated metric that the
   eval set measures on fewer than `min_cases` cases is *unmeasured*, and the gate refuses. With no champion yet, it
   is compared with the untuned base instead: `not_worse_than_base` promotes unless the primary
   metric or a guard is credibly worse than the base; `better_than_base` also needs a credible
   primary improvement over the base.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from evals.metrics import METRICS
from orchestrator.search.space import Direction, pareto_front, rung_metric

ENDED_NORMALLY = ("finished", "stopped_early")  # ASHA stopping a trial is a normal end; failures are not


def direction_of(metric: str) -> Direction:
    """Which way is better (evals.metrics); a name outside the table (a count) reads as higher-is-better."""
    return METRICS[metric].direction if metric in METRICS else "max"


def variant_label(context: int) -> str:
    """4096 -> "4k", 16384 -> "16k", 32768 -> "32k"; other lengths stay in tokens ("1000")."""
    return f"{context // 1024}k" if context % 1024 == 0 else str(context)


def _usable(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def variant_fronts(trials: list[dict], objectives: dict[str, Direction]) -> dict[str, list[dict]]:
    """Per variant label, the Pareto-front trials among those that ended normally.

    A trial is `{"trial_id", "status", "context", "metrics": {name: value}, ...}`; one missing an
    objective cannot be placed and is left out of the front (it is still listed by the caller).
    """
    by_variant: dict[str, list[dict]] = {}
    for t in trials:
        if t.get("status") in ENDED_NORMALLY:
            by_variant.setdefault(variant_label(int(t["context"])), []).append(t)
    fronts = {}
    for label, group in sorted(by_variant.items()):
        points = [{k: t["metrics"].get(k) if _usable(t["metrics"].get(k)) else None for k in objectives}
                  for t in group]
        fronts[label] = [group[i] for i in pareto_front(points, objectives)]
    return fronts


def choose_candidate(front: list[dict], primary: str, guards: list[str], objectives: dict[str, Direction],
                     weights: dict[str, float] | None = None) -> dict | None:
    """The front trial with the best sweep score (`rung_metric` over `objectives` with `weights`, as
    ASHA ranked them); ties by the primary, the guards in order, size, then trial id. A trial
    without the primary cannot be gated and is never the candidate."""
    usable = [t for t in front if _usable(t["metrics"].get(primary))]
    if not usable:
        return None

    def signed(t: dict, name: str) -> float:
        v = t["metrics"].get(name)
        if not _usable(v):
            return -math.inf
        return v if direction_of(name) == "max" else -v

    # rounded so that sums equal on paper (0.6 - 0.2 and 0.5 - 0.1) tie instead of differing in the last bit
    return min(usable, key=lambda t: (-round(sweep_score(t, objectives, weights), 9), -signed(t, primary),
                                      *(-signed(t, g) for g in guards),
                                      -signed(t, "gguf_size_mb"), str(t["trial_id"])))


def sweep_score(trial: dict, objectives: dict[str, Direction], weights: dict[str, float] | None = None) -> float:
    """The one number the sweep ranked `trial` by (weights empty or None: the first objective)."""
    return rung_metric(trial["metrics"], objectives, weights)


@dataclass
class Decision:
    """What the gate decided and why; `to_dict` is what goes to MLflow and into the release."""
    promote: bool
    against: Literal["champion", "base"]
    primary: str
    reasons: list[str]
    rows: dict[str, dict] = field(default_factory=dict)  # metric -> compare row (a = reference, b = candidate)
    unmeasured: list[str] = field(default_factory=list)  # gated metrics the eval set could not judge
    # Not gated, shown beside the gated rows: a tool F1 gain can come from naming the right tool more
    # often while no call gets its arguments exactly right (the demo's 0.000 -> 0.000 exact match).
    others: dict[str, dict] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"promote": self.promote, "against": self.against, "primary": self.primary,
                "reasons": self.reasons, "rows": self.rows, "unmeasured": self.unmeasured, "others": self.others}


SHOWN_UNGATED = ("tool_selection_accuracy", "argument_exact_match")


def verdict(row: dict, metric: str) -> str:
    """"better", "worse" or "no credible difference", in the metric's own direction."""
    if not row.get("credible") or not row.get("ci95") or row.get("diff") is None:
        return "no credible difference"
    lo, hi = row["ci95"]
    if direction_of(metric) == "min":
        lo, hi = -hi, -lo
    if lo > 0:
        return "better"
    if hi < 0:
        return "worse"
    return "no credible difference"


def verdict_cell(row: dict, metric: str) -> str:
    """A table's "credible" cell: "yes, better" / "yes, worse" in the metric's own direction (lower
    fabrication is better), or "no"."""
    said = verdict(row, metric)
    return "no" if said == "no credible difference" else f"yes, {said}"


def fmt_metric(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _describe(metric: str, row: dict) -> str:
    ci = row.get("ci95")
    ci_text = f"[{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else "n/a"
    diff = "n/a" if row.get("diff") is None else f"{row['diff']:+.3f}"
    return f"{metric}: {fmt_metric(row.get('a'))} -> {fmt_metric(row.get('b'))}, diff {diff}, 95% CI {ci_text}"


def _measured_on(row: dict) -> int | None:
    """Cases the row's metric was measured on (`n_measured`; older rows carry only `n_cases`)."""
    n = row.get("n_measured", row.get("n_cases"))
    return None if n is None else int(n)


def _unmeasured_reason(metric: str, row: dict | None, min_cases: int) -> str | None:
    """Why a gated metric cannot be judged on this eval set, or None when it can."""
    if row is None or row.get("diff") is None:
        return f"{metric} not measured on this eval set"
    n = _measured_on(row)
    if n is not None and n < min_cases:
        return f"{metric} unmeasured: {n} case(s) measure it, fewer than the minimum {min_cases}"
    return None


def gate(rows: list[dict], primary: str, guards: list[str], against: Literal["champion", "base"],
         first_rule: Literal["not_worse_than_base", "better_than_base"] = "not_worse_than_base",
         min_cases: int = 1) -> Decision:
    """Decide from paired-bootstrap rows (`compare_reports(reference, candidate)`).

    Against a champion: promote only on a credible primary improvement with no credible guard
    regression. Against the base (first promotion): see `first_rule` in the module docstring.
    A gated metric (primary or guard) that the eval set measures on fewer than `min_cases` cases,
    or not at all, is *unmeasured*: the decision lists it and refuses, since "no credible
    regression" on a handful of cases is the absence of evidence, not evidence of safety.
    """
    by_metric = {r["metric"]: r for r in rows}
    reasons: list[str] = []
    kept = {m: by_metric[m] for m in [primary, *guards] if m in by_metric}
    others = {m: by_metric[m] for m in SHOWN_UNGATED if m in by_metric and m not in kept}
    prow = by_metric.get(primary)
    unmeasured = []
    guard_unmeasured = {g: _unmeasured_reason(g, by_metric.get(g), min_cases) for g in guards}
    why = _unmeasured_reason(primary, prow, min_cases)
    if why:  # refused; the guards the set cannot measure either are listed too, as the card lists them
        short = [g for g in guards if guard_unmeasured[g]]
        return Decision(False, against, primary,
                        [f"primary metric {why}; refused", *(f"guard {guard_unmeasured[g]}" for g in short)],
                        kept, [primary, *short], others)
    pverdict = verdict(prow, primary)
    promote = True
    if against == "champion" or first_rule == "better_than_base":
        if pverdict != "better":
            promote = False
            reasons.append(f"primary not credibly better than the {against} ({_describe(primary, prow)})")
        else:
            reasons.append(f"primary credibly better than the {against} ({_describe(primary, prow)})")
    else:
        if pverdict == "worse":
            promote = False
            reasons.append(f"primary credibly worse than the base ({_describe(primary, prow)})")
        elif pverdict == "better":
            reasons.append(f"primary credibly better than the base ({_describe(primary, prow)})")
        else:
            reasons.append(f"primary not credibly worse than the base ({_describe(primary, prow)})")
    for g in guards:
        grow = by_metric.get(g)
        why = guard_unmeasured[g]
        if why:
            promote = False
            unmeasured.append(g)
            reasons.append(f"guard {why}; refused")
            continue
        gverdict = verdict(grow, g)
        if gverdict == "worse":
            promote = False
            reasons.append(f"guard regressed credibly ({_describe(g, grow)})")
        elif gverdict == "better":
            reasons.append(f"guard holds, credibly better ({_describe(g, grow)})")
        else:  # a drop whose interval reaches 0 is not shown to be safe, only not shown to be a loss
            reasons.append(f"guard holds: not credibly worse, n={_measured_on(grow)} ({_describe(g, grow)})")
    return Decision(promote, against, primary, reasons, kept, unmeasured, others)


def family_rows(champions: dict[str, dict]) -> list[dict]:
    """The family table: one row per variant, shortest context first.

    `champions` maps a variant label to `{"name", "context", "metrics": {...}, "rank", "alpha"}`
    with the metrics of the primary quant on the promotion eval set.
    """
    rows = []
    for label, c in sorted(champions.items(), key=lambda kv: int(kv[1]["context"])):
        rows.append({"variant": label, "name": c["name"], "context": int(c["context"]),
                     **{column: c["metrics"].get(metric) for column, metric in FAMILY_TABLE_METRICS.items()},
                     "rank": c.get("rank"), "alpha": c.get("alpha"), "eval_set": c.get("eval_set")})
    return rows


# family-table column -> the eval report metric it shows (release.manifest.verify checks them against the reports)
FAMILY_TABLE_METRICS = {"tool_f1": "tool_f1", "json_validity": "parse_success", "schema_validity": "schema_validity",
                        "no_tool_accuracy": "no_tool_accuracy"}


def version_description(slug: str, sweep: str, trial_id: str, experiment_id: str, parent_run_id: str,
                        trial_run_id: str, promotion_run_id: str, decision_rows: dict, reasons: list[str]) -> str:
    """A registry version's Markdown description: what it is, its gate table, and links (the UI's
    own routes) to the sweep, the trial and the promotion run."""
    run = lambda rid: f"#/experiments/{experiment_id}/runs/{rid}"  # noqa: E731
    lines = [f"**{slug}**: trial {trial_id} of sweep {sweep}.", "",
             f"[sweep run]({run(parent_run_id)}) · [trial run]({run(trial_run_id)}) · "
             f"[promotion run]({run(promotion_run_id)})", "",
             "| metric | reference | this version | difference | 95% CI | credible |", "|---|---:|---:|---:|---|---|"]
    for metric, row in decision_rows.items():
        ci = row.get("ci95")
        diff = row.get("diff")
        lines.append(f"| {metric} | {fmt_metric(row.get('a'))} | {fmt_metric(row.get('b'))} | "
                     f"{'—' if diff is None else f'{diff:+.3f}'} | {'—' if not ci else f'[{ci[0]:+.3f}, {ci[1]:+.3f}]'} | "
                     f"{'yes' if row.get('credible') else 'no'} |")
    lines += ["", *(f"- {r}" for r in reasons)]
    return "\n".join(lines) + "\n"
