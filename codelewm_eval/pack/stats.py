"""Pack statistics (for cards and for preflight) and the coverage rules a pack must meet."""

from __future__ import annotations

from collections import Counter, defaultdict

from pydantic import BaseModel, Field

from ..benchmarks.family import problem_family
from .rows import SPLITS, RowFacts

SCHEMA_VERSION = 1


class Blocker(BaseModel):
    """A requirement the pack cannot meet: what, where, observed vs required."""

    kind: str
    benchmark: str | None = None
    split: str | None = None
    detail: str
    observed: int | str
    required: int | str


class DecoyMinimum(BaseModel):
    pairs: int = Field(ge=0)
    tasks: int = Field(ge=0)


class CoverageRules(BaseModel):
    min_tasks_per_split: int = Field(5, description="per benchmark, in every split the benchmark uses")
    min_bucket_tasks: int = Field(3, description="a magnitude bucket seen in at least this many tasks of a "
                                                  "benchmark must appear in its val and its test split")
    decoy_minimums: dict[str, DecoyMinimum] = Field(
        default_factory=dict, description="per decoy category: pairs and distinct tasks required in val and in test")


class Tally:
    """Every count statistics and coverage need, in a few passes over the facts (make it once
    and hand it to both)."""

    def __init__(self, rows: list[RowFacts]):
        self.combos = Counter((r.split, r.benchmark, r.passed, r.output_magnitude_bucket, r.output_length_bucket,
                               r.decoy_category, r.licence, r.label_provenance, r.evaluation_only) for r in rows)
        self.cell_tasks = Counter(key[:2] for key in {(r.split, r.benchmark, r.task_id) for r in rows})
        self.decoy_tasks = Counter(key[:3] for key in {(r.split, r.benchmark, r.decoy_category, r.task_id)
                                                       for r in rows if r.decoy_category})
        self.bucket_tasks = Counter(key[:2] for key in {(r.benchmark, r.output_magnitude_bucket, r.task_id)
                                                        for r in rows if r.output_magnitude_bucket})


def split_stats(rows: list[RowFacts], tally: Tally | None = None) -> dict:
    tally = tally or Tally(rows)
    cells: dict = defaultdict(lambda: {"rows": 0, "passed": 0, "magnitude": Counter(), "length": Counter(),
                                       "decoy_pairs": Counter(), "licences": Counter(), "provenance": Counter(),
                                       "evaluation_only_rows": 0})
    for (split, bench, passed, magnitude, length, decoy, licence, provenance, eval_only), n in tally.combos.items():
        c = cells[(split, bench)]
        c["rows"] += n
        c["passed"] += n * passed
        c["magnitude"][magnitude or "none"] += n
        c["length"][length or "none"] += n
        if decoy:
            c["decoy_pairs"][decoy] += n
        c["licences"][licence] += n
        c["provenance"][provenance] += n
        c["evaluation_only_rows"] += n * eval_only
    table = []
    for (split, bench), c in sorted(cells.items(), key=lambda kv: (SPLITS.index(kv[0][0]), kv[0][1])):
        table.append({"split": split, "benchmark": bench, "rows": c["rows"], "tasks": tally.cell_tasks[(split, bench)],
                      "passed": c["passed"], "pass_rate": round(c["passed"] / c["rows"], 4),
                      "magnitude_buckets": dict(sorted(c["magnitude"].items())),
                      "length_buckets": dict(sorted(c["length"].items())),
                      "decoy_pairs": dict(sorted(c["decoy_pairs"].items())),
                      "decoy_tasks": {cat: tally.decoy_tasks[(split, bench, cat)]
                                      for cat in sorted(c["decoy_pairs"])},
                      "licences": dict(sorted(c["licences"].items())),
                      "label_provenance": dict(sorted(c["provenance"].items())),
                      "evaluation_only_rows": c["evaluation_only_rows"]})
    families: dict[str, set] = defaultdict(set)
    for split, bench, task in {(r.split, r.benchmark, r.task_id) for r in rows}:
        families[split].add(problem_family(bench, task))
    return {"schema_version": SCHEMA_VERSION, "rows": len(rows), "cells": table,
            "families": {split: len(families[split]) for split in SPLITS if split in families}}


def coverage_blockers(rows: list[RowFacts], rules: CoverageRules, tally: Tally | None = None) -> list[Blocker]:
    """Per benchmark: val and test hold both classes, enough tasks and every common
    magnitude bucket; train (unless the benchmark is evaluation-only) holds both classes."""
    tally = tally or Tally(rows)
    classes: dict[tuple, set] = defaultdict(set)
    buckets: dict[tuple, set] = defaultdict(set)
    for (split, bench, passed, magnitude, *_rest, eval_only), _n in tally.combos.items():
        classes[(bench, split)].add(passed)
        buckets[(bench, split)].add(magnitude)
    # a benchmark is trainable when one of its problems may be trained on: a row that is not
    # evaluation-only, in a family with no evaluation-only row (such a family is held out whole)
    tasks = {(r.benchmark, r.task_id, r.evaluation_only) for r in rows}
    held_out = {problem_family(b, t) for b, t, eval_only in tasks if eval_only}
    trainable = {b for b, t, eval_only in tasks if not eval_only and problem_family(b, t) not in held_out}
    blockers: list[Blocker] = []
    for bench in sorted({b for b, _s in classes}):
        common = sorted(bucket for (b, bucket), n in tally.bucket_tasks.items()
                        if b == bench and n >= rules.min_bucket_tasks)
        for split in SPLITS if bench in trainable else ("val", "test"):
            n_classes = len(classes[(bench, split)])
            if n_classes < 2:
                blockers.append(Blocker(kind="missing_class", benchmark=bench, split=split,
                                        detail="both pass classes", observed=n_classes, required=2))
            tasks = tally.cell_tasks[(split, bench)]
            if tasks < rules.min_tasks_per_split:
                blockers.append(Blocker(kind="too_few_tasks", benchmark=bench, split=split, detail="distinct tasks",
                                        observed=tasks, required=rules.min_tasks_per_split))
            if split in ("val", "test"):
                for bucket in common:
                    if bucket not in buckets[(bench, split)]:
                        blockers.append(Blocker(kind="missing_magnitude_bucket", benchmark=bench, split=split,
                                                detail=f"output_magnitude_bucket '{bucket}'", observed=0, required=1))
    for category, need in sorted(rules.decoy_minimums.items()):
        for split in ("val", "test"):
            pairs = sum(n for key, n in tally.combos.items() if key[0] == split and key[5] == category)
            tasks = sum(n for (s, _b, cat), n in tally.decoy_tasks.items() if s == split and cat == category)
            if pairs < need.pairs or tasks < need.tasks:
                blockers.append(Blocker(kind="too_few_decoy_pairs", split=split, detail=f"decoy category '{category}'",
                                        observed=f"{pairs} pairs / {tasks} tasks",
                                        required=f"{need.pairs} pairs / {need.tasks} tasks"))
    return blockers
