"""`surgery promote`: may this pass replace the frozen baseline?

A pass is promotable only if it loses no anchor (strict: one lost anchor rejects it) and every
target benchmark improves with a significant paired test (a gain, exact McNemar p below alpha,
against the baseline on the same tasks). Over a series of passes, each one is judged against the
baseline, the KEPT/LOST ladder of the anchors is shown, and a pass that loses anchors an earlier
pass kept is flagged: the overtraining signature of the user's BD6.x cycle.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from ..benchmarks.family import family_name
from ..errors import InputError
from ..evidence.compare import Comparison, _anchor_outcome, compare


class Target(BaseModel):
    """`--target mbpp=25/100`: the passes a benchmark should reach, out of its tasks."""

    benchmark: str
    passes: int
    of: int

    @classmethod
    def parse(cls, text: str) -> Target:
        match = re.fullmatch(r"\s*([\w.+-]+)\s*=\s*(\d+)\s*/\s*(\d+)\s*", text)
        if not match or int(match[3]) == 0 or int(match[2]) > int(match[3]):
            raise InputError(f"--target must look like BENCHMARK=PASSES/TASKS (mbpp=25/100), got {text!r}",
                             field="--target")
        return cls(benchmark=match[1], passes=int(match[2]), of=int(match[3]))


class TargetProgress(BaseModel):
    benchmark: str
    before: int
    after: int
    n: int
    target: int
    remaining: int = Field(description="passes still needed (0: reached)")
    mcnemar_p: float


class PassVerdict(BaseModel):
    name: str
    promotable: bool
    reasons: list[str] = Field(default_factory=list)
    anchors_passing: int
    anchors_total: int
    regressed_from_earlier: list[str] = Field(default_factory=list,
                                              description="anchors an earlier pass kept and this one lost")
    progress: list[TargetProgress] = Field(default_factory=list, description="toward each --target")
    comparison: Comparison


class Promotion(BaseModel):
    schema_version: int = 1
    baseline: str
    targets: list[str]
    alpha: float
    passes: list[PassVerdict]
    warnings: list[str] = Field(default_factory=list)
    goals: list[Target] = Field(default_factory=list)
    ladder: dict[str, list[bool]] = Field(default_factory=dict, description="anchor -> kept in each pass, in order")


def judge_passes(baseline: tuple[str, dict], passes: list[tuple[str, dict]], anchors: set[str], targets: list[str],
                 alpha: float = 0.05, draws: int = 2000, goals: list[Target] = ()) -> Promotion:
    verdicts, warnings = [], []
    kept_before: dict[str, str] = {}
    ladder: dict[str, list[bool]] = {a: [] for a in sorted(anchors)}
    targets = list(targets) + [g.benchmark for g in goals if family_name(g.benchmark) not in
                               {family_name(t) for t in targets}]
    for name, outcome in passes:
        c = compare(baseline[1], outcome, anchors, names=(baseline[0], name), draws=draws)
        reasons = []
        if c.anchors_lost:
            reasons.append(f"anchor gate: lost {len(c.anchors_lost)} anchor(s): {', '.join(c.anchors_lost)}")
        if c.anchors_missing:
            reasons.append(f"anchor gate: anchor_missing: {len(c.anchors_missing)} anchor(s) without an outcome: "
                           f"{', '.join(c.anchors_missing)}")
        for target in targets:
            rows = [r for r in c.benchmarks if family_name(r.benchmark) == family_name(target)]
            if not rows:
                reasons.append(f"{target}: not in both runs")
            for r in rows:
                if r.delta <= 0 or r.mcnemar_p >= alpha:
                    reasons.append(f"{r.benchmark}: {r.before}/{r.n} -> {r.after}/{r.n}, McNemar p "
                                   f"{r.mcnemar_p:.3g} (needs a gain with p < {alpha})")
        progress = []
        for goal in goals:
            rows = [r for r in c.benchmarks if family_name(r.benchmark) == family_name(goal.benchmark)]
            for r in rows:
                if r.n != goal.of:
                    raise InputError(f"--target {goal.benchmark}={goal.passes}/{goal.of}: {r.benchmark} has {r.n} "
                                     "tasks in both runs", field="--target")
                progress.append(TargetProgress(benchmark=r.benchmark, before=r.before, after=r.after, n=r.n,
                                               target=goal.passes, remaining=max(0, goal.passes - r.after),
                                               mcnemar_p=r.mcnemar_p))
        passing = {a for a in anchors if _anchor_outcome(outcome, a)}
        for a in ladder:
            ladder[a].append(a in passing)
        regressed = sorted(a for a in anchors if a in kept_before and a not in passing)
        if regressed:
            warnings.append(f"{name} loses {len(regressed)} anchor(s) that an earlier pass kept "
                            f"({', '.join(regressed)}; kept by {', '.join(sorted({kept_before[a] for a in regressed}))})"
                            ": the overtraining signature. Stop pushing this lever.")
        for a in passing:
            kept_before.setdefault(a, name)
        verdicts.append(PassVerdict(name=name, promotable=not reasons, reasons=reasons, anchors_passing=len(passing),
                                    anchors_total=len(anchors), regressed_from_earlier=regressed, progress=progress,
                                    comparison=c))
    return Promotion(baseline=baseline[0], targets=targets, alpha=alpha, passes=verdicts, warnings=warnings,
                     goals=list(goals), ladder=ladder)


def text(p: Promotion) -> str:
    out = [f"promotion gate against {p.baseline} (targets: {', '.join(p.targets)}; a gain with McNemar p < {p.alpha}; "
           "no anchor lost)"]
    for v in p.passes:
        out.append(f"  {v.name}: {'PROMOTABLE' if v.promotable else 'REJECTED'}  anchors {v.anchors_passing}/"
                   f"{v.anchors_total}")
        out += [f"      {r}" for r in v.reasons]
        out += [f"      target {t.benchmark}: {t.before}/{t.n} -> {t.after}/{t.n} toward {t.target}/{t.n} "
                f"({'reached' if not t.remaining else f'{t.remaining} to go'}; McNemar p {t.mcnemar_p:.3g})"
                for t in v.progress]
    if p.ladder and len(p.passes) > 0:
        names = [v.name for v in p.passes]
        width = max(len(a) for a in p.ladder)
        out.append("  anchor ladder (KEPT / LOST per pass):")
        out.append("    " + " " * width + "  " + "  ".join(f"{n[:10]:>10}" for n in names))
        for anchor, kept in p.ladder.items():
            out.append(f"    {anchor:<{width}}  " + "  ".join(f"{'KEPT' if k else 'LOST':>10}" for k in kept))
        out.append("    " + "passing".ljust(width) + "  " +
                   "  ".join(f"{f'{v.anchors_passing}/{v.anchors_total}':>10}" for v in p.passes))
    out += [f"  WARNING: {w}" for w in p.warnings]
    return "\n".join(out) + "\n"
