"""A candidate program for one task, with a stable id and where it came from."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, Field

SCHEMA_VERSION = 1


class Origin(BaseModel):
    model: str | None = None
    run: str | None = None
    sample_index: int | None = None
    source_file: str | None = None
    source_line: int | None = None
    licence: str | None = None
    format: str


class Candidate(BaseModel):
    schema_version: int = SCHEMA_VERSION
    candidate_id: str
    task_id: str
    program: str = Field(description="the complete program that is executed")
    completion: str | None = None
    origin: Origin
    upstream_passed: bool | None = Field(default=None, description="the label the source file carried, if any")
    upstream_status: str | None = None


def content_id(task_id: str, program: str, run: str | None, sample_index: int | None) -> str:
    """Stable id from content and position (identical samples of one run stay distinct)."""
    h = hashlib.sha256()
    for part in (task_id, run or "", "" if sample_index is None else str(sample_index), program):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()[:20]
