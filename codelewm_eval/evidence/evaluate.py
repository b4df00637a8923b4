"""`evaluate`: a pack and its score files -> an evidence bundle.

The bundle directory holds `metrics.json` (per seed x scorer x benchmark x split, and pooled
over benchmarks: ROC-AUC with DeLong and task-bootstrap CIs, PR-AUC, Brier and Brier skill, and
for p_pass ECE (equal-width and equal-mass bins) and MCE with bootstrap CIs), `rerank.json`,
`decoys.json`, `gates.json`, `plots/` (reliability diagram and ROC of p_pass per seed and
split) and `manifest.json` whose parents are the pack and the score files. Inputs whose
manifests do not verify are refused.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from ..artifact import staged_directory
from ..errors import InputError
from ..io import write_json_atomic
from ..manifest import require_verified, write_manifest
from ..pack.read import read_rows
from . import metrics as M
from .compare import Comparison
from .gates import GateResult, GateSpec, Value, judge
from .measurement import Measurement
from .planning import BenchmarkPlan
from .rerank import (
    NO_ORDER,
    ORDERED_FORMATS,
    DecoyResult,
    RerankResult,
    decoy_accuracy,
    rerank,
    rerank_pools,
)
from .scores import PROBABILITIES, ScoreSet, read_scores
from .selective import CoverageFile, RiskCoverage, risk_coverage

SCHEMA_VERSION = 1
HELD_OUT = ("val", "test")
ALL = "all"  # pooled over benchmarks


class MetricRecord(BaseModel):
    schema_version: int = SCHEMA_VERSION
    seed: int | None
    scorer: str
    benchmark: str
    split: str
    rows: int
    tasks: int
    positives: int
    metrics: dict[str, Measurement] = Field(default_factory=dict, description="name -> its measurement")
    not_evaluable: dict[str, str] = Field(default_factory=dict, description="name -> why")
    score_health: dict[str, int] = Field(default_factory=dict, description="missing / non_finite / out_of_range "
                                                                           "scores among the slice's rows (the "
                                                                           "metrics use the usable ones; a gate on "
                                                                           "this slice is blocked)")


class MetricsFile(BaseModel):
    """`metrics.json` of an evidence bundle."""

    schema_version: int = SCHEMA_VERSION
    seeds: list[int | None] = Field(description="the seeds with evidence of their own")
    identical_seeds: dict[str, int | None] = Field(
        default_factory=dict, description="seed -> the earlier seed whose scores it repeats exactly: one piece of "
                                          "evidence, measured once; gates that require it are blocked "
                                          "(seeds_identical)")
    score_health: dict[str, dict] = Field(description="score file -> score name -> missing / non-finite / out of "
                                                      "range counts")
    records: list[MetricRecord]


class SeededRerank(RerankResult):
    seed: int | None


class RerankFile(BaseModel):
    """`rerank.json`: per seed, scorer, slice and split, the best-of-n rerank against no_action."""

    schema_version: int = SCHEMA_VERSION
    results: list[SeededRerank]


class SeededDecoys(DecoyResult):
    seed: int | None


class DecoysFile(BaseModel):
    """`decoys.json`: per seed, scorer, decoy category and split, the pairwise accuracy."""

    schema_version: int = SCHEMA_VERSION
    results: list[SeededDecoys]


class GatesFile(BaseModel):
    """`gates.json`: every gate's verdict (overall and per seed) with typed reasons."""

    schema_version: int = SCHEMA_VERSION
    gates: list[GateResult]
    ok: bool


