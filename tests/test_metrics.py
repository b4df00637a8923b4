"""Metrics: point estimates equal scikit-learn / SciPy; DeLong equals an independent
pairwise implementation; every bootstrap draw equals the metric recomputed on that resample."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import average_precision_score, roc_auc_score

from codelewm_eval.evidence import metrics as M


def _fixture(n=3000, tasks=200, seed=0, ties=True):
    rng = np.random.default_rng(seed)
    task = rng.integers(0, tasks, n)
    y = rng.random(n) < 0.35
    score = rng.random(n) + 0.4 * y
    if ties:
        score = np.round(score, 2)  # many ties, including mixed-class ones
    return task, y, score


@pytest.mark.parametrize("ties", [True, False])
def test_point_metrics_equal_scikit_learn(ties):
    task, y, s = _fixture(ties=ties)
    assert abs(M.roc_auc(y, s) - roc_auc_score(y, s)) < 1e-12
    assert abs(M.pr_auc(y, s) - average_precision_score(y, s)) < 1e-12
    p = np.clip(s, 0, 1)
    assert abs(M.brier(y, p) - np.mean((p - y) ** 2)) < 1e-12
    assert abs(M.brier_skill(y, p) - (1 - np.mean((p - y) ** 2) / (y.mean() * (1 - y.mean())))) < 1e-12


def _delong_pairwise(y, s):
    """DeLong's structural components from their definition, pair by pair (O(m n))."""
    pos, neg = s[y], s[~y]
    psi = (pos[:, None] > neg[None, :]).astype(float) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return psi.mean(), np.var(v10, ddof=1) / len(pos) + np.var(v01, ddof=1) / len(neg)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_delong_matches_the_pairwise_definition(seed):
    _, y, s = _fixture(n=800, seed=seed)
    auc, var = M.delong(y, s)
    ref_auc, ref_var = _delong_pairwise(y, s)
    assert abs(auc - ref_auc) < 1e-12 and abs(var - ref_var) < 1e-12
    auc, low, high = M.delong_interval(y, s)
    half = stats.norm.ppf(0.975) * np.sqrt(ref_var)
    assert abs(low - (ref_auc - half)) < 1e-12 and abs(high - (ref_auc + half)) < 1e-12


def test_mcnemar_is_the_exact_binomial_test():
    assert M.mcnemar_exact(1, 7) == pytest.approx(2 * (1 + 8) / 256, abs=1e-15)  # by hand
    for b, c in [(0, 0), (3, 3), (2, 11), (40, 25)]:
        expected = 1.0 if b + c == 0 else stats.binomtest(b, b + c, 0.5).pvalue
        assert M.mcnemar_exact(b, c) == expected


def test_calibration_errors_by_hand():
    y = np.array([0, 1, 1, 0, 1, 1])
    p = np.array([0.05, 0.15, 0.55, 0.65, 0.95, 0.85])
    bins = M.calibration_bins(p, 2, "width")  # [0, .5): p .05 .15 / y 0 1; [.5, 1]: p .55 .65 .95 .85 / y 1 0 1 1
    assert M.ece(y, p, bins) == pytest.approx((abs(1 - 0.2) + abs(3 - 3.0)) / 6)
    assert M.mce(y, p, bins) == pytest.approx(0.4)
    mass = M.calibration_bins(np.linspace(0, 1, 100), 4, "mass")
    assert np.bincount(mass.index).tolist() == [25, 25, 25, 25]


def test_single_class_and_empty_slices_are_not_evaluable():
    for fn in (M.roc_auc, M.pr_auc, M.delong, M.brier_skill):
        with pytest.raises(M.NotEvaluable, match="one class"):
            fn(np.array([1, 1, 1]), np.array([0.1, 0.2, 0.3]))
        with pytest.raises(M.NotEvaluable, match="no rows"):
            fn(np.array([]), np.array([]))


def _draws(boot, k):
    counts = next(boot.counts())[:, :k]  # (tasks, k)
    return [counts[boot.row_task, j] for j in range(k)]  # per-row weights of the first k draws


