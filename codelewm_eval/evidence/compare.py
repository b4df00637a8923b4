"""`compare`: before/after tables on the same tasks, with the paired test they need.

Inputs are per-task outcomes: execution results, or any JSONL whose rows have `benchmark`,
`task_id` and `passed`. A task with several candidates is judged by its first (lowest
`origin.sample_index`, else first in the file): pass@1 as it was run. Per benchmark: n, passes
before and after, delta absolute and relative, kept / lost / gained tasks, the exact McNemar p
on the discordant tasks, and a bootstrap CI of the delta (tasks resampled). Anchors: tasks that
must not be lost; the anchor gate fails and names every anchor a candidate loses, and every anchor
that is missing from the candidate or the baseline (`anchor_missing`: an anchor that vanished is
not kept).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from ..benchmarks.family import problem_family
from ..errors import InputError
from ..io import iter_models, read_list_file
from .metrics import TaskBootstrap, bootstrap_ratio, interval, mcnemar_exact

SCHEMA_VERSION = 1


class _Origin(BaseModel):
    model_config = ConfigDict(extra="ignore")
    sample_index: int | None = None


class TaskOutcome(BaseModel):
    model_config = ConfigDict(extra="ignore")
    benchmark: str
    task_id: str
    passed: StrictBool  # true or false: "yes" and 1 are refused, not read as a pass
    origin: _Origin | None = None


class BenchmarkDelta(BaseModel):
    benchmark: str
    n: int
    before: int
    after: int
    delta: int
    delta_relative: float | None = Field(description="after/before - 1; None when before is 0")
    delta_ci: tuple[float, float] = Field(description="95% bootstrap CI of the pass-rate delta (tasks resampled)")
    mcnemar_p: float
    kept: list[str]
    lost: list[str]
    gained: list[str]
    only_in_one: int = Field(0, description="tasks present in only one of the two runs (left out)")


class Comparison(BaseModel):
    schema_version: int = SCHEMA_VERSION
    baseline: str
    candidate: str
    benchmarks: list[BenchmarkDelta]
    anchors_lost: list[str] = Field(default_factory=list)
    anchors_missing: list[str] = Field(default_factory=list, description="anchors with no outcome in the baseline "
                                                                         "or the candidate, and where they are absent")
    anchors_total: int = Field(0, description="anchors given")
    anchors_kept_baseline: int = Field(0, description="anchors that pass in the baseline")
    anchors_kept: int = Field(0, description="anchors that pass in the candidate")
    anchor_gate: str | None = None  # pass / fail, when anchors were given


def read_outcomes(path: Path) -> dict[tuple[str, str], bool]:
    """(benchmark, task) -> passed, from the first candidate of each task."""
    firsts: dict[tuple[str, str], tuple[int, int, bool]] = {}
    for number, row in iter_models(path, TaskOutcome, "a task outcome"):
        key = (row.benchmark, row.task_id)
        rank = (row.origin.sample_index if row.origin and row.origin.sample_index is not None else 1 << 30, number)
        if key not in firsts or rank < firsts[key][:2]:
            firsts[key] = (*rank, row.passed)
    if not firsts:
        raise InputError("no task outcomes", path=str(path))
    return {key: value[2] for key, value in firsts.items()}


def anchor_key(text: str) -> tuple[str, str]:
    """"MBPP/53", "mbpp-plus/Mbpp/53", "HumanEval/85" -> (task family, task): case and variant blind."""
    return problem_family(*_split_anchor(text))


def _split_anchor(text: str) -> tuple[str, str]:
    head, _, tail = text.strip().partition("/")
    return head.lower(), tail or head


def compare(baseline: dict, candidate: dict, anchors: set[str] | None = None, *, names=("A", "B"),
            draws: int = 2000) -> Comparison:
    rows = []
    lost_anchors = []
    for bench in sorted({b for b, _ in baseline} | {b for b, _ in candidate}):
        tasks_a = {t for b, t in baseline if b == bench}
        tasks_b = {t for b, t in candidate if b == bench}
        shared = sorted(tasks_a & tasks_b, key=_natural)
        before = np.array([baseline[(bench, t)] for t in shared], dtype=float)
        after = np.array([candidate[(bench, t)] for t in shared], dtype=float)
        kept = [t for t, x, y in zip(shared, before, after) if x and y]
        lost = [t for t, x, y in zip(shared, before, after) if x and not y]
        gained = [t for t, x, y in zip(shared, before, after) if y and not x]
        if shared:
            boot = TaskBootstrap(np.arange(len(shared)), draws=draws, seed=0)
            low, high, _ = interval(bootstrap_ratio(boot, after - before, np.ones(len(shared))),
                                    point=float((after - before).mean()))
        else:
            low = high = 0.0
        b_count, a_count = int(before.sum()), int(after.sum())
        rows.append(BenchmarkDelta(
            benchmark=bench, n=len(shared), before=b_count, after=a_count, delta=a_count - b_count,
            delta_relative=(a_count / b_count - 1) if b_count else None, delta_ci=(low, high),
            mcnemar_p=mcnemar_exact(len(gained), len(lost)), kept=kept, lost=lost, gained=gained,
            only_in_one=len(tasks_a ^ tasks_b)))
        if anchors:
            wanted = {anchor_key(a) for a in anchors}
            lost_anchors += [t if "/" in t else f"{bench}/{t}" for t in lost if problem_family(bench, t) in wanted]
    missing = missing_anchors(baseline, candidate, anchors or set(), names)
    comparison = Comparison(baseline=names[0], candidate=names[1], benchmarks=rows, anchors_lost=lost_anchors,
                            anchors_missing=missing, anchors_total=len(anchors or ()),
                            anchors_kept_baseline=sum(1 for a in anchors or () if _anchor_outcome(baseline, a)),
                            anchors_kept=sum(1 for a in anchors or () if _anchor_outcome(candidate, a)))
    if anchors:
        comparison.anchor_gate = "fail" if lost_anchors or missing else "pass"
    return comparison


def missing_anchors(baseline: dict, candidate: dict, anchors: set[str], names=("A", "B")) -> list[str]:
    """"MBPP/53 (absent from B)" for every anchor with no outcome in one run or both."""
    families = [{problem_family(b, t) for b, t in run} for run in (baseline, candidate)]
    out = []
    for anchor in sorted(anchors, key=_natural):
        where = [name for name, present in zip(names, families) if anchor_key(anchor) not in present]
        if where:
            out.append(f"{anchor} (absent from {' and '.join(where)})")
    return out


def _natural(task_id: str):
    import re

    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", task_id)]


def read_anchors(path: Path) -> set[str]:
    """One task per line ("MBPP/53", "HumanEval/85" or "benchmark/task"); # comments."""
    return read_list_file(path, "anchors")


