"""Bootstrap confidence intervals over cases (seeded, percentile method)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from evals.metrics import CaseRatio

# Draws per interval. A percentile bound is an order statistic of the draws, so it carries Monte Carlo
# noise: on 12 no-tool cases, 3 of them lost, a draw misses all three 3.2 % of the time, just above the
# 2.5 % tail, and with 1 000 draws about 1 seed in 6 put the upper bound below 0 ("credibly worse")
# where the others put it at 0. With 10 000 the same verdict moves with the seed about once in 10 000.
N_RESAMPLES = 10_000


@dataclass(frozen=True)
class CiRule:
    """How intervals are drawn. Reports record the rule's `name` (`ci_method`), so a report's CIs can be
    re-derived from its records under the rule that made them: a rule change would otherwise call every
    report written before it "edited" (`evals.harness.derived_mismatch`)."""
    name: str
    # Scenarios with fewer cases are resampled as one pool. Within a stratum of n cases the bootstrap
    # sees (n-1)/n of the variance (a stratum of one: none); with `--limit 16` (two cases a scenario)
    # F1 on 14 cases that disagreed read [0.222, 0.222].
    min_stratum: int
    # A metric counted in two scenarios or more takes the hull of its stratified interval and the whole
    # set's: a scenario whose counted cases all agree adds no variance to stratified draws, though a
    # dozen cases cannot pin its rate (4 scenarios of 12 right, 3 of 12 wrong: F1 0.571 [0.464, 0.679];
    # one case more wrong: [0.536, 0.571]). A metric counted in one scenario keeps its stratified one.
    hull: bool
    outcome_cis: bool  # a CI on every fabrication outcome's share, not only the fabricated one


# Reports written before 2026-12-07 carry no `ci_method`: singleton scenarios pooled, no hull.
EARLIER = CiRule("", min_stratum=2, hull=False, outcome_cis=False)
CURRENT = CiRule("percentile bootstrap v2: scenarios under 5 cases pooled; hull with the whole set for metrics "
                 "counted in 2+ scenarios", min_stratum=5, hull=True, outcome_cis=True)
RULES = {rule.name: rule for rule in (EARLIER, CURRENT)}


def bootstrap_ci(scores: list[dict], metric: Callable[[list[dict]], float | None], n_resamples: int = N_RESAMPLES,
                 confidence: float = 0.95, seed: int = 0,
                 strata: Callable[[dict], str] | None = None, rule: CiRule = CURRENT) -> tuple[float, float] | None:
    """Percentile CI of `metric` when the cases are resampled with replacement.

    With `strata`, each stratum is resampled to its own size (see `paired_bootstrap`): a metric on
    a small subset, such as no-tool accuracy on six no-tool cases, keeps all six slots in every draw
    instead of being measured on whatever number of them a whole-set draw happens to pick.
    """
    if not scores:
        return None
    return bootstrap_cis(scores, lambda rows: {"value": metric(rows)}, ["value"], n_resamples, confidence, seed,
                         strata, rule)["value"]


def bootstrap_cis(scores: list[dict], metrics: Callable[[list[dict]], dict], names: list[str],
                  n_resamples: int = N_RESAMPLES, confidence: float = 0.95, seed: int = 0,
                  strata: Callable[[dict], str] | None = None,
                  rule: CiRule = CURRENT) -> dict[str, tuple[float, float] | None]:
    """`bootstrap_ci` for several metrics of one draw at once (`metrics` returns them all, any function
    of the drawn rows): one call per draw, not one per metric. For metrics that are ratios of per-case
    counts, as every metric toolsweep reports is, `ratio_cis` gives the same intervals without a call
    per draw."""
    if not scores:
        return {n: None for n in names}
    scores = _in_id_order(scores)
    return _intervals(_Called(lambda idx: metrics([scores[i] for i in idx]), names),
                      _groups(scores, strata, rule.min_stratum), len(scores), n_resamples, seed, confidence, rule.hull)


def ratio_cis(scores: list[dict], ratios: dict[str, CaseRatio], n_resamples: int = N_RESAMPLES,
              confidence: float = 0.95, seed: int = 0, strata: Callable[[dict], str] | None = None,
              rule: CiRule = CURRENT) -> dict[str, tuple[float, float] | None]:
    """`bootstrap_cis` of metrics that are ratios of per-case sums (`evals.metrics.CaseRatio`), every
    draw's sums taken at once: the same draws and, the counts being integers, the same values bit for
    bit as calling the metric on each draw's rows (2 to 10 s a report that way, 10 000 calls an
    interval)."""
    if not scores:
        return {n: None for n in ratios}
    scores = _in_id_order(scores)
    return _intervals(_Ratios(scores, ratios), _groups(scores, strata, rule.min_stratum), len(scores), n_resamples,
                      seed, confidence, rule.hull)


class _Called:
    """Metrics computed by calling a function on each draw's row indices (any metric)."""

    def __init__(self, metrics_of: Callable[[list[int]], dict], names: list[str]):
        self.metrics_of, self.names = metrics_of, names

    def draws(self, block: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
        values = {n: np.full(len(block), np.nan) for n in names}
        for r, idx in enumerate(block.tolist()):
            drawn = self.metrics_of(idx)
            for n in names:
                if drawn.get(n) is not None:
                    values[n][r] = drawn[n]
        return values

    def value_on(self, rows: list[int]) -> dict[str, float | None]:
        drawn = self.metrics_of(rows)
        return {n: drawn.get(n) for n in self.names}


class _Ratios:
    """Ratio metrics of rows (numerator and denominator per row), every draw summed at once. Sums are
    kept in float64, exact for integer counts under 2**53, so a value is the same correctly rounded
    quotient that Python's int / int gives."""

    def __init__(self, rows: list[dict], ratios: dict[str, CaseRatio]):
        self.names = list(ratios)
        parts = {n: np.array([ratio(row) for row in rows], dtype=np.float64).reshape(len(rows), 2)
                 for n, ratio in ratios.items()}
        self.num = {n: p[:, 0] for n, p in parts.items()}
        self.den = {n: p[:, 1] for n, p in parts.items()}

    def draws(self, block: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
        out = {}
        for n in names:
            num, den = self.num[n][block].sum(axis=1), self.den[n][block].sum(axis=1)
            out[n] = np.divide(num, den, out=np.full(len(block), np.nan), where=den != 0)
        return out

    def value_on(self, rows: list[int]) -> dict[str, float | None]:
        sums = {n: (self.num[n][rows].sum(), self.den[n][rows].sum()) for n in self.names}
        return {n: float(num / den) if den else None for n, (num, den) in sums.items()}


class _Paired:
    """Paired differences b - a of the same metrics on the same drawn rows (undefined where either is)."""

    def __init__(self, a, b):
        self.a, self.b, self.names = a, b, a.names

    def draws(self, block: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
        va, vb = self.a.draws(block, names), self.b.draws(block, names)
        return {n: vb[n] - va[n] for n in names}

    def value_on(self, rows: list[int]) -> dict[str, float | None]:
        va, vb = self.a.value_on(rows), self.b.value_on(rows)
        return {n: None if va[n] is None or vb[n] is None else vb[n] - va[n] for n in self.names}


def _intervals(measure, groups: list[list[int]], size: int, n_resamples: int, seed: int, confidence: float,
               hull: bool) -> dict[str, tuple[float, float] | None]:
    """Each metric's percentile interval over `n_resamples` draws of its values (or paired differences),
    groups resampled each to its size; a draw where a metric is undefined is left out of its interval.
    With `hull`, widened to the whole set's draws (same seed) for a metric that more than one group
    counts (see CiRule.hull)."""
    def run(parts: list[list[int]], wanted: list[str]) -> dict[str, tuple[float, float] | None]:
        drawn: dict[str, list[np.ndarray]] = {n: [] for n in wanted}
        for block in _draw_blocks(seed, parts, n_resamples):
            for n, values in measure.draws(block, wanted).items():  # the hull's pass: its metrics only
                drawn[n].append(values[~np.isnan(values)])
        return {n: _percentile(np.concatenate(v) if v else np.empty(0), confidence) for n, v in drawn.items()}

    cis = run(groups, measure.names)
    if hull and len(groups) > 1:
        counted = [measure.value_on(g) for g in groups]
        spread = [n for n in measure.names if sum(c[n] is not None for c in counted) > 1]
        if spread:
            for n, whole in run([list(range(size))], spread).items():
                stratified = cis[n]
                if stratified and whole:
                    cis[n] = (min(stratified[0], whole[0]), max(stratified[1], whole[1]))
    return cis


def _draw_blocks(seed: int, groups: list[list[int]], n_resamples: int) -> Iterator[np.ndarray]:
    """The `n_resamples` draws, a block of them at a time, as rows of drawn row indices: in each, every
    group resampled with replacement to its own size, groups in order. One `integers` call with a bound
    per slot takes the generator's numbers in the order one call per group per draw did (one after
    another, C order), so the draws, and the intervals, are those of that loop at a tenth of its time."""
    rng = np.random.default_rng(seed)
    members = np.concatenate([np.asarray(g, dtype=np.intp) for g in groups])
    sizes = np.array([len(g) for g in groups])
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)  # each slot's group's first position in `members`
    bounds = np.repeat(sizes, sizes)
    per_block = max(1, (1 << 18) // max(1, len(members)))
    for first in range(0, n_resamples, per_block):
        count = min(per_block, n_resamples - first)
        picks = rng.integers(0, np.broadcast_to(bounds, (count, len(bounds))))
        yield members[starts + picks]


def _percentile(values: np.ndarray, confidence: float) -> tuple[float, float] | None:
    alpha = (1 - confidence) / 2
    return tuple(float(x) for x in np.quantile(values, [alpha, 1 - alpha])) if len(values) else None  # type: ignore[return-value]


def wilson_interval(successes: float, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion. Used where every case scored alike: a percentile
    bootstrap then has no width (84 of 84 answers parsed gave [1.000, 1.000]), though 84 cases
    cannot rule out a 4 % failure rate; Wilson gives [0.956, 1.000]."""
    if n <= 0:
        return None
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / denom
    return max(0.0, round(center - half, 12)), min(1.0, round(center + half, 12))


def _in_id_order(rows: list[dict]) -> list[dict]:
    """Rows sorted by case id: a draw picks cases by position, so without this the same cases listed
    in another order would get another interval from the same seed."""
    return sorted(rows, key=lambda r: str(r.get("id", "")))


def _groups(rows: list[dict], strata: Callable[[dict], str] | None, min_stratum: int = CURRENT.min_stratum) -> list[list[int]]:
    """Row indices per stratum, strata in sorted order (one group when there are no strata).

    A stratum of one case is the same case in every draw: it adds no variance, and six scenarios of
    one case each gave a zero-width interval around 0.5 for three right and three wrong; a stratum of
    two or three adds half or two thirds of its share. Strata under `min_stratum` cases are pooled into
    one group; a pool itself under `min_stratum` joins the largest stratum (the first in sorted order
    among equals), whose size then varies from draw to draw."""
    by_key: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        by_key.setdefault(strata(row) if strata else "", []).append(i)
    groups = [by_key[k] for k in sorted(by_key) if len(by_key[k]) >= min_stratum]
    pooled = sorted(i for k in by_key if len(by_key[k]) < min_stratum for i in by_key[k])
    if len(pooled) >= min_stratum or (pooled and not groups):
        groups.append(pooled)
    elif pooled:
        max(groups, key=len).extend(pooled)
    return groups


def paired_bootstrap(a: list[dict], b: list[dict], metric: Callable[[list[dict]], float | None],
                     n_resamples: int = N_RESAMPLES, confidence: float = 0.95, seed: int = 0,
                     strata: Callable[[dict], str] | None = None) -> dict:
    """CI of metric(b) - metric(a) when the same cases are resampled for both (paired by case id).

    With `strata` (e.g. the case's scenario) each stratum is resampled to its own size, so a metric
    defined on a subset (no-tool accuracy on the no-tool cases) is always measured on as many cases
    as the eval set holds. Resampling the whole set instead lets that subset shrink or vanish in a
    draw, which widens its interval and can hide a real regression on a small subset.

    "credible" is True only when the interval excludes 0. "a" and "b" are the metric on the paired
    cases, so that b - a is "diff" even when the two lists hold other cases too.
    """
    return paired_bootstraps(a, b, lambda rows: {"value": metric(rows)}, ["value"], n_resamples, confidence, seed,
                             strata)["value"]


def paired_bootstraps(a: list[dict], b: list[dict], metrics: Callable[[list[dict]], dict], names: list[str],
                      n_resamples: int = N_RESAMPLES, confidence: float = 0.95, seed: int = 0,
                      strata: Callable[[dict], str] | None = None,
                      measured: dict[str, int] | None = None) -> dict[str, dict]:
    """`paired_bootstrap` for several metrics of one draw at once (`metrics` returns them all): each
    draw is aggregated once per model, not once per metric. Every metric sees the same draws, as it
    did when each was bootstrapped alone from the same seed.

    `measured`: how many paired cases each metric counts (default: all of them). A metric counted on
    one case gets no interval and is never credible: that case is in every draw that measures it (no-
    tool accuracy on the one no-tool case read "-1.000 [-1.000, -1.000], yes, worse")."""
    a_rows, b_rows = _paired_rows(a, b)
    return _paired_intervals(_Called(lambda idx: metrics([a_rows[i] for i in idx]), names),
                             _Called(lambda idx: metrics([b_rows[i] for i in idx]), names), a_rows,
                             n_resamples, confidence, seed, strata, measured)


def paired_ratio_cis(a: list[dict], b: list[dict], ratios: dict[str, CaseRatio], n_resamples: int = N_RESAMPLES,
                     confidence: float = 0.95, seed: int = 0, strata: Callable[[dict], str] | None = None,
                     measured: dict[str, int] | None = None) -> dict[str, dict]:
    """`paired_bootstraps` of ratio metrics (see `ratio_cis`): the same rows, bit for bit."""
    a_rows, b_rows = _paired_rows(a, b)
    return _paired_intervals(_Ratios(a_rows, ratios), _Ratios(b_rows, ratios), a_rows, n_resamples, confidence,
                             seed, strata, measured)


def _paired_rows(a: list[dict], b: list[dict]) -> tuple[list[dict], list[dict]]:
    """The cases both lists hold, paired by id, in id order (the positions drawn: see _in_id_order)."""
    by_id = {s["id"]: s for s in a}
    common = sorted((s["id"] for s in b if s["id"] in by_id), key=str)
    if not common:
        raise ValueError("the two score lists share no case ids")
    b_by_id = {s["id"]: s for s in b}
    return [by_id[i] for i in common], [b_by_id[i] for i in common]


def _paired_intervals(measure_a, measure_b, a_rows: list[dict], n_resamples: int, confidence: float, seed: int,
                      strata: Callable[[dict], str] | None, measured: dict[str, int] | None) -> dict[str, dict]:
    everything = list(range(len(a_rows)))
    whole_a, whole_b = measure_a.value_on(everything), measure_b.value_on(everything)
    cis = _intervals(_Paired(measure_a, measure_b), _groups(a_rows, strata), len(a_rows), n_resamples, seed,
                     confidence, True)
    out = {}
    for n in measure_a.names:
        ma, mb = whole_a[n], whole_b[n]
        counted = len(a_rows) if measured is None else measured.get(n, len(a_rows))
        row = {"a": ma, "b": mb, "diff": None if ma is None or mb is None else mb - ma, "ci95": None,
               "credible": False, "n_cases": len(a_rows)}
        if cis[n] and counted > 1:
            lo, hi = cis[n]
            if lo == hi != 0:
                lo, hi = unanimous_interval(lo, counted, confidence)
            row.update(ci95=[lo, hi], credible=bool(lo > 0 or hi < 0))
        out[n] = row
    return out


def unanimous_interval(diff: float, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The interval of a paired difference where every one of the n counted cases moved by `diff`
    (the bootstrap can then only draw `diff`). The share of cases that move this way may be as low as
    L, the exact (Clopper-Pearson) lower bound of n of n, ((1 - confidence) / 2) ** (1 / n), and the
    rest may move back, so the interval runs from diff to diff * (2L - 1). It excludes 0 from 6 cases
    on at 95 %, where a two-sided sign test does too (a Wilson bound said 4: p = 0.125 there)."""
    low = ((1 - confidence) / 2) ** (1 / n)
    ends = (diff, diff * (2 * low - 1))
    return min(ends), max(ends)
