"""Reference runs of canonical solutions: expected outputs for io benchmarks (computed in the
sandbox, cached by content hash, never shown to candidates) and the canonical runtimes
that set each task's time budget.

Only successful reference runs are cached (keyed by content and the executor version). A failed
or timed-out run (a loaded machine, a slow MBPP+ input) is retried at once with RETRY_FACTOR times
the budget, reported, and never cached as a failure: a later run computes it afresh rather than
finding the task `not_evaluable` forever."""

from __future__ import annotations

import hashlib
import json
import logging
import struct
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import BaseModel, PrivateAttr

from ..benchmarks.models import Benchmark, Problem
from ..io import atomic_writer, write_json_atomic
from ..sandbox.pool import Limits, SandboxPool
from ..versions import EXECUTOR_VERSION  # expected outputs are keyed to it
from .jobs import Budget, build_job, encode_inputs

log = logging.getLogger(__name__)
CACHE_VERSION = 2  # failures are never cached (filtered on load and on save); 2: outputs beside the index
FLOOR_S = 1.0          # no task gets less than this (per input for io benchmarks)
FACTOR = 4.0           # times the canonical solution's measured runtime
DEFAULT_WALL_S = 3.0   # tasks without a canonical solution
REFERENCE_BUDGET = Budget(wall_s=120.0, per_input_s=None, basis="reference run")
RETRY_FACTOR = 4.0     # a reference that failed is run once more with this much more time


class Reference(BaseModel):
    key: str
    ok: bool
    error: str | None = None
    attempts: int = 1
    test_seconds: float | None = None    # CPU seconds of the canonical solution and its tests
    input_seconds: list[float] | None = None  # CPU seconds per input
    outputs_sha256: str | None = None    # io: the digest of the outputs file beside the cache
    _outputs: list[bytes] | None = PrivateAttr(default=None)
    _unsaved: bool = PrivateAttr(default=False)  # outputs from this run's reference run, not yet on disk

    @property
    def outputs(self) -> list[bytes] | None:
        """io: each expected output as the sandbox's codec wrote it (JSON bytes)."""
        return self._outputs

    def with_outputs(self, outputs: list[bytes] | None) -> "Reference":
        self._outputs = outputs
        self.outputs_sha256 = hashlib.sha256(pack_outputs(outputs)).hexdigest() if outputs is not None else None
        self._unsaved = outputs is not None
        return self


def pack_outputs(outputs: list[bytes]) -> bytes:
    return b"".join(struct.pack(">I", len(blob)) + blob for blob in outputs)


def unpack_outputs(data: bytes) -> list[bytes]:
    out, at, view = [], 0, memoryview(data)
    while at < len(data):
        (n,) = struct.unpack_from(">I", data, at)
        out.append(bytes(view[at + 4:at + 4 + n]))
        at += 4 + n
    return out


def reference_key(problem: Problem) -> str:
    spec = problem.tests
    h = hashlib.sha256()
    payload = {"v": CACHE_VERSION, "executor": EXECUTOR_VERSION, "benchmark": problem.benchmark, "task": problem.task_id,
               "canonical": problem.canonical_solution, "mode": spec.mode, "setup": spec.trusted_setup,
               "test": spec.test_code, "inputs": encode_inputs(problem) if spec.mode == "io" else None}
    h.update(json.dumps(payload, sort_keys=True).encode())
    return h.hexdigest()


def budget_for(problem: Problem, ref: Reference | None) -> Budget:
    if problem.canonical_solution is None or ref is None or not ref.ok:
        return Budget(DEFAULT_WALL_S, None, "default (no canonical runtime)")
    if problem.tests.mode == "io":
        per = [max(FLOOR_S, FACTOR * t) for t in (ref.input_seconds or [])]
        return Budget(sum(per) + 1.0, per, f"max({FLOOR_S:g}s, {FACTOR:g}x canonical) per input", ref.input_seconds)
    return Budget(max(FLOOR_S, FACTOR * (ref.test_seconds or 0.0)), None, f"max({FLOOR_S:g}s, {FACTOR:g}x canonical)")