class Measured(BaseModel):
    """The measurements of a bundle, typed: what claims, cards, the report and `run`'s summary read
    (never the raw JSON). An evidence bundle has metrics, reranks and decoys; a comparison bundle
    its comparisons."""

    metrics: MetricsFile | None = None
    rerank: RerankFile = Field(default_factory=lambda: RerankFile(results=[]))
    decoys: DecoysFile = Field(default_factory=lambda: DecoysFile(results=[]))
    coverage: CoverageFile | None = Field(None, description="risk-coverage (bundles from before it: none)")
    comparisons: list[Comparison] = Field(default_factory=list)
    plans: list[BenchmarkPlan] = Field(default_factory=list, description="compare --plan: what the comparison "
                                                                        "could detect")

    @classmethod
    def of(cls, files: dict) -> "Measured":
        """From a bundle's parsed JSON files (pydantic's ValidationError when one is not its model)."""
        return cls(metrics=MetricsFile.model_validate(files["metrics.json"]) if "metrics.json" in files else None,
                   rerank=RerankFile.model_validate(files.get("rerank.json", {"results": []})),
                   decoys=DecoysFile.model_validate(files.get("decoys.json", {"results": []})),
                   coverage=CoverageFile.model_validate(files["coverage.json"]) if "coverage.json" in files else None,
                   comparisons=[Comparison.model_validate(c)
                                for c in files.get("compare.json", {}).get("comparisons", [])],
                   plans=[BenchmarkPlan.model_validate(p) for p in files.get("compare.json", {}).get("plan", [])])

    def records(self, **where) -> list[MetricRecord]:
        """The metric records whose fields equal `where` (scorer="p_pass", split="test", ...)."""
        records = self.metrics.records if self.metrics else []
        return [r for r in records if all(getattr(r, k) == v for k, v in where.items())]


class EvidenceBundle(BaseModel):
    """An evidence bundle read back through the models that wrote it (verified first)."""

    path: Path
    metrics: MetricsFile
    rerank: RerankFile
    decoys: DecoysFile
    gates: GatesFile
    coverage: CoverageFile | None = Field(None, description="coverage.json (absent from bundles written before it)")
    pack_stats: dict | None = None

    @classmethod
    def read(cls, path: Path) -> "EvidenceBundle":
        """The bundle at `path`, if it verifies against its manifest (kind "evidence"); an
        InputError naming the first problem otherwise."""
        from ..io import read_json, read_versioned

        path = Path(require_verified(path, "the evidence bundle", kind="evidence"))
        stats = path / "pack_stats.json"
        return cls(path=path, metrics=read_versioned(MetricsFile, path / "metrics.json"),
                   rerank=read_versioned(RerankFile, path / "rerank.json"),
                   decoys=read_versioned(DecoysFile, path / "decoys.json"),
                   gates=read_versioned(GatesFile, path / "gates.json"),
                   coverage=read_versioned(CoverageFile, path / "coverage.json")
                   if (path / "coverage.json").is_file() else None,
                   pack_stats=read_json(stats) if stats.is_file() else None)


def _source_name(source_file: str) -> str:
    name = Path(source_file).name
    for suffix in (".gz", ".jsonl", ".json"):
        name = name.removesuffix(suffix)
    return name


def _verified(path: Path, what: str) -> None:
    require_verified(path, what, kind="pack" if what == "the pack" else "scores")


def classification_metrics(seed, scorer: str, benchmark: str, split: str, y: np.ndarray, s: np.ndarray,
                           tasks: np.ndarray, probability: bool, draws: int, n_bins: int) -> MetricRecord:
    record = MetricRecord(seed=seed, scorer=scorer, benchmark=benchmark, split=split, rows=int(y.size),
                          tasks=int(len(set(tasks.tolist()))), positives=int(y.sum()))

    def attempt(name, fn):
        try:
            record.metrics[name] = Measurement.model_validate(fn())
        except M.NotEvaluable as exc:
            record.not_evaluable[name] = str(exc)

    boot = M.TaskBootstrap(tasks, draws=draws, seed=0) if y.size else None

    def auc():
        value, low, high = M.delong_interval(y, s)
        b_low, b_high, degenerate = M.interval(M.bootstrap_auc(boot, y, s), point=value)
        return {"value": value, "ci": [low, high], "method": "DeLong", "bootstrap_ci": [b_low, b_high],
                "bootstrap": {"resampled": "tasks", "draws": draws, "degenerate_draws": degenerate}}

    attempt("auc", auc)
    attempt("pr_auc", lambda: {"value": M.pr_auc(y, s), "base_rate": float(y.mean())})
    if probability:
        attempt("brier", lambda: {"value": M.brier(y, s)})
        attempt("brier_skill", lambda: {"value": M.brier_skill(y, s)})
        for strategy, name in (("width", "ece"), ("mass", "ece_mass")):
            def calibration(strategy=strategy):
                bins = M.calibration_bins(s, n_bins, strategy)
                e_draws, m_draws = M.bootstrap_calibration(boot, y, s, bins)
                table = M.calibration_table(y, s, bins)
                value, worst = M.ece(y, s, bins), M.mce(y, s, bins)
                e_low, e_high, _ = M.interval(e_draws, point=value)
                m_low, m_high, _ = M.interval(m_draws, point=worst)
                return {"value": value, "ci": [e_low, e_high], "bins": bins.count, "binning": strategy,
                        "ci_method": "task-bootstrap percentile interval, widened to contain the estimate",
                        "mce": worst, "mce_ci": [m_low, m_high],
                        "reliability": {k: [None if not np.isfinite(x) else float(x) for x in v]
                                        for k, v in table.items()}, "edges": bins.edges.tolist()}
            attempt(name, calibration)
    return record


