"""`surgery harvest`: the training set of a surgery pass, from a model's execution results.

* failures: every task whose first sample failed, joined with the benchmark's reference solution
  as the target (a task without one is counted, not guessed: LiveCodeBench ships none);
* anchors: tasks the model passes (confirmed wins), in `anchors.jsonl` with their role: a small
  share (`--anchor-share`, default 15% of the training rows, at most half of the anchors) goes
  into training as positive contrast (role `train`, `anchors_trained.txt`); the rest is held out
  (role `held_out`, `anchors.txt`) for the check before merging and for the promotion gate. The
  reports' lesson (BD6.2): "fresh_failures plus a small anchor subset of confirmed pass-1 wins ...
  as positive contrast";
* fresh only: the failures of the model being trained, from its newest results. Results of more
  than one model (the union of old and new failures: BD6.2 trained on 310 union rows, 291 of them
  already in the first pass, and lost 8 MBPP wins) are refused unless `--override-lessons`, which
  the harvest records; rows already in an earlier harvest (`--previous`, the parent) are dropped
  and counted;
* lineage: the summary and the manifest name every results file (path, sha256, model) and the
  parent harvest;
* licences: rows whose licence forbids ML training are never written, and are counted.

Output: `train.jsonl`, `anchors.jsonl`, `anchors.txt`, `anchors_trained.txt`, `summary.json`, and
a manifest whose parents are the results and the parent harvest.
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
    role: str | None = Field(None, description="anchors: train (positive contrast in training) or held_out (the "
                                               "check before merging and the promotion gate)")


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


UNION_LESSON = ("BD6.2: training on the union of old and new failures (310 rows, 291 already in pass 1) "
                "overtrained and lost 8 MBPP wins (13/100 -> 6/100)")


def models_of(paths: list[Path]) -> dict[str, str | None]:
    """results file -> the model its candidates came from: origin.model (`execute --model`), else
    the model that `generate`'s manifest records for the samples file, else None (not known)."""
    from ..manifest import load_manifest, manifest_path_for

    out: dict[str, str | None] = {}
    for path in paths:
        models = {r.origin.model for _, r in iter_models(path, ExecutionResult, "execution result")}
        models.discard(None)
        if models:
            out[str(path)] = " + ".join(sorted(models))
            continue
        out[str(path)] = None
        samples = load_manifest(manifest_path_for(path)).config.get("samples")
        sidecar = manifest_path_for(Path(str(samples))) if samples and samples != "canonical" else None
        if sidecar is not None and sidecar.is_file():
            try:
                out[str(path)] = load_manifest(sidecar).config.get("model")
            except Exception:
                pass
    return out


def _union(paths: list[Path], models: dict[str, str | None]) -> str | None:
    """Why these results are not one model's newest results, or None: a task in two files (two
    runs over the same task), or two different known models."""
    owner: dict[tuple[str, str], str] = {}
    for path in paths:
        for _, r in iter_models(path, ExecutionResult, "execution result"):
            first = owner.setdefault((r.benchmark, r.task_id), str(path))
            if first != str(path):
                return (f"{r.benchmark} {r.task_id} is in both {Path(first).name} and {Path(path).name} (results of "
                        "two runs over the same tasks)")
    known = sorted({m for m in models.values() if m})
    if len(known) > 1:
        return f"results of {len(known)} models ({', '.join(known)})"
    return None


def _previous_targets(dirs: list[Path]) -> set[tuple[str, str, str]]:
    seen = set()
    for d in dirs:
        path = Path(d) / "train.jsonl"
        if not path.exists():
            raise InputError("not a harvest (no train.jsonl)", path=str(d))
        for _, row in iter_models(path, SftRow, "harvest row"):
            seen.add((row.benchmark, row.task_id, row.target_sha256))
    return seen


DEFAULT_ANCHOR_SHARE = 0.15


def harvest(results: list[Path], out: Path, data_dir: Path | None, *, anchors: int = 20, seed: int = 42,
            previous: list[Path] = (), command: list[str] | None = None, anchor_share: float = DEFAULT_ANCHOR_SHARE,
            override_lessons: bool = False) -> dict:
    results, previous = [Path(p) for p in results], [Path(p) for p in previous]
    firsts = _first_samples(results)
    models = models_of(results)
    overridden = _union_lesson(results, models, override_lessons)
    benchmarks = {b: load_benchmark(b, data_dir) for b in sorted({b for b, _ in firsts})}
    counts, train, passing = _sort_first_samples(firsts, benchmarks, _previous_targets(previous))
    anchor_rows = _anchor_rows(passing, anchors, seed, counts)
    trained = anchors_to_train(len(train), len(anchor_rows), anchor_share)
    for i, row in enumerate(anchor_rows):  # the order is already a seeded shuffle
        row.role = "train" if i < trained else "held_out"
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise InputError("output directory is not empty", path=str(out))
    _write_rows(out, train, anchor_rows)
    from ..io import sha256_file

    lineage = {"results": [{"path": str(p), "sha256": sha256_file(p), "model": models[str(p)]} for p in results],
               "parent_harvest": [str(p) for p in previous] or None}
    summary = {"schema_version": SCHEMA_VERSION, **counts, "train_rows": len(train), "anchors": len(anchor_rows),
               "anchors_trained": trained, "anchors_held_out": len(anchor_rows) - trained,
               "anchor_share": anchor_share, "benchmarks": sorted(benchmarks), "lineage": lineage,
               "lessons_overridden": overridden}
    write_json_atomic(out / "summary.json", summary)
    write_manifest(out, "surgery-harvest", parents=results + previous, command=command or [],
                   config={"anchors": anchors, "seed": seed, "anchor_share": anchor_share, "lineage": lineage,
                           "lessons_overridden": overridden})
    return summary


