"""Can this pack pass the job's gates at all? Before any GPU time: for every gate, the best value
a scorer could reach on the pack and how wide the gate's interval will be there.

- AUC (and PR-AUC): a perfect scorer reaches 1; the gate's interval is DeLong's, whose half-width
  at an AUC `A` with `P` positives and `N` negatives is about 1.96 x the Hanley-McNeil standard
  error (on binormal scores it is 10-50% wider than DeLong's: the plan errs on the safe side). The
  least AUC that clears both the threshold and the interval bound says how good a scorer must be;
  a slice with one class cannot be measured at all.
- Rerank lift over random: no scorer picks better than the oracle, so the largest lift is the
  oracle's pass@1 minus the exact random expectation, per slice; its interval half-width is
  estimated from the per-task spread.
- Decoy accuracy: a perfect scorer reaches 1 on every pair; the interval half-width at accuracy
  `a` with `n` pairs is about 1.96 x sqrt(a(1 - a)/n).
- Selective execution: the oracle executes the passing candidates first, so at a coverage it keeps
  at most min(executed, passes)/passes of them (with a high base rate, little more than the
  coverage itself).
- Calibration and Brier (lower is better): a calibrated scorer can reach them; only the slice's
  size (`min_n`) can stop them.

A gate no scorer could pass is a blocker, `gate_unpassable:<gate>`, naming the number that makes
it so; one that only a near-perfect scorer could pass (AUC or accuracy of 0.95 or more, a lift
within 0.02 of the oracle's, a share kept within 0.05 of the oracle's) is a warning with the
margin."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from ..evidence.gates import Gate, load_gate_spec
from ..pack.rows import RowFacts
from .checks import Check

Z = 1.959963984540054
NEAR_PERFECT = 0.95
LIFT_MARGIN = 0.02
SHARE_MARGIN = 0.05


def hanley_mcneil_half_width(auc: float, positives: int, negatives: int) -> float:
    """1.96 x the Hanley-McNeil standard error of an AUC (DeLong's, for large samples)."""
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)) / (
        positives * negatives)
    return Z * math.sqrt(max(var, 0.0))


def proportion_half_width(p: float, n: int) -> float:
    return Z * math.sqrt(p * (1 - p) / n) if n else math.inf


def least_passing(threshold: float, bound: float | None, half_width) -> float | None:
    """The least value v in [threshold, 1] with v - half_width(v) > bound (None: none in range)."""
    for step in range(max(0, math.ceil(threshold * 1000)), 1001):
        v = step / 1000
        if bound is None or v - half_width(v) > bound:
            return v
    return None


def check_gates(gates_path: Path, rows: Sequence[RowFacts]) -> list[Check]:
    """One check per gate of the spec: passable (with its margin), near-perfect only (warn), or
    unpassable (blocked)."""
    return [_gate(g, rows) for g in load_gate_spec(gates_path).gates]


def _slices(gate: Gate, rows: Sequence[RowFacts]) -> dict[str, list[RowFacts]]:
    """The rows of each slice the gate judges: every split it names, and each benchmark scope (or
    every benchmark and the pooled "all" when it names none)."""
    out: dict[str, list[RowFacts]] = {}
    for split in gate.splits:
        in_split = [r for r in rows if r.split == split]
        if gate.metric == "decoy_accuracy":  # judged per category, over every benchmark of the split
            scopes = ["all"]
        else:
            scopes = gate.benchmarks if gate.benchmarks is not None else ["all", *sorted({r.benchmark
                                                                                          for r in in_split})]
        for scope in scopes:
            base = scope.split(":", 1)[0]
            out[f"{scope}/{split}"] = in_split if base == "all" else [r for r in in_split if r.benchmark == base]
    return out


