"""The training mix: which of the surviving rows are trained on, chosen deterministically.

Every row falls in one category: `honesty` (its own `meta.track` is "honesty", or its source is
marked `track: honesty`), else `tool` (an assistant turn calls a tool), else `no_tool`.

With `total: null` every surviving row is taken (weights and ratios need a total; the config refuses
them without one), in a seeded order.

With `total: N`:
1. Category targets: honesty = round(N × honesty_ratio); no_tool = round(N × no_tool_ratio); tool =
   N − the two. Where that rounding would overdraw N (N = 7 at 0.5 and 0.5: 4 + 4) or give rows to a
   category whose share is 0 (the two ratios sum to 1), the three shares are apportioned by largest
   remainder instead, so the targets always sum to N and none is negative. With `no_tool_ratio: null`
   tool and no-tool rows form one category `any` (their natural ratio), of N − honesty rows.
2. Each category's target is shared among the sources that have rows in that category and a weight
   above 0, in proportion to their weights (largest-remainder rounding, ties to the source listed
   first): that is a source's quota. A source with a weight above 0 and no surviving row at all (every
   row quarantined) takes its share of every category too, and shows it as a shortfall: its weight
   is not handed silently to the others.
3. Each quota is filled by seeded sampling without replacement:
   `random.Random(f"{seed}:mix:{category}:{source}").sample(rows, min(quota, available))`. No row is
   repeated (no upsampling).
4. A quota a source cannot fill is *not* silently moved elsewhere: the mix table shows its
   shortfall, the mix is that much smaller, and with `on_shortfall: fail` it is an error.
5. The chosen rows are shuffled with `random.Random(f"{seed}:order")` so categories interleave.

Rows not chosen are counted as "not sampled" (not quarantined: nothing is wrong with them).
Same rows + same config → same mix, byte for byte.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from orchestrator.errors import DataError


class MixError(DataError):
    """A mix that cannot be built as configured (e.g. a quota short with `on_shortfall: fail`)."""


def category(row: dict) -> str:
    if "honesty" in (row["meta"].get("track"), row["meta"].get("source_track")):
        return "honesty"
    if any(m["role"] == "assistant" and m.get("tool_calls") for m in row["messages"]):
        return "tool"
    return "no_tool"


def apportion(target: int, weights: dict[str, float]) -> dict[str, int]:
    """Largest-remainder shares of `target` in proportion to `weights` (ties: first listed)."""
    total_w = sum(weights.values())
    if target <= 0 or total_w <= 0:
        return {k: 0 for k in weights}
    exact = {k: target * w / total_w for k, w in weights.items()}
    out = {k: math.floor(v) for k, v in exact.items()}
    order = sorted(weights, key=lambda k: (-(exact[k] - out[k]), list(weights).index(k)))
    for k in order[: target - sum(out.values())]:
        out[k] += 1
    return out


@dataclass(frozen=True)
class MixSpec:
    total: int | None
    weights: dict[str, float]        # source -> weight, in config order
    no_tool_ratio: float | None
    honesty_ratio: float
    seed: int
    on_shortfall: str = "report"     # report | fail


def build_mix(rows: list[dict], spec: MixSpec) -> tuple[list[dict], list[dict], list[dict]]:
    """(mixed rows, rows not sampled, quota table rows {category, source, weight, available, quota,
    selected, shortfall})."""
    table: list[dict] = []
    if spec.total is None:
        mixed = list(rows)
        for src in spec.weights:
            n = sum(r["meta"]["source"] == src for r in rows)
            table.append({"category": "all", "source": src, "weight": spec.weights[src], "available": n,
                          "quota": n, "selected": n, "shortfall": 0})
        random.Random(f"{spec.seed}:order").shuffle(mixed)
        return mixed, [], table

    def cat(row: dict) -> str:
        c = category(row)
        return "any" if spec.no_tool_ratio is None and c != "honesty" else c

    honesty = round(spec.total * spec.honesty_ratio)
    if spec.no_tool_ratio is None:
        targets = {"honesty": honesty, "any": spec.total - honesty}
    else:
        no_tool = round(spec.total * spec.no_tool_ratio)
        targets = {"honesty": honesty, "no_tool": no_tool, "tool": spec.total - honesty - no_tool}
        tool_share = max(0.0, 1.0 - spec.honesty_ratio - spec.no_tool_ratio)
        if targets["tool"] < 0 or (tool_share < 1e-12 and targets["tool"] != 0):
            targets = apportion(spec.total, {"honesty": spec.honesty_ratio, "no_tool": spec.no_tool_ratio,
                                             "tool": tool_share})
    pools: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        pools.setdefault((cat(row), row["meta"]["source"]), []).append(row)
    chosen_ids: set[str] = set()
    mixed: list[dict] = []
    survivors = {row["meta"]["source"] for row in rows}
    for c, target in targets.items():
        eligible = {s: w for s, w in spec.weights.items() if w > 0 and (pools.get((c, s)) or s not in survivors)}
        quotas = apportion(target, eligible)
        if target and not eligible:
            table.append({"category": c, "source": "none", "weight": 0.0, "available": 0, "quota": target,
                          "selected": 0, "shortfall": target})
        for s, quota in quotas.items():
            pool = pools.get((c, s), [])
            picked = random.Random(f"{spec.seed}:mix:{c}:{s}").sample(pool, min(quota, len(pool)))
            mixed.extend(picked)
            chosen_ids.update(r["id"] for r in picked)
            table.append({"category": c, "source": s, "weight": spec.weights[s], "available": len(pool),
                          "quota": quota, "selected": len(picked), "shortfall": quota - len(picked)})
    short = [t for t in table if t["shortfall"]]
    if short and spec.on_shortfall == "fail":
        raise MixError("mix quotas not filled (on_shortfall: fail): " + "; ".join(
            f"{t['category']}/{t['source']}: quota {t['quota']}, available {t['available']}" for t in short))
    random.Random(f"{spec.seed}:order").shuffle(mixed)
    not_sampled = [r for r in rows if r["id"] not in chosen_ids]
    return mixed, not_sampled, table
