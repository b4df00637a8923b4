"""`secrets scan PATH...`: files, directories, notebooks (cell sources and outputs) and YAML,
with redacted findings (kind, file, line, hash prefix) and an allowlist of accepted digests."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import InputError
from ..io import read_list_file
from .scanner import Finding, scan_many

SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".pytest_cache", ".mypy_cache"}
CHUNK_BYTES = 8 << 20  # big files are read in pieces of whole lines: no size is skipped


def read_allowlist(path: Path) -> set[str]:
    """One accepted finding per line: its digest (the hash prefix a scan reports); # comments."""
    return read_list_file(path, "allowlist")


def _files(paths: list[Path]):
    for path in paths:
        if not path.exists():
            raise InputError("no such file or directory", path=str(path))
        if path.is_file():
            yield path
            continue
        for child in sorted(path.rglob("*")):
            if child.is_file() and not any(part in SKIP_DIRS for part in child.relative_to(path).parts):
                yield child


def _texts(path: Path):
    """(where, text[, first line]) pieces of one file: a notebook's cells one by one, a big file
    in pieces of whole lines, anything else whole."""
    if path.suffix != ".ipynb" and path.stat().st_size > CHUNK_BYTES:
        yield from _chunks(path)
        return
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return  # binary
    text = data.decode("utf-8", errors="replace")
    if path.suffix == ".ipynb":
        try:
            cells = json.loads(text).get("cells", [])
        except ValueError:
            yield str(path), text
            return
        for index, cell in enumerate(cells):
            parts = [cell.get("source", "")]
            for output in cell.get("outputs", []) or []:
                parts += [output.get("text", "")] + list((output.get("data") or {}).values())
            for k, part in enumerate(parts):
                body = "".join(part) if isinstance(part, list) else str(part)
                yield f"{path} cell {index}" + (f" output {k}" if k else ""), body
        return
    yield str(path), text


def _chunks(path: Path):
    with open(path, "rb") as fh:
        head = fh.read(8192)
        if b"\0" in head:
            return  # binary
        fh.seek(0)
        first, lines, size = 1, [], 0
        for number, line in enumerate(fh, start=1):
            lines.append(line)
            size += len(line)
            if size >= CHUNK_BYTES:
                yield str(path), b"".join(lines).decode("utf-8", errors="replace"), first
                first, lines, size = number + 1, [], 0
        if lines:
            yield str(path), b"".join(lines).decode("utf-8", errors="replace"), first


def scan_paths(paths: list[Path], allowlist: set[str] | None = None) -> tuple[list[Finding], int, int]:
    """(findings not allowlisted, files read, findings allowlisted)."""
    pieces, files = [], 0
    for path in _files([Path(p) for p in paths]):
        files += 1
        pieces.extend(_texts(path))
    findings = scan_many(pieces, assignments=True)
    allow = allowlist or set()
    kept = [f for f in findings if f.digest not in allow]
    return kept, files, len(findings) - len(kept)
