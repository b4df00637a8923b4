"""Score files, the p_pass contract: one JSON object per candidate,

    {"schema_version": 1, "benchmark": ..., "task_id": ..., "candidate_id": ..., "split": ...,
     "scores": {"p_pass": 0.73, "length": -412.0, ...}}

`p_pass` is a probability in [0, 1]; other names are ranking scores (higher ranks first).
Reading matches every row to the pack by id (an unknown id is an error naming file and line)
and counts, never drops silently, missing, non-finite and (for p_pass) out-of-range values.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

from ..errors import InputError
from ..io import atomic_writer, iter_models
from ..manifest import load_manifest, manifest_path_for
from ..pack.rows import Split

SCHEMA_VERSION = 1
PROBABILITIES = ("p_pass",)


class ScoreRow(BaseModel):
    """One scored pack row; rows are matched to the pack by (benchmark, task_id, candidate_id)."""

    model_config = ConfigDict(ser_json_inf_nan="constants")  # NaN stays NaN on disk, to be counted

    schema_version: int = SCHEMA_VERSION
    benchmark: str
    task_id: str
    candidate_id: str
    split: Split
    scores: dict[str, StrictFloat | StrictInt | None] = Field(
        description="name -> a JSON number (or null); p_pass is a probability in [0, 1]. A string, even \"0.7\" "
                    "or \"nan\", is bad input")


class ScoreHealth(BaseModel):
    """How many of the pack's rows have a usable value for one score."""

    rows_in_pack: int
    scored: int
    missing: int
    non_finite: int
    out_of_range: int = Field(0, description="p_pass outside [0, 1]")


# the state of one row's value for one score name (ScoreSet.state)
OK, MISSING, NON_FINITE, OUT_OF_RANGE = 0, 1, 2, 3
STATE_NAMES = ("ok", "missing", "non_finite", "out_of_range")


class ScoreSet:
    """Scores aligned with a list of row ids: per name, a float array with NaN where unusable,
    and per name the state of every row's value (OK, MISSING, NON_FINITE, OUT_OF_RANGE), so a
    gate can count the unhealthy values of exactly the rows it rests on."""

    def __init__(self, path: Path, names: list[str], values: dict[str, np.ndarray], health: dict[str, ScoreHealth],
                 seed: int | None, run: str | None, state: dict[str, np.ndarray] | None = None):
        self.path, self.names, self.values, self.health, self.seed, self.run = path, names, values, health, seed, run
        self.state = state if state is not None else {
            name: np.where(np.isfinite(v), OK, MISSING).astype(np.int8) for name, v in values.items()}

    def slice_health(self, name: str, rows: np.ndarray) -> dict[str, int]:
        """Counts of missing, non-finite and out-of-range values among `rows` (a mask or indexes);
        empty when every value there is usable."""
        counts = np.bincount(self.state[name][rows], minlength=4)
        return {STATE_NAMES[k]: int(counts[k]) for k in (MISSING, NON_FINITE, OUT_OF_RANGE) if counts[k]}

    def same_scores(self, other: "ScoreSet") -> bool:
        """Identical outputs: the same names, the same value (or the same unusable state) on every row."""
        return self.names == other.names and all(
            np.array_equal(self.values[n], other.values[n], equal_nan=True) and
            np.array_equal(self.state[n], other.state[n]) for n in self.names)


def write_scores(path: Path, rows: list[ScoreRow]) -> None:
    with atomic_writer(path) as fh:
        for row in rows:
            fh.write(row.model_dump_json() + "\n")


def read_scores(path: Path, row_index: dict[str, int], splits: list[str]) -> ScoreSet:
    """Read a score file against a pack (row id -> position; the pack's split of each row)."""
    path = Path(path)
    raw: dict[str, list[tuple[int, float | None]]] = {}
    seen: set[int] = set()
    for number, row in iter_models(path, ScoreRow, "a score row"):
        row_id = f"{row.benchmark}/{row.task_id}/{row.candidate_id}"
        position = row_index.get(row_id)
        if position is None:
            raise InputError(f"row {row_id!r} is not in the pack", path=str(path), line=number)
        if position in seen:
            raise InputError(f"row {row_id!r} is scored twice", path=str(path), line=number)
        if splits[position] != row.split:
            raise InputError(f"row {row_id!r} is in split {splits[position]!r} of the pack, not {row.split!r}",
                             path=str(path), line=number, field="split")
        seen.add(position)
        for name, value in row.scores.items():
            raw.setdefault(name, []).append((position, value))
    n = len(row_index)
    values, health, states = {}, {}, {}
    for name in sorted(raw):
        array = np.full(n, np.nan)
        state = np.full(n, MISSING, dtype=np.int8)
        non_finite = out_of_range = 0
        for position, value in raw[name]:
            if value is None:
                continue
            try:
                value = float(value)
            except OverflowError:  # an integer too large for a float (a 401-digit "score"): not finite
                value = math.inf
            if not math.isfinite(value):
                non_finite += 1
                state[position] = NON_FINITE
                continue
            if name in PROBABILITIES and not 0.0 <= value <= 1.0:
                out_of_range += 1
                state[position] = OUT_OF_RANGE
                continue
            array[position] = value
            state[position] = OK
        scored = int(np.isfinite(array).sum())
        values[name] = array
        states[name] = state
        health[name] = ScoreHealth(rows_in_pack=n, scored=scored, missing=n - scored - non_finite - out_of_range,
                                   non_finite=non_finite, out_of_range=out_of_range)
    seed = run = None
    manifest = manifest_path_for(path)
    if manifest.exists():
        config = load_manifest(manifest).config
        seed, run = config.get("seed"), config.get("run")
    return ScoreSet(path, sorted(raw), values, health, seed, run, states)
