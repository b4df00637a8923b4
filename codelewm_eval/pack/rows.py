"""Pack rows: one executed candidate (or decoy) with its label, provenance, licence and split."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ..candidates.models import Origin

SCHEMA_VERSION = 1
Split = Literal["train", "val", "test"]
SPLITS: tuple[str, ...] = ("train", "val", "test")
NO_TRAINING_MARK = "no-ML-training"


class DecoyLink(BaseModel):
    category: str
    pair_id: str
    shadows_row_id: str = Field(description="the passing row this decoy mutates or mirrors")


class PackRow(BaseModel):
    schema_version: int = SCHEMA_VERSION
    row_id: str
    benchmark: str
    task_id: str
    candidate_id: str
    prompt: str
    program: str
    passed: bool
    status: str
    output_magnitude_bucket: str | None = None
    output_length_bucket: str | None = None
    decoy: DecoyLink | None = None
    origin: Origin
    licence: str
    label_provenance: str
    evaluation_only: bool = Field(description="its licence forbids ML training: never in train")
    split: Split | None = None
