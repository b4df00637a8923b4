"""`rows.parquet` and `tasks.parquet` beside `rows.jsonl` and `tasks.jsonl`, when pyarrow is
installed (`pip install codelewm-eval[parquet]`).

Fed the same blocks that are written to `rows.jsonl`, parsed with an explicit schema (the
PackRow fields), so memory stays flat and a column that is null in a whole block (no decoy
there) still has its struct type. pyarrow works outside the GIL, so this overlaps the writer.
"""

from __future__ import annotations

import os
from pathlib import Path


def _schema(pa):
    origin = pa.struct([("model", pa.string()), ("run", pa.string()), ("sample_index", pa.int64()),
                        ("source_file", pa.string()), ("source_line", pa.int64()), ("licence", pa.string()),
                        ("format", pa.string())])
    decoy = pa.struct([("category", pa.string()), ("pair_id", pa.string()), ("shadows_row_id", pa.string())])
    return pa.schema([
        ("schema_version", pa.int64()), ("row_id", pa.string()), ("benchmark", pa.string()), ("task_id", pa.string()),
        ("candidate_id", pa.string()), ("program", pa.string()),
        ("program_ast", pa.string()), ("passed", pa.bool_()), ("status", pa.string()),
        ("output_magnitude_bucket", pa.string()), ("output_length_bucket", pa.string()), ("origin", origin),
        ("licence", pa.string()), ("label_provenance", pa.string()), ("evaluation_only", pa.bool_()),
        ("decoy", decoy), ("split", pa.string()),
    ])


def _task_schema(pa):
    return pa.schema([("schema_version", pa.int64()), ("benchmark", pa.string()), ("task_id", pa.string()),
                      ("family", pa.string()), ("prompt", pa.string())])


def write_tasks(out: Path, tasks: list) -> None:
    """tasks.parquet from the PackTask models (a few thousand rows at most: in one piece)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist([task.model_dump(mode="json") for task in tasks], schema=_task_schema(pa))
    tmp = out.with_name(f".{out.name}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, out)


class ParquetSink:
    """Blocks of complete JSONL rows in, one Parquet file out (renamed into place on close)."""

    def __init__(self, out: Path):
        import pyarrow as pa
        import pyarrow.json as pj
        import pyarrow.parquet as pq

        self._pa, self._pj = pa, pj
        self.schema = _schema(pa)
        self.out, self.tmp = out, out.with_name(f".{out.name}.tmp")
        self._writer = pq.ParquetWriter(self.tmp, self.schema, compression="zstd")
        self._parse = pj.ParseOptions(explicit_schema=self.schema, unexpected_field_behavior="error")

    def add(self, block: bytes) -> None:
        if block:
            options = self._pj.ReadOptions(use_threads=True, block_size=1 << 22)
            table = self._pj.read_json(self._pa.BufferReader(block), read_options=options,
                                       parse_options=self._parse)
            self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()
        os.replace(self.tmp, self.out)

    def abort(self) -> None:
        self._writer.close()
        self.tmp.unlink(missing_ok=True)


def parquet_sink(out: Path) -> ParquetSink | None:
    """A sink for `out`, or None when pyarrow is not installed."""
    try:
        return ParquetSink(out)
    except ImportError:
        return None