def _values(record: MetricRecord) -> list[Value]:
    out = []
    n = record.rows
    health = record.score_health
    for name, m in record.metrics.items():
        out.append(Value(seed=record.seed, scorer=record.scorer, metric=name, benchmark=record.benchmark,
                         split=record.split, value=m.value, ci=tuple(m.ci) if m.ci is not None else None, n=n,
                         health=health))
        if name == "ece":
            out.append(Value(seed=record.seed, scorer=record.scorer, metric="mce", benchmark=record.benchmark,
                             split=record.split, value=m.mce, ci=tuple(m.mce_ci), n=n, health=health))
    for name, why in record.not_evaluable.items():
        out.append(Value(seed=record.seed, scorer=record.scorer, metric=name, benchmark=record.benchmark,
                         split=record.split, value=None, blocked=why, n=n, health=health))
    return out


def _rerank_values(r: SeededRerank) -> list[Value]:
    saturated = f"saturated: {r.saturated}" if r.saturated else None
    common = dict(seed=r.seed, scorer=r.scorer, benchmark=r.benchmark, split=r.split, n=r.tasks,
                  health=r.score_health)
    return [Value(metric="rerank_lift", value=r.lift, ci=r.lift_ci,
                  blocked=saturated if r.ordered else (saturated or f"not evaluable: {NO_ORDER}"), **common),
            Value(metric="rerank_lift_random", value=r.lift_random, ci=r.lift_random_ci, blocked=saturated, **common)]


def _decoy_values(d: SeededDecoys) -> list[Value]:
    return [Value(seed=d.seed, scorer=d.scorer, metric="decoy_accuracy", benchmark=d.category, split=d.split,
                  value=d.accuracy, ci=d.accuracy_ci, n=d.scorable, health=d.score_health,
                  blocked=None if d.accuracy is not None else "no scorable pairs")]


def _coverage_values(c: RiskCoverage) -> list[Value]:
    return [Value(seed=c.seed, scorer=c.scorer, metric="selective_kept_share", benchmark=c.benchmark, split=c.split,
                  value=p.kept_share, ci=p.kept_share_ci, n=c.rows, coverage=p.coverage,
                  blocked=None if p.kept_share is not None else "no passing candidate in the slice")
            for p in c.points]


def values_of(metrics: MetricsFile, reranks: RerankFile, decoys: DecoysFile,
              coverage: CoverageFile | None = None) -> list[Value]:
    """Every gate-able value of an evidence bundle, from its measurement files alone."""
    out = [v for record in metrics.records for v in _values(record)]
    out += [v for r in reranks.results for v in _rerank_values(r)]
    out += [v for d in decoys.results for v in _decoy_values(d)]
    out += [v for c in (coverage.results if coverage else []) for v in _coverage_values(c)]
    return out


def judge_all(spec: GateSpec | None, metrics: MetricsFile, reranks: RerankFile, decoys: DecoysFile,
              coverage: CoverageFile | None = None) -> GatesFile:
    """The verdict of every gate of the spec, recomputed from the measurements (never read)."""
    values = values_of(metrics, reranks, decoys, coverage)
    identical = {int(k) if k not in ("None", "null") else None: v for k, v in metrics.identical_seeds.items()}
    gates = [judge(g, values, metrics.seeds, identical) for g in (spec.gates if spec else [])]
    return GatesFile(gates=gates, ok=all(g.status == "pass" for g in gates))


