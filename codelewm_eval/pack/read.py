"""Read a pack's rows in one streaming pass (in parallel over byte ranges for big packs):
each line validated as a PackRow, reduced to its facts, and secret-scanned; its tasks table
(`tasks.jsonl`, one PackTask per task) validated and scanned the same way."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError

from ..errors import InputError
from ..io import (default_workers, iter_models, iter_range_lines, line_number_at, map_ranges, no_gc,
                  validation_problem)
from ..secrets import Finding, scan_many
from ..secrets.scanner import is_suspect, suspect_items
from ..manifest import Manifest
from .rows import PackRow, PackTask, RowFacts, facts_of


@dataclass
class PackRead:
    facts: list[RowFacts] = field(default_factory=list)
    secrets: list[Finding] = field(default_factory=list)  # where: the file, line: its line, field: which
    error: tuple[str, int, str | None] | None = None  # (message, line in range, field)


def _leaves(value, prefix: str = ""):
    """(dotted field path, text) of every string in a parsed row, keys included."""
    if isinstance(value, str):
        yield prefix or "value", value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(key, f"{prefix}.key" if prefix else "key")
            yield from _leaves(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, f"{prefix}[{index}]")


def _record_name(parsed) -> str:
    if not isinstance(parsed, dict):
        return "row ?"
    if "row_id" in parsed:
        return f"row {parsed['row_id']}"
    if "task_id" in parsed:
        return f"task {parsed.get('benchmark', '?')}/{parsed['task_id']}"
    return "row ?"


def row_secrets(rows: list[tuple[int, bytes]], path: str) -> list[Finding]:
    """Credentials in any field of the given raw rows or tasks (line number, JSON bytes): every
    string value and key is a candidate; the prefilter has already passed the whole line. A text
    seen before is scanned once."""
    import orjson

    pieces, places, seen = [], [], set()
    for number, raw in rows:
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            parsed = raw.decode("utf-8", "replace")
        record = _record_name(parsed)
        for name, text in _leaves(parsed):
            if (name, text) in seen or not is_suspect(text.encode("utf-8", "surrogatepass")):
                continue
            seen.add((name, text))
            pieces.append((str(len(places)), text))
            places.append((number, f"{name} of {record}"))
    findings = scan_many(pieces)
    for f in findings:
        f.line, f.field = places[int(f.where)]
        f.where = path
    return findings


SCAN_BLOCK_BYTES = 4 << 20


def _suspect_rows(block: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    """The rows of a block whose bytes (every field) could hold a credential: one prefilter pass
    over the whole block, not one per row."""
    return [block[i] for i in suspect_items([line for _, line in block])]


def _read_range(path: str, start: int, end: int, index: int) -> PackRead:
    out = PackRead()
    suspects: list[tuple[int, bytes]] = []
    block: list[tuple[int, bytes]] = []
    size = 0
    with no_gc():  # many small objects, no cycles
        for number, line in iter_range_lines(path, start, end):
            if not line.strip():
                continue
            try:
                row = PackRow.model_validate_json(line)
            except ValidationError as exc:
                message, field_name = validation_problem(exc, "a pack row")
                out.error = (message, number, field_name)
                return out
            out.facts.append(facts_of(row))
            block.append((number, line.rstrip(b"\n")))
            size += len(line)
            if size >= SCAN_BLOCK_BYTES:
                suspects += _suspect_rows(block)
                block, size = [], 0
        if block:
            suspects += _suspect_rows(block)
    out.secrets = row_secrets(suspects, path)
    return out


def read_pack(path: Path, workers: int | None = None) -> PackRead:
    """Every line must be a PackRow (else an InputError naming file, line and field); every field
    of every row is secret-scanned."""
    out = PackRead()
    try:
        parts = map_ranges(_read_range, str(path), workers or default_workers())
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror or exc})", path=str(path)) from None
    for start, _end, part in parts:
        if part.error is not None:
            message, line, where = part.error
            raise InputError(message, path=str(path), line=line + line_number_at(path, start), field=where)
        out.facts.extend(part.facts)
        offset = line_number_at(path, start) if part.secrets else 0
        for f in part.secrets:
            f.line += offset
        out.secrets.extend(part.secrets)
    return out


@dataclass
class TasksRead:
    tasks: list[PackTask] = field(default_factory=list)
    secrets: list[Finding] = field(default_factory=list)


def read_tasks(path: Path, scan: bool = False) -> TasksRead:
    """The tasks table (a few thousand lines): each line a PackTask (else an InputError naming
    file, line and field); with `scan`, every field of every line (extra ones too) secret-scanned
    like the rows'."""
    out, suspects = TasksRead(), []
    try:
        lines = Path(path).read_bytes().splitlines()
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror or exc})", path=str(path)) from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.tasks.append(PackTask.model_validate_json(line))
        except ValidationError as exc:
            message, field_name = validation_problem(exc, "a pack task")
            raise InputError(message, path=str(path), line=number, field=field_name) from None
        if scan and is_suspect(line):
            suspects.append((number, line))
    if suspects:
        out.secrets = row_secrets(suspects, str(path))
    return out


def read_rows(path: Path) -> list[PackRow]:
    """The full rows of a pack (for scorers and evaluation; packs of up to a few 100k rows)."""
    with no_gc():
        return [row for _, row in iter_models(path, PackRow, "a pack row")]


class PackFile(BaseModel):
    """`pack.json`: how the pack was built and from what."""

    schema_version: int
    config: dict
    sources: list[str]


class Pack(BaseModel):
    """A pack read back through its models, after its manifest verifies (kind "pack")."""

    path: Path
    info: PackFile
    stats: dict
    manifest: Manifest

    @classmethod
    def read(cls, path: str | Path) -> "Pack":
        from ..io import read_json, validated
        from ..manifest import load_manifest, require_verified

        path = Path(require_verified(path, "the pack", kind="pack"))
        return cls(path=path, info=validated(PackFile, read_json(path / "pack.json"), path / "pack.json"),
                   stats=read_json(path / "stats.json"), manifest=load_manifest(path / "manifest.json"))

    def rows(self) -> list[PackRow]:
        return read_rows(self.path / "rows.jsonl")

    def tasks(self) -> list[PackTask]:
        """The tasks table; empty for a pack built before schema 2 (its rows carry their prompt)."""
        path = self.path / "tasks.jsonl"
        return read_tasks(path).tasks if path.is_file() else []