def test_every_bootstrap_draw_is_the_metric_of_its_resample():
    task, y, s = _fixture(n=2000, tasks=150)
    boot = M.TaskBootstrap(task, draws=40, seed=3, batch=16)
    aucs = M.bootstrap_auc(boot, y, s)
    p = np.clip(s, 0, 1)
    bins = M.calibration_bins(p, 10, "mass")
    eces, mces = M.bootstrap_calibration(boot, y, p, bins)
    rates = M.bootstrap_ratio(boot, boot.per_task(y.astype(float)), boot.per_task(np.ones(len(y))))
    for j, w in enumerate(_draws(boot, 5)):
        assert abs(aucs[j] - roc_auc_score(y, s, sample_weight=w)) < 1e-12
        rows = np.repeat(np.arange(len(y)), w.astype(int))  # the resample, materialized
        resampled = M.Bins(bins.strategy, bins.edges, bins.index[rows])
        assert abs(eces[j] - M.ece(y[rows], p[rows], resampled)) < 1e-12
        assert abs(mces[j] - M.mce(y[rows], p[rows], resampled)) < 1e-12
        assert abs(rates[j] - y[rows].mean()) < 1e-12
    assert not np.array_equal(M.bootstrap_auc(M.TaskBootstrap(task, draws=40, seed=4), y, s), aucs)
    assert np.array_equal(M.bootstrap_auc(M.TaskBootstrap(task, draws=40, seed=3, batch=16), y, s), aucs)
    low, high, degenerate = M.interval(aucs)
    assert low < M.roc_auc(y, s) < high and degenerate == 0


def _bootstrap_auc_float64(boot, y, score):
    """bootstrap_auc as it was before float32 units (float64 throughout): the reference."""
    from scipy import sparse

    y = np.asarray(y, dtype=bool)
    order = np.argsort(score, kind="stable")
    s_sorted, y_sorted, task_sorted = np.asarray(score, dtype=float)[order], y[order], boot.row_task[order]
    group = np.cumsum(np.r_[True, s_sorted[1:] != s_sorted[:-1]]) - 1
    n_groups = group[-1] + 1
    positives = np.bincount(group, weights=y_sorted, minlength=n_groups)
    sizes = np.bincount(group, minlength=n_groups)
    kind = np.where(positives == 0, 0, np.where(positives == sizes, 1, 2))
    starts = np.r_[True, (kind[1:] != kind[:-1]) | (kind[1:] == 2) | (kind[:-1] == 2)]
    unit = (np.cumsum(starts) - 1)[group]
    shape = (int(unit.max()) + 1, boot.n_tasks)
    pos = sparse.csr_matrix((y_sorted.astype(np.float64), (unit, task_sorted)), shape=shape)
    neg = sparse.csr_matrix(((~y_sorted).astype(np.float64), (unit, task_sorted)), shape=shape)
    out = []
    for counts in boot.counts():
        p_w, n_w = pos @ counts, neg @ counts
        cum = np.cumsum(n_w, axis=0)
        numerator = np.einsum("ub,ub->b", p_w, cum - 0.5 * n_w)
        with np.errstate(invalid="ignore", divide="ignore"):
            out.append(np.where((p_w.sum(0) > 0) & (cum[-1] > 0), numerator / (p_w.sum(0) * cum[-1]), np.nan))
    return np.concatenate(out)


def test_the_float32_bootstrap_gives_the_same_draws_as_float64_for_a_fixed_seed():
    rng = np.random.default_rng(7)
    n, tasks = 20_000, 1_500
    task = rng.integers(0, tasks, n)
    y = rng.random(n) < 0.3
    # scores with heavy ties (a tenth of them rounded to two decimals) and continuous ones
    p = np.clip(rng.normal(0.3 + 0.3 * y, 0.2), 0, 1)
    p[: n // 10] = np.round(p[: n // 10], 2)
    boot = M.TaskBootstrap(task, draws=1_000, seed=3)
    fast, reference = M.bootstrap_auc(boot, y, p), _bootstrap_auc_float64(boot, y, p)
    assert np.array_equal(fast, reference, equal_nan=True)
    assert M.interval(fast) == M.interval(reference)
