"""`pack build`: execution results (whose manifests verify) -> rows -> splits -> pack dir."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, Field

from ..benchmarks import BENCHMARK_LICENCES, load_benchmark
from ..errors import InputError
from ..execution.results import ExecutionResult
from ..io import atomic_writer, read_models, write_json_atomic
from ..manifest import verify, write_manifest
from ..secrets import scan_many
from .decoys import DECOY_FORMAT, shadowed_candidate
from .rows import NO_TRAINING_MARK, DecoyLink, PackRow
from .splits import SplitConfig, assign_splits, straddling
from .stats import Blocker, CoverageRules, coverage_blockers, split_stats

EXCLUDED_STATUSES = {"not_evaluable", "flaky"}  # no trustworthy label


class PackConfig(BaseModel):
    fractions: tuple[float, float, float] = (0.70, 0.15, 0.15)
    seed: int = 42
    evaluation_only: list[str] = Field(default_factory=list, description="benchmarks declared evaluation-only")
    coverage: CoverageRules = Field(default_factory=CoverageRules)


class PackBlocked(Exception):
    def __init__(self, blockers: list[Blocker]):
        self.blockers = blockers
        super().__init__(f"{len(blockers)} blocker(s)")


def read_verified_results(path: Path) -> list[ExecutionResult]:
    """Execution results, only if they verify against their manifest."""
    problems = verify(path)
    if problems:
        first = problems[0]
        raise InputError(f"results do not verify against their manifest ({first.kind} {first.path}: {first.detail}); "
                         "re-run execute", path=str(path))
    return read_models(path, ExecutionResult, "an execution result")


def rows_from_results(results: list[ExecutionResult], prompts: dict[tuple[str, str], str],
                      evaluation_only: set[str]) -> tuple[list[PackRow], dict[str, int]]:
    rows, excluded = [], {}
    seen = set()
    for r in results:
        if r.status in EXCLUDED_STATUSES:
            excluded[r.status] = excluded.get(r.status, 0) + 1
            continue
        row_id = f"{r.benchmark}/{r.task_id}/{r.candidate_id}"
        if row_id in seen:
            excluded["duplicate"] = excluded.get("duplicate", 0) + 1
            continue
        seen.add(row_id)
        decoy = None
        if r.origin.format == DECOY_FORMAT:
            if r.passed:  # an equivalent mutant: looks alike and behaves alike, not a decoy
                excluded["equivalent_mutant"] = excluded.get("equivalent_mutant", 0) + 1
                continue
            decoy = DecoyLink(category="mutation", pair_id=r.candidate_id,
                              shadows_row_id=f"{r.benchmark}/{r.task_id}/{shadowed_candidate(r.candidate_id)}")
        bench_licence = BENCHMARK_LICENCES.get(r.benchmark, "unknown")
        licence = bench_licence if not r.origin.licence or r.origin.licence == bench_licence else \
            f"{r.origin.licence} (candidates); {bench_licence} (benchmark)"
        rows.append(PackRow(
            row_id=row_id, benchmark=r.benchmark, task_id=r.task_id, candidate_id=r.candidate_id,
            prompt=prompts.get((r.benchmark, r.task_id), ""), program=r.program, passed=r.passed, status=r.status,
            output_magnitude_bucket=r.output_magnitude_bucket, output_length_bucket=r.output_length_bucket,
            origin=r.origin, licence=licence, decoy=decoy,
            label_provenance=(f"{r.label_provenance} ({r.isolation})" if r.label_provenance == "executed here"
                              else r.label_provenance),
            evaluation_only=NO_TRAINING_MARK in licence or r.benchmark in evaluation_only))
    # a decoy is kept only next to the exact passing row it shadows
    passing = {row.row_id for row in rows if row.passed and row.decoy is None}
    aligned = [row for row in rows if row.decoy is None or row.decoy.shadows_row_id in passing]
    if len(aligned) != len(rows):
        excluded["unaligned_decoy"] = len(rows) - len(aligned)
    return aligned, excluded


def _without_secrets(rows: list[PackRow], excluded: dict[str, int]) -> list[PackRow]:
    """A pack is made to be shared: rows whose program or prompt holds a credential (candidates
    do hard-code them) are left out and counted; decoys that shadowed them go with them."""
    items = ((row.row_id, f"{row.program}\n{row.prompt}") for row in rows)
    flagged = {f.where for f in scan_many(items)}
    if not flagged:
        return rows
    kept = [r for r in rows if r.row_id not in flagged and (r.decoy is None or r.decoy.shadows_row_id not in flagged)]
    excluded["secret_in_text"] = len(rows) - len(kept)
    return kept


def build_pack(results_paths: list[Path], out_dir: Path, config: PackConfig, data_dir: Path | None,
               command: list[str]) -> dict:
    results: list[ExecutionResult] = []
    for path in results_paths:
        results.extend(read_verified_results(Path(path)))
    prompts = {}
    for bench_name in sorted({r.benchmark for r in results}):
        bench = load_benchmark(bench_name, data_dir)
        prompts.update({(bench_name, tid): p.prompt for tid, p in bench.problems.items()})
    rows, excluded = rows_from_results(results, prompts, set(config.evaluation_only))
    rows = _without_secrets(rows, excluded)
    if not rows:
        raise InputError("no rows: the results hold no usable labels")
    for row, split in zip(rows, assign_splits(rows, SplitConfig(config.fractions, config.seed, config.coverage.min_bucket_tasks))):
        row.split = split
    blockers = coverage_blockers(rows, config.coverage)
    for what, splits in straddling(rows).items():
        blockers.append(Blocker(kind="split_leak", detail=f"{what} in {', '.join(splits)}", observed=len(splits), required=1))
    if blockers:
        raise PackBlocked(blockers)
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_writer(out_dir / "rows.jsonl") as fh:
        for row in rows:
            fh.write(json.dumps(row.model_dump(mode="json"), sort_keys=True) + "\n")
    stats = split_stats(rows)
    stats["excluded"] = excluded
    write_json_atomic(out_dir / "stats.json", stats)
    write_json_atomic(out_dir / "pack.json", {"schema_version": 1, "config": config.model_dump(mode="json"),
                                              "sources": [str(p) for p in results_paths]})
    write_manifest(out_dir, "pack", parents=results_paths, command=command, config=config.model_dump(mode="json"))
    return stats
