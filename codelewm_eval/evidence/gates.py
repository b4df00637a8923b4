"""Declarative gates: a YAML spec of thresholds over evidence values, judged pass / fail /
blocked, with typed reasons {type, subject, observed, required}.

    schema_version: 1
    gates:
      - name: humaneval-rerank-lift
        metric: rerank_lift          # auc | pr_auc | brier | brier_skill | ece | ece_mass | mce | rerank_lift
                                     # (over no_action) | rerank_lift_random (over the exact random
                                     # expectation) | decoy_accuracy
        scorer: p_pass
        benchmarks: [humaneval]      # default: all in the evidence ("all" = pooled over benchmarks)
        splits: [test]               # default: [test]
        category: mutation           # decoy_accuracy only
        comparator: ">="             # >= > <= <
        threshold: 0.03
        ci_lower_above: 0.0          # the CI's lower bound must exceed this (upper bound below, for <= and <)
        min_n: 30                    # rows, tasks or scorable pairs the value rests on
        seeds: all                   # or a list: every listed seed must pass

A gate fails when any subject fails; otherwise it is blocked when any subject cannot be judged
(missing evidence or seed, not evaluable, saturated, below min_n, `score_health`: a missing, NaN,
infinite or out-of-range score among the rows the value rests on, `seeds_identical`: a required
seed whose scores are identical to another seed's, so it is not a second piece of evidence);
otherwise it passes. Verdicts are a pure function of the values and the spec: `claims` recompute
them from the bundle's files, never read them.
"""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from ..io import read_yaml, validated, yaml_line_of

SCHEMA_VERSION = 1
METRICS = ("auc", "pr_auc", "brier", "brier_skill", "ece", "ece_mass", "mce", "rerank_lift", "rerank_lift_random",
           "decoy_accuracy")
BLOCKING = ("seed_missing", "seeds_identical", "evidence_missing", "not_evaluable", "saturated", "below_min_n",
            "score_health")
_COMPARE = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


class Gate(BaseModel):
    name: str
    metric: Literal["auc", "pr_auc", "brier", "brier_skill", "ece", "ece_mass", "mce", "rerank_lift",
                    "rerank_lift_random", "decoy_accuracy", "selective_kept_share"]
    scorer: str = "p_pass"
    benchmarks: list[str] | None = None
    splits: list[str] = Field(default_factory=lambda: ["test"])
    category: str | None = None
    comparator: Literal[">=", ">", "<=", "<"] = ">="
    threshold: float
    ci_lower_above: float | None = None
    min_n: int = 0
    seeds: Literal["all"] | list[int] = "all"
    coverage: float | None = Field(None, gt=0, le=1, description="selective_kept_share: the share of candidates "
                                                                 "executed (one of 0.1, 0.25, 0.5, 0.75)")

    @model_validator(mode="after")
    def _coverage_for_selective_gates(self):
        if (self.metric == "selective_kept_share") != (self.coverage is not None):
            raise ValueError("a selective_kept_share gate names its coverage (and only it does)")
        return self


class GateSpec(BaseModel):
    schema_version: int = SCHEMA_VERSION
    gates: list[Gate]


class Reason(BaseModel):
    type: str
    subject: str
    observed: str | float | int | None = None
    required: str | float | int | None = None


class GateResult(BaseModel):
    name: str
    metric: str
    status: Literal["pass", "fail", "blocked"]
    seeds: list[int | None]
    reasons: list[Reason] = Field(default_factory=list, description="why it failed or is blocked")
    observed: list[dict] = Field(default_factory=list, description="every value judged, per seed and subject")
    per_seed: dict[str, Literal["pass", "fail", "blocked"]] = Field(
        default_factory=dict, description="the verdict on each required seed alone (a claim scoped to one seed "
                                          "needs only that seed to pass)")


class Value(BaseModel):
    """One evidence value a gate can judge."""

    seed: int | None
    scorer: str
    metric: str
    benchmark: str  # or a decoy category for decoy_accuracy
    split: str
    value: float | None
    ci: tuple[float, float] | None = None
    n: int = 0
    blocked: str | None = None  # not evaluable / saturated: the reason
    coverage: float | None = None  # selective_kept_share: the coverage it was measured at
    health: dict[str, int] = Field(default_factory=dict, description="missing / non_finite / out_of_range score "
                                                                     "counts among the rows the value rests on")


def load_gate_spec(path: Path) -> GateSpec:
    raw, text = read_yaml(path, "gate spec")
    return validated(GateSpec, raw, path, yaml_line_of(text))


def _within(subject: str, scope: str) -> bool:
    """A benchmark scope covers its per-source rerank slices ("humaneval" covers "humaneval:x")."""
    return subject == scope or subject.startswith(scope + ":")


