"""`surgery promote`: may this pass replace the frozen baseline?

A pass is promotable only if it loses no anchor (strict: one lost anchor rejects it) and every
target benchmark improves with a significant paired test (a gain, exact McNemar p below alpha,
against the baseline on the same tasks). Over a series of passes, each one is judged against the
baseline, the KEPT/LOST ladder of the anchors is shown, and a pass that loses anchors an earlier
pass kept is flagged: the overtraining signature of the user's BD6.x cycle.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from ..evidence.compare import Comparison, _anchor_outcome, compare
from ..benchmarks.family import family_name


class PassVerdict(BaseModel):
    name: str
    promotable: bool
    reasons: list[str] = Field(default_factory=list)
    anchors_passing: int
    anchors_total: int
    regressed_from_earlier: list[str] = Field(default_factory=list,
                                              description="anchors an earlier pass kept and this one lost")
    comparison: Comparison


class Promotion(BaseModel):
    schema_version: int = 1
    baseline: str
    targets: list[str]
    alpha: float
    passes: list[PassVerdict]
    warnings: list[str] = Field(default_factory=list)


def judge_passes(baseline: tuple[str, dict], passes: list[tuple[str, dict]], anchors: set[str], targets: list[str],
                 alpha: float = 0.05, draws: int = 2000) -> Promotion:
    verdicts, warnings = [], []
    kept_before: dict[str, str] = {}
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
        passing = {a for a in anchors if _anchor_outcome(outcome, a)}
        regressed = sorted(a for a in anchors if a in kept_before and a not in passing)
        if regressed:
            warnings.append(f"{name} loses {len(regressed)} anchor(s) that an earlier pass kept "
                            f"({', '.join(regressed)}; kept by {', '.join(sorted({kept_before[a] for a in regressed}))})"
                            ": the overtraining signature. Stop pushing this lever.")
        for a in passing:
            kept_before.setdefault(a, name)
        verdicts.append(PassVerdict(name=name, promotable=not reasons, reasons=reasons, anchors_passing=len(passing),
                                    anchors_total=len(anchors), regressed_from_earlier=regressed, comparison=c))
    return Promotion(baseline=baseline[0], targets=targets, alpha=alpha, passes=verdicts, warnings=warnings)


def text(p: Promotion) -> str:
    out = [f"promotion gate against {p.baseline} (targets: {', '.join(p.targets)}; a gain with McNemar p < {p.alpha}; "
           "no anchor lost)"]
    for v in p.passes:
        out.append(f"  {v.name}: {'PROMOTABLE' if v.promotable else 'REJECTED'}  anchors {v.anchors_passing}/"
                   f"{v.anchors_total}")
        out += [f"      {r}" for r in v.reasons]
    out += [f"  WARNING: {w}" for w in p.warnings]
    return "\n".join(out) + "\n"
