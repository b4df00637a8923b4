"""Pack rows: one executed candidate (or decoy) with its label, provenance, licence and split;
pack tasks: what a task's rows share (its prompt and problem family), stored once.

`PackRow` is the artifact (one JSON object per line of `rows.jsonl`); `PackTask` one line of
`tasks.jsonl`, joined to the rows on (benchmark, task_id). `RowFacts` is the
handful of fields that splitting, coverage, statistics and preflight look at; a million of
them fit in a few hundred MB, so those steps never hold a million full rows.
"""

from __future__ import annotations

import sys
from typing import Literal, NamedTuple

from pydantic import BaseModel, Field

from ..candidates.models import Origin
from ..fingerprint import normalized_ast

SCHEMA_VERSION = 2  # 2: prompt and family moved to tasks.jsonl (one line per task)
TASK_SCHEMA_VERSION = 1
TASK_KEY = ("benchmark", "task_id")  # how rows join their task
Split = Literal["train", "val", "test"]
SPLITS: tuple[str, ...] = ("train", "val", "test")
NO_TRAINING_MARK = "no-ML-training"
DECOY_CATEGORIES: tuple[str, ...] = ("mutation", "same_problem_different_submission", "same_code_different_input")


class DecoyLink(BaseModel):
    category: str = Field(description="mutation | same_problem_different_submission | same_code_different_input")
    pair_id: str
    shadows_row_id: str = Field(description="the passing row this decoy mutates or mirrors")


class PackTask(BaseModel):
    """One task of a pack: what its rows share, stored once (`tasks.jsonl`)."""

    schema_version: int = TASK_SCHEMA_VERSION
    benchmark: str
    task_id: str
    family: str = Field(description="the problem family (humaneval/17, mbpp/3, livecodebench/<id>): one problem "
                                    "in every benchmark variant and source; splits never divide one")
    prompt: str = Field(description="the benchmark prompt of the task (empty when the benchmark does not know it)")


class PackRow(BaseModel):
    """One candidate of a pack: its label, provenance, licence, decoy link and split. Its task's
    prompt and family are in `tasks.jsonl` (join on benchmark and task_id)."""

    # `decoy` and `split` come last: the builder adds them once it has read every row.
    schema_version: int = SCHEMA_VERSION
    row_id: str = Field(description="benchmark/task_id/candidate_id")
    benchmark: str
    task_id: str
    candidate_id: str
    program: str
    program_ast: str | None = Field(default=None, description="normalized-AST fingerprint (near-duplicates)")
    passed: bool
    status: str = Field(description="the execution status (see execution results)")
    output_magnitude_bucket: str | None = Field(default=None, description="a stratum of the split")
    output_length_bucket: str | None = None
    origin: Origin
    licence: str = Field(description="the benchmark's licence, and the candidates' where they differ")
    label_provenance: str = Field(description="executed here (with the isolation), or an ingested label")
    evaluation_only: bool = Field(description="its licence forbids ML training: never in train")
    decoy: DecoyLink | None = Field(default=None, description="set when this row is a decoy of a passing row")
    split: Split | None = Field(default=None, description="train / val / test, grouped by problem family "
                                                         "and near-duplicate program")


class RowFacts(NamedTuple):
    row_id: str
    benchmark: str
    task_id: str
    passed: bool
    output_magnitude_bucket: str | None
    output_length_bucket: str | None
    evaluation_only: bool
    program_ast: str | None  # None: an empty program (nothing to be a near-duplicate of)
    licence: str
    label_provenance: str
    decoy_category: str | None = None
    decoy_shadows: str | None = None
    split: str | None = None


_intern = sys.intern


def facts_of(row: PackRow) -> RowFacts:
    """The facts of a row; repeated strings are interned so a million rows stay small."""
    return RowFacts(
        row.row_id, _intern(row.benchmark), _intern(row.task_id), row.passed,
        row.output_magnitude_bucket and _intern(row.output_magnitude_bucket),
        row.output_length_bucket and _intern(row.output_length_bucket), row.evaluation_only,
        row.program_ast if row.program_ast is not None else
        (normalized_ast(row.program) if row.program.strip() else None), _intern(row.licence), _intern(row.label_provenance),
        row.decoy and _intern(row.decoy.category), row.decoy and row.decoy.shadows_row_id, row.split)
