"""Pack statistics (for cards and for preflight) and the coverage rules a pack must meet."""

from __future__ import annotations

from collections import Counter, defaultdict

from pydantic import BaseModel, Field

from .rows import SPLITS, PackRow

SCHEMA_VERSION = 1


class Blocker(BaseModel):
    """A requirement the pack cannot meet: what, where, observed vs required."""

    kind: str
    benchmark: str | None = None
    split: str | None = None
    detail: str
    observed: int | str
    required: int | str


class CoverageRules(BaseModel):
    min_tasks_per_split: int = Field(5, description="per benchmark, in every split the benchmark uses")
    min_bucket_tasks: int = Field(3, description="a magnitude bucket seen in at least this many tasks of a "
                                                  "benchmark must appear in its val and its test split")


def split_stats(rows: list[PackRow]) -> dict:
    cells: dict = defaultdict(lambda: {"rows": 0, "tasks": set(), "passed": 0, "magnitude": Counter(),
                                       "length": Counter(), "decoy_pairs": Counter(), "licences": Counter(),
                                       "provenance": Counter(), "evaluation_only_rows": 0})
    for r in rows:
        c = cells[(r.split, r.benchmark)]
        c["rows"] += 1
        c["tasks"].add(r.task_id)
        c["passed"] += int(r.passed)
        c["magnitude"][r.output_magnitude_bucket or "none"] += 1
        c["length"][r.output_length_bucket or "none"] += 1
        if r.decoy is not None:
            c["decoy_pairs"][r.decoy.category] += 1
        c["licences"][r.licence] += 1
        c["provenance"][r.label_provenance] += 1
        c["evaluation_only_rows"] += int(r.evaluation_only)
    table = []
    for (split, bench), c in sorted(cells.items(), key=lambda kv: (SPLITS.index(kv[0][0]), kv[0][1])):
        table.append({"split": split, "benchmark": bench, "rows": c["rows"], "tasks": len(c["tasks"]),
                      "passed": c["passed"], "pass_rate": round(c["passed"] / c["rows"], 4),
                      "magnitude_buckets": dict(sorted(c["magnitude"].items())),
                      "length_buckets": dict(sorted(c["length"].items())),
                      "decoy_pairs": dict(sorted(c["decoy_pairs"].items())),
                      "licences": dict(c["licences"]), "label_provenance": dict(c["provenance"]),
                      "evaluation_only_rows": c["evaluation_only_rows"]})
    return {"schema_version": SCHEMA_VERSION, "rows": len(rows), "cells": table}


def coverage_blockers(rows: list[PackRow], rules: CoverageRules) -> list[Blocker]:
    """Per benchmark: val and test hold both classes, enough tasks and every common
    magnitude bucket; train (unless the benchmark is evaluation-only) holds both classes."""
    blockers: list[Blocker] = []
    by_bench: dict[str, list[PackRow]] = defaultdict(list)
    for r in rows:
        by_bench[r.benchmark].append(r)
    for bench, brows in sorted(by_bench.items()):
        eval_only = all(r.evaluation_only for r in brows)
        bucket_tasks: dict[str, set] = defaultdict(set)
        for r in brows:
            if r.output_magnitude_bucket:
                bucket_tasks[r.output_magnitude_bucket].add(r.task_id)
        common = sorted(b for b, t in bucket_tasks.items() if len(t) >= rules.min_bucket_tasks)
        for split in ("val", "test") if eval_only else SPLITS:
            srows = [r for r in brows if r.split == split]
            classes = {r.passed for r in srows}
            if len(classes) < 2:
                blockers.append(Blocker(kind="missing_class", benchmark=bench, split=split,
                                        detail="both pass classes", observed=len(classes), required=2))
            tasks = len({r.task_id for r in srows})
            if tasks < rules.min_tasks_per_split:
                blockers.append(Blocker(kind="too_few_tasks", benchmark=bench, split=split, detail="distinct tasks",
                                        observed=tasks, required=rules.min_tasks_per_split))
            if split in ("val", "test"):
                present = {r.output_magnitude_bucket for r in srows}
                for bucket in common:
                    if bucket not in present:
                        blockers.append(Blocker(kind="missing_magnitude_bucket", benchmark=bench, split=split,
                                                detail=f"output_magnitude_bucket '{bucket}'", observed=0, required=1))
    return blockers
