"""Read a pack's rows in one streaming pass (in parallel over byte ranges for big packs):
each line validated as a PackRow, reduced to its facts, and secret-scanned; its tasks table
(`tasks.jsonl`, one PackTask per task) validated and scanned the same way."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from ..arrow_rows import (
    has_arrow,
    interned,
    iter_blocks,
    read_block,
)
from ..errors import InputError
from ..io import (
    BadLine,
    default_workers,
    iter_models,
    line_number_at,
    map_ranges,
    no_gc,
    validate_lines,
    validation_problem,
)
from ..manifest import Manifest
from ..secrets import Finding, scan_many
from ..secrets.scanner import is_suspect, suspect_lines
from .rows import PackRow, PackTask, RowFacts, facts_of


@dataclass
class PackRead:
    facts: list[RowFacts] = field(default_factory=list)  # plain tuples inside a worker
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


def suspect_lines_of(block: bytes, first: int) -> list[tuple[int, bytes]]:
    """(line number, line) of the lines of a block of whole lines that could hold a credential
    in any field: one prefilter pass over the block."""
    out = []
    counted, number = 0, first
    for start in suspect_lines(block):
        number += block.count(b"\n", counted, start)
        counted = start
        stop = block.find(b"\n", start)
        out.append((number, block[start:len(block) if stop < 0 else stop]))
    return out


def _facts_of_lines(block: bytes, first: int, out: PackRead) -> bool:
    """Pydantic, line by line (the exact verdict): facts, or the first bad line in out.error."""
    try:
        lines = enumerate(block.split(b"\n"), start=first)  # numbered as iter_blocks counts
        out.facts.extend(tuple(facts_of(row)) for _, row in validate_lines(lines, PackRow, "a pack row"))
    except BadLine as bad:
        out.error = bad.where
        return False
    return True


def _facts_of_table(table) -> list[RowFacts]:
    """The facts of an Arrow-read block of rows, as plain tuples (the values facts_of gives; a
    plain tuple crosses from a worker process several times faster than a named one)."""
    import pyarrow.compute as pc

    from ..fingerprint import normalized_ast

    column = table.column
    asts = column("program_ast").to_pylist()
    for i in pc.indices_nonzero(pc.is_null(column("program_ast"))).to_pylist():
        program = column("program")[i].as_py()
        asts[i] = normalized_ast(program) if program.strip() else None
    decoy = column("decoy").combine_chunks()
    return list(zip(
        column("row_id").to_pylist(), interned(column("benchmark")), interned(column("task_id")),
        column("passed").to_pylist(), interned(column("output_magnitude_bucket")),
        interned(column("output_length_bucket")), column("evaluation_only").to_pylist(), asts,
        interned(column("licence")), interned(column("label_provenance")), interned(decoy.field("category")),
        decoy.field("shadows_row_id").to_pylist(), interned(column("split"))))


def _new_facts(values: tuple) -> RowFacts:
    return tuple.__new__(RowFacts, values)


def _read_range(path: str, start: int, end: int, index: int) -> PackRead:
    """One pass over a byte range: each block parsed (by Arrow when it reads the block as
    pydantic would, else by pydantic line by line), reduced to facts, and prefiltered whole."""
    out = PackRead()
    suspects: list[tuple[int, bytes]] = []
    with no_gc():  # many small objects, no cycles
        for first, block in iter_blocks(path, start, end):
            table = read_block(block, PackRow) if has_arrow() else None
            if table is not None:
                out.facts.extend(_facts_of_table(table))
            elif not _facts_of_lines(block, first, out):
                return out
            suspects += suspect_lines_of(block, first)
    out.secrets = row_secrets(suspects, path)
    return out


def read_pack(path: Path, workers: int | None = None, alongside=None) -> PackRead:
    """Every line must be a PackRow (else an InputError naming file, line and field); every field
    of every row is secret-scanned. `alongside()` runs here while the workers read."""
    out = PackRead()
    try:
        parts = map_ranges(_read_range, str(path), workers or default_workers(), alongside=alongside)
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror or exc})", path=str(path)) from None
    for start, _end, part in parts:
        if part.error is not None:
            message, line, where = part.error
            raise InputError(message, path=str(path), line=line + line_number_at(path, start), field=where)
        out.facts.extend(map(_new_facts, part.facts))
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

    schema_version: int = Field(description="the pack layout: 2 has tasks.jsonl (each prompt and family once); "
                                            "1 kept them on every row")
    config: dict
    sources: list[str]


class Pack(BaseModel):
    """A pack read back through its models, after its manifest verifies (kind "pack")."""

    path: Path
    info: PackFile
    stats: dict
    manifest: Manifest

    @classmethod
    def read(cls, path: str | Path) -> Pack:
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