class ReferenceCache:
    """An index (JSON) of the reference runs that succeeded, and, beside it, one file per io task
    of its expected outputs as raw bytes: read without parsing, checked against the digest in the
    index (a file edited by hand or cut short is recomputed, never trusted)."""

    def __init__(self, cache_dir: Path, benchmark: Benchmark):
        stem = f"{benchmark.name}-{benchmark.source_sha256[:16]}"
        self.path = Path(cache_dir) / f"reference-v{CACHE_VERSION}" / f"{stem}.json"
        self.outputs_dir = self.path.parent / f"{stem}.outputs"
        self.entries: dict[str, Reference] = {}
        if self.path.exists():
            try:
                raw = json.loads(self.path.read_text())
                self.entries = {k: Reference.model_validate(v) for k, v in raw.items()}
            except (ValueError, OSError):
                self.entries = {}  # a damaged cache is recomputed, never trusted
        self.entries = {k: v for k, v in self.entries.items() if v.ok}  # a cached failure is never reused

    def _outputs_file(self, ref: Reference) -> Path:
        return self.outputs_dir / f"{ref.key}.bin"

    def get(self, problem: Problem) -> Reference | None:
        ref = self.entries.get(problem.task_id)
        if ref is None or ref.key != reference_key(problem):
            return None
        if ref.outputs_sha256 is not None and ref.outputs is None:
            try:
                data = self._outputs_file(ref).read_bytes()
            except OSError:
                return None
            if hashlib.sha256(data).hexdigest() != ref.outputs_sha256:
                log.warning("reference outputs of %s/%s do not match their digest: computed again", problem.benchmark,
                            problem.task_id)
                return None
            ref._outputs = unpack_outputs(data)
        return ref

    def save(self) -> None:
        self.outputs_dir.mkdir(parents=True, exist_ok=True)
        for ref in self.entries.values():
            if ref.ok and ref._unsaved:  # replaces a file that no longer matched its digest, too
                with atomic_writer(self._outputs_file(ref), "wb") as fh:
                    fh.write(pack_outputs(ref.outputs))
                ref._unsaved = False
        write_json_atomic(self.path, {k: v.model_dump() for k, v in sorted(self.entries.items()) if v.ok})


def run_reference(pool: SandboxPool, problem: Problem, limits: Limits) -> Reference:
    """The reference run; a failure is retried once with RETRY_FACTOR times the budget."""
    ref = _run_reference(pool, problem, limits, 1.0)
    if not ref.ok:
        first = ref.error
        ref = _run_reference(pool, problem, limits, RETRY_FACTOR)
        ref.attempts = 2
        if ref.ok:
            log.warning("reference run of %s/%s failed (%s); retried with %gx the time: ok", problem.benchmark,
                        problem.task_id, first, RETRY_FACTOR)
        else:
            log.warning("reference run of %s/%s failed twice (%s; with %gx the time: %s): the task is not "
                        "evaluable in this run; nothing cached", problem.benchmark, problem.task_id, first,
                        RETRY_FACTOR, ref.error)
    return ref


def _run_reference(pool: SandboxPool, problem: Problem, limits: Limits, scale: float) -> Reference:
    key = reference_key(problem)
    budget = Budget(wall_s=REFERENCE_BUDGET.wall_s * scale, per_input_s=None, basis=REFERENCE_BUDGET.basis)
    header, tests = build_job(problem, problem.canonical_solution or "", budget, limits)
    if problem.tests.mode == "io":
        tests["input_limits"] = [30.0 * scale] * len(problem.tests.inputs)
        header["limits"]["wall_s"] = 30.0 * scale + 2.0 * scale * len(problem.tests.inputs)
        header["limits"]["cpu_s"] = header["limits"]["wall_s"] + 1
    raw = pool.run(header, tests)
    tester = raw.tester or {}
    status = tester.get("status")
    if problem.tests.mode == "io":
        ok = status == "completed"
        return Reference(key=key, ok=ok, error=None if ok else tester.get("error") or "no answer",
                         test_seconds=_cpu_seconds(tester),
                         input_seconds=tester.get("input_seconds")).with_outputs(raw.outputs if ok else None)
    ok = status == "passed"
    return Reference(key=key, ok=ok, error=None if ok else f"{status}: {tester.get('error')}",
                     test_seconds=_cpu_seconds(tester))


def _cpu_seconds(tester: dict) -> float | None:
    """Budgets are CPU seconds (see sandbox.inside.tester): the canonical run's CPU time."""
    cpu = tester.get("test_cpu_s")
    return cpu if cpu is not None else tester.get("test_seconds")


def ensure_references(pool: SandboxPool, benchmark: Benchmark, task_ids: list[str], cache_dir: Path,
                      limits: Limits, progress=None) -> dict[str, Reference]:
    """References for the given tasks, computing (in parallel) only what the cache lacks."""
    cache = ReferenceCache(cache_dir, benchmark)
    out: dict[str, Reference] = {}
    missing = []
    for tid in task_ids:
        problem = benchmark.problems[tid]
        if problem.canonical_solution is None:
            continue
        ref = cache.get(problem)
        if ref is None:
            missing.append(problem)
        else:
            out[tid] = ref
    if missing:
        with ThreadPoolExecutor(max_workers=pool.size) as ex:
            for problem, ref in zip(missing, ex.map(lambda p: run_reference(pool, p, limits), missing)):
                out[problem.task_id] = ref
                if ref.ok:
                    cache.entries[problem.task_id] = ref
                if progress is not None:
                    progress(1)
        cache.save()
    return out
