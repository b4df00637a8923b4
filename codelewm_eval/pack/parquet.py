"""`rows.parquet` and `tasks.parquet` beside `rows.jsonl` and `tasks.jsonl`.

The rows are never parsed back from JSON: pass one spools them as Arrow record batches (the
PackRow fields but decoy and split, `spooled_schema`), and pass two filters each part to the
kept rows, appends their decoy links and splits and writes it here, so memory stays flat and a
column that is null in a whole part (no decoy there) still has its struct type. Arrow and zstd
work outside the GIL, so this overlaps the JSONL writer.
"""

from __future__ import annotations

import os
from pathlib import Path


def _origin_type(pa):
    return pa.struct([("model", pa.string()), ("run", pa.string()), ("sample_index", pa.int64()),
                      ("source_file", pa.string()), ("source_line", pa.int64()), ("licence", pa.string()),
                      ("format", pa.string())])


def decoy_type(pa):
    return pa.struct([("category", pa.string()), ("pair_id", pa.string()), ("shadows_row_id", pa.string())])


def _schema(pa):
    return pa.schema(list(spooled_schema(pa)) + [("decoy", decoy_type(pa)), ("split", pa.string())])


def spooled_schema(pa):
    """The PackRow fields a row has after pass one (everything but decoy and split)."""
    return pa.schema([
        ("schema_version", pa.int64()), ("row_id", pa.string()), ("benchmark", pa.string()), ("task_id", pa.string()),
        ("candidate_id", pa.string()), ("program", pa.string()), ("program_ast", pa.string()),
        ("passed", pa.bool_()), ("status", pa.string()), ("output_magnitude_bucket", pa.string()),
        ("output_length_bucket", pa.string()), ("origin", _origin_type(pa)), ("licence", pa.string()),
        ("label_provenance", pa.string()), ("evaluation_only", pa.bool_()),
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
    """Tables of complete rows in, one Parquet file out (renamed into place on close)."""

    def __init__(self, out: Path):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.schema = _schema(pa)
        self.out, self.tmp = out, out.with_name(f".{out.name}.tmp")
        self._writer = pq.ParquetWriter(self.tmp, self.schema, compression="zstd")

    def add_table(self, table) -> None:
        if table.num_rows:
            self._writer.write_table(table.cast(self.schema))

    def close(self) -> None:
        self._writer.close()
        os.replace(self.tmp, self.out)

    def abort(self) -> None:
        self._writer.close()
        self.tmp.unlink(missing_ok=True)


def parquet_sink(out: Path) -> ParquetSink:
    return ParquetSink(out)