def _gate(gate: Gate, rows: Sequence[RowFacts]) -> Check:
    judge = {"auc": _auc, "pr_auc": _auc, "rerank_lift_random": _lift, "rerank_lift": _lift,
             "decoy_accuracy": _decoys, "selective_kept_share": _selective}.get(gate.metric, _lower_is_better)
    findings = [judge(gate, name, part, rows) for name, part in _slices(gate, rows).items()]
    worst = next((f for f in findings if f[0] == "blocked"), None) or next(
        (f for f in findings if f[0] == "warn"), None) or (findings[0] if findings else
                                                           ("blocked", "no slice", "the pack has no rows there", {}))
    status, observed, reason, numbers = worst
    return Check(name=f"gate_unpassable:{gate.name}" if status == "blocked" else f"gate:{gate.name}", status=status,
                 observed=observed, required=f"{gate.metric} {gate.comparator} {gate.threshold}" + (
                     f", CI bound beyond {gate.ci_lower_above}" if gate.ci_lower_above is not None else ""),
                 reason=reason, numbers=numbers)


def _auc(gate: Gate, name: str, part: list[RowFacts], rows) -> tuple[str, str, str, dict]:
    positives = sum(r.passed for r in part)
    negatives = len(part) - positives
    numbers = {"positives": positives, "negatives": negatives}
    if len(part) < max(gate.min_n, 1):
        return "blocked", f"{name}: {len(part)} rows", f"{name} has {len(part)} rows, below min_n {gate.min_n}", numbers
    if not positives or not negatives:
        return "blocked", f"{name}: one class", f"{name} has {positives} passing and {negatives} failing rows: " \
                                                 f"no {gate.metric} can be measured", numbers
    needed = least_passing(gate.threshold, gate.ci_lower_above,
                           lambda a: hanley_mcneil_half_width(a, positives, negatives))
    if needed is None:
        width = hanley_mcneil_half_width(0.999, positives, negatives)
        return "blocked", f"{name}: best 1.0", (f"{name}: even an AUC near 1 has a DeLong half-width of about "
                                                f"{width:.3f} with {positives} positives and {negatives} negatives, so "
                                                f"its lower bound cannot exceed {gate.ci_lower_above}"), numbers
    width = hanley_mcneil_half_width(needed, positives, negatives)
    numbers.update(best=1.0, needed=needed, half_width=round(width, 4))
    status = "warn" if needed >= NEAR_PERFECT else "pass"
    return status, f"{name}: best 1.0, needs {needed:.3f} (half-width {width:.3f})", (
        f"{name}: only a near-perfect scorer (AUC >= {needed:.3f}) could pass" if status == "warn" else ""), numbers


def _groups(gate_scope: str, part: list[RowFacts], rows) -> list[list[bool]]:
    """The candidate sets a rerank picks from: each canonical solution with its mutants for a
    `:canonical+mutants` slice, else every candidate of a task."""
    if gate_scope.endswith(":canonical+mutants"):
        by_id = {r.row_id: r for r in part}
        sets: dict[str, list[bool]] = defaultdict(list)
        for r in part:
            if r.decoy_category == "mutation" and r.decoy_shadows in by_id:
                sets[r.decoy_shadows].append(r.passed)
        return [[by_id[k].passed, *v] for k, v in sets.items()]
    tasks: dict[str, list[bool]] = defaultdict(list)
    for r in part:
        if r.decoy_category is None:
            tasks[r.task_id].append(r.passed)
    return [v for v in tasks.values() if len(v) > 1]


def _lift(gate: Gate, name: str, part: list[RowFacts], rows) -> tuple[str, str, str, dict]:
    groups = _groups(name.rsplit("/", 1)[0], part, rows)
    if len(groups) < max(gate.min_n, 1):
        return "blocked", f"{name}: {len(groups)} candidate sets", (
            f"{name} has {len(groups)} tasks with two or more candidates, below min_n {max(gate.min_n, 1)}"), {}
    gaps = [float(any(g)) - sum(g) / len(g) for g in groups]
    best = sum(gaps) / len(gaps)
    spread = math.sqrt(sum((x - best) ** 2 for x in gaps) / max(len(gaps) - 1, 1))
    width = Z * spread / math.sqrt(len(gaps))
    # the least lift that meets the threshold and whose interval (about this wide) clears the bound
    needed = max(gate.threshold, gate.ci_lower_above + width if gate.ci_lower_above is not None else -math.inf)
    numbers = {"best": round(best, 4), "needed": round(needed, 4), "half_width": round(width, 4),
               "tasks": len(groups)}
    if best < needed:
        return "blocked", f"{name}: oracle lift {best:.3f}", (
            f"{name}: the oracle's own lift over random is {best:.3f} (half-width about {width:.3f} over "
            f"{len(groups)} tasks); no scorer picks better than the oracle, so a lift of {needed:.3f} (the threshold "
            f"{gate.threshold}" + (f", and an interval above {gate.ci_lower_above}" if gate.ci_lower_above is not None
                                   else "") + ") cannot be reached"), numbers
    margin = best - needed
    status = "warn" if margin < LIFT_MARGIN else "pass"
    return status, f"{name}: oracle lift {best:.3f}, needs {needed:.3f}", (
        f"{name}: only a near-oracle scorer could pass (margin {margin:.3f})" if status == "warn" else ""), numbers


