"""`surgery harvest`: the training set of a surgery pass, from a model's execution results.

* failures: every task whose first sample failed, joined with the benchmark's reference solution
  as the target (a task without one is counted, not guessed: LiveCodeBench ships none);
* anchors: tasks the model passes, written apart (`anchors.jsonl`, and `anchors.txt` for the
  promotion gate): the positive contrast that training may include with a weight, and the set no
  later pass may lose;
* fresh only: rows already in an earlier harvest (`--previous`) are dropped and counted (the
  BD6.2 lesson: the union of old and new failures overtrains);
* licences: rows whose licence forbids ML training are never written, and are counted.

Output: `train.jsonl`, `anchors.jsonl`, `anchors.txt`, `summary.json`, and a manifest whose
parents are the results.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pydantic import BaseModel, Field

from ..benchmarks import licence_of, load_benchmark
from ..errors import InputError
from ..execution.results import ExecutionResult
from ..io import atomic_writer, iter_models, write_json_atomic
from ..manifest import require_verified, write_manifest
from ..pack.rows import NO_TRAINING_MARK

SCHEMA_VERSION = 1
FAMILY_NAMES = {"humaneval": "HumanEval", "humaneval-plus": "HumanEval", "mbpp": "MBPP", "mbpp-plus": "MBPP",
                "mbpp-sanitized": "MBPP", "mbpp-multiple": "MBPP", "livecodebench": "LCB"}


class SftRow(BaseModel):
    schema_version: int = SCHEMA_VERSION
    benchmark: str
    task_id: str
    kind: str = Field(description="failure (a task the model failed, with the reference as target) or anchor")
    prompt: str
    completion: str = Field(description="the target the model is trained to write after the prompt")
    licence: str
    target_sha256: str


def anchor_name(benchmark: str, task_id: str) -> str:
    """The name the user's reports and `compare --anchors` use: MBPP/53, HumanEval/85."""
    number = task_id.rsplit("/", 1)[-1]
    return f"{FAMILY_NAMES.get(benchmark, benchmark)}/{number}"


def _target(problem) -> str | None:
    reference = problem.canonical_solution
    if not reference:
        return None
    return reference[len(problem.prompt):] if reference.startswith(problem.prompt) else reference


def _first_samples(paths: list[Path]) -> dict[tuple[str, str], ExecutionResult]:
    firsts: dict[tuple[str, str], tuple[int, ExecutionResult]] = {}
    for path in paths:
        require_verified(path, "the results")
        for _, r in iter_models(path, ExecutionResult, "execution result"):
            key = (r.benchmark, r.task_id)
            rank = r.origin.sample_index if r.origin.sample_index is not None else 1 << 30
            if key not in firsts or rank < firsts[key][0]:
                firsts[key] = (rank, r)
    return {k: v[1] for k, v in firsts.items()}


def _previous_targets(dirs: list[Path]) -> set[tuple[str, str, str]]:
    seen = set()
    for d in dirs:
        path = Path(d) / "train.jsonl"
        if not path.exists():
            raise InputError("not a harvest (no train.jsonl)", path=str(d))
        for _, row in iter_models(path, SftRow, "harvest row"):
            seen.add((row.benchmark, row.task_id, row.target_sha256))
    return seen


def harvest(results: list[Path], out: Path, data_dir: Path | None, *, anchors: int = 20, seed: int = 42,
            previous: list[Path] = (), command: list[str] | None = None) -> dict:
    firsts = _first_samples([Path(p) for p in results])
    seen = _previous_targets([Path(p) for p in previous])
    benchmarks = {b: load_benchmark(b, data_dir) for b in sorted({b for b, _ in firsts})}
    counts = {"tasks": len(firsts), "failing": 0, "passing": 0, "no_reference": 0, "licence_forbids_training": 0,
              "already_harvested": 0, "not_evaluable": 0}
    train, passing = [], []
    for (bench, task), r in sorted(firsts.items()):
        problem = benchmarks[bench].get(task)
        licence = benchmarks[bench].licence if licence_of(bench) == "unknown" else licence_of(bench)
        if r.status == "not_evaluable" or problem is None:
            counts["not_evaluable"] += 1
            continue
        if r.passed:
            counts["passing"] += 1
            passing.append((bench, task, problem, licence, r))
            continue
        counts["failing"] += 1
        if NO_TRAINING_MARK in licence:
            counts["licence_forbids_training"] += 1
            continue
        target = _target(problem)
        if target is None:
            counts["no_reference"] += 1
            continue
        digest = hashlib.sha256(target.encode()).hexdigest()
        if (bench, task, digest) in seen:
            counts["already_harvested"] += 1
            continue
        train.append(SftRow(benchmark=bench, task_id=task, kind="failure", prompt=problem.prompt, completion=target,
                            licence=licence, target_sha256=digest))
    # anchors: a deterministic sample of passing tasks, with the model's own passing program as target
    passing.sort(key=lambda x: hashlib.sha256(f"{seed}\0{x[0]}\0{x[1]}".encode()).hexdigest())
    anchor_rows = []
    for bench, task, problem, licence, r in passing[:anchors]:
        if NO_TRAINING_MARK in licence:
            counts["licence_forbids_training"] += 1
            continue
        completion = r.program[len(problem.prompt):] if r.program.startswith(problem.prompt) else r.program
        anchor_rows.append(SftRow(benchmark=bench, task_id=task, kind="anchor", prompt=problem.prompt,
                                  completion=completion, licence=licence,
                                  target_sha256=hashlib.sha256(completion.encode()).hexdigest()))
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise InputError("output directory is not empty", path=str(out))
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train.jsonl", train), ("anchors.jsonl", anchor_rows)):
        with atomic_writer(out / name) as fh:
            for row in rows:
                fh.write(row.model_dump_json() + "\n")
    with atomic_writer(out / "anchors.txt") as fh:
        fh.write("".join(anchor_name(r.benchmark, r.task_id) + "\n" for r in anchor_rows))
    summary = {"schema_version": SCHEMA_VERSION, **counts, "train_rows": len(train), "anchors": len(anchor_rows),
               "benchmarks": sorted(benchmarks)}
    write_json_atomic(out / "summary.json", summary)
    write_manifest(out, "surgery-harvest", parents=[Path(p) for p in results] + [Path(p) for p in previous],
                   command=command or [], config={"anchors": anchors, "seed": seed})
    return summary


def read_rows(path: Path) -> list[SftRow]:
    return [row for _, row in iter_models(path, SftRow, "harvest row")]


def summary_text(summary: dict) -> str:
    return (f"harvest: {summary['train_rows']} training row(s) from {summary['failing']} failing task(s); "
            f"{summary['anchors']} anchor(s) of {summary['passing']} passing; left out: {summary['no_reference']} "
            f"without a reference, {summary['licence_forbids_training']} whose licence forbids training, "
            f"{summary['already_harvested']} already harvested, {summary['not_evaluable']} not evaluable")


def load_summary(out: Path) -> dict:
    return json.loads((Path(out) / "summary.json").read_text())
