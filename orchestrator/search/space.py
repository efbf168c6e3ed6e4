"""Pure pieces of a sweep: the search space as data, sampled values applied to a config,
the rung metric that ASHA stops on, and the Pareto front over the final objectives.

Ray Tune and Optuna never appear here (`orchestrator/recipes/sweep.py` turns these into their objects),
so every rule below is testable in milliseconds.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Literal

Direction = Literal["max", "min"]


@dataclass(frozen=True)
class Dim:
    """One searched config key: `kind` is choice | loguniform | uniform | randint."""
    key: str
    kind: str
    args: tuple


def space_spec(search_space: dict[str, Any]) -> list[Dim]:
    """Validated `search_space` entries (pydantic models or plain dicts) as sorted `Dim`s."""
    dims = []
    for key in sorted(search_space):
        spec = search_space[key]
        data = spec.model_dump() if hasattr(spec, "model_dump") else dict(spec)
        (kind, args), = data.items()
        if kind == "choice":
            if not args:
                raise ValueError(f"search_space.{key}: choice needs at least one value")
            dims.append(Dim(key, kind, tuple(args)))
            continue
        lo, hi = args
        if not lo < hi:
            raise ValueError(f"search_space.{key}: {kind} needs low < high, got {lo} and {hi}")
        if kind == "loguniform" and lo <= 0:
            raise ValueError(f"search_space.{key}: loguniform needs a positive low bound, got {lo}")
        dims.append(Dim(key, kind, (lo, hi)))
    return dims


def most_epochs(search_space: dict[str, Any], fixed_epochs: float) -> int:
    """The most epochs any trial can run (ASHA's max_t): the search space's largest train.epochs, or
    the fixed value."""
    spec = {d.key: d for d in space_spec(search_space)}.get("train.epochs")
    if spec is None:
        return math.ceil(fixed_epochs)
    return math.ceil(max(spec.args) if spec.kind == "choice" else spec.args[1])


def domain_points(dim: Dim) -> list[Any]:
    """Values that stand for everything a domain can produce, for checking against the field it sets:
    every choice; both bounds and an interior point of a range (not its midpoint, which is often
    whole and would let a continuous range over an integer field pass)."""
    if dim.kind == "choice":
        return list(dim.args)
    lo, hi = dim.args
    if dim.kind == "randint":
        return [lo, hi]
    inner = lo * (hi / lo) ** 0.37 if dim.kind == "loguniform" else lo + 0.37 * (hi - lo)
    return [float(lo), float(hi), inner]


def apply_params(config: dict, params: dict[str, Any]) -> dict:
    """A deep copy of a config dict with dotted keys set to the sampled values, and nothing else.

    Values derived from others stay the validated model's job, so each rule has one home: a
    `train.lora.alpha: "2x_rank"` follows a sampled rank through `LoraConfig.resolved_alpha`.
    `config.sampled_config` applies and re-validates in one step.
    """
    out = copy.deepcopy(config)
    for dotted, value in params.items():
        node = out
        parts = dotted.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def rung_metric(metrics: dict[str, float | None], objectives: dict[str, Direction],
                weights: dict[str, float] | None = None) -> float:
    """The one number ASHA compares at each rung.

    Multi-objective search has no single order, and ASHA needs one: this is the weighted sum of
    the objectives with minimised ones negated (weights default to 1, and to the first objective
    only when `weights` is empty). A missing or NaN metric counts as the worst value (0 for a
    maximised rate, 1 for a minimised rate, `UNMEASURED_COST` for a minimised latency or size,
    which have no worst value), so a trial that cannot be scored is stopped first.
    """
    from evals.metrics import METRICS

    weights = weights or {next(iter(objectives)): 1.0}  # None or {}: the first objective alone
    total = 0.0
    for name, w in weights.items():
        direction = objectives[name]
        value = metrics.get(name)
        if not measured(value):
            unbounded = name in METRICS and METRICS[name].source in ("timing", "file")
            value = 0.0 if direction == "max" else UNMEASURED_COST if unbounded else 1.0
        total += w * (value if direction == "max" else -value)
    return total


UNMEASURED_COST = 1e9  # a latency (s) or size (MB) no real trial reaches: an unmeasured one ranks last


def measured(value) -> bool:
    """A metric value that can be compared: not missing, not NaN."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def dominates(a: dict, b: dict, objectives: dict[str, Direction]) -> bool:
    better_somewhere = False
    for name, direction in objectives.items():
        x, y = a[name], b[name]
        if direction == "min":
            x, y = -x, -y
        if x < y:
            return False
        if x > y:
            better_somewhere = True
    return better_somewhere


def pareto_front(points: list[dict], objectives: dict[str, Direction]) -> list[int]:
    """Indices of the points no other point dominates (points missing an objective, or holding NaN
    for one, are skipped: NaN compares false both ways, so a NaN point would dominate any other)."""
    scored = [i for i, p in enumerate(points) if all(measured(p.get(k)) for k in objectives)]
    return [i for i in scored if not any(dominates(points[j], points[i], objectives) for j in scored if j != i)]


# What an objective needs among the dev cases to be measured at all (metrics in evals/scorer.py).
_NEEDS_NO_TOOL = {"no_tool_accuracy", "false_tool_call_rate"}
_NEEDS_PROBE = {"fabrication_rate"}
_ALWAYS = {"median_latency_s", "gguf_size_mb", "parse_success"}


def unmeasured_objectives(cases: list[dict], objectives: dict[str, Direction]) -> list[str]:
    """Objectives the dev slice cannot measure: a no-tool case for no-tool metrics, a fabrication
    probe for fabrication_rate, a case expecting calls for the rest. Tune needs every objective in
    every report, so a sweep with such a slice would fail at its first epoch."""
    has_probe = any("behaviour" in c.get("expected", {}) for c in cases)
    has_no_tool = any(c.get("expected", {}).get("calls") == [] for c in cases)
    has_calls = any(c.get("expected", {}).get("calls") for c in cases)
    missing = []
    for name in objectives:
        ok = (name in _ALWAYS or (has_no_tool if name in _NEEDS_NO_TOOL else
                                  has_probe if name in _NEEDS_PROBE else has_calls))
        if not ok:
            missing.append(name)
    return missing