class _Pack:
    """The columns of a pack that evaluation reads, and its rerank pools and decoy pairs."""

    def __init__(self, pack: Path, mutant_sets: bool = False):
        rows = read_rows(pack / "rows.jsonl")
        self.index = {r.row_id: i for i, r in enumerate(rows)}
        self.splits = [r.split for r in rows]
        self.split = np.array(self.splits)
        self.benchmark = np.array([r.benchmark for r in rows])
        self.task = np.array([f"{r.benchmark}/{r.task_id}" for r in rows])
        self.passed = np.array([r.passed for r in rows], dtype=bool)
        self.row_ids = [r.row_id for r in rows]
        from .scorers import no_action

        # the candidates' original order, for score files that carry only p_pass (a training run's)
        self.no_action = no_action(rows)
        # candidates that compete in reranking: model samples, not canonical solutions or mutants
        in_pool = np.array([r.origin.format not in ("canonical", "decoy") for r in rows])
        sources = [_source_name(r.origin.source_file) if r.origin.source_file else (r.origin.model or "unknown")
                   for r in rows]
        self.pools = rerank_pools(self.benchmark.tolist(), self.task.tolist(), self.splits, sources, in_pool)
        # a slice has a sample order when every candidate's source has one and no task repeats an index
        self.ordered = {key: all(_ordered(rows, members) for members in by_task.values())
                        for key, by_task in self.pools.items()}
        if mutant_sets:
            self._add_mutant_sets(rows)
        self.pairs: dict[tuple, list] = defaultdict(list)
        for i, r in enumerate(rows):
            if r.decoy is not None and r.decoy.shadows_row_id in self.index:
                self.pairs[(r.decoy.category, r.split)].append((self.index[r.decoy.shadows_row_id], i))

    def _add_mutant_sets(self, rows: list) -> None:
        """Offline candidate sets: each canonical solution with its executed mutants, one set per
        task (slice "<benchmark>:canonical+mutants"); they have no sample order."""
        members: dict[int, list[int]] = defaultdict(list)
        for i, r in enumerate(rows):
            if r.decoy is not None and r.decoy.category == "mutation" and r.decoy.shadows_row_id in self.index:
                shadow = self.index[r.decoy.shadows_row_id]
                if rows[shadow].origin.format == "canonical":
                    members[shadow].append(i)
        for canonical, mutants in sorted(members.items()):
            key = (f"{self.benchmark[canonical]}:canonical+mutants", self.splits[canonical])
            self.pools.setdefault(key, {})[self.task[canonical]] = [canonical, *mutants]
            self.ordered[key] = False


def _ordered(rows: list, members: list[int]) -> bool:
    indexes = [rows[i].origin.sample_index for i in members]
    return (all(rows[i].origin.format in ORDERED_FORMATS for i in members)
            and None not in indexes and len(set(indexes)) == len(indexes))


def _measure(data: _Pack, ss: ScoreSet, draws: int, n_bins: int, tie_seed: int):
    """Every metric record, rerank, decoy and risk-coverage result of one score set."""
    records, reranks, decoys, coverage = [], [], [], []
    baseline, lexical = ss.values.get("no_action"), ss.values.get("lexical")
    baseline = data.no_action if baseline is None else baseline
    for name in ss.names:
        s_all = ss.values[name]
        for split in HELD_OUT:
            for bench in sorted(set(data.benchmark.tolist())) + [ALL]:
                in_slice = data.split == split
                if bench != ALL:
                    in_slice &= data.benchmark == bench
                mask = in_slice & np.isfinite(s_all)
                record = classification_metrics(ss.seed, name, bench, split, data.passed[mask], s_all[mask],
                                                data.task[mask], name in PROBABILITIES, draws, n_bins)
                record.score_health = ss.slice_health(name, in_slice)
                records.append(record)
        for (bench, split), by_task in sorted(data.pools.items()):
            if split not in HELD_OUT:
                continue
            members = np.array(sorted(i for m in by_task.values() for i in m), dtype=np.int64)
            result = rerank(bench, split, name, by_task, data.passed, s_all, baseline, lexical, data.row_ids,
                            draws=draws, tie_seed=tie_seed, ordered=data.ordered[(bench, split)],
                            score_health=ss.slice_health(name, members))
            reranks.append(SeededRerank(seed=ss.seed, **result.model_dump()))
        for (category, split), plist in sorted(data.pairs.items()):
            if split not in HELD_OUT:
                continue
            rows_of_pairs = np.array(sorted({i for pair in plist for i in pair}), dtype=np.int64)
            result = decoy_accuracy(category, split, name, plist, data.task.tolist(), s_all, draws=draws,
                                    score_health=ss.slice_health(name, rows_of_pairs))
            decoys.append(SeededDecoys(seed=ss.seed, **result.model_dump()))
        for split in HELD_OUT:
            in_split = data.split == split
            if in_split.any():
                coverage.append(RiskCoverage(
                    seed=ss.seed, scorer=name, split=split, rows=int(in_split.sum()),
                    positives=int(data.passed[in_split].sum()), tasks=len(set(data.task[in_split].tolist())),
                    tie_seed=tie_seed, points=risk_coverage(data.passed[in_split], s_all[in_split],
                                                            data.task[in_split], draws=draws, tie_seed=tie_seed)))
    return records, reranks, decoys, coverage


