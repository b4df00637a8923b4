"""Pure metric functions over arrays: point estimates, DeLong intervals, exact McNemar, and a
vectorized task-resampling bootstrap (candidates of one task are correlated, so tasks, not
candidates, are what the bootstrap resamples).

Every function takes numpy arrays and returns numbers; nothing here reads or writes files.
A slice that cannot be measured (empty, or one class where two are needed) raises
`NotEvaluable` with the reason, which callers turn into a typed result, never a NaN in a table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class _LazyStats:
    """scipy.stats, imported on first use: the claims audit reads evidence models without it."""

    def __getattr__(self, name):
        from scipy import stats as real

        return getattr(real, name)


stats = _LazyStats()


class NotEvaluable(ValueError):
    """The slice cannot carry this metric (the message says why)."""


def _check_binary(y: np.ndarray, what: str) -> None:
    if y.size == 0:
        raise NotEvaluable(f"{what}: no rows")
    positives = int(y.sum())
    if positives == 0 or positives == y.size:
        raise NotEvaluable(f"{what}: one class only ({positives} of {y.size} rows pass)")


# ---------------------------------------------------------------------------- point metrics

def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC as the Mann-Whitney statistic with midranks (ties count one half)."""
    y = np.asarray(y, dtype=bool)
    _check_binary(y, "ROC-AUC")
    ranks = stats.rankdata(score)
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def delong(y: np.ndarray, score: np.ndarray) -> tuple[float, float]:
    """(AUC, variance) by DeLong et al. (1988), with the midrank algorithm of Sun & Xu (2014)."""
    y = np.asarray(y, dtype=bool)
    _check_binary(y, "ROC-AUC")
    score = np.asarray(score, dtype=float)
    pos, neg = score[y], score[~y]
    m, n = pos.size, neg.size
    all_ranks = stats.rankdata(np.concatenate([pos, neg]))
    pos_ranks, neg_ranks = stats.rankdata(pos), stats.rankdata(neg)
    v10 = (all_ranks[:m] - pos_ranks) / n  # per positive: share of negatives below (+ half the ties)
    v01 = 1.0 - (all_ranks[m:] - neg_ranks) / m  # per negative: share of positives above
    auc = float(v10.mean())
    var = (np.var(v10, ddof=1) / m if m > 1 else 0.0) + (np.var(v01, ddof=1) / n if n > 1 else 0.0)
    return auc, float(var)


