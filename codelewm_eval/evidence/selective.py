"""Selective execution, the practical use of p_pass: execute only the top fraction of candidates
by score. At each coverage (the share of candidates executed), the share of the passing candidates
kept, and the pass rate of what is executed, with task-bootstrap intervals, beside a random pick
(which keeps the coverage's share of the passes, at the base rate) and the oracle (every pass
first)."""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, Field

from . import metrics as M

COVERAGES = (0.10, 0.25, 0.50, 0.75)


class CoveragePoint(BaseModel):
    coverage: float = Field(description="the share of candidates executed (the top ones by score)")
    executed: int
    kept_share: float | None = Field(description="the share of the passing candidates among those executed")
    kept_share_ci: tuple[float, float] | None = None
    pass_rate: float | None = Field(description="the pass rate of what is executed")
    pass_rate_ci: tuple[float, float] | None = None
    random_kept_share: float = Field(description="a random pick's expected share kept: the coverage itself")
    random_pass_rate: float = Field(description="a random pick's expected pass rate: the base rate")
    oracle_kept_share: float
    oracle_pass_rate: float


class RiskCoverage(BaseModel):
    """One scorer and seed on one split, pooled over benchmarks."""

    seed: int | None
    scorer: str
    benchmark: str = "all"
    split: str
    rows: int
    positives: int
    tasks: int
    tie_seed: int = Field(0, description="seed of the random order that breaks score ties at the cut")
    points: list[CoveragePoint]


class CoverageFile(BaseModel):
    """`coverage.json` of an evidence bundle: risk-coverage of every scorer, seed and held-out split."""

    schema_version: int = 1
    results: list[RiskCoverage]


def _order(score: np.ndarray, tie_seed: int) -> np.ndarray:
    """Rows by score, highest first; ties (and missing scores, last) in a seeded random order."""
    key = np.where(np.isfinite(score), score, -np.inf)
    return np.lexsort((np.random.default_rng(tie_seed).permutation(score.size), -key))


def risk_coverage(y: np.ndarray, score: np.ndarray, tasks: np.ndarray, *, draws: int = 2000, tie_seed: int = 0,
                  coverages=COVERAGES) -> list[CoveragePoint]:
    """The points of the risk-coverage curve at `coverages` (see the module docstring)."""
    y = np.asarray(y, dtype=bool)
    n, positives = y.size, int(y.sum())
    order = _order(np.asarray(score, dtype=np.float64), tie_seed)
    ys = y[order].astype(np.float64)
    kept_ci, rate_ci = _bootstrap(ys, np.asarray(tasks)[order], draws, coverages) if n else ({}, {})
    points = []
    for f in coverages:
        k = math.ceil(f * n - 1e-9) if n else 0
        kept = float(ys[:k].sum())
        share, rate = (kept / positives if positives else None), (kept / k if k else None)
        points.append(CoveragePoint(
            coverage=f, executed=k, kept_share=share, kept_share_ci=_around(kept_ci.get(f), share),
            pass_rate=rate, pass_rate_ci=_around(rate_ci.get(f), rate),
            random_kept_share=k / n if n else 0.0, random_pass_rate=positives / n if n else 0.0,
            oracle_kept_share=min(k, positives) / positives if positives else 0.0,
            oracle_pass_rate=min(k, positives) / k if k else 0.0))
    return points


def _around(ci: tuple[float, float] | None, point: float | None) -> tuple[float, float] | None:
    """The percentile interval, widened where needed to contain its own estimate."""
    if ci is None or point is None:
        return ci
    return min(ci[0], point), max(ci[1], point)


def _bootstrap(ys: np.ndarray, tasks: np.ndarray, draws: int, coverages) -> tuple[dict, dict]:
    """Task-bootstrap percentile intervals of the share kept and the pass rate at each coverage: a
    draw repeats each row as often as its task was drawn, and executes the top ceil(coverage x
    rows) of that multiset (a row straddling the cut counts for the copies inside it)."""
    boot = M.TaskBootstrap(tasks, draws=draws, seed=0)
    kept: dict[float, list[np.ndarray]] = {f: [] for f in coverages}
    rate: dict[float, list[np.ndarray]] = {f: [] for f in coverages}
    for counts in boot.counts():
        w = counts[boot.row_task]                      # (rows, b): each row's copies in each draw
        cw = np.cumsum(w, axis=0)
        before = cw - w
        total_pos = (w * ys[:, None]).sum(axis=0)
        for f in coverages:
            cut = np.ceil(f * cw[-1] - 1e-9)[None, :]
            inside = np.clip(cut - before, 0, w)       # the copies of each row among the first `cut`
            executed, passed = inside.sum(axis=0), (inside * ys[:, None]).sum(axis=0)
            with np.errstate(divide="ignore", invalid="ignore"):
                kept[f].append(np.where(total_pos > 0, passed / total_pos, np.nan))
                rate[f].append(np.where(executed > 0, passed / executed, np.nan))
    out_kept, out_rate = {}, {}
    for f in coverages:
        for store, out in ((kept, out_kept), (rate, out_rate)):
            try:
                low, high, _ = M.interval(np.concatenate(store[f]))
                out[f] = (low, high)
            except M.NotEvaluable:
                pass
    return out_kept, out_rate
