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
    from ..errors import InputError
    from ..io import check_output

    inputs = [(name, p.resolve()) for name in INPUT_OPTIONS for p in _paths(getattr(args, name, None))]
    seen: dict = {}
    for name, source in inputs:
        if (name, source) in seen:
            raise InputError(f"--{name.replace('_', '-')} names this file twice", path=str(source))
        seen[(name, source)] = True
    verb = getattr(getattr(args, "func", None), "__name__", "")
    file_outputs = ("out_md", "out_json", "report") + (("out",) if verb in FILE_OUT_VERBS else ())
    for name in file_outputs:
        value = getattr(args, name, None)
        if isinstance(value, str) and value and Path(value).is_dir():
            raise InputError(f"--{name.replace('_', '-')} is a directory; give a file path", path=value)
    for out_name in OUTPUT_OPTIONS:
        value = getattr(args, out_name, None)
        if not isinstance(value, str) or not value or "://" in value:
            continue
        check_output(value, directory=out_name not in file_outputs)  # devices, FIFOs, links, loops, sealed
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


class _Locks:
    """Exclusive locks on a command's outputs (`.NAME.lock` beside each): a second writer of the
    same output is refused, naming the first one's pid, instead of racing it."""

    def __init__(self, paths: list[Path]):
        self.paths, self.held = paths, []

    def __enter__(self):
        import fcntl
        import os

        from ..errors import InputError

        for path in self.paths:
            lock = path.parent / f".{path.name}.lock"
            if not path.parent.is_dir():
                continue  # a new directory: nobody else can be writing into it yet
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                self.__exit__()
                raise InputError(f"another codelewm-eval (pid {holder}) is writing this output; wait for it or "
                                 "choose another", path=str(path)) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            self.held.append((fd, lock))
        return self

    def __exit__(self, *exc):
        import os

        for fd, lock in reversed(self.held):
            try:
                os.unlink(lock)
            except FileNotFoundError:
                pass
            os.close(fd)
        self.held = []
        return False


def output_locks(args) -> _Locks:
    paths = [Path(getattr(args, name)) for name in OUTPUT_OPTIONS
             if isinstance(getattr(args, name, None), str) and getattr(args, name)]
    return _Locks([p.resolve() for p in paths])


def emit(args, result) -> None:
    """The one way a verb prints its stage's result: `model_dump` as JSON with --json, else its
    `text()`; its `messages()` go to stderr either way. Under CODELEWM_EVAL_CHECK_SCHEMAS (set by the test suite) the JSON is first validated
    against docs/schemas/verbs/ for this result's model, so every --json a test prints is checked."""
    import json
    import os
    import sys

    for line in result.messages():
        print(line, file=sys.stderr)
    if getattr(args, "json", False):
        data = result.payload()
        if os.environ.get("CODELEWM_EVAL_CHECK_SCHEMAS"):
            from .schemas import validate_payload

            validate_payload(type(result), data)
        print(json.dumps(data, indent=2, allow_nan=False))
        return
    out = result.text()
    print(out, end="" if out.endswith("\n") else "\n")


def stage_verb(stage: str):
    """Make a CLI verb of a function that turns parsed arguments into the stage's config:
    parse -> config -> `stage(config, command)` -> emit(result) -> `result.exit_code()`.
    `stage` is "module:function" (imported when the verb runs, so `--help` stays fast); the verb
    keeps the config function's name (cmd_...) and says its stage (`verb.stage_path`, `load_stage`)."""
    import functools

    def wrap(config_from):
        @functools.wraps(config_from)
        def verb(args) -> int:
            from ..stage import load_stage

            result = load_stage(stage)(config_from(args), args.command)
            emit(args, result)
            return result.exit_code()

        verb.stage_path, verb.config_from = stage, config_from
        return verb

    return wrap