def delong_interval(y: np.ndarray, score: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """(AUC, low, high): normal interval on the logit-free AUC scale, clipped to [0, 1]."""
    auc, var = delong(y, score)
    half = stats.norm.ppf(0.5 + level / 2) * np.sqrt(var)
    return auc, max(0.0, auc - half), min(1.0, auc + half)


def pr_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Average precision (the step-wise PR-AUC scikit-learn reports)."""
    from sklearn.metrics import average_precision_score

    y = np.asarray(y, dtype=bool)
    _check_binary(y, "PR-AUC")
    return float(average_precision_score(y, score))


def brier(y: np.ndarray, p: np.ndarray) -> float:
    y = np.asarray(y, dtype=float)
    if y.size == 0:
        raise NotEvaluable("Brier: no rows")
    return float(np.mean((np.asarray(p, dtype=float) - y) ** 2))


def brier_skill(y: np.ndarray, p: np.ndarray) -> float:
    """1 - Brier / Brier of always predicting the slice's base rate."""
    y = np.asarray(y, dtype=float)
    _check_binary(y.astype(bool), "Brier skill score")
    base = y.mean()
    return float(1.0 - brier(y, p) / (base * (1 - base)))


@dataclass(frozen=True)
class Bins:
    strategy: str  # "width" (equal-width) or "mass" (equal-mass)
    edges: np.ndarray
    index: np.ndarray  # bin of every row

    @property
    def count(self) -> int:
        return len(self.edges) - 1


def calibration_bins(p: np.ndarray, n_bins: int = 10, strategy: str = "width") -> Bins:
    p = np.asarray(p, dtype=float)
    if p.size == 0:
        raise NotEvaluable("calibration: no rows")
    if strategy == "width":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    elif strategy == "mass":
        edges = np.unique(np.quantile(p, np.linspace(0.0, 1.0, n_bins + 1)))
        edges[0], edges[-1] = 0.0, 1.0
        if len(edges) < 2:
            edges = np.array([0.0, 1.0])
    else:
        raise ValueError(f"unknown binning strategy {strategy!r}")
    index = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    return Bins(strategy, edges, index)


def calibration_table(y: np.ndarray, p: np.ndarray, bins: Bins) -> dict[str, np.ndarray]:
    """Per bin: rows, mean predicted, observed pass rate (NaN for empty bins)."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    count = np.bincount(bins.index, minlength=bins.count).astype(float)
    sum_p = np.bincount(bins.index, weights=p, minlength=bins.count)
    sum_y = np.bincount(bins.index, weights=y, minlength=bins.count)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {"count": count, "mean_p": sum_p / count, "observed": sum_y / count}


def ece(y: np.ndarray, p: np.ndarray, bins: Bins) -> float:
    """Expected calibration error: the row-weighted mean |observed - predicted| over bins."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    if y.size == 0:
        raise NotEvaluable("ECE: no rows")
    gap = np.bincount(bins.index, weights=y - p, minlength=bins.count)
    return float(np.abs(gap).sum() / y.size)


def mce(y: np.ndarray, p: np.ndarray, bins: Bins) -> float:
    """Maximum calibration error over non-empty bins."""
    table = calibration_table(y, p, bins)
    filled = table["count"] > 0
    if not filled.any():
        raise NotEvaluable("MCE: no rows")
    return float(np.max(np.abs(table["observed"][filled] - table["mean_p"][filled])))


def mcnemar_exact(b: int, c: int) -> float:
    """Exact McNemar p (two-sided): the binomial test of b discordant pairs one way out of b + c."""
    if b + c == 0:
        return 1.0
    return float(stats.binomtest(b, b + c, 0.5).pvalue)


# ------------------------------------------------------------------ task-resampling bootstrap

class TaskBootstrap:
    """Draws of task multiplicities: each draw resamples the tasks with replacement (how many
    times each task is drawn), and every statistic is a weighted statistic of the rows under
    those counts. Deterministic for a seed; consumed in batches of draws, as (n_tasks, batch)
    float64 arrays, so that statistics are matrix products of per-task sums."""

    def __init__(self, task_of_row: np.ndarray, draws: int = 2000, seed: int = 0, batch: int = 64):
        tasks, self.row_task = np.unique(np.asarray(task_of_row), return_inverse=True)
        self.n_tasks = len(tasks)
        self.draws, self.seed, self.batch = draws, seed, batch

    def counts(self):
        """Yield (n_tasks, b) arrays: column k holds the task counts of one draw."""
        rng = np.random.default_rng(self.seed)
        t = self.n_tasks
        done = 0
        while done < self.draws:
            b = min(self.batch, self.draws - done)
            picks = rng.integers(0, t, size=(b, t)) + (np.arange(b) * t)[:, None]
            yield np.bincount(picks.ravel(), minlength=b * t).reshape(b, t).T.astype(np.float64)
            done += b

    def per_task(self, values: np.ndarray) -> np.ndarray:
        """Sum of a per-row quantity within each task: (n_tasks,) or (n_tasks, k)."""
        values = np.asarray(values, dtype=np.float64)
        if values.ndim == 1:
            return np.bincount(self.row_task, weights=values, minlength=self.n_tasks)
        out = np.zeros((self.n_tasks, values.shape[1]))
        np.add.at(out, self.row_task, values)
        return out


def interval(draws: np.ndarray, level: float = 0.95, point: float | None = None) -> tuple[float, float, int]:
    """Percentile interval of the finite draws, and how many draws were degenerate.

    With `point` (the estimate on the data itself), the interval is the percentile interval
    widened, where needed, to contain the estimate. A plug-in estimator with a resampling bias
    (ECE: resampling adds noise to every bin's mean, so nearly every draw's ECE sits above the
    data's) can put the whole percentile interval on one side of its own estimate; an interval
    that excludes the number it is reported with is wrong, so the bound on that side becomes the
    estimate itself. Where the estimate lies inside, nothing changes."""
    finite = draws[np.isfinite(draws)]
    if finite.size == 0:
        raise NotEvaluable("bootstrap: every draw was degenerate")
    low, high = np.percentile(finite, [50 * (1 - level), 50 * (1 + level)])
    if point is not None and np.isfinite(point):
        low, high = min(low, point), max(high, point)
    return float(low), float(high), int(draws.size - finite.size)


# Below this many rows, every per-draw partial count of bootstrap_auc is an integer (or half) under
# 2**22 (a draw holds as many rows as the data, its counts sum to the rows), exact in float32.
EXACT_FLOAT32_ROWS = 2_000_000


def bootstrap_auc(boot: TaskBootstrap, y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """AUC under every draw, vectorized.

    Rows are sorted by score once and cut into units: a tie group with both classes, or a
    maximal run of consecutive single-class groups. A positive unit's pairs with the negatives
    are all decided by the negative weight before it (plus half its own negatives when it is a
    tie group), so per draw the Mann-Whitney numerator is sum(P * (cumsum(N) - N / 2)), where
    P and N are the positive and negative weight of every unit: a sparse (units x tasks) matrix
    times the draw's task counts. Exact, and the cumulative sum runs over units, not rows.

    The unit weights and their cumulative sums are whole (or half) counts, held exactly in float32
    while the rows are fewer than EXACT_FLOAT32_ROWS (every partial sum stays below 2**22); the
    products are summed in float64. That halves the memory traffic of the two hot loops and gives
    the very same draws as float64 throughout (tested)."""
    from scipy import sparse

    y = np.asarray(y, dtype=bool)
    order = np.argsort(score, kind="stable")
    s_sorted, y_sorted, task_sorted = np.asarray(score, dtype=float)[order], y[order], boot.row_task[order]
    group = np.cumsum(np.r_[True, s_sorted[1:] != s_sorted[:-1]]) - 1
    n_groups = group[-1] + 1 if group.size else 0
    positives = np.bincount(group, weights=y_sorted, minlength=n_groups)
    sizes = np.bincount(group, minlength=n_groups)
    kind = np.where(positives == 0, 0, np.where(positives == sizes, 1, 2))  # 2: a tie group with both classes
    starts = np.r_[True, (kind[1:] != kind[:-1]) | (kind[1:] == 2) | (kind[:-1] == 2)]
    unit = (np.cumsum(starts) - 1)[group]
    n_units = int(unit.max()) + 1 if unit.size else 0
    shape = (n_units, boot.n_tasks)
    dtype = np.float32 if len(y) < EXACT_FLOAT32_ROWS else np.float64
    pos = sparse.csr_matrix((y_sorted.astype(dtype), (unit, task_sorted)), shape=shape)
    neg = sparse.csr_matrix(((~y_sorted).astype(dtype), (unit, task_sorted)), shape=shape)
    out = np.empty(boot.draws)
    k = 0
    for counts in boot.counts():
        counts = counts.astype(dtype, copy=False)
        p_w, n_w = pos @ counts, neg @ counts  # (units, b)
        cum = np.cumsum(n_w, axis=0)
        total_neg = cum[-1].astype(np.float64) if n_units else np.zeros(counts.shape[1])
        cum -= 0.5 * n_w
        numerator = np.einsum("ub,ub->b", p_w, cum, dtype=np.float64)
        total_pos = p_w.sum(axis=0, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[k:k + counts.shape[1]] = np.where((total_pos > 0) & (total_neg > 0),
                                                  numerator / (total_pos * total_neg), np.nan)
        k += counts.shape[1]
    return out


def bootstrap_ratio(boot: TaskBootstrap, numerator_per_task: np.ndarray,
                    denominator_per_task: np.ndarray) -> np.ndarray:
    """sum(counts * num) / sum(counts * den) under every draw (means, pass rates, lifts)."""
    num = np.asarray(numerator_per_task, dtype=np.float64)
    den = np.asarray(denominator_per_task, dtype=np.float64)
    parts = []
    for counts in boot.counts():
        with np.errstate(invalid="ignore", divide="ignore"):
            parts.append((num @ counts) / (den @ counts))
    return np.concatenate(parts)


def bootstrap_calibration(boot: TaskBootstrap, y: np.ndarray, p: np.ndarray,
                          bins: Bins) -> tuple[np.ndarray, np.ndarray]:
    """(ECE, MCE) under every draw, from per-task, per-bin row counts and residual sums."""
    y, p = np.asarray(y, dtype=np.float64), np.asarray(p, dtype=np.float64)
    flat = boot.row_task * bins.count + bins.index
    size = boot.n_tasks * bins.count
    count = np.bincount(flat, minlength=size).reshape(boot.n_tasks, bins.count).T  # (bins, tasks)
    gap = np.bincount(flat, weights=y - p, minlength=size).reshape(boot.n_tasks, bins.count).T
    eces, mces = [], []
    for counts in boot.counts():
        n_bin, g_bin = count @ counts, gap @ counts  # (bins, b)
        total = n_bin.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            eces.append(np.abs(g_bin).sum(axis=0) / total)
            per_bin = np.where(n_bin > 0, np.abs(g_bin) / np.where(n_bin > 0, n_bin, 1), -np.inf)
            mces.append(np.where(total > 0, per_bin.max(axis=0), np.nan))
    return np.concatenate(eces), np.concatenate(mces)
