"""PNG plots for promotion runs and release cards (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _is_share(metric: str) -> bool:
    from evals.metrics import METRICS

    m = METRICS.get(metric)
    return m is not None and m.source in ("calls", "probes")


def pareto_plot(trials: list[dict], front_ids: list[str], objectives: dict[str, str], chosen: str | None,
                title: str, path: Path) -> Path:
    """Trials on the first two objectives (or the first against the trial index), front and chosen marked."""
    names = list(objectives)
    x = names[0]
    y = names[1] if len(names) > 1 else None
    pts = [t for t in trials if t["metrics"].get(x) is not None and (y is None or t["metrics"].get(y) is not None)]
    fig, ax = plt.subplots(figsize=(5.5, 4))

    def coords(ts):
        return ([t["metrics"][x] for t in ts],
                [t["metrics"][y] if y else i for i, t in enumerate(ts)])

    ax.scatter(*coords(pts), c="lightgray", label="trials")
    ax.scatter(*coords([t for t in pts if t["trial_id"] in front_ids]), c="crimson", label="Pareto front")
    picked = [t for t in pts if t["trial_id"] == chosen]
    if picked:
        ax.scatter(*coords(picked), s=160, facecolors="none", edgecolors="black", label="candidate")
    for t, cx, cy in zip(pts, *coords(pts)):
        ax.annotate(str(t["trial_id"]), (cx, cy), xytext=(6, 4), textcoords="offset points",
                    fontsize=7)  # the id the tables and the card print
    ax.set_xlabel(f"{x} ({objectives[x]})")
    ax.set_ylabel(f"{y} ({objectives[y]})" if y else "trial")
    # shares on their whole 0-1 scale: a zoomed axis made a one-case gap on 24 dev cases look large
    if _is_share(x):
        ax.set_xlim(-0.03, 1.03)
    if y and _is_share(y):
        ax.set_ylim(-0.03, 1.03)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return _save(fig, path)


def scenario_bars(tuned: dict, base: dict, label: str, path: Path, metric: str = "tool_f1") -> Path:
    names = sorted(tuned["per_scenario"])
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    idx = range(len(names))
    width = 0.4
    val = lambda rep, n: rep["per_scenario"].get(n, {}).get(metric)  # noqa: E731
    for offset, rep, name, color in ((-width / 2, base, "untuned base", "lightgray"), (width / 2, tuned, label, "steelblue")):
        values = [val(rep, n) for n in names]
        # a metric the scenario does not define (F1 with no call expected or made) gets no bar, not a zero one
        ax.bar([i + offset for i, v in zip(idx, values) if v is not None], [v for v in values if v is not None],
               width, label=name, color=color)
        for i, v in zip(idx, values):  # every value written out: a 0.00 bar has no height to see
            ax.text(i + offset, (v or 0) + 0.02, "n/a" if v is None else f"{v:.2f}", ha="center", fontsize=6,
                    rotation=90, color="gray" if v is None else "black")
    counts = [int(tuned["per_scenario"][n].get("n_cases", 0)) for n in names]
    ax.set_xticks(list(idx), [f"{n} (n={c})" for n, c in zip(names, counts)], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(metric)
    ax.set_ylim(0, 1)
    ax.set_title(f"{metric} per scenario", fontsize=9)
    ax.legend(fontsize=7)
    return _save(fig, path)


def attribution_bars(tuned: dict, base: dict, label: str, path: Path) -> Path:
    causes = list(tuned["attribution"]["strict"])
    fig, ax = plt.subplots(figsize=(6.5, 3.5))
    idx = range(len(causes))
    width = 0.4
    ax.barh([i + width / 2 for i in idx], [base["attribution"]["strict"].get(c, 0) for c in causes], width,
            label="untuned base", color="lightgray")
    ax.barh([i - width / 2 for i in idx], [tuned["attribution"]["strict"][c] for c in causes], width, label=label,
            color="darkorange")
    ax.set_yticks(list(idx), causes, fontsize=8)
    n = int(tuned["metrics"].get("n_cases", 0))
    ax.set_xlabel(f"failed cases of {n} non-probe cases (strict parser)")
    ax.set_title("failure attribution", fontsize=9)
    ax.legend(fontsize=7)
    return _save(fig, path)
