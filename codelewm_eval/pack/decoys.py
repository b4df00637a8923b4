"""`decoys`: single-point mutants of passing rows, executed here; a failing mutant is a decoy
aligned by construction with the exact row it mutates (the pack keeps both in one split)."""

from __future__ import annotations

from pathlib import Path

from ..benchmarks import load_benchmark
from ..candidates.models import Candidate, Origin
from ..errors import InputError
from ..execution.results import ExecutionResult
from ..execution.runner import execute
from ..io import read_models, write_json_atomic
from ..manifest import require_verified, write_manifest
from .mutants import mutants

DECOY_FORMAT = "decoy"
SEP = "~"


def decoy_id(source_candidate_id: str, index: int) -> str:
    return f"decoy{SEP}{source_candidate_id}{SEP}{index}"


def shadowed_candidate(decoy_candidate_id: str) -> str:
    return decoy_candidate_id.split(SEP)[1]


def decoy_candidates(results: list[ExecutionResult], per_source: int) -> list[Candidate]:
    out = []
    for r in results:
        if not r.passed:
            continue
        for i, (op, program) in enumerate(mutants(r.program, per_source, seed=f"{r.task_id}/{r.candidate_id}")):
            out.append(Candidate(candidate_id=decoy_id(r.candidate_id, i), task_id=r.task_id, program=program,
                                 origin=Origin(model="mutation", run=f"mutation:{op}", sample_index=i,
                                               source_file=r.origin.source_file, licence=r.origin.licence,
                                               format=DECOY_FORMAT)))
    return out


def make_decoys(results_path: Path, out: Path, *, per_source: int = 3, data_dir: Path | None = None,
                workers: int | None = None, progress: bool = True, command: list[str] | None = None) -> dict:
    path = require_verified(results_path, "the results")
    results = read_models(path, ExecutionResult, "an execution result")
    names = {r.benchmark for r in results}
    if len(names) != 1:
        raise InputError(f"expected results of one benchmark, found {sorted(names)}", path=str(results_path))
    bench = load_benchmark(names.pop(), data_dir)
    cands = decoy_candidates(results, per_source)
    if not cands:
        raise InputError("no passing rows with mutable code", path=str(results_path))
    summary = execute(bench, cands, out, workers=workers, progress=progress)
    summary["decoys"] = {"mutants": len(cands), "failing_mutants": summary["candidates"] - summary["passed"],
                         "equivalent_mutants": summary["passed"]}
    summary_path = out.with_suffix(".summary.json")
    write_json_atomic(summary_path, summary)
    write_manifest(out, "decoy-results", files=[out, summary_path], parents=[results_path],
                   command=command or [], config={"per_source": per_source, "benchmark": bench.name})
    return summary
