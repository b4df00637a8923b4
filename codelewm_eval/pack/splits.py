"""Grouped, stratified, deterministic splits that can carry the gates.

Groups: every row of a problem family together (HumanEval/17 in HumanEval, HumanEval+ and every
sample source; MBPP task 3 in every MBPP variant: see `benchmarks.family`), and groups joined
whenever two of their programs have the same normalized AST (near-duplicates never straddle
splits). A group with any evaluation-only row goes to val and test only, whole. Stratified
across groups with scikit-learn's StratifiedGroupKFold on (benchmark, passed, magnitude
bucket, decoy category). Evaluation-only rows (licence forbids ML training) go to val and test only.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from ..benchmarks.family import problem_family
from ..fingerprint import normalized_ast  # noqa: F401 - re-exported
from .rows import RowFacts


class _UnionFind:
    def __init__(self):
        self.parent: dict = {}

    def find(self, x):
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def split_groups(rows: list[RowFacts]) -> list[int]:
    """A group number per row: its problem family, merged across near-duplicate programs."""
    uf = _UnionFind()
    # families numbered in sorted order, so group numbers (and the folds) do not depend on row order
    family_of = [problem_family(r.benchmark, r.task_id) for r in rows]
    task_ids = {key: n for n, key in enumerate(sorted(set(family_of)))}
    by_ast: dict[str, int] = {}
    row_task = []
    for row, family in zip(rows, family_of):
        task = task_ids[family]
        row_task.append(task)
        if row.program_ast is not None:
            first = by_ast.setdefault(row.program_ast, task)
            if first != task:
                uf.union(task, first)
    roots = [uf.find(t) for t in range(len(task_ids))]
    return [roots[t] for t in row_task]


@dataclass(frozen=True)
class SplitConfig:
    fractions: tuple[float, float, float] = (0.70, 0.15, 0.15)
    seed: int = 42
    min_bucket_tasks: int = 3


def _fold_assign(y: list[int], groups: list[int], n_folds: int, seed: int) -> dict[int, int]:
    """Fold number per group, stratified by y, groups intact (fewer groups than folds: by hash)."""
    distinct = sorted(set(groups))
    if len(distinct) < n_folds:
        return {g: int(hashlib.sha256(f"{seed}:{g}".encode()).hexdigest(), 16) % n_folds for g in distinct}
    from sklearn.model_selection import (
        StratifiedGroupKFold,  # imported on use: a second to load
    )

    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    groups_arr = np.asarray(groups, dtype=np.int64)
    fold = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # rare strata are expected; the repair handles them
        for k, (_, test_idx) in enumerate(splitter.split(np.zeros((len(y), 1)), np.asarray(y), groups_arr)):
            for g in np.unique(groups_arr[test_idx]).tolist():
                fold[g] = k
    return fold


def assign_splits(rows: list[RowFacts], config: SplitConfig) -> list[str]:
    """The split of every row, deterministic for a given (rows, fractions, seed)."""
    train_f, val_f, test_f = config.fractions
    if abs(train_f + val_f + test_f - 1.0) > 1e-6 or min(config.fractions) <= 0:
        raise ValueError("split fractions must be positive and sum to 1")
    groups = split_groups(rows)
    keys = [(r.benchmark, r.passed, r.output_magnitude_bucket or "", r.decoy_category or "") for r in rows]
    strata = {key: n for n, key in enumerate(sorted(set(keys)))}
    y = [strata[k] for k in keys]
    # a group is evaluation-only if any of its rows is: it must stay out of train entirely
    eval_only_groups = {g for g, r in zip(groups, rows) if r.evaluation_only}
    split_of: dict[int, str] = {}
    # trainable groups: folds of size ~min(val, test); first fold test, second val, rest train
    n_folds = max(3, round(1.0 / min(val_f, test_f)))
    train_idx = [i for i, g in enumerate(groups) if g not in eval_only_groups]
    if train_idx:
        folds = _fold_assign([y[i] for i in train_idx], [groups[i] for i in train_idx], n_folds, config.seed)
        val_folds = max(1, round(val_f * n_folds))
        test_folds = max(1, round(test_f * n_folds))
        for g, k in folds.items():
            split_of[g] = "test" if k < test_folds else "val" if k < test_folds + val_folds else "train"
    eval_idx = [i for i, g in enumerate(groups) if g in eval_only_groups]
    if eval_idx:
        folds = _fold_assign([y[i] for i in eval_idx], [groups[i] for i in eval_idx], 2, config.seed)
        split_of.update({g: "test" if k == 0 else "val" for g, k in folds.items()})
    _repair_rare_buckets(rows, groups, split_of, config.min_bucket_tasks)
    return [split_of[g] for g in groups]


def _repair_rare_buckets(rows: list[RowFacts], groups: list[int], split_of: dict[int, str],
                         min_bucket_tasks: int) -> None:
    """Exact repair after the stratified folds: a magnitude bucket that at least
    `min_bucket_tasks` tasks of a benchmark have must be in its val and its test split. For each
    one missing, move the smallest group that has it from train (or, for an evaluation-only
    benchmark, from the other held-out split while it keeps one). Deterministic: no reshuffle."""
    size = Counter(groups)
    holders: dict[tuple, set] = defaultdict(set)  # (benchmark, bucket) -> groups with such a row
    tasks_per_bucket: dict[tuple, set] = defaultdict(set)
    for g, bench, task, bucket in set(zip(groups, (r.benchmark for r in rows), (r.task_id for r in rows),
                                          (r.output_magnitude_bucket for r in rows))):
        if bucket:
            holders[(bench, bucket)].add(g)
            tasks_per_bucket[(bench, bucket)].add(task)
    for key in sorted(k for k, t in tasks_per_bucket.items() if len(t) >= min_bucket_tasks):
        def groups_in(split):
            return sorted((g for g in holders[key] if split_of[g] == split), key=lambda g: (size[g], g))
        for split in ("val", "test"):
            if groups_in(split):
                continue
            donors = groups_in("train")
            if not donors:
                other = "test" if split == "val" else "val"
                donors = groups_in(other) if len(groups_in(other)) > 1 else []
            if donors:
                split_of[donors[0]] = split


def family_leaks(rows: list[RowFacts]) -> dict[str, list[str]]:
    """Problem families whose rows are in more than one split, with the splits (should be
    empty). Families are derived from each row's benchmark and task id, not read from the pack,
    so a pack built before families existed is checked the same way."""
    first: dict[str, str] = {}
    conflicts: dict[str, set] = defaultdict(set)
    for row in rows:
        family = problem_family(row.benchmark, row.task_id)
        seen = first.setdefault(family, row.split)
        if seen != row.split:
            conflicts[family].update((seen, row.split))
    return {family: sorted(s, key=("train", "val", "test").index) for family, s in sorted(conflicts.items())}


def straddling(rows: list[RowFacts]) -> dict[str, list[str]]:
    """Tasks or near-duplicate programs found in more than one split (should be empty)."""
    first_task: dict[tuple, str] = {}
    first_program: dict[str, str] = {}
    task_conflicts: dict[tuple, set] = defaultdict(set)
    program_conflicts: dict[str, set] = defaultdict(set)
    for row in rows:
        task = (row.benchmark, row.task_id)
        seen = first_task.setdefault(task, row.split)
        if seen != row.split:
            task_conflicts[task].update((seen, row.split))
        if row.program_ast is not None:
            seen = first_program.setdefault(row.program_ast, row.split)
            if seen != row.split:
                program_conflicts[row.program_ast].update((seen, row.split))
    out = {f"task {b}/{t}": sorted(s) for (b, t), s in sorted(task_conflicts.items())}
    out.update({f"program {k[:20]}": sorted(s) for k, s in sorted(program_conflicts.items())})
    return out