def _union_lesson(results: list[Path], models: dict, override_lessons: bool) -> list[str]:
    """Results of more than one model (the BD6.2 union) are refused unless overridden (recorded)."""
    union = _union(results, models)
    if not union:
        return []
    if not override_lessons:
        raise InputError(f"not the newest results of one model: {union}. A harvest trains the model on its own "
                         f"fresh failures. {UNION_LESSON}. Pass --override-lessons to harvest the union anyway "
                         "(recorded in the harvest and every card resting on it).", path=str(results[0]),
                         field="--results")
    return [f"union: {union} ({UNION_LESSON})"]


def _sort_first_samples(firsts: dict, benchmarks: dict, seen: set) -> tuple[dict, list[SftRow], list]:
    """(counts, training rows from failing tasks, passing tasks): each first sample is failing with
    a reference target, passing, or left out with its reason counted."""
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
        target = None if NO_TRAINING_MARK in licence else _target(problem)
        digest = hashlib.sha256(target.encode()).hexdigest() if target is not None else None
        if NO_TRAINING_MARK in licence:
            counts["licence_forbids_training"] += 1
        elif target is None:
            counts["no_reference"] += 1
        elif (bench, task, digest) in seen:
            counts["already_harvested"] += 1
        else:
            train.append(SftRow(benchmark=bench, task_id=task, kind="failure", prompt=problem.prompt,
                                completion=target, licence=licence, target_sha256=digest))
    return counts, train, passing


def _anchor_rows(passing: list, anchors: int, seed: int, counts: dict) -> list[SftRow]:
    """A deterministic sample of passing tasks, with the model's own passing program as target."""
    passing = sorted(passing, key=lambda x: hashlib.sha256(f"{seed}\0{x[0]}\0{x[1]}".encode()).hexdigest())
    rows = []
    for bench, task, problem, licence, r in passing[:anchors]:
        if NO_TRAINING_MARK in licence:
            counts["licence_forbids_training"] += 1
            continue
        completion = r.program[len(problem.prompt):] if r.program.startswith(problem.prompt) else r.program
        rows.append(SftRow(benchmark=bench, task_id=task, kind="anchor", prompt=problem.prompt, completion=completion,
                           licence=licence, target_sha256=hashlib.sha256(completion.encode()).hexdigest()))
    return rows


def _write_rows(out: Path, train: list[SftRow], anchor_rows: list[SftRow]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train.jsonl", train), ("anchors.jsonl", anchor_rows)):
        with atomic_writer(out / name) as fh:
            for row in rows:
                fh.write(row.model_dump_json() + "\n")
    for name, role in (("anchors.txt", "held_out"), ("anchors_trained.txt", "train")):
        with atomic_writer(out / name) as fh:
            fh.write("".join(anchor_name(r.benchmark, r.task_id) + "\n" for r in anchor_rows if r.role == role))


def anchors_to_train(train_rows: int, anchors: int, share: float) -> int:
    """How many anchors train as positive contrast: `share` of the training rows, rounded, and never
    more than half of the anchors (the other half at least stays held out for the gate)."""
    if not 0 <= share <= 1:
        raise InputError(f"--anchor-share must be between 0 and 1, got {share}", field="--anchor-share")
    return min(round(share * train_rows), anchors // 2)


def read_rows(path: Path) -> list[SftRow]:
    return [row for _, row in iter_models(path, SftRow, "harvest row")]


def summary_text(summary: dict) -> str:
    return (f"harvest: {summary['train_rows']} training row(s) from {summary['failing']} failing task(s); "
            f"{summary['anchors']} anchor(s) of {summary['passing']} passing ({summary['anchors_trained']} in training "
            f"as positive contrast, {summary['anchors_held_out']} held out); left out: {summary['no_reference']} "
            f"without a reference, {summary['licence_forbids_training']} whose licence forbids training, "
            f"{summary['already_harvested']} already harvested, {summary['not_evaluable']} not evaluable" +
            "".join(f"; LESSON OVERRIDDEN: {x}" for x in summary.get("lessons_overridden", [])))


def load_summary(out: Path) -> dict:
    return json.loads((Path(out) / "summary.json").read_text())
