"""`secrets scan PATH...`: files, directories, notebooks (cell sources and outputs) and YAML,
with redacted findings (kind, file, line, hash prefix) and an allowlist of accepted digests."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

from ..errors import InputError
from ..io import decode_text, read_list_file, text_encoding
from .prefilter import suspect_lines
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
    """(where, text[, first line]) pieces of one file: a notebook's cells one by one, a Parquet
    file's string values, a gzip file decompressed, a big file in pieces of whole lines, anything
    else whole."""
    if path.suffix == ".parquet":
        yield from _parquet_texts(path)
        return
    if path.suffix == ".gz" or (path.suffix != ".ipynb" and path.stat().st_size > CHUNK_BYTES):
        yield from _chunks(path)
        return
    text, _ = decode_text(path.read_bytes())  # UTF-16, BOMs; NUL bytes read as spaces, never skipped
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


def _open(path: Path):
    if path.suffix == ".gz":
        import gzip

        with open(path, "rb") as fh:
            if fh.read(2) == b"\x1f\x8b":
                return gzip.open(path, "rb")
    return open(path, "rb")


def _chunks(path: Path, start: int = 0, end: int | None = None):
    """(where, bytes, first line number) pieces of whole lines, about CHUNK_BYTES each, of a file
    (or of the byte range [start, end) of it, numbered from its own first line)."""
    try:
        yield from _chunks_of(path, start, end)
    except (EOFError, OSError, zlib.error) as exc:
        raise InputError(f"cannot be read to the end ({exc}): a truncated or corrupt file is not cleared",
                         path=str(path)) from None


def _chunks_of(path: Path, start: int, end: int | None):
    with _open(path) as fh:
        head = fh.read(8192)
        encoding = text_encoding(head)
        if encoding not in ("utf-8", None):  # UTF-16 or a BOM: decoded, whole lines, as UTF-8
            import io as _io

            fh.seek(0)
            text = _io.TextIOWrapper(fh, encoding=encoding, errors="replace", newline="")
            first = 1
            while True:
                lines = text.readlines(CHUNK_BYTES)
                if not lines:
                    return
                piece = "".join(lines).encode("utf-8", "surrogatepass")
                yield str(path), piece, first
                first += piece.count(b"\n")
        fh.seek(start)
        first, carry, left = 1, b"", None if end is None else end - start
        while True:
            block = fh.read(CHUNK_BYTES if left is None else min(CHUNK_BYTES, left))
            if left is not None:
                left -= len(block)
            if not block:
                break
            block = carry + block
            cut = block.rfind(b"\n") + 1
            if cut == 0:
                carry = block
                continue
            piece, carry = block[:cut], block[cut:]
            yield str(path), piece.replace(b"\0", b" "), first
            first += piece.count(b"\n")
        if carry:
            yield str(path), carry.replace(b"\0", b" "), first


def _head(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(8192)


def _scan_range(path: str, start: int, end: int, index: int) -> list[Finding]:
    findings = []
    for piece in _chunks(Path(path), start, end):
        findings.extend(scan_many([piece], assignments=True))
    return findings


def _suspect_values(column) -> list[int]:
    """The indexes of the values of an Arrow string column that could hold a credential: one
    prefilter pass over the values joined by newlines (Arrow joins them; no value reaches Python
    unless it is flagged)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(column) == 0:
        return []
    values = (pc.fill_null(column, "") if column.null_count else column).cast(pa.large_string())  # past 2 GB too
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(values)], pa.int32()), values),
                            pa.scalar("\n", pa.large_string()))
    data = joined.buffers()[2]
    data = b"" if data is None else data.slice(0, pc.binary_length(joined)[0].as_py()).to_pybytes()
    hits = suspect_lines(data)
    if not hits:
        return []
    lengths = pc.binary_length(values).to_numpy(zero_copy_only=False).astype(np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
    return sorted({int(i) for i in np.searchsorted(starts, hits, side="right") - 1})


def _string_columns(array, name: str):
    import pyarrow as pa

    kind = array.type
    if pa.types.is_struct(kind):
        for index in range(kind.num_fields):
            yield from _string_columns(array.field(index), f"{name}.{kind.field(index).name}")
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
        yield from _string_columns(array.flatten(), f"{name}[]")
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        yield name, array


def _parquet_texts(path: Path):
    """The string values of a Parquet file that could hold a credential, with their row (as the
    line) and column."""
    import pyarrow.parquet as pq

    first = 1
    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=1 << 16)
    except Exception:  # noqa: BLE001 - pyarrow raises several kinds for a file that is not Parquet
        # named .parquet but not Parquet: its bytes are scanned like any file's, and the scan goes on
        yield str(path), decode_text(path.read_bytes())[0]
        return
    for batch in batches:
        for column_name in batch.schema.names:
            for name, column in _string_columns(batch.column(column_name), column_name):
                for index in _suspect_values(column):
                    row = f"row {first + index}, " if len(column) == batch.num_rows else ""
                    yield f"{path} ({row}column {name})", column[index].as_py()
        first += batch.num_rows


def scan_paths(paths: list[Path], allowlist: set[str] | None = None,
               workers: int | None = None) -> tuple[list[Finding], int, int]:
    """(findings not allowlisted, files read, findings allowlisted). Streamed: a big plain file is
    read in pieces, in parallel over byte ranges with `workers` processes."""
    from ..io import default_workers, line_number_at, map_ranges

    findings, files = [], 0
    for path in _files([Path(p) for p in paths]):
        files += 1
        if path.suffix not in (".ipynb", ".parquet", ".gz") and path.stat().st_size > CHUNK_BYTES and \
                text_encoding(_head(path)) in ("utf-8", None):  # byte ranges split UTF-16 text: read it whole
            for start, _end, found in map_ranges(_scan_range, str(path), workers or default_workers()):
                offset = line_number_at(path, start) if found and start else 0
                for f in found:
                    f.line += offset
                findings.extend(found)
            continue
        # a Parquet file is data (a pack's rows): its values are read like the rows', without the
        # assignment rule for files people write (`token = "..."` is ordinary code under test)
        for piece in _texts(path):
            findings.extend(scan_many([piece], assignments=path.suffix != ".parquet"))
    allow = allowlist or set()
    kept = [f for f in findings if f.digest not in allow]
    return kept, files, len(findings) - len(kept)
