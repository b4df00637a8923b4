"""Selective execution (risk-coverage): executing only the top share of candidates by score, the
share of the passes kept and the pass rate of what runs, with task-bootstrap intervals, beside
random and oracle; checked against a direct computation, and gated like any other measurement."""

from __future__ import annotations

import math

import numpy as np
import pytest

from codelewm_eval.evidence import metrics as M
from codelewm_eval.evidence.gates import Gate
from codelewm_eval.evidence.selective import COVERAGES, _bootstrap, risk_coverage


def _data(seed=0, n=90):
    rng = np.random.default_rng(seed)
    tasks = np.array([f"t{i // 3}" for i in range(n)])
    y = rng.random(n) < 0.35
    s = np.round(y * 0.4 + rng.random(n), 1)  # rounded: ties at the cut
    return y, s, tasks


def test_points_match_a_direct_computation():
    y, s, tasks = _data()
    points = risk_coverage(y, s, tasks, draws=50, tie_seed=3)
    order = np.lexsort((np.random.default_rng(3).permutation(y.size), -s))
    for f, p in zip(COVERAGES, points):
        k = math.ceil(f * y.size)
        top = y[order][:k]
        assert p.executed == k and p.kept_share == pytest.approx(top.sum() / y.sum())
        assert p.pass_rate == pytest.approx(top.mean()) and p.random_pass_rate == pytest.approx(y.mean())
        assert p.oracle_kept_share == pytest.approx(min(k, y.sum()) / y.sum())
        assert p.kept_share_ci[0] <= p.kept_share <= p.kept_share_ci[1]
    perfect = risk_coverage(y, y.astype(float), tasks, draws=20)
    assert [p.kept_share for p in perfect] == [p.oracle_kept_share for p in perfect]


def test_the_bootstrap_is_the_expanded_multiset_of_each_draw():
    """Each draw, computed by repeating every row as often as its task was drawn and cutting the
    sorted multiset: the vectorized draws are exactly these."""
    y, s, tasks = _data(1, 60)
    order = np.lexsort((np.random.default_rng(0).permutation(y.size), -s))
    ys, ts = y[order].astype(float), tasks[order]
    kept, _ = _bootstrap(ys, ts, 30, (0.25,))
    boot = M.TaskBootstrap(ts, draws=30, seed=0)
    draws = []
    for counts in boot.counts():
        for b in range(counts.shape[1]):
            copies = counts[boot.row_task, b].astype(int)
            expanded = np.repeat(ys, copies)
            k = math.ceil(0.25 * expanded.size)
            draws.append(expanded[:k].sum() / expanded.sum())
    low, high, _ = M.interval(np.array(draws))
    assert kept[0.25] == pytest.approx((low, high))


def test_a_selective_gate_names_its_coverage():
    Gate(name="sel", metric="selective_kept_share", benchmarks=["all"], coverage=0.5, threshold=0.7)
    with pytest.raises(ValueError, match="names its coverage"):
        Gate(name="sel", metric="selective_kept_share", benchmarks=["all"], threshold=0.7)
    with pytest.raises(ValueError, match="names its coverage"):
        Gate(name="auc", metric="auc", coverage=0.5, threshold=0.7)