def judge(gate: Gate, values: list[Value], seeds_present: list[int | None],
          identical: dict[int | None, int | None] | None = None) -> GateResult:
    """`seeds_present`: the seeds with their own evidence; `identical`: a seed whose scores equal
    an earlier seed's -> that seed (it counts once, so a gate that requires it is blocked)."""
    identical = identical or {}
    given = sorted([*seeds_present, *identical], key=lambda x: (x is None, x))
    seeds = given if gate.seeds == "all" else list(gate.seeds)
    reasons: list[Reason] = []
    observed: list[dict] = []
    compare = _COMPARE[gate.comparator]
    per_seed: dict[str, str] = {}
    for seed in seeds:
        before = len(reasons)
        if seed in identical:
            reasons.append(Reason(type="seeds_identical", subject=f"seed {seed}",
                                  observed=f"scores identical to seed {identical[seed]}",
                                  required="seeds whose scores differ (identical outputs count once)"))
        else:
            _judge_seed(gate, values, seeds_present, seed, reasons, observed, compare)
        mine = reasons[before:]
        per_seed[str(seed)] = ("fail" if any(r.type in ("threshold", "ci_bound") for r in mine)
                               else "blocked" if mine else "pass")
    failed = any(v == "fail" for v in per_seed.values())
    blocked = any(v == "blocked" for v in per_seed.values())
    status = "fail" if failed else "blocked" if blocked else "pass"
    return GateResult(name=gate.name, metric=gate.metric, status=status, seeds=seeds, reasons=reasons,
                      observed=observed, per_seed=per_seed)


def _judge_seed(gate: Gate, values: list[Value], seeds_present: list[int | None], seed, reasons: list[Reason],
                observed: list[dict], compare) -> None:
    """Append the reasons this seed fails or is blocked (none: it passes)."""
    if seed not in seeds_present:
        reasons.append(Reason(type="seed_missing", subject=f"seed {seed}", observed="no scores",
                              required="scores for every required seed"))
        return
    pool = [v for v in values if v.seed == seed and v.scorer == gate.scorer and v.metric == gate.metric
            and v.split in gate.splits and (gate.coverage is None or v.coverage == gate.coverage)]
    if gate.metric == "decoy_accuracy":
        pool = [v for v in pool if gate.category is None or v.benchmark == gate.category]
    elif gate.benchmarks is not None:
        pool = [v for v in pool if any(_within(v.benchmark, b) for b in gate.benchmarks)]
    wanted = ([(b, s) for b in gate.benchmarks for s in gate.splits]
              if gate.benchmarks is not None and gate.metric != "decoy_accuracy" else [])
    for b, s in wanted:
        if not any(_within(v.benchmark, b) and v.split == s for v in pool):
            reasons.append(Reason(type="evidence_missing", subject=f"seed {seed} {gate.scorer} {b}/{s}",
                                  required=f"a {gate.metric} value"))
    if not pool and not wanted:
        reasons.append(Reason(type="evidence_missing", subject=f"seed {seed} {gate.scorer}",
                              required=f"a {gate.metric} value"))
    for v in pool:
        subject = f"seed {seed} {gate.scorer} {v.benchmark}/{v.split}"
        observed.append(v.model_dump(mode="json"))
        if v.blocked or v.value is None:
            reasons.append(Reason(type="not_evaluable" if not v.blocked or "saturat" not in v.blocked
                                  else "saturated", subject=subject, observed=v.blocked or "no value"))
            continue
        if v.health:
            reasons.append(Reason(type="score_health", subject=subject,
                                  observed=", ".join(f"{k} {n}" for k, n in sorted(v.health.items())),
                                  required="every score of the slice's rows present, finite and in range"))
            continue
        if v.n < gate.min_n:
            reasons.append(Reason(type="below_min_n", subject=subject, observed=v.n, required=gate.min_n))
            continue
        if not compare(v.value, gate.threshold):
            reasons.append(Reason(type="threshold", subject=subject, observed=round(v.value, 6),
                                  required=f"{gate.comparator} {gate.threshold}"))
        if gate.ci_lower_above is not None:
            bound = None if v.ci is None else (v.ci[0] if gate.comparator in (">=", ">") else v.ci[1])
            ok = bound is not None and (bound > gate.ci_lower_above if gate.comparator in (">=", ">")
                                        else bound < gate.ci_lower_above)
            if not ok:
                side = "lower" if gate.comparator in (">=", ">") else "upper"
                reasons.append(Reason(type="ci_bound", subject=subject, observed=bound,
                                      required=f"CI {side} bound {'>' if side == 'lower' else '<'} "
                                               f"{gate.ci_lower_above}"))