def _decoys(gate: Gate, name: str, part: list[RowFacts], rows) -> tuple[str, str, str, dict]:
    pairs = sum(1 for r in part if r.decoy_shadows and (gate.category is None or r.decoy_category == gate.category))
    if pairs < max(gate.min_n, 1):
        return "blocked", f"{name}: {pairs} pairs", f"{name} has {pairs} decoy pairs, below min_n {max(gate.min_n, 1)}", \
            {"pairs": pairs}
    needed = least_passing(gate.threshold, gate.ci_lower_above, lambda a: proportion_half_width(a, pairs))
    if needed is None:
        return "blocked", f"{name}: {pairs} pairs", (f"{name}: with {pairs} pairs no accuracy's interval clears "
                                                     f"{gate.ci_lower_above}"), {"pairs": pairs}
    width = proportion_half_width(needed, pairs)
    status = "warn" if needed >= NEAR_PERFECT else "pass"
    return status, f"{name}: best 1.0, needs {needed:.3f} (half-width {width:.3f})", (
        f"{name}: only a near-perfect scorer (accuracy >= {needed:.3f}) could pass" if status == "warn" else ""), \
        {"pairs": pairs, "best": 1.0, "needed": needed, "half_width": round(width, 4)}


def _selective(gate: Gate, name: str, part: list[RowFacts], rows) -> tuple[str, str, str, dict]:
    """The oracle executes the passes first: it keeps min(executed, passes)/passes of them."""
    positives, n = sum(r.passed for r in part), len(part)
    executed = math.ceil(gate.coverage * n)
    if not positives or n < max(gate.min_n, 1):
        return "blocked", f"{name}: {positives} passing of {n}", f"{name}: {positives} passing candidates in {n} rows: " \
                                                                 "no share of them can be kept", {"rows": n}
    best = min(executed, positives) / positives
    needed = least_passing(gate.threshold, gate.ci_lower_above, lambda v: proportion_half_width(v, positives))
    numbers = {"best": round(best, 4), "rows": n, "positives": positives, "executed": executed}
    if needed is None or needed > best:
        return "blocked", f"{name}: the oracle keeps {best:.3f}", (
            f"{name}: executing {executed} of {n} candidates keeps at most {best:.3f} of the {positives} passes "
            f"(the oracle's share), below the {needed or gate.threshold:.3f} the gate needs"), numbers
    numbers["needed"] = needed
    margin = best - needed
    status = "warn" if margin < SHARE_MARGIN else "pass"
    return status, f"{name}: the oracle keeps {best:.3f}, needs {needed:.3f}", (
        f"{name}: only a near-oracle scorer could pass: the oracle keeps {best:.3f} of the passes at this coverage "
        f"(margin {margin:.3f})" if status == "warn" else ""), numbers


def _lower_is_better(gate: Gate, name: str, part: list[RowFacts], rows) -> tuple[str, str, str, dict]:
    if len(part) < max(gate.min_n, 1):
        return "blocked", f"{name}: {len(part)} rows", f"{name} has {len(part)} rows, below min_n {gate.min_n}", {}
    return "pass", f"{name}: {len(part)} rows", "", {"rows": len(part)}