def distinct_score_sets(score_sets: list[ScoreSet]) -> tuple[list[ScoreSet], dict]:
    """The score sets with evidence of their own, and seed -> earlier seed for each set whose
    scores repeat an earlier set's exactly (two seeds are two pieces of evidence only if they differ)."""
    kept: list[ScoreSet] = []
    identical: dict = {}
    for ss in score_sets:
        twin = next((k for k in kept if k.same_scores(ss)), None)
        if twin is not None and ss.seed != twin.seed:
            identical[ss.seed] = twin.seed
        else:
            kept.append(ss)
    return kept, identical


def evaluate(pack: Path, score_paths: list[Path], spec: GateSpec | None, out_dir: Path, *, draws: int = 2000,
             n_bins: int = 10, command: list[str] | None = None, plots: bool = True, tie_seed: int = 0,
             mutant_sets: bool = False) -> dict:
    pack = Path(pack)
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not _is_evidence(out_dir):
        raise InputError("--out is not empty and is not an evidence bundle; choose another", path=str(out_dir))
    _verified(pack, "the pack")
    for path in score_paths:
        _verified(Path(path), "the score file")
    data = _Pack(pack, mutant_sets=mutant_sets)
    all_sets = [read_scores(Path(p), data.index, data.splits) for p in score_paths]
    score_sets, identical = distinct_score_sets(all_sets)
    seeds = sorted({s.seed for s in score_sets}, key=lambda x: (x is None, x))
    records, reranks, decoys, coverage = [], [], [], []
    for ss in score_sets:
        parts = _measure(data, ss, draws, n_bins, tie_seed)
        for bucket, part in zip((records, reranks, decoys, coverage), parts):
            bucket.extend(part)
    health = {str(ss.path): {k: v.model_dump() for k, v in ss.health.items()} for ss in all_sets}
    metrics = MetricsFile(seeds=seeds, identical_seeds={str(k): v for k, v in identical.items()},
                          score_health=health, records=records)
    rerank_file, decoys_file = RerankFile(results=reranks), DecoysFile(results=decoys)
    coverage_file = CoverageFile(results=coverage)
    gates_file = judge_all(spec, metrics, rerank_file, decoys_file, coverage_file)
    files = {"metrics.json": metrics.model_dump(mode="json"), "rerank.json": rerank_file.model_dump(mode="json"),
             "decoys.json": decoys_file.model_dump(mode="json"), "gates.json": gates_file.model_dump(mode="json"),
             "coverage.json": coverage_file.model_dump(mode="json")}
    if (pack / "stats.json").is_file():  # the pack's statistics travel with its evidence (the dataset card)
        files["pack_stats.json"] = json.loads((pack / "stats.json").read_text())
    _write_bundle(Path(out_dir), files, score_sets if plots else [], data, parents=[pack, *map(Path, score_paths)],
                  command=command or [], config={"draws": draws, "bins": n_bins, "tie_seed": tie_seed,
                                                 "mutant_sets": mutant_sets,
                                                 "gates": spec.model_dump(mode="json") if spec else None})
    return {"records": len(records), "reranks": files["rerank.json"]["results"],
            "decoys": files["decoys.json"]["results"], "gates": files["gates.json"]["gates"],
            "ok": gates_file.ok, "health": health, "identical_seeds": identical,
            "metrics": files["metrics.json"]["records"]}


def _is_evidence(path: Path) -> bool:
    try:
        return json.loads((path / "manifest.json").read_text()).get("kind") == "evidence"
    except (OSError, ValueError):
        return False


def _write_bundle(out_dir: Path, files: dict, plot_sets: list, data: _Pack, **manifest) -> None:
    """All files in a hidden directory beside OUT, sealed with the manifest, renamed into place."""
    with staged_directory(out_dir) as work:
        for name, payload in files.items():
            write_json_atomic(work / name, payload)
        if plot_sets:
            from .plots import write_plots

            write_plots(work / "plots", plot_sets, data.passed, data.split)
        write_manifest(work, "evidence", **manifest)
