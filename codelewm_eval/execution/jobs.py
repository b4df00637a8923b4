"""Turning a (problem, candidate program, budget) into a sandbox job, and the raw outcome
into a verdict. Pure functions; the pool does the running."""

from __future__ import annotations

import signal
from dataclasses import dataclass

from ..benchmarks.models import Problem
from ..sandbox.inside.candidate import VIOLATION_EXIT
from ..sandbox.inside.codec import decode_value, encode_value
from ..sandbox.pool import Limits, RawOutcome
from .compare import Opaque, outputs_match


@dataclass(frozen=True)
class Budget:
    """Time allowed for one candidate of one task, and why."""

    wall_s: float
    per_input_s: list[float] | None
    basis: str

    def scaled(self, factor: float) -> "Budget":
        per = [t * factor for t in self.per_input_s] if self.per_input_s else None
        return Budget(self.wall_s * factor, per, f"{self.basis}, x{factor:g} retry")


@dataclass
class Verdict:
    status: str
    passed: bool
    error: str | None
    base_passed: bool | None
    first_output: dict | None
    outputs: list | None = None
    input_seconds: list | None = None

    @property
    def inputs_run(self) -> int | None:
        return len(self.outputs) if self.outputs is not None else None


class StopAtFirstWrong:
    """`on_progress` of a streaming io job: compares each batch of outputs with the expected ones,
    outside the sandbox, and says stop at the first wrong one."""

    def __init__(self, problem: Problem, expected: list | None):
        self.problem, self.expected = problem, expected

    def __call__(self, first: int, outputs: list) -> bool:
        if self.expected is None:
            return True
        spec = self.problem.tests
        for k, tree in enumerate(outputs):
            i = first + k
            try:
                (out,) = decode_outputs([tree])
            except Exception:  # noqa: BLE001 - malformed: the final judgement says so
                return False
            if i >= len(self.expected) or not outputs_match(self.problem.benchmark, spec.entry_point or "",
                                                            list(spec.inputs[i]), out, self.expected[i], spec.atol):
                return False
        return True


def encode_inputs(problem: Problem) -> list:
    return [encode_value(list(args) if isinstance(args, (list, tuple)) else [args], {}) for args in problem.tests.inputs]


def build_job(problem: Problem, program: str, budget: Budget, limits: Limits,
              encoded_inputs: list | None = None, stream: bool = False) -> tuple[dict, dict]:
    """The job's header and tests; `stream`: an io job sends its outputs as it goes, so that the
    orchestrator can stop it at the first wrong one."""
    spec = problem.tests
    lim = Limits(wall_s=budget.wall_s, per_input_s=None, memory_mb=limits.memory_mb,
                 output_bytes=limits.output_bytes, nproc=limits.nproc).as_dict()
    header = {"program": program, "limits": lim}
    if spec.mode == "io":
        tests = {"mode": "io", "entry_point": spec.entry_point,
                 "inputs": encoded_inputs if encoded_inputs is not None else encode_inputs(problem),
                 "input_limits": budget.per_input_s, "stream": stream}
    else:
        tests = {"mode": spec.mode, "entry_point": spec.entry_point, "trusted_setup": spec.trusted_setup,
                 "test_code": spec.test_code, "call_check": spec.call_check}
    return header, tests


def decode_outputs(tree_list: list) -> list:
    return [decode_value(t, lambda ref_id, type_name: Opaque(type_name)) for t in tree_list]


def judge(problem: Problem, raw: RawOutcome, expected: list | None) -> Verdict:
    """The verdict, decided here, outside the sandbox."""
    meta = raw.meta or {}
    tester = raw.tester
    c_exit = meta.get("c_exit") or {}
    if meta.get("worker_died"):
        return Verdict("sandbox_violation", False, "the candidate brought down its sandbox worker", None, None)
    if c_exit.get("code") == VIOLATION_EXIT:
        return Verdict("sandbox_violation", False, "the candidate tried to leave its limits (a process, a signal, "
                       "the network, a resource limit, or a write outside its directory) and was ended there",
                       None, _first(tester))
    if c_exit.get("signal") == signal.SIGXFSZ or "File too large" in str((tester or {}).get("error")):
        return Verdict("sandbox_violation", False, "output limit exceeded", None, _first(tester))
    if tester is None:
        return Verdict("timeout", False, "the tester gave no answer within the wall-clock limit", None, None)
    status = tester.get("status")
    error = tester.get("error")
    first = _first(tester)
    if status == "runtime_error" and c_exit.get("signal") in (signal.SIGXCPU, signal.SIGKILL):
        return Verdict("timeout", False, "CPU time limit", None, first)
    if status == "runtime_error" and error and "MemoryError" in error:
        return Verdict("memory", False, error, None, first)
    if problem.tests.mode == "io":
        return _judge_io(problem, tester, expected, first)
    if status == "passed":
        return Verdict("passed", True, None, None, first)
    if status in ("failed", "timeout", "memory", "runtime_error", "syntax_error"):
        return Verdict(status, False, error, None, first)
    return Verdict("runtime_error", False, f"unexpected tester status {status!r}", None, first)


def _first(tester) -> dict | None:
    return tester.get("first_output") if isinstance(tester, dict) else None


def _judge_io(problem: Problem, tester: dict, expected: list | None, first) -> Verdict:
    spec = problem.tests
    if expected is None:
        return Verdict("not_evaluable", False, "no reference outputs: the canonical solution could not be run here",
                       None, first)
    status = tester.get("status")
    outputs_raw = tester.get("outputs") or []
    try:
        outputs = decode_outputs(outputs_raw)
    except Exception as exc:  # noqa: BLE001
        return Verdict("runtime_error", False, f"malformed outputs: {exc}", None, first)
    base_n = spec.base_input_count
    wrong = None
    if expected is not None:
        for i, out in enumerate(outputs):
            if not outputs_match(problem.benchmark, spec.entry_point or "", list(spec.inputs[i]), out, expected[i], spec.atol):
                wrong = i
                break
    if status != "completed":
        failed_at = tester.get("failed_input")
        stop = min(x for x in (wrong, failed_at) if x is not None) if (wrong is not None or failed_at is not None) else 0
        base_passed = stop >= base_n if base_n else None
        if wrong is not None and (failed_at is None or wrong < failed_at):
            return Verdict("failed", False, f"input {wrong}: wrong output", base_passed, first, outputs)
        s = status if status in ("timeout", "memory", "runtime_error", "syntax_error") else "runtime_error"
        return Verdict(s, False, tester.get("error"), base_passed, first, outputs)
    if len(outputs) != len(expected):
        return Verdict("runtime_error", False, "output count differs from input count", None, first, outputs)
    if wrong is not None:
        return Verdict("failed", False, f"input {wrong}: wrong output", wrong >= base_n, first, outputs)
    return Verdict("passed", True, None, True, first, outputs, tester.get("input_seconds"))
