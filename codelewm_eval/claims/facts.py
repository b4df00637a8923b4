"""The evidence as typed quantities: every value of a bundle's files (metrics, reranks, decoys,
comparisons and their anchor ladder, gate observations) as a `Fact` with its subject, and every
before/after comparison as a `Change` from which each form of change derives."""

from __future__ import annotations

import re
from dataclasses import dataclass


def norm_name(name: str) -> str:
    """Model and pass names compared loosely: "BD6.2" = "bd6_2", "BD6 pass-1" = "bd6"."""
    name = name.lower().replace("pass-1", "").replace("pass 1", "").replace("pass1", "")
    return re.sub(r"[^a-z0-9]", "", name)


@dataclass(frozen=True)
class Fact:
    """One evidence value: quantity, value and subject."""

    quantity: str        # auc, ece, brier, ..., p_value, ci_bound, count, rate, lift, ...
    value: float
    benchmark: str | None = None     # benchmark family; "all" for pooled
    models: tuple[str, ...] = ()     # normalized names of the bundle, scorer, pass
    seed: int | None = None
    split: str | None = None
    n: int | None = None             # a count's denominator


@dataclass(frozen=True)
class Change:
    """A before/after comparison of one benchmark: every form of change derives from it."""

    benchmark: str | None            # None: anchors, across benchmarks
    before: int
    after: int
    n: int
    p: float
    models: tuple[str, ...]          # baseline and candidate, normalized
    candidate: str

    @property
    def ratio(self) -> float | None:
        return self.after / self.before if self.before else None


def family(benchmark: str | None) -> str | None:
    """The subject a benchmark name is: its variant ("humaneval-plus", "mbpp-plus") or its base
    ("humaneval:codet_pool" is HumanEval, "mbpp-multiple" is the MBPP pool); "all" for pooled."""
    if benchmark is None or benchmark == "all":
        return benchmark
    name = benchmark.split(":", 1)[0].lower()
    plus = "+" in name or re.search(r"[-_ ]?plus\b", name) is not None
    for fam in ("humaneval", "mbpp"):
        if name.startswith(fam):
            return f"{fam}-plus" if plus else fam
    if name.startswith(("livecodebench", "lcb")):
        return "livecodebench"
    return name


METRIC_KEYS = ("auc", "pr_auc", "brier", "brier_skill", "ece", "ece_mass")


def bundle_facts(name: str, files: dict, measured=None) -> tuple[list[Fact], list[Change]]:
    """Every typed quantity of one bundle, each once: its measurements (`measured`, the files read
    through their models) and its recomputed gates' observations."""
    facts, changes = _bundle_facts(name, files, measured)
    return list(dict.fromkeys(facts)), list(dict.fromkeys(changes))


def _bundle_facts(name: str, files: dict, measured) -> tuple[list[Fact], list[Change]]:
    bundle = norm_name(name)
    if measured is None:
        return _gate_facts(bundle, files), []
    facts = (_metric_facts(bundle, measured) + _rerank_facts(bundle, measured) + _decoy_facts(bundle, measured)
             + _coverage_facts(bundle, measured) + _gate_facts(bundle, files))
    compared, changes = _comparison_facts(bundle, measured.comparisons)
    return facts + compared + _plan_facts(bundle, measured.plans), changes


def _plan_facts(bundle: str, plans: list) -> list[Fact]:
    """compare --plan: the least significant net gain (a count of tasks), its p, and the power."""
    facts = []
    for p in plans:
        common = dict(benchmark=family(p.benchmark), models=(bundle,))
        for gain in (p.min_gain_no_loss, p.min_gain_with_losses, p.expected_gain):
            if gain is not None:
                facts.append(Fact("count", float(gain), n=p.n, **common))
        for value in (p.p_at_min_gain, p.p_at_expected_gain):
            if value is not None:
                facts.append(Fact("p_value", float(value), **common))
        for value in (p.power, p.loss_rate):
            if value is not None:
                facts.append(Fact("rate", float(value), **common))
    return facts


def _metric_facts(bundle: str, measured) -> list[Fact]:
    facts = []
    for r in measured.records():
        common = dict(benchmark=family(r.benchmark), models=(bundle, norm_name(r.scorer)), seed=r.seed, split=r.split)
        for key in METRIC_KEYS:
            m = r.metrics.get(key)
            if m is None or m.value is None:
                continue
            facts.append(Fact("ece" if key == "ece_mass" else key, float(m.value), **common))
            for bound in [*(m.ci or []), *(m.bootstrap_ci or [])]:
                if bound is not None:
                    facts.append(Fact("ci_bound", float(bound), **common))
            if key in ("ece", "ece_mass") and m.mce is not None:
                facts.append(Fact("mce", float(m.mce), **common))
        facts.append(Fact("count", float(r.positives), n=r.rows, **common))
    return facts


