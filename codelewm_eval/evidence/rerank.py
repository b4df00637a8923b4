"""Best-of-n reranking: pass@1 of each task's top-scored candidate against the exact random
expectation (always), no_action (only where the source has a sample order), lexical consensus
and the oracle; lifts over random and over no_action with paired task-level bootstrap CIs and an
exact McNemar test against no_action; saturated slices are named as such.

Ties at the top are broken by a seeded random draw (`tie_seed`, recorded with the result), never
by ids or hashes, so a scorer that ties everywhere earns exactly what a random pick earns in
expectation. The lift over the random expectation is the figure comparable to CodeT's (pass@1
of the reranked pick against the mean pass@1 of the samples)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from pydantic import BaseModel, Field

from .metrics import TaskBootstrap, bootstrap_ratio, interval, mcnemar_exact

SATURATION = 0.85  # the baseline pass@1 at or above this: too little left to rerank
# sample formats whose candidates carry the order they were generated in (sample_index); a pool
# (MapCoder's multi-strategy runs), canonical solutions and mutants have none
ORDERED_FORMATS = frozenset({"human-eval", "evalplus", "codet", "multiple-e", "lcb-graded", "generate"})
NO_ORDER = "no_action not evaluable: the source has no sample order (a pool, or canonical solutions and mutants)"


class RerankResult(BaseModel):
    benchmark: str
    split: str
    scorer: str
    tasks: int
    headroom_tasks: int
    pass_at_1: float
    ordered: bool = Field(True, description="the candidates have a sample order, so no_action exists")
    no_action: float | None
    random_expected: float
    lexical: float | None
    oracle: float
    lift: float | None = Field(description="over no_action (None without a sample order)")
    lift_ci: tuple[float, float] | None
    lift_random: float = Field(0.0, description="over the exact random expectation (the CodeT-comparable lift)")
    lift_random_ci: tuple[float, float] | None = None
    gained: int | None = Field(description="tasks the pick passes and no_action fails")
    lost: int | None
    mcnemar_p: float | None = Field(description="exact McNemar against no_action")
    tied_tasks: int
    tie_seed: int = Field(0, description="seed of the random draw that breaks ties at the top")
    unscored_candidates: int
    score_health: dict[str, int] = Field(default_factory=dict, description="missing / non_finite / out_of_range "
                                                                           "scores among the slice's candidates")
    saturated: str | None = None  # why the slice cannot show a lift, if it cannot


def _select(members: list[int], score: np.ndarray, rng: np.random.Generator) -> tuple[int, bool]:
    """The top-scored member (NaN ranks last; ties: a seeded random draw) and whether it tied."""
    values = np.array([score[i] if np.isfinite(score[i]) else -np.inf for i in members])
    top = np.flatnonzero(values == values.max())
    if top.size == 1:
        return members[int(top[0])], False
    return members[int(top[rng.integers(top.size)])], True


def _ci(values: np.ndarray, draws: int, seed: int) -> tuple[float, float] | None:
    if not values.size:
        return None
    boot = TaskBootstrap(np.arange(values.size), draws=draws, seed=seed)
    low, high, _ = interval(bootstrap_ratio(boot, values, np.ones(values.size)), point=float(values.mean()))
    return low, high


def rerank(benchmark: str, split: str, scorer: str, members_by_task: dict[str, list[int]], passed: np.ndarray,
           score: np.ndarray, no_action: np.ndarray | None, lexical: np.ndarray | None, ids: list[str],
           draws: int = 2000, seed: int = 0, tie_seed: int = 0, ordered: bool = True,
           score_health: dict[str, int] | None = None) -> RerankResult:
    tasks = sorted(members_by_task)
    rng = np.random.default_rng(tie_seed)
    sel, base, rand, best, lex = [], [], [], [], []
    tied = 0
    have_order = ordered and no_action is not None
    for t in tasks:
        members = members_by_task[t]
        pick, was_tied = _select(members, score, rng)
        tied += was_tied
        sel.append(passed[pick])
        if have_order:
            base.append(passed[_select(members, no_action, rng)[0]])
        rand.append(passed[members].mean())
        best.append(passed[members].any())
        if lexical is not None:
            lex.append(passed[_select(members, lexical, rng)[0]])
    sel_a, rand_a = np.array(sel, dtype=float), np.array(rand, dtype=float)
    base_a = np.array(base, dtype=float)
    n = len(tasks)
    headroom = sum(1 for t in tasks if 0 < passed[members_by_task[t]].sum() < len(members_by_task[t]))
    gained = lost = p = lift = ci = None
    if have_order and n:
        gained = int(((sel_a == 1) & (base_a == 0)).sum())
        lost = int(((sel_a == 0) & (base_a == 1)).sum())
        p = mcnemar_exact(gained, lost)
        lift = float(sel_a.mean() - base_a.mean())
        ci = _ci(sel_a - base_a, draws, seed)
    baseline = base_a.mean() if have_order and n else rand_a.mean() if n else 0.0
    saturated = None
    if n and baseline >= SATURATION:
        saturated = f"{'no_action' if have_order else 'random'} pass@1 {baseline:.3f} >= {SATURATION}"
    elif headroom == 0:
        saturated = "no task has both passing and failing candidates"
    unscored = int(sum(1 for t in tasks for i in members_by_task[t] if not np.isfinite(score[i])))
    return RerankResult(benchmark=benchmark, split=split, scorer=scorer, tasks=n, headroom_tasks=headroom,
                        pass_at_1=float(sel_a.mean()) if n else 0.0, ordered=have_order,
                        no_action=float(base_a.mean()) if have_order and n else None,
                        random_expected=float(rand_a.mean()) if n else 0.0,
                        lexical=float(np.mean(lex)) if lex else None, oracle=float(np.mean(best)) if n else 0.0,
                        lift=lift, lift_ci=ci, lift_random=float((sel_a - rand_a).mean()) if n else 0.0,
                        lift_random_ci=_ci(sel_a - rand_a, draws, seed), gained=gained, lost=lost, mcnemar_p=p,
                        tied_tasks=tied, tie_seed=tie_seed, unscored_candidates=unscored,
                        score_health=score_health or {}, saturated=saturated)


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
    score_health: dict[str, int] = Field(default_factory=dict, description="missing / non_finite / out_of_range "
                                                                           "scores among the pairs' rows")


def decoy_accuracy(category: str, split: str, scorer: str, pairs: list[tuple[int, int]], task_of: list[str],
                   score: np.ndarray, draws: int = 2000, seed: int = 0,
                   score_health: dict[str, int] | None = None) -> DecoyResult:
    """pairs: (passing row, decoy row) indexes."""
    usable = [(p, d) for p, d in pairs if np.isfinite(score[p]) and np.isfinite(score[d])]
    if not usable:
        return DecoyResult(category=category, split=split, scorer=scorer, pairs=len(pairs), scorable=0,
                           tasks=len({task_of[d] for _, d in pairs}), accuracy=None, accuracy_ci=None,
                           score_health=score_health or {})
    win = np.array([1.0 if score[p] > score[d] else 0.5 if score[p] == score[d] else 0.0 for p, d in usable])
    task = np.array([task_of[d] for _, d in usable])
    boot = TaskBootstrap(task, draws=draws, seed=seed)
    low, high, _ = interval(bootstrap_ratio(boot, boot.per_task(win), boot.per_task(np.ones(len(win)))),
                            point=float(win.mean()))
    return DecoyResult(category=category, split=split, scorer=scorer, pairs=len(pairs), scorable=len(usable),
                       tasks=len(set(task)), accuracy=float(win.mean()), accuracy_ci=(low, high),
                       score_health=score_health or {})
