"""What the MLflow UI shows for a sweep: the parent run's description and summary metrics, and each
child run's state. Pure: plain data in (the sweep summary), strings and numbers out.

MLflow renders a run's `mlflow.note.content` tag as its Markdown description, so the parent run
page reads like the sweep's report: the trial table, the Pareto front and, with `promote: auto`,
the promotion decision.
"""

from __future__ import annotations

import re

from orchestrator.search.space import measured


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# The line a Python traceback ends on: "orchestrator.errors.DataError: data source …" (Ray wraps the worker's
# exception in a RayTaskError whose text is the whole traceback, colour codes included).
_EXCEPTION_LINE = re.compile(r"^(?:[A-Za-z_][\w]*\.)*([A-Za-z_]\w*(?:Error|Exception|Exit|Interrupt|Failure)\w*"
                             r"(?:\([\w.]+\))?)(?::\s*(.*))?$")


def failure_reason(text: str | None, limit: int = 300) -> str | None:
    """A failed trial's reason in one line, from whatever recorded it (Ray's wrapped traceback, an
    error.txt, a one-line tag): the last exception line, its module path dropped ("DataError: data
    source … no such file"), colour codes removed. A text with no such line: its last line."""
    if not text:
        return None
    lines = [l.strip() for l in _ANSI.sub("", str(text)).splitlines() if l.strip()]
    for line in reversed(lines):
        found = _EXCEPTION_LINE.match(line)
        if found and not found.group(1).startswith("RayTaskError"):
            reason = f"{found.group(1)}: {found.group(2)}" if found.group(2) else found.group(1)
            return reason[:limit]
    return lines[-1][:limit] if lines else None


def child_state(status: str, epoch: int | None, max_epochs: int | None, retries: int = 0,
                failure: str | None = None) -> str:
    """One filterable phrase: finished / stopped early at epoch k / failed: reason; retried n times."""
    if status == "error":
        state = f"failed: {failure_reason(failure, 120) or 'error'}"
    elif max_epochs is not None and epoch is not None and epoch < max_epochs:
        state = f"stopped early at epoch {epoch}"
    else:
        state = "finished"
    return state + (f"; retried {retries} time{'s' if retries != 1 else ''}" if retries else "")


def best_metrics(summary: dict) -> dict[str, float]:
    """best.<objective> among finished trials, in each objective's own direction."""
    out = {}
    for name, direction in summary["objectives"].items():
        values = [t[name] for t in summary["trials"] if t["status"] == "ok" and measured(t.get(name))]
        if values:
            out[f"best.{name}"] = max(values) if direction == "max" else min(values)
    out["trials.finished"] = sum(t["status"] == "ok" for t in summary["trials"])
    out["trials.failed"] = sum(t["status"] != "ok" for t in summary["trials"])
    return out


def _fmt(v) -> str:
    if v is None:
        return "—"
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def headline(summary: dict, promotion: dict | None = None) -> str:
    """The first line of the description (the UI shows three lines before "Show more"): the best
    value per objective and which trial holds it, and the promotion verdict."""
    parts = []
    for name, direction in summary["objectives"].items():
        done = [t for t in summary["trials"] if t["status"] == "ok" and t.get(name) is not None]
        if done:
            # a tie goes to the smallest trial id, as in `status` (table.best_so_far)
            best = min(done, key=lambda t: (-t[name] if direction == "max" else t[name], str(t["trial_id"])))
            parts.append(f"{name} {_fmt(best[name])} (trial {best['trial_id']})")
    text = "**Best:** " + (", ".join(parts) if parts else "no trial finished")
    if promotion:
        if "error" in promotion:
            text += " · **Promotion failed**"
        else:
            text += (f" · **{'PROMOTED' if promotion.get('promote') else 'NOT PROMOTED'}** (trial "
                     f"{promotion.get('trial_id')} against the {promotion.get('against')})")
    return text


def _diff(v) -> str:
    return "—" if v is None else f"{v:+.3f}"


def parent_note(name: str, summary: dict, states: dict[str, str], promotion: dict | None = None) -> str:
    """The parent run's Markdown description."""
    objectives = summary["objectives"]
    front = set(summary["pareto_front"])
    params = sorted({k for t in summary["trials"] for k in (t.get("config") or {})})
    lines = [f"## Sweep {name}", "", headline(summary, promotion), "",
             f"{len(summary['trials'])} trials; objectives: "
             + ", ".join(f"{k} ({v})" for k, v in objectives.items())
             + ". Scores are the quantized model's on the dev slice after its last epoch. * = Pareto front.", "",
             "| trial | state | " + " | ".join(objectives) + (" | " + " | ".join(params) if params else "") + " |",
             "|---|---|" + "---:|" * len(objectives) + "---|" * len(params)]
    for t in summary["trials"]:
        mark = " *" if t["trial_id"] in front else ""
        cells = [_fmt(t.get(k)) for k in objectives] + [_fmt((t.get("config") or {}).get(p)) for p in params]
        lines.append(f"| {t['trial_id']}{mark} | {states.get(t['trial_id'], t['status'])} | " + " | ".join(cells) + " |")
    lines += ["", f"**Pareto front:** {', '.join(sorted(front)) or 'empty'}"]
    if promotion:
        lines += ["", "### Promotion", ""]
        if "error" in promotion:
            lines.append(f"Promotion failed: {promotion['error']}")
        else:
            verdict = "PROMOTED" if promotion.get("promote") else "NOT PROMOTED"
            lines.append(f"**{verdict}**: trial {promotion.get('trial_id')} against the {promotion.get('against')} "
                         f"({promotion.get('primary_quant')}, {promotion.get('eval_set')})")
            lines += ["", "| metric | reference | candidate | difference | 95% CI | credible |",
                      "|---|---:|---:|---:|---|---|"]
            for metric, row in (promotion.get("rows") or {}).items():
                ci = row.get("ci95")
                lines.append(f"| {metric} | {_fmt(row.get('a'))} | {_fmt(row.get('b'))} | "
                             f"{_diff(row.get('diff'))} | "
                             f"{'—' if not ci else f'[{ci[0]:+.3f}, {ci[1]:+.3f}]'} | {'yes' if row.get('credible') else 'no'} |")
            lines += [f"- {r}" for r in promotion.get("reasons", [])]
    return "\n".join(lines) + "\n"
