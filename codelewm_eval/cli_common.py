"""What the CLI modules share."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_DATA_DIR = "../shared/data"


def data_dir(value: str | None) -> Path | None:
    """--data-dir, else ../shared/data when it is there, else None (package data only)."""
    if value:
        return Path(value)
    default = Path(DEFAULT_DATA_DIR)
    return default if default.is_dir() else None


# Argument types: every numeric option is checked where it is parsed; argparse turns the error
# into "argument --limit: ..." and exit 2.


def _number(kind, text: str, what: str, ok) -> float | int:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
    if not ok(value):
        raise argparse.ArgumentTypeError(f"{text} is not {what}")
    return value


def count(text: str) -> int:
    """An integer of at least 1 (workers, limits, sizes, draws)."""
    return _number(int, text, "a count of at least 1", lambda v: v >= 1)


def non_negative_int(text: str) -> int:
    return _number(int, text, "an integer of 0 or more", lambda v: v >= 0)


def positive(text: str) -> float:
    """A number above 0 (seconds, learning rates)."""
    return _number(float, text, "a number above 0", lambda v: v > 0 and v != float("inf"))


def non_negative(text: str) -> float:
    return _number(float, text, "a number of 0 or more", lambda v: 0 <= v < float("inf"))


def probability(text: str) -> float:
    """A number in (0, 1]."""
    return _number(float, text, "a number in (0, 1]", lambda v: 0 < v <= 1)


INPUT_OPTIONS = ("samples", "results", "pack", "scores", "baseline", "candidate", "harvest", "shards", "anchors",
                 "gates", "config", "model", "previous", "data_dir", "codet_tests", "ledger")
OUTPUT_OPTIONS = ("out", "out_md", "out_json", "report")
# verbs whose --out is one file (the others write a directory)
FILE_OUT_VERBS = ("cmd_execute", "cmd_execute_merge", "cmd_decoys", "cmd_score", "cmd_generate")
# inputs an output directory must not hold (it is replaced whole): artifacts, not configs
REPLACED_INPUTS = ("samples", "results", "pack", "scores", "baseline", "candidate", "harvest", "shards")


def _paths(value) -> list[Path]:
    values = value if isinstance(value, list) else [value]
    return [Path(v) for v in values if isinstance(v, str) and v and "://" not in v and Path(v).exists()]


def refuse_outputs_among_inputs(args) -> None:
    """An output that is one of the command's inputs, lies inside one, or would replace a directory
    holding one, is refused before any work (exit 2): `execute --samples s.jsonl --out s.jsonl`
    would overwrite the samples, `score --pack P --out P/rows.jsonl` the pack's rows."""
    from .errors import InputError

    inputs = [(name, p.resolve()) for name in INPUT_OPTIONS for p in _paths(getattr(args, name, None))]
    verb = getattr(getattr(args, "func", None), "__name__", "")
    file_outputs = ("out_md", "out_json", "report") + (("out",) if verb in FILE_OUT_VERBS else ())
    for name in file_outputs:
        value = getattr(args, name, None)
        if isinstance(value, str) and value and Path(value).is_dir():
            raise InputError(f"--{name.replace('_', '-')} is a directory; give a file path", path=value)
    for out_name in OUTPUT_OPTIONS:
        value = getattr(args, out_name, None)
        if not isinstance(value, str) or not value:
            continue
        out = Path(value).resolve()
        for in_name, source in inputs:
            option = "--" + in_name.replace("_", "-")
            if out == source:
                why = f"is the {option} input"
            elif source.is_dir() and source in out.parents:
                why = f"is inside the {option} input {source}"
            elif source != out and out in source.parents and in_name in REPLACED_INPUTS:
                why = f"would replace a directory holding the {option} input {source}"
            else:
                continue
            raise InputError(f"--{out_name.replace('_', '-')} {why}; choose another output", path=value)
