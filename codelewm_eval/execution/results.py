"""One execution record per candidate, and the output buckets the packs stratify on."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from ..candidates.models import Origin
from ..manifest import Manifest

SCHEMA_VERSION = 1

# not_evaluable: the task's reference outputs could not be computed here, so the candidate
# can be neither passed nor blamed (never a pass; packs leave such rows out).
Status = Literal["passed", "failed", "timeout", "memory", "runtime_error", "syntax_error", "sandbox_violation", "flaky",
                 "not_evaluable"]
STATUSES: tuple[str, ...] = Status.__args__  # type: ignore[attr-defined]
MagnitudeBucket = Literal["negative", "zero", "small", "medium", "large"]
LengthBucket = Literal["empty", "short", "medium", "long", "huge"]

# Fields that measure this run rather than describe the candidate: they differ between two
# runs of the same command, everything else is identical. The time budget (CPU seconds) is
# set from the canonical solution's measured CPU time, so it varies a little between machines.
MEASURED_FIELDS = ("wall_time_s", "peak_memory_mb", "attempts", "time_budget_s", "time_budget_basis")


class ExecutionResult(BaseModel):
    """One candidate, executed here (or an upstream label ingested, when `label_provenance` says so)."""

    schema_version: int = SCHEMA_VERSION
    benchmark: str
    task_id: str
    candidate_id: str = Field(description="stable id from task, run, sample index and program")
    passed: bool = Field(description="every test passed (and, for io benchmarks, every output matched)")
    status: Status
    error: str | None = Field(default=None, description="the first failure, truncated")
    wall_time_s: float | None = Field(default=None, description="measured: differs between runs")
    peak_memory_mb: float | None = Field(default=None, description="measured: differs between runs")
    output_magnitude_bucket: MagnitudeBucket | None = Field(default=None, description="numeric output on the first "
                                                                               "test input, bucketed")
    output_length_bucket: LengthBucket | None = Field(default=None, description="sequence output length on the first "
                                                                         "test input, bucketed")
    base_passed: bool | None = Field(default=None, description="io benchmarks: all base inputs right")
    inputs_run: int | None = Field(default=None, description="io benchmarks: the inputs the candidate was run on. "
                                                             "Execution stops at the first wrong output (the label "
                                                             "cannot change after it); a passing candidate runs all")
    time_budget_s: float | None = Field(default=None, description="CPU seconds the candidate and its tests were allowed "
                                                                  "(the wall clock is capped at 5x that)")
    time_budget_basis: str | None = None
    attempts: int = Field(1, description="runs of this candidate: 1 (files of executor versions before CPU-time "
                                         "budgets may hold 2, a timeout retried at twice the budget)")
    isolation: str = Field(description="how the sandbox isolated this run (bwrap namespaces, or the rlimits fallback)")
    label_provenance: str = Field(description="'executed here', or where an ingested label came from")
    program: str = Field(description="the complete program that was executed")
    program_ast: str | None = Field(default=None, description="normalized-AST fingerprint of program")
    origin: Origin
    upstream_passed: bool | None = Field(default=None, description="the label the sample file carried, if any")
    upstream_status: str | None = None


def magnitude_bucket(value: float | None) -> MagnitudeBucket | None:
    """Numeric output on the first test input: negative, zero, small <= 10, medium <= 1000, large."""
    if value is None:
        return None
    if value < 0:
        return "negative"
    if value == 0:
        return "zero"
    if value <= 10:
        return "small"
    if value <= 1000:
        return "medium"
    return "large"


def length_bucket(length: int | None) -> LengthBucket | None:
    """Sequence output on the first test input: empty, short <= 5, medium <= 50, long <= 1000, huge."""
    if length is None:
        return None
    if length == 0:
        return "empty"
    if length <= 5:
        return "short"
    if length <= 50:
        return "medium"
    if length <= 1000:
        return "long"
    return "huge"


def buckets_of(summary: dict | None) -> tuple[MagnitudeBucket | None, LengthBucket | None]:
    if not isinstance(summary, dict):
        return None, None
    if summary.get("kind") == "number":
        value = summary.get("value")
        return magnitude_bucket(float(value)) if isinstance(value, (int, float)) else None, None
    if summary.get("kind") == "sequence" and isinstance(summary.get("len"), int):
        return None, length_bucket(summary["len"])
    return None, None


class ExecutionResults(BaseModel):
    """A results file read back through its models, after its manifest verifies."""

    path: Path
    results: list[ExecutionResult]
    summary: dict | None = Field(None, description="OUT.summary.json, where it exists")
    manifest: Manifest

    @classmethod
    def read(cls, path: str | Path) -> "ExecutionResults":
        from ..io import read_json, read_models
        from ..manifest import load_manifest, manifest_path_for, require_verified

        path = Path(require_verified(path, "the execution results", kind=("execution-results", "decoy-results")))
        summary = path.with_suffix(".summary.json")
        return cls(path=path, results=read_models(path, ExecutionResult, "an execution result"),
                   summary=read_json(summary) if summary.is_file() else None,
                   manifest=load_manifest(manifest_path_for(path)))
