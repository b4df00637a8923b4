"""The pack's spool: each row written twice in pass one (its JSON for rows.jsonl, and Arrow
batches for rows.parquet, never parsed back from JSON), then finished in pass two, once the
decoy links and splits are decided: every spooled part in parallel, joined in order into
rows.jsonl (hashed as it is written) and rows.parquet.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import threading
from pathlib import Path

import orjson

from ..workers import worker_pool
from .rows import SCHEMA_VERSION, SPLITS, DecoyLink, PackRow

# A row's JSON is written in two parts: these fields in pass one, then decoy and split.
_SPOOLED_FIELDS = tuple(PackRow.model_fields)[:-2]
assert tuple(PackRow.model_fields)[-2:] == ("decoy", "split")


def json_line(obj) -> bytes:
    try:
        return orjson.dumps(obj) + b"\n"
    except orjson.JSONEncodeError:  # a lone surrogate in candidate text: escape it as JSON allows
        return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


class SpoolWriter:
    """A worker's spool of one byte range: each row's JSON (for rows.jsonl), and the same rows
    as Arrow record batches (for rows.parquet, so it is never parsed back from JSON)."""

    def __init__(self, stem: Path, arrow: bool):
        self.jsonl = open(stem.with_suffix(".jsonl"), "wb")
        self.lines: list[bytes] = []  # JSON lines of the block, written together
        self.pending: list[tuple] = []
        self.arrow = None
        if arrow:
            import pyarrow as pa

            from .parquet import spooled_schema

            self.schema = spooled_schema(pa)
            self.arrow = pa.ipc.new_file(str(stem.with_suffix(".arrow")), self.schema)

    def add(self, values: tuple) -> None:
        self.lines.append(json_line(dict(zip(_SPOOLED_FIELDS, values))))
        if self.arrow is not None and self.collect:
            self.pending.append(values)

    collect = True  # False while an Arrow-read block is added: add_table spools it from its columns

    def add_table(self, table, kept: list[int], facts: list[tuple]) -> None:
        """The Arrow spool of an Arrow-read block's kept rows: the result's own columns where the
        row carries them as they are, the derived ones (row id, fingerprint, licence, provenance,
        evaluation-only) from the facts just made."""
        if self.arrow is None or not kept:
            return
        import pyarrow as pa

        self.flush()
        if len(kept) < table.num_rows:
            table = table.take(pa.array(kept, pa.int64()))
        derived = dict(zip(("row_id", "program_ast", "licence", "label_provenance", "evaluation_only"),
                           zip(*((f[0], f[7], f[8], f[9], f[6]) for f in facts))))
        derived["schema_version"] = [SCHEMA_VERSION] * len(kept)
        columns = [pa.array(derived[f.name], f.type) if f.name in derived else table.column(f.name).cast(f.type)
                   for f in self.schema]
        self.arrow.write_table(pa.Table.from_arrays(columns, schema=self.schema))

    def flush(self) -> None:
        self.jsonl.write(b"".join(self.lines))
        self.lines = []
        if self.arrow is not None and self.pending:
            import pyarrow as pa

            columns = zip(*self.pending)
            self.arrow.write_batch(pa.RecordBatch.from_arrays(
                [pa.array(list(c), type=f.type) for c, f in zip(columns, self.schema)], schema=self.schema))
            self.pending = []

    def close(self) -> None:
        self.flush()
        self.jsonl.close()
        if self.arrow is not None:
            self.arrow.close()


class _BlockWriter(threading.Thread):
    """Writes and hashes blocks of rows.jsonl off the main thread (hashlib and file writes release
    the GIL, so the two cores share the work)."""

    def __init__(self, path: Path):
        super().__init__(daemon=True)
        self.path, self.blocks = path, queue.Queue(maxsize=4)
        self.digest, self.size, self.error = hashlib.sha256(), 0, None

    def run(self) -> None:
        try:
            with open(self.path, "wb") as dst:
                while (block := self.blocks.get()) is not None:
                    self.digest.update(block)
                    dst.write(block)
                    self.size += len(block)
                dst.flush()
                os.fsync(dst.fileno())
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self.error = exc
            while self.blocks.get() is not None:  # drain so the producer never blocks
                pass


class _ParquetWriter(threading.Thread):
    """rows.parquet from the finished Arrow parts, in order, batch by batch (Arrow and zstd work
    outside the GIL)."""

    def __init__(self, out: Path):
        super().__init__(daemon=True)
        from .parquet import parquet_sink

        self.sink, self.parts, self.error = parquet_sink(out), queue.Queue(), None

    def run(self) -> None:
        import pyarrow as pa

        try:
            while (part := self.parts.get()) is not None:
                with pa.OSFile(str(part)) as source:  # memory stays flat
                    reader = pa.ipc.open_file(source)
                    pending = []
                    for k in range(reader.num_record_batches):
                        pending.append(reader.get_batch(k))
                        if sum(b.nbytes for b in pending) >= 64 << 20:
                            self.sink.add_table(pa.Table.from_batches(pending))
                            pending = []
                    if pending:
                        self.sink.add_table(pa.Table.from_batches(pending))
                os.unlink(part)
            self.sink.close()
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self.error = exc
            self.sink.abort()
            while self.parts.get() is not None:
                pass


_PASS_TWO: tuple | None = None  # (spool, split_of, links) for the forked workers of pass two


def _finish_part(k: int, first_index: int) -> tuple[Path, Path | None]:
    """Pass two for one spooled part (in a worker, or here for a small pack): its kept rows,
    completed with their decoy link and split, into STEM.rows (JSON lines) and STEM.final
    (Arrow). Returns those two paths."""
    spool, split_of, links = _PASS_TWO
    stem = spool.spools[k]
    plain_tails = {split: b',"decoy":null,"split":"' + split.encode() + b'"}\n' for split in SPLITS}
    keep, decoys, splits, block = [], [], [], []
    index = first_index
    with open(stem.with_suffix(".jsonl"), "rb") as fh, open(stem.with_suffix(".rows"), "wb") as dst:
        for line in fh:
            split = split_of[index]
            keep.append(split is not None)
            if split is not None:
                row = spool.facts[index]
                if row.decoy_category is None and index not in links:
                    tail = plain_tails[split]
                    decoys.append(None)
                else:
                    link = links[index] if index in links else DecoyLink(
                        category=row.decoy_category, pair_id=spool.pair_ids[index], shadows_row_id=row.decoy_shadows)
                    tail = b',"decoy":' + link.model_dump_json().encode() + b',"split":"' + split.encode() + b'"}\n'
                    decoys.append(link.model_dump())
                splits.append(split)
                block.append(line[:-2])
                block.append(tail)
                if len(block) >= 1 << 14:
                    dst.write(b"".join(block))
                    block = []
            index += 1
        dst.write(b"".join(block))
    os.unlink(stem.with_suffix(".jsonl"))
    return stem.with_suffix(".rows"), _finish_arrow(stem, keep, decoys, splits)


def _finish_arrow(stem: Path, keep: list[bool], decoys: list, splits: list[str]) -> Path | None:
    """STEM.arrow filtered to the kept rows, with their decoy links and splits: STEM.final."""
    if not stem.with_suffix(".arrow").exists():
        return None
    import pyarrow as pa

    from .parquet import _schema, decoy_type

    keep = pa.array(keep, pa.bool_())
    decoys, splits = pa.array(decoys, decoy_type(pa)), pa.array(splits, pa.string())
    done = kept = 0
    schema = _schema(pa)
    with pa.OSFile(str(stem.with_suffix(".arrow"))) as source, \
            pa.ipc.new_file(str(stem.with_suffix(".final")), schema) as sink:
        reader = pa.ipc.open_file(source)
        for k in range(reader.num_record_batches):
            batch = reader.get_batch(k)
            mask = keep.slice(done, batch.num_rows)
            done += batch.num_rows
            batch = batch.filter(mask)
            n = batch.num_rows
            sink.write_batch(pa.RecordBatch.from_arrays(
                list(batch.columns) + [decoys.slice(kept, n), splits.slice(kept, n)], schema=schema))
            kept += n
    os.unlink(stem.with_suffix(".arrow"))
    return stem.with_suffix(".final")


def _finish_part_args(args: tuple[int, int]) -> tuple[Path, Path | None]:
    return _finish_part(*args)


def write_rows(spool, work: Path, split_of: list[str | None], links: dict[int, DecoyLink],
                parquet: bool, workers: int) -> tuple[str, int]:
    """`spool`: pass one's parts, facts and pair ids (build._Spooled).
    Pass two: the spooled parts finished in parallel (each kept row completed with its decoy
    link and split), then joined in order into rows.jsonl, hashed as it is written, and into
    rows.parquet. Returns (sha256, bytes) of rows.jsonl."""
    global _PASS_TWO
    starts = [sum(spool.part_rows[:k]) for k in range(len(spool.spools))]
    calls = list(enumerate(starts))
    writer = _BlockWriter(work / ".rows.jsonl.tmp")
    tables = _ParquetWriter(work / "rows.parquet") if parquet else None
    threads = [t for t in (writer, tables) if t is not None]
    _PASS_TWO = (spool, split_of, links)  # the workers are forked below: they see it
    try:
        # fork first, then start this process's threads: a child forked while a thread holds a
        # lock (Arrow's, the allocator's) can wait on it forever
        with (worker_pool(min(workers, len(calls))) if workers > 1 and len(calls) > 1
              else contextlib.nullcontext()) as pool:
            for thread in threads:
                thread.start()
            finished = pool.imap(_finish_part_args, calls) if pool else map(_finish_part_args, calls)
            for rows_file, arrow in finished:  # in order: part k is joined while later ones finish
                with open(rows_file, "rb") as fh:
                    while chunk := fh.read(1 << 24):
                        writer.blocks.put(chunk)
                os.unlink(rows_file)
                if tables is not None and arrow is not None:
                    tables.parts.put(arrow)
    finally:
        _PASS_TWO = None
        writer.blocks.put(None)
        if tables is not None:
            tables.parts.put(None)
        for thread in threads:
            if thread.is_alive() or thread.ident is not None:
                thread.join()
    for thread in threads:
        if thread.error is not None:
            raise thread.error
    os.replace(work / ".rows.jsonl.tmp", work / "rows.jsonl")
    return writer.digest.hexdigest(), writer.size
