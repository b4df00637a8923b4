"""Grouped, stratified, deterministic splits that can carry the gates.

Groups: every row of a (benchmark, task_id) together, and groups joined whenever two of their
programs have the same normalized AST (near-duplicates never straddle splits). Stratified
across groups with scikit-learn's StratifiedGroupKFold on (benchmark, passed, magnitude
bucket). Evaluation-only rows (licence forbids ML training) go to val and test only.
"""

from __future__ import annotations

import ast
import hashlib
import warnings
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from .rows import PackRow


def normalized_ast(program: str) -> str:
    """The program's AST without positions, comments or formatting (unparsable: its text)."""
    try:
        tree = ast.parse(program)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return "text:" + hashlib.sha256(program.strip().encode("utf-8", "surrogatepass")).hexdigest()
    return "ast:" + hashlib.sha256(ast.dump(tree, annotate_fields=False).encode()).hexdigest()


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


def split_groups(rows: list[PackRow]) -> list[str]:
    """A group key per row: (benchmark, task), merged across near-duplicate programs."""
    uf = _UnionFind()
    by_ast: dict[str, tuple] = {}
    for row in rows:
        task = (row.benchmark, row.task_id)
        uf.find(task)
        key = normalized_ast(row.program)
        if row.program.strip():
            if key in by_ast:
                uf.union(task, by_ast[key])
            else:
                by_ast[key] = task
    return ["|".join(uf.find((r.benchmark, r.task_id))) for r in rows]


@dataclass(frozen=True)
class SplitConfig:
    fractions: tuple[float, float, float] = (0.70, 0.15, 0.15)
    seed: int = 42
    min_bucket_tasks: int = 3


def _fold_assign(indices: list[int], y: list[str], groups: list[str], n_folds: int, seed: int) -> list[int]:
    """Fold number per index, stratified by y, groups intact (fewer groups than folds: by hash)."""
    distinct = sorted(set(groups))
    if len(distinct) < n_folds:
        return [int(hashlib.sha256(f"{seed}:{g}".encode()).hexdigest(), 16) % n_folds for g in groups]
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    fold = [0] * len(indices)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # rare strata are expected; the repair handles them
        for k, (_, test_idx) in enumerate(splitter.split(np.zeros(len(indices)), y, groups)):
            for i in test_idx:
                fold[i] = k
    return fold


def assign_splits(rows: list[PackRow], config: SplitConfig) -> list[str]:
    """The split of every row, deterministic for a given (rows, fractions, seed)."""
    train_f, val_f, test_f = config.fractions
    if abs(train_f + val_f + test_f - 1.0) > 1e-6 or min(config.fractions) <= 0:
        raise ValueError("split fractions must be positive and sum to 1")
    groups = split_groups(rows)
    y = [f"{r.benchmark}|{int(r.passed)}|{r.output_magnitude_bucket}" for r in rows]
    # a group is evaluation-only if any of its rows is: it must stay out of train entirely
    eval_only_groups = {g for g, r in zip(groups, rows) if r.evaluation_only}
    out = [""] * len(rows)
    # trainable groups: folds of size ~min(val, test); first fold test, second val, rest train
    n_folds = max(3, round(1.0 / min(val_f, test_f)))
    train_idx = [i for i, g in enumerate(groups) if g not in eval_only_groups]
    if train_idx:
        folds = _fold_assign(train_idx, [y[i] for i in train_idx], [groups[i] for i in train_idx], n_folds, config.seed)
        val_folds = max(1, round(val_f * n_folds))
        test_folds = max(1, round(test_f * n_folds))
        for i, k in zip(train_idx, folds):
            out[i] = "test" if k < test_folds else "val" if k < test_folds + val_folds else "train"
    eval_idx = [i for i, g in enumerate(groups) if g in eval_only_groups]
    if eval_idx:
        folds = _fold_assign(eval_idx, [y[i] for i in eval_idx], [groups[i] for i in eval_idx], 2, config.seed)
        for i, k in zip(eval_idx, folds):
            out[i] = "test" if k == 0 else "val"
    _repair_rare_buckets(rows, groups, out, config.min_bucket_tasks)
    return out


def _repair_rare_buckets(rows: list[PackRow], groups: list[str], out: list[str], min_bucket_tasks: int) -> None:
    """Exact repair after the stratified folds: a magnitude bucket that at least
    `min_bucket_tasks` tasks of a benchmark have must be in its val and its test split. For each
    one missing, move the smallest group that has it from train (or, for an evaluation-only
    benchmark, from the other held-out split while it keeps one). Deterministic: no reshuffle."""
    members: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    benchmarks = sorted({r.benchmark for r in rows})
    for bench in benchmarks:
        tasks_per_bucket: dict[str, set] = defaultdict(set)
        for r in rows:
            if r.benchmark == bench and r.output_magnitude_bucket:
                tasks_per_bucket[r.output_magnitude_bucket].add(r.task_id)
        for bucket in sorted(b for b, t in tasks_per_bucket.items() if len(t) >= min_bucket_tasks):
            def groups_with(split):
                return sorted({groups[i] for i, r in enumerate(rows) if out[i] == split and r.benchmark == bench
                               and r.output_magnitude_bucket == bucket}, key=lambda g: (len(members[g]), g))
            for split in ("val", "test"):
                if groups_with(split):
                    continue
                donors = groups_with("train")
                if not donors:
                    other = "test" if split == "val" else "val"
                    donors = groups_with(other) if len(groups_with(other)) > 1 else []
                if donors:
                    for i in members[donors[0]]:
                        out[i] = split


def straddling(rows: list[PackRow]) -> dict[str, list[str]]:
    """Tasks or near-duplicate programs found in more than one split (should be empty)."""
    seen: dict[str, set] = defaultdict(set)
    for row in rows:
        seen[f"task {row.benchmark}/{row.task_id}"].add(row.split)
        if row.program.strip():
            seen["program " + normalized_ast(row.program)[:20]].add(row.split)
    return {k: sorted(v) for k, v in seen.items() if len(v) > 1}
