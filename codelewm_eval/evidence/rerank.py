"""Best-of-n reranking: pass@1 of each task's top-scored candidate against no_action, the exact
random expectation, lexical consensus and the oracle; lift over no_action with a paired
task-level bootstrap CI and an exact McNemar test; saturated slices are named as such."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from pydantic import BaseModel

from .metrics import TaskBootstrap, bootstrap_ratio, interval, mcnemar_exact

SATURATION = 0.85  # no_action at or above this: too little left to rerank


class RerankResult(BaseModel):
    benchmark: str
    split: str
    scorer: str
    tasks: int
    headroom_tasks: int
    pass_at_1: float
    no_action: float
    random_expected: float
    lexical: float | None
    oracle: float
    lift: float
    lift_ci: tuple[float, float] | None
    gained: int
    lost: int
    mcnemar_p: float
    tied_tasks: int
    unscored_candidates: int
    saturated: str | None = None  # why the slice cannot show a lift, if it cannot


def _select(members: list[int], score: np.ndarray, order: np.ndarray, ids: list[str]) -> tuple[int, bool]:
    """The top-scored member (NaN ranks last; ties: earlier sample, then id) and whether it tied."""
    values = [(score[i] if np.isfinite(score[i]) else -np.inf) for i in members]
    best = max(values)
    top = [i for i, v in zip(members, values) if v == best]
    return min(top, key=lambda i: (-order[i], ids[i])), len(top) > 1


def rerank(benchmark: str, split: str, scorer: str, members_by_task: dict[str, list[int]], passed: np.ndarray,
           score: np.ndarray, no_action: np.ndarray, lexical: np.ndarray | None, ids: list[str],
           draws: int = 2000, seed: int = 0) -> RerankResult:
    tasks = sorted(members_by_task)
    sel, base, rand, best, lex = [], [], [], [], []
    tied = 0
    for t in tasks:
        members = members_by_task[t]
        pick, was_tied = _select(members, score, no_action, ids)
        tied += was_tied
        sel.append(passed[pick])
        base.append(passed[_select(members, no_action, no_action, ids)[0]])
        rand.append(passed[members].mean())
        best.append(passed[members].any())
        if lexical is not None:
            lex.append(passed[_select(members, lexical, no_action, ids)[0]])
    sel_a, base_a = np.array(sel, dtype=float), np.array(base, dtype=float)
    n = len(tasks)
    headroom = sum(1 for t in tasks if 0 < passed[members_by_task[t]].sum() < len(members_by_task[t]))
    gained = int(((sel_a == 1) & (base_a == 0)).sum())
    lost = int(((sel_a == 0) & (base_a == 1)).sum())
    lift = float(sel_a.mean() - base_a.mean()) if n else 0.0
    ci = None
    if n:
        boot = TaskBootstrap(np.arange(n), draws=draws, seed=seed)
        low, high, _ = interval(bootstrap_ratio(boot, sel_a - base_a, np.ones(n)))
        ci = (low, high)
    saturated = None
    if n and base_a.mean() >= SATURATION:
        saturated = f"no_action pass@1 {base_a.mean():.3f} >= {SATURATION}"
    elif headroom == 0:
        saturated = "no task has both passing and failing candidates"
    unscored = int(sum(1 for t in tasks for i in members_by_task[t] if not np.isfinite(score[i])))
    return RerankResult(benchmark=benchmark, split=split, scorer=scorer, tasks=n, headroom_tasks=headroom,
                        pass_at_1=float(sel_a.mean()) if n else 0.0, no_action=float(base_a.mean()) if n else 0.0,
                        random_expected=float(np.mean(rand)) if n else 0.0,
                        lexical=float(np.mean(lex)) if lex else None, oracle=float(np.mean(best)) if n else 0.0,
                        lift=lift, lift_ci=ci, gained=gained, lost=lost, mcnemar_p=mcnemar_exact(gained, lost),
                        tied_tasks=tied, unscored_candidates=unscored, saturated=saturated)


def rerank_pools(benchmarks: list[str], tasks: list[str], splits: list[str], sources: list[str],
                 in_pool: np.ndarray) -> dict:
    """(slice, split) -> task -> row indexes of the candidates that compete. Candidates compete
    only with those of their own sample file (one model's samples, or one pool): the slice is
    the benchmark when it has one source, else "benchmark:source"."""
    per_bench: dict[str, set] = defaultdict(set)
    for i, keep in enumerate(in_pool):
        if keep:
            per_bench[benchmarks[i]].add(sources[i])
    pools: dict = defaultdict(lambda: defaultdict(list))
    for i, keep in enumerate(in_pool):
        if keep:
            name = benchmarks[i] if len(per_bench[benchmarks[i]]) == 1 else f"{benchmarks[i]}:{sources[i]}"
            pools[(name, splits[i])][tasks[i]].append(i)
    return pools


class DecoyResult(BaseModel):
    category: str
    split: str
    scorer: str
    pairs: int
    scorable: int
    tasks: int
    accuracy: float | None  # passing row above its decoy (ties count half): the pairwise AUC
    accuracy_ci: tuple[float, float] | None


def decoy_accuracy(category: str, split: str, scorer: str, pairs: list[tuple[int, int]], task_of: list[str],
                   score: np.ndarray, draws: int = 2000, seed: int = 0) -> DecoyResult:
    """pairs: (passing row, decoy row) indexes."""
    usable = [(p, d) for p, d in pairs if np.isfinite(score[p]) and np.isfinite(score[d])]
    if not usable:
        return DecoyResult(category=category, split=split, scorer=scorer, pairs=len(pairs), scorable=0,
                           tasks=len({task_of[d] for _, d in pairs}), accuracy=None, accuracy_ci=None)
    win = np.array([1.0 if score[p] > score[d] else 0.5 if score[p] == score[d] else 0.0 for p, d in usable])
    task = np.array([task_of[d] for _, d in usable])
    boot = TaskBootstrap(task, draws=draws, seed=seed)
    low, high, _ = interval(bootstrap_ratio(boot, boot.per_task(win), boot.per_task(np.ones(len(win)))))
    return DecoyResult(category=category, split=split, scorer=scorer, pairs=len(pairs), scorable=len(usable),
                       tasks=len(set(task)), accuracy=float(win.mean()), accuracy_ci=(low, high))