def _anchor_outcome(outcome: dict, anchor: str) -> bool | None:
    key = anchor_key(anchor)
    for (bench, task), passed in outcome.items():
        if problem_family(bench, task) == key:
            return passed
    return None


def markdown(comparisons: list[Comparison], anchors: set[str] | None, outcomes: dict[str, dict]) -> str:
    out = []
    for c in comparisons:
        out.append(f"### {c.baseline} -> {c.candidate}\n")
        out.append("| bench | n | before | after | Δ abs | Δ rel | Δ 95% CI (pass rate) | McNemar p (exact) | kept | lost | gained |")
        out.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in c.benchmarks:
            rel = "n/a (before = 0)" if r.delta_relative is None else f"{r.delta_relative:+.0%}"
            out.append(f"| {r.benchmark} | {r.n} | {r.before}/{r.n} | {r.after}/{r.n} | {r.delta:+d} | {rel} | "
                       f"[{r.delta_ci[0]:+.3f}, {r.delta_ci[1]:+.3f}] | {r.mcnemar_p:.3g} | {len(r.kept)} | "
                       f"{len(r.lost)} | {len(r.gained)} |")
        for r in c.benchmarks:
            if r.lost:
                out.append(f"\nLOST on {r.benchmark}: {', '.join(r.lost)}")
        if c.anchor_gate:
            out.append(f"\nanchor gate: **{c.anchor_gate.upper()}**" +
                       (f" (lost: {', '.join(c.anchors_lost)})" if c.anchors_lost else "") +
                       (f" (missing: {', '.join(c.anchors_missing)})" if c.anchors_missing else ""))
        out.append("")
    if anchors and len(outcomes) > 2:
        names = list(outcomes)
        out.append("### anchor ladder\n")
        out.append("| anchor | " + " | ".join(names) + " |")
        out.append("|---|" + "---|" * len(names))
        for anchor in sorted(anchors, key=_natural):
            cells = [{None: "–", True: "KEPT", False: "LOST"}[_anchor_outcome(outcomes[n], anchor)] for n in names]
            out.append(f"| {anchor} | " + " | ".join(cells) + " |")
        totals = [sum(1 for a in anchors if _anchor_outcome(outcomes[n], a)) for n in names]
        out.append("| **anchors passing** | " + " | ".join(f"{t}/{len(anchors)}" for t in totals) + " |")
    return "\n".join(out) + "\n"


def comparison_gates(comparisons: list[Comparison], alpha: float = 0.05) -> list[dict]:
    """The gates of a comparison bundle, recomputed from its comparisons alone: per candidate, a
    paired gate per benchmark (a gain with exact McNemar p < alpha) and the anchor gate (no
    anchor lost, none missing)."""
    gates = []
    for c in comparisons:
        for d in c.benchmarks:
            significant = d.delta > 0 and d.mcnemar_p < alpha
            gates.append({"name": f"{c.candidate}:paired:{d.benchmark}", "metric": "mcnemar_p",
                          "status": "pass" if significant else "fail", "seeds": [], "per_seed": {},
                          "reasons": [] if significant else [{"type": "threshold", "subject": f"{c.candidate} "
                                                              f"{d.benchmark}", "observed": d.mcnemar_p,
                                                              "required": f"a gain with McNemar p < {alpha}"}],
                          "observed": [{"before": d.before, "after": d.after, "n": d.n, "mcnemar_p": d.mcnemar_p}]})
        if c.anchor_gate:
            reasons = [{"type": "anchor_lost", "subject": a, "observed": "lost", "required": "kept"}
                       for a in c.anchors_lost]
            reasons += [{"type": "anchor_missing", "subject": a, "observed": "absent", "required": "present and kept"}
                        for a in c.anchors_missing]
            gates.append({"name": f"{c.candidate}:anchors", "metric": "anchors_kept",
                          "status": "fail" if reasons else "pass", "seeds": [], "per_seed": {},
                          "reasons": reasons, "observed": []})
    return gates
