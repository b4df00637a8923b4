"""`evaluate`: a pack and its score files -> an evidence bundle.

The bundle directory holds `metrics.json` (per seed x scorer x benchmark x split, and pooled
over benchmarks: ROC-AUC with DeLong and task-bootstrap CIs, PR-AUC, Brier and Brier skill, and
for p_pass ECE (equal-width and equal-mass bins) and MCE with bootstrap CIs), `rerank.json`,
`decoys.json`, `gates.json`, `plots/` (reliability diagram and ROC of p_pass per seed and
split) and `manifest.json` whose parents are the pack and the score files. Inputs whose
manifests do not verify are refused.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from ..errors import InputError
from ..io import write_json_atomic
from ..manifest import verify, write_manifest
from ..pack.read import read_rows
from . import metrics as M
from .gates import GateSpec, Value, judge
from .rerank import decoy_accuracy, rerank, rerank_pools
from .scores import PROBABILITIES, ScoreSet, read_scores

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
    metrics: dict[str, dict] = Field(default_factory=dict, description="name -> {value, ci, method, ...}")
    not_evaluable: dict[str, str] = Field(default_factory=dict, description="name -> why")


def _source_name(source_file: str) -> str:
    name = Path(source_file).name
    for suffix in (".gz", ".jsonl", ".json"):
        name = name.removesuffix(suffix)
    return name


def _verified(path: Path, what: str) -> None:
    problems = verify(path)
    if problems:
        p = problems[0]
        raise InputError(f"{what} does not verify against its manifest ({p.kind} {p.path}: {p.detail})", path=str(path))


def classification_metrics(seed, scorer: str, benchmark: str, split: str, y: np.ndarray, s: np.ndarray,
                           tasks: np.ndarray, probability: bool, draws: int, n_bins: int) -> MetricRecord:
    record = MetricRecord(seed=seed, scorer=scorer, benchmark=benchmark, split=split, rows=int(y.size),
                          tasks=int(len(set(tasks.tolist()))), positives=int(y.sum()))

    def attempt(name, fn):
        try:
            record.metrics[name] = fn()
        except M.NotEvaluable as exc:
            record.not_evaluable[name] = str(exc)

    boot = M.TaskBootstrap(tasks, draws=draws, seed=0) if y.size else None

    def auc():
        value, low, high = M.delong_interval(y, s)
        b_low, b_high, degenerate = M.interval(M.bootstrap_auc(boot, y, s))
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
                e_low, e_high, _ = M.interval(e_draws)
                m_low, m_high, _ = M.interval(m_draws)
                return {"value": M.ece(y, s, bins), "ci": [e_low, e_high], "bins": bins.count, "binning": strategy,
                        "mce": M.mce(y, s, bins), "mce_ci": [m_low, m_high],
                        "reliability": {k: [None if not np.isfinite(x) else float(x) for x in v]
                                        for k, v in table.items()}, "edges": bins.edges.tolist()}
            attempt(name, calibration)
    return record


def _values(record: MetricRecord) -> list[Value]:
    out = []
    n = record.rows
    for name, m in record.metrics.items():
        out.append(Value(seed=record.seed, scorer=record.scorer, metric=name, benchmark=record.benchmark,
                         split=record.split, value=m["value"], ci=tuple(m["ci"]) if "ci" in m else None, n=n))
        if name == "ece":
            out.append(Value(seed=record.seed, scorer=record.scorer, metric="mce", benchmark=record.benchmark,
                             split=record.split, value=m["mce"], ci=tuple(m["mce_ci"]), n=n))
    for name, why in record.not_evaluable.items():
        out.append(Value(seed=record.seed, scorer=record.scorer, metric=name, benchmark=record.benchmark,
                         split=record.split, value=None, blocked=why, n=n))
    return out


def evaluate(pack: Path, score_paths: list[Path], spec: GateSpec | None, out_dir: Path, *, draws: int = 2000,
             n_bins: int = 10, command: list[str] | None = None, plots: bool = True) -> dict:
    pack = Path(pack)
    _verified(pack, "the pack")
    for path in score_paths:
        _verified(Path(path), "the score file")
    rows = read_rows(pack / "rows.jsonl")
    index = {r.row_id: i for i, r in enumerate(rows)}
    splits = [r.split for r in rows]
    benchmarks = [r.benchmark for r in rows]
    task_ids = [f"{r.benchmark}/{r.task_id}" for r in rows]
    passed = np.array([r.passed for r in rows], dtype=bool)
    score_sets: list[ScoreSet] = [read_scores(Path(p), index, splits) for p in score_paths]
    seeds = sorted({s.seed for s in score_sets}, key=lambda x: (x is None, x))

    records: list[MetricRecord] = []
    values: list[Value] = []
    reranks, decoys = [], []
    split_arr, bench_arr, task_arr = np.array(splits), np.array(benchmarks), np.array(task_ids)
    # candidates that compete in reranking: model samples, not canonical solutions or mutants
    in_pool = np.array([r.origin.format not in ("canonical", "decoy") for r in rows])
    sources = [_source_name(r.origin.source_file) if r.origin.source_file else (r.origin.model or "unknown")
               for r in rows]
    pools = rerank_pools(benchmarks, task_ids, splits, sources, in_pool)
    row_ids = [r.row_id for r in rows]
    pairs: dict[tuple, list] = defaultdict(list)
    for i, r in enumerate(rows):
        if r.decoy is not None and r.decoy.shadows_row_id in index:
            pairs[(r.decoy.category, r.split)].append((index[r.decoy.shadows_row_id], i))

    for ss in score_sets:
        baseline = ss.values.get("no_action")
        lexical = ss.values.get("lexical")
        for name in ss.names:
            s_all = ss.values[name]
            for split in HELD_OUT:
                for bench in sorted(set(benchmarks)) + [ALL]:
                    mask = (split_arr == split) & np.isfinite(s_all)
                    if bench != ALL:
                        mask &= bench_arr == bench
                    record = classification_metrics(ss.seed, name, bench, split, passed[mask], s_all[mask],
                                                    task_arr[mask], name in PROBABILITIES, draws, n_bins)
                    records.append(record)
                    values.extend(_values(record))
            if baseline is not None:
                for (bench, split), by_task in sorted(pools.items()):
                    if split not in HELD_OUT:
                        continue
                    result = rerank(bench, split, name, by_task, passed, s_all, baseline, lexical, row_ids,
                                    draws=draws)
                    reranks.append({"seed": ss.seed, **result.model_dump(mode="json")})
                    values.append(Value(seed=ss.seed, scorer=name, metric="rerank_lift", benchmark=bench, split=split,
                                        value=result.lift, ci=result.lift_ci, n=result.tasks,
                                        blocked=f"saturated: {result.saturated}" if result.saturated else None))
            for (category, split), plist in sorted(pairs.items()):
                if split not in HELD_OUT:
                    continue
                result = decoy_accuracy(category, split, name, plist, task_ids, s_all, draws=draws)
                decoys.append({"seed": ss.seed, **result.model_dump(mode="json")})
                values.append(Value(seed=ss.seed, scorer=name, metric="decoy_accuracy", benchmark=category,
                                    split=split, value=result.accuracy, ci=result.accuracy_ci, n=result.scorable,
                                    blocked=None if result.accuracy is not None else "no scorable pairs"))

    gate_results = [judge(g, values, seeds).model_dump(mode="json") for g in (spec.gates if spec else [])]
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".building", dir=out_dir.parent))
    try:
        health = {str(ss.path): {k: v.model_dump() for k, v in ss.health.items()} for ss in score_sets}
        write_json_atomic(work / "metrics.json", {"schema_version": SCHEMA_VERSION, "seeds": seeds,
                                                  "score_health": health,
                                                  "records": [r.model_dump(mode="json") for r in records]})
        write_json_atomic(work / "rerank.json", {"schema_version": SCHEMA_VERSION, "results": reranks})
        write_json_atomic(work / "decoys.json", {"schema_version": SCHEMA_VERSION, "results": decoys})
        summary = {"schema_version": SCHEMA_VERSION, "gates": gate_results,
                   "ok": all(g["status"] == "pass" for g in gate_results)}
        write_json_atomic(work / "gates.json", summary)
        if plots:
            from .plots import write_plots

            write_plots(work / "plots", score_sets, passed, split_arr)
        write_manifest(work, "evidence", parents=[pack, *[Path(p) for p in score_paths]], command=command or [],
                       config={"draws": draws, "bins": n_bins, "gates": spec.model_dump(mode="json") if spec else None})
        if out_dir.exists():
            out_dir.rmdir()
        os.replace(work, out_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"records": len(records), "reranks": reranks, "decoys": decoys, "gates": gate_results,
            "ok": summary["ok"], "health": health}
