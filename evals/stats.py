"""Bootstrap confidence intervals over cases (seeded, percentile method)."""

from __future__ import annotations

from typing import Callable

import numpy as np


def bootstrap_ci(scores: list[dict], metric: Callable[[list[dict]], float | None], n_resamples: int = 1000,
                 confidence: float = 0.95, seed: int = 0) -> tuple[float, float] | None:
    """Percentile CI of `metric` when the cases are resampled with replacement."""
    if not scores:
        return None
    rng = np.random.default_rng(seed)
    n = len(scores)
    values = []
    for _ in range(n_resamples):
        sample = [scores[i] for i in rng.integers(0, n, n)]
        v = metric(sample)
        if v is not None:
            values.append(v)
    if not values:
        return None
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(values, [alpha, 1 - alpha])
    return float(lo), float(hi)