def _rerank_facts(bundle: str, measured) -> list[Fact]:
    facts = []
    for r in measured.rerank.results:
        common = dict(benchmark=family(r.benchmark), models=(bundle, norm_name(r.scorer)), seed=r.seed, split=r.split)
        for key, quantity in (("lift", "lift"), ("lift_random", "lift"), ("pass_at_1", "rate"),
                              ("no_action", "rate"), ("random_expected", "rate"), ("oracle", "rate"),
                              ("lexical", "rate"), ("mcnemar_p", "p_value")):
            if getattr(r, key) is not None:
                facts.append(Fact(quantity, float(getattr(r, key)), **common))
        for bound in [*(r.lift_ci or ()), *(r.lift_random_ci or ())]:
            facts.append(Fact("ci_bound", float(bound), **common))
        if r.tasks:
            for key in ("pass_at_1", "no_action"):
                if getattr(r, key) is not None:
                    facts.append(Fact("count", round(getattr(r, key) * r.tasks), n=r.tasks, **common))
    return facts


def _decoy_facts(bundle: str, measured) -> list[Fact]:
    facts = []
    for r in measured.decoys.results:
        common = dict(benchmark=None, models=(bundle, norm_name(r.scorer)), seed=r.seed, split=r.split)
        if r.accuracy is not None:
            facts.append(Fact("accuracy", float(r.accuracy), **common))
        for bound in r.accuracy_ci or ():
            facts.append(Fact("ci_bound", float(bound), **common))
    return facts


def _coverage_facts(bundle: str, measured) -> list[Fact]:
    """Selective execution: at each coverage, the share of passes kept and the pass rate executed."""
    facts = []
    for c in measured.coverage.results if measured.coverage else []:
        common = dict(benchmark=family(c.benchmark), models=(bundle, norm_name(c.scorer)), seed=c.seed, split=c.split)
        for p in c.points:
            facts.append(Fact("coverage", p.coverage, **common))
            for value, ci in ((p.kept_share, p.kept_share_ci), (p.pass_rate, p.pass_rate_ci)):
                if value is not None:
                    facts.append(Fact("rate", float(value), **common))
                for bound in ci or ():
                    facts.append(Fact("ci_bound", float(bound), **common))
            facts.append(Fact("count", float(p.executed), n=c.rows, **common))
    return facts


def _comparison_facts(bundle: str, comparisons: list) -> tuple[list[Fact], list[Change]]:
    """Counts, p values and CI bounds of each before/after comparison, its changes, and the anchor
    ladder (every pass against every other, and against the baseline)."""
    facts: list[Fact] = []
    changes: list[Change] = []
    ladder = []
    for c in comparisons:
        if c.anchors_total:  # anchors kept, of the anchors given: "15/19"
            ladder.append((norm_name(c.candidate), c.anchors_kept))
            facts.append(Fact("count", float(c.anchors_kept), None, (bundle, norm_name(c.candidate), "anchors"),
                              n=c.anchors_total))
            facts.append(Fact("count", float(c.anchors_kept_baseline), None,
                              (bundle, norm_name(c.baseline), "anchors"), n=c.anchors_total))
        models = (bundle, norm_name(c.baseline), norm_name(c.candidate))
        for d in c.benchmarks:
            fam = family(d.benchmark)
            changes.append(Change(fam, d.before, d.after, d.n, float(d.mcnemar_p), models, norm_name(c.candidate)))
            # the baseline's count belongs to every sentence about this comparison (a table row states
            # it beside the candidate's), the candidate's to sentences about the candidate
            facts.append(Fact("count", float(d.before), fam, models, n=d.n))
            facts.append(Fact("count", float(d.after), fam, (bundle, norm_name(c.candidate)), n=d.n))
            facts.append(Fact("p_value", float(d.mcnemar_p), fam, models))
            for bound in d.delta_ci or ():
                facts.append(Fact("ci_bound", float(bound), fam, models))
    total = max((c.anchors_total for c in comparisons), default=0)
    if total:
        rungs = [(norm_name(c.baseline), c.anchors_kept_baseline) for c in comparisons[:1]] + ladder
        for i, (a, ka) in enumerate(rungs):
            for b, kb in rungs[i + 1:]:
                changes.append(Change(None, ka, kb, total, 1.0, (bundle, a, b, "anchors"), b))
    return facts, changes


def _gate_facts(bundle: str, files: dict) -> list[Fact]:
    facts = []
    for g in files.get("gates.json", {}).get("gates", []):
        for o in g.get("observed") or []:
            if isinstance(o, dict) and isinstance(o.get("value"), (int, float)):
                quantity = {"rerank_lift": "lift", "rerank_lift_random": "lift", "decoy_accuracy": "accuracy"}.get(
                    g.get("metric"), g.get("metric"))
                where = None if g.get("metric") == "decoy_accuracy" else family(o.get("benchmark"))  # a category
                facts.append(Fact(quantity, float(o["value"]), where,
                                  (bundle, norm_name(o.get("scorer", ""))), o.get("seed"), o.get("split")))
    return facts
