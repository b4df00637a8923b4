"""`execute`: run candidates through the sandbox and write one record per candidate.

Resumable: finished records go to ``OUT.partial`` (one flushed line each, behind a header
that names the run); a killed run started again with the same arguments skips what is
there, and the final file is written atomically in the candidates' input order, so it
equals an uninterrupted run's (but for the measured wall time and memory).

Each candidate runs once. Its time budget is CPU seconds (the candidate's and its tests'; see
`sandbox.inside.tester.CpuWindow`), so a loaded machine slows a run without changing its
statuses, and an infinite loop costs its budget in CPU, not a retry on top of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm

from ..benchmarks.models import Benchmark
from ..candidates.models import Candidate
from ..fingerprint import normalized_ast
from ..io import atomic_writer, check_output, default_cache_dir
from ..log import get as _get_logger
from ..sandbox.pool import Limits, SandboxPool
from .jobs import Budget, Oracle, OutputCheck, build_job, encode_inputs, judge
from .passk import pass_at_k_table
from .reference import (
    EXECUTOR_VERSION,
    Reference,
    budget_for,
    ensure_references,
)
from .results import ExecutionResult, buckets_of

_log = _get_logger(__name__)

PROVENANCE_HERE = "executed here"


def run_key(benchmark: Benchmark, candidates: list[Candidate], limits: Limits) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"benchmark": benchmark.name, "version": benchmark.version, "sha": benchmark.source_sha256,
                         "memory_mb": limits.memory_mb, "output_bytes": limits.output_bytes,
                         "executor": EXECUTOR_VERSION}).encode())
    for c in candidates:
        h.update(c.candidate_id.encode())
        h.update(hashlib.sha256(c.program.encode("utf-8", "surrogatepass")).digest())
    return h.hexdigest()


class PartialLog:
    """Append-only log of finished records behind a header line naming the run."""

    def __init__(self, path: Path, key: str):
        self.path = path
        self.key = key
        self.done: dict[str, dict] = {}
        self._lock = threading.Lock()
        if path.exists():
            self._load()
        if not self.done:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(json.dumps({"partial_of": key}) + "\n")
        self._fh = open(path, "a", encoding="utf-8")

    def _load(self) -> None:
        good_bytes = 0
        with open(self.path, "rb") as fh:
            lines = fh.read().split(b"\n")
        try:
            header = json.loads(lines[0])
        except ValueError:
            header = {}
        if header.get("partial_of") != self.key:
            _log.warning("note: %s belongs to a different run; starting over", self.path)
            return
        good_bytes = len(lines[0]) + 1
        for raw in lines[1:]:
            if not raw.strip():
                continue
            try:
                rec = json.loads(raw)
                self.done[rec["candidate_id"]] = rec
            except (ValueError, KeyError, TypeError):
                break  # a torn last line from a kill: drop it and everything after
            good_bytes += len(raw) + 1
        with open(self.path, "r+b") as fh:
            fh.truncate(good_bytes)

    def add(self, record: dict) -> None:
        line = json.dumps(record, sort_keys=True) + "\n"
        with self._lock:
            self._fh.write(line)
            self._fh.flush()
            self.done[record["candidate_id"]] = record

    def close(self) -> None:
        self._fh.close()


def ingested_result(benchmark: Benchmark, cand: Candidate) -> ExecutionResult:
    """Benchmarks without tests here (LiveCodeBench): the upstream grade, marked as such."""
    passed = bool(cand.upstream_passed)
    return ExecutionResult(
        benchmark=benchmark.name, task_id=cand.task_id, candidate_id=cand.candidate_id, passed=passed,
        status="passed" if passed else "failed", isolation="not executed here",
        label_provenance=f"graded upstream by {cand.upstream_status or 'the upstream harness'}",
        program=cand.program, program_ast=normalized_ast(cand.program), origin=cand.origin,
        upstream_passed=cand.upstream_passed, upstream_status=cand.upstream_status)


class Executor:
    def __init__(self, pool: SandboxPool, benchmark: Benchmark, refs: dict[str, Reference], limits: Limits):
        self.pool, self.benchmark, self.refs, self.limits = pool, benchmark, refs, limits
        self._inputs: dict[str, tuple[list, str | None]] = {}
        self._oracles: dict[str, Oracle | None] = {}
        self._budgets: dict[str, Budget] = {}
        self._lock = threading.Lock()

    def _prepared(self, task_id: str) -> tuple[tuple[list, str | None], Oracle | None, Budget]:
        """A task's encoded inputs and their key (the pool sends them, with their limits and costs,
        once per worker), its oracle and its time budget."""
        with self._lock:
            if task_id not in self._inputs:
                problem = self.benchmark.problems[task_id]
                io = problem.tests.mode == "io"
                ref = self.refs.get(task_id)
                budget = self._budgets[task_id] = budget_for(problem, ref)
                inputs = encode_inputs(problem) if io else []
                key = hashlib.sha256(json.dumps([inputs, budget.per_input_s, budget.input_costs]).encode()
                                     ).hexdigest()[:32] if io else None
                self._inputs[task_id] = (inputs, key)
                raw = ref.outputs if io and ref is not None and ref.ok else None
                self._oracles[task_id] = Oracle(problem, None, raw) if io else None
            return self._inputs[task_id], self._oracles[task_id], self._budgets[task_id]

    def run_one(self, cand: Candidate) -> ExecutionResult:
        problem = self.benchmark.problems[cand.task_id]
        if problem.tests.mode == "none":
            return ingested_result(self.benchmark, cand)
        inputs, oracle, budget = self._prepared(cand.task_id)
        verdict, raw = self._attempt(problem, cand, budget, inputs, oracle)
        attempts = 1
        magnitude, length = buckets_of(verdict.first_output)
        meta = raw.meta or {}
        return ExecutionResult(
            benchmark=self.benchmark.name, task_id=cand.task_id, candidate_id=cand.candidate_id,
            passed=verdict.passed, status=verdict.status, error=(verdict.error or None) and str(verdict.error)[:500],
            wall_time_s=meta.get("wall_s"), peak_memory_mb=meta.get("peak_memory_mb"),
            output_magnitude_bucket=magnitude, output_length_bucket=length, base_passed=verdict.base_passed,
            inputs_run=verdict.inputs_run if problem.tests.mode == "io" else None,
            time_budget_s=round(budget.wall_s, 4), time_budget_basis=budget.basis, attempts=attempts,
            isolation=raw.isolation, label_provenance=PROVENANCE_HERE, program=cand.program,
            program_ast=normalized_ast(cand.program), origin=cand.origin,
            upstream_passed=cand.upstream_passed, upstream_status=cand.upstream_status)

    def _attempt(self, problem, cand, budget, inputs, oracle: Oracle | None):
        stream = oracle is not None and oracle.available
        check = OutputCheck(oracle) if oracle is not None else None
        header, tests = build_job(problem, cand.program, budget, self.limits, inputs[0], stream=stream,
                                  inputs_key=inputs[1])
        raw = self.pool.run(header, tests, check if stream else None)
        return judge(problem, raw, None, check), raw


def execute(benchmark: Benchmark, candidates: list[Candidate], out: Path, *, workers: int | None = None,
            cache_dir: Path | None = None, limits: Limits | None = None, isolation: str = "auto",
            progress: bool = True) -> dict:
    """Run every candidate; write OUT atomically; return the summary."""
    out = check_output(out)
    check_output(out.with_name(out.name + ".partial"))
    limits = limits or Limits()
    cache_dir = cache_dir or default_cache_dir()
    started = time.monotonic()
    out.parent.mkdir(parents=True, exist_ok=True)
    partial_path = out.with_name(out.name + ".partial")
    log = PartialLog(partial_path, run_key(benchmark, candidates, limits))
    pending = [c for c in candidates if c.candidate_id not in log.done]
    resumed = len(candidates) - len(pending)
    needs_sandbox = any(benchmark.problems[c.task_id].tests.mode != "none" for c in pending)
    pool = SandboxPool(workers, limits, isolation) if needs_sandbox else None
    try:
        refs: dict[str, Reference] = {}
        if pool is not None:
            tasks = sorted({c.task_id for c in pending})
            with tqdm(total=len(tasks), desc="reference runs", unit="task", disable=not progress, leave=False) as bar:
                refs = ensure_references(pool, benchmark, tasks, cache_dir, limits, progress=bar.update)
        executor = Executor(pool, benchmark, refs, limits)  # type: ignore[arg-type]
        bar = tqdm(total=len(candidates), initial=resumed, desc=f"execute {benchmark.name}", unit="cand",
                   disable=not progress, smoothing=0.05)
        threads = pool.size if pool is not None else 1
        ex = ThreadPoolExecutor(max_workers=threads)
        try:
            futures = [ex.submit(executor.run_one, c) for c in pending]
            for fut in as_completed(futures):
                log.add(fut.result().model_dump(mode="json"))
                bar.update(1)
        except BaseException:
            # SIGTERM, Ctrl-C or a failure: queued candidates are dropped (finished ones are in
            # the partial log), and closing the sandbox ends the running ones at once
            ex.shutdown(wait=False, cancel_futures=True)
            if pool is not None:
                pool.close()
            raise
        finally:
            ex.shutdown(wait=True)
        bar.close()
    finally:
        log.close()
        if pool is not None:
            pool.close()
    records = [ExecutionResult.model_validate(log.done[c.candidate_id]) for c in candidates]
    with atomic_writer(out) as fh:
        for r in records:
            fh.write(json.dumps(r.model_dump(mode="json"), sort_keys=True) + "\n")
    os.unlink(partial_path)
    summary = summarize(benchmark, records, refs if pool is not None else {})
    summary.update({"out": str(out), "resumed_records": resumed, "seconds": round(time.monotonic() - started, 2),
                    "isolation": records[0].isolation if records else None})
    if pending and summary["seconds"] > 0:
        summary["candidates_per_second"] = round(len(pending) / summary["seconds"], 1)
    return summary


def summarize(benchmark: Benchmark, records: list[ExecutionResult], refs: dict[str, Reference]) -> dict:
    statuses = Counter(r.status for r in records)
    not_evaluable = {r.task_id for r in records if r.status == "not_evaluable"}
    labelled = [r for r in records if r.upstream_passed is not None]
    agree = sum(1 for r in labelled if r.upstream_passed == r.passed)
    summary = {
        "schema_version": 1,
        "benchmark": benchmark.name,
        "benchmark_version": benchmark.version,
        "candidates": len(records),
        "tasks": len({r.task_id for r in records}),
        "passed": sum(r.passed for r in records),
        "status_counts": dict(sorted(statuses.items())),
        "pass_at_k": pass_at_k_table([r for r in records if r.task_id not in not_evaluable]),
        "not_evaluable_tasks": sorted(not_evaluable),
        "reference_failures": sorted(t for t, ref in refs.items() if not ref.ok),
    }
    if labelled:
        summary["upstream_agreement"] = {
            "labelled": len(labelled), "agree": agree, "rate": round(agree / len(labelled), 6),
            "passed_here_failed_upstream": sum(1 for r in labelled if r.passed and not r.upstream_passed),
            "failed_here_passed_upstream": sum(1 for r in labelled if not r.passed and r.upstream_passed),
        }
    return summary
