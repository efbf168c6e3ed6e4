"""The sweep's trial table: one row per trial (state, epoch, sampled values, objectives) and the best
value so far per objective. Pure: rows are plain dicts; `toolsweep status` and the live view during a
sweep both render through here.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

from orchestrator.search.space import measured

STATE_STYLE = {"RUNNING": "cyan", "TERMINATED": "green", "ERROR": "red", "PENDING": "dim", "PAUSED": "yellow"}


def best_so_far(rows: list[dict], objectives: dict[str, str]) -> dict[str, tuple[float, str]]:
    """Objective -> (best value, trial id) over rows that report it, honouring each direction; a tie goes
    to the smallest trial id, as in the parent run's description (report.headline), whatever the row order."""
    best: dict[str, tuple[float, str]] = {}
    for row in rows:
        for name, direction in objectives.items():
            v = row.get(name)
            if not measured(v):  # NaN would compare false both ways and win or lose by row order
                continue
            old = best.get(name)
            if old is None or (v > old[0] if direction == "max" else v < old[0]) or (
                    v == old[0] and str(row["trial_id"]) < str(old[1])):
                best[name] = (v, row["trial_id"])
    return best


def _words(name: str) -> str:
    return name.replace("_", " ")


def _cell(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1e-2 and v != 0 else f"{v:.3f}"
    return str(v)


def trial_table(rows: list[dict], objectives: dict[str, str], params: list[str], title: str = "",
                max_epochs: int | None = None) -> Table:
    """`rows`: {trial_id, status, epoch, <param>..., <objective>...}; the best cell per objective is bold."""
    best = best_so_far(rows, objectives)
    table = Table(title=title or None, caption=_caption(best, objectives, rows) or None)
    # Headers wrap at spaces so that a log's 80 columns keep every state and number whole.
    table.add_column("trial", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("epoch", justify="right", no_wrap=True)
    for p in params:
        table.add_column(_words(p.rsplit(".", 1)[-1]), justify="right")
    for name, direction in objectives.items():
        table.add_column(f"{_words(name)} {'↑' if direction == 'max' else '↓'}", justify="right")
    for row in rows:
        status = str(row.get("status"))
        epoch = row.get("epoch")
        epoch_cell = "—" if epoch is None else (f"{epoch}/{max_epochs}" if max_epochs else str(epoch))
        cells = [row["trial_id"], f"[{STATE_STYLE.get(status, '')}]{status}[/]" if status in STATE_STYLE else status,
                 epoch_cell, *(_cell(row.get(p)) for p in params)]
        for name in objectives:
            text = _cell(row.get(name))
            cells.append(f"[bold]{text}[/]" if name in best and best[name][1] == row["trial_id"] else text)
        table.add_row(*cells)
    return table


def _caption(best: dict[str, tuple[float, str]], objectives: dict[str, str], rows: list[dict]) -> str:
    counts: dict[str, int] = {}
    for r in rows:
        counts[str(r.get("status"))] = counts.get(str(r.get("status")), 0) + 1
    states = ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items()))
    bests = "; ".join(f"best {k} {_cell(best[k][0])} ({best[k][1]})" for k in objectives if k in best)
    return " | ".join(x for x in (states, bests) if x)
