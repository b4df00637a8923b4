"""Turning a (problem, candidate program, budget) into a sandbox job, and the raw outcome
into a verdict. Pure functions; the pool does the running."""

from __future__ import annotations

import json
import signal
import threading
from collections import OrderedDict
from dataclasses import dataclass

from ..benchmarks.models import Problem
from ..sandbox.inside.candidate import VIOLATION_EXIT
from ..sandbox.inside.codec import decode_value, encode_value
from ..sandbox.pool import Limits, RawOutcome
from .compare import MBPP_OUTPUT_NOT_NONE, Opaque, outputs_match, special_oracle


@dataclass(frozen=True)
class Budget:
    """Time allowed for one candidate of one task, and why."""

    wall_s: float
    per_input_s: list[float] | None
    basis: str
    input_costs: list[float] | None = None  # the canonical solution's CPU seconds per input: batch sizes

    def scaled(self, factor: float) -> "Budget":
        per = [t * factor for t in self.per_input_s] if self.per_input_s else None
        return Budget(self.wall_s * factor, per, f"{self.basis}, x{factor:g} retry", self.input_costs)


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


class Oracle:
    """A task's expected outputs. A candidate's output is first compared as the JSON bytes it
    crossed the sandbox in: the same bytes as the reference's are the same value, so where the
    task's oracle is plain equality (no special oracle, no NaN, no value left behind in the
    candidate process) that is the verdict, and only different bytes are parsed and judged.
    `expected` (decoded values) or `raw` (the reference run's outputs as JSON bytes, parsed
    only where a candidate's differ)."""

    def __init__(self, problem: Problem, expected: list | None, raw: list | None = None):
        self.problem, self.raw = problem, raw
        self._expected = expected
        self._decoded: dict[int, object] = {}
        self._blobs: dict[int, bytes | None] = {}
        self.count = len(raw) if raw is not None else len(expected) if expected is not None else None
        self._fast = raw is not None and not special_oracle(problem.benchmark, problem.tests.entry_point or "")

    @property
    def available(self) -> bool:
        return self.count is not None

    def expected(self, i: int):
        if self._expected is not None:
            return self._expected[i]
        if i not in self._decoded:
            self._decoded[i] = expected_value(self.problem, json.loads(self.raw[i]))
        return self._decoded[i]

    def _plain_blob(self, i: int) -> bytes | None:
        """The i-th expected output's bytes, when equal bytes mean a match: no NaN (unequal to itself) and no reference (equal to nothing) in it. A string
        that merely looks like one only costs the slow path."""
        if i not in self._blobs:
            blob = self.raw[i]
            self._blobs[i] = blob if b'"$":"ref"' not in blob and b'"nan"' not in blob else None
        return self._blobs[i]

    def matches(self, i: int, blob: bytes) -> bool:
        if self.count is None or i >= self.count:
            return False
        if self._fast and blob == self._plain_blob(i):
            return True
        try:
            out = parse_output(blob)
        except Exception:  # noqa: BLE001 - malformed: wrong
            return False
        spec = self.problem.tests
        return outputs_match(self.problem.benchmark, spec.entry_point or "", list(spec.inputs[i]), out,
                             self.expected(i), spec.atol)


def expected_value(problem: Problem, tree):
    """One expected output from the reference's tagged JSON."""
    (out,) = decode_outputs([tree])
    if problem.benchmark == "mbpp-plus" and problem.entry_point in MBPP_OUTPUT_NOT_NONE:
        return out is not None  # these tasks return match objects: the oracle is whether there was a match
    return out


class OutputCheck:
    """One candidate's outputs against its task's oracle, in order, each compared once. As the
    `on_progress` of a streaming io job it says stop at the first wrong output."""

    def __init__(self, oracle: Oracle):
        self.oracle, self.checked, self.wrong = oracle, 0, None

    def __call__(self, first: int, outputs: list) -> bool:
        if self.wrong is None and first == self.checked:
            self.first_wrong(outputs, first)
        return self.wrong is None

    def first_wrong(self, outputs: list, offset: int = 0) -> int | None:
        """The first wrong among everything seen so far; `outputs` starts at index `offset`."""
        for i in range(max(self.checked, offset), offset + len(outputs)):
            if self.wrong is not None:
                break
            if not self.oracle.matches(i, outputs[i - offset]):
                self.wrong = i
            self.checked = i + 1
        return self.wrong


_ENCODED: OrderedDict = OrderedDict()  # id(spec) -> (spec, its inputs list, their count, encoded); holding the spec keeps its id
_ENCODED_HELD = 512
_ENCODED_LOCK = threading.Lock()


def encode_inputs(problem: Problem) -> list:
    """A task's io inputs as tagged JSON, encoded once while the same list of inputs stands (the
    reference key, the reference run and the executor all ask for them)."""
    spec = problem.tests
    with _ENCODED_LOCK:
        cached = _ENCODED.get(id(spec))
        if cached is not None and cached[0] is spec and cached[1] is spec.inputs and cached[2] == len(spec.inputs):
            _ENCODED.move_to_end(id(spec))
            return cached[3]
    encoded = [encode_value(list(args) if isinstance(args, (list, tuple)) else [args], {}) for args in spec.inputs]
    with _ENCODED_LOCK:
        _ENCODED[id(spec)] = (spec, spec.inputs, len(spec.inputs), encoded)
        if len(_ENCODED) > _ENCODED_HELD:
            _ENCODED.popitem(last=False)
    return encoded


def build_job(problem: Problem, program: str, budget: Budget, limits: Limits,
              encoded_inputs: list | None = None, stream: bool = False, inputs_key: str | None = None
              ) -> tuple[dict, dict]:
    """The job's header and tests; `stream`: an io job sends its outputs as it goes, so that the
    orchestrator can stop it at the first wrong one, and runs its inputs in batches (see
    `sandbox.inside.tester`); without it every input is timed alone, as reference runs need."""
    spec = problem.tests
    lim = Limits(wall_s=budget.wall_s, per_input_s=None, memory_mb=limits.memory_mb,
                 output_bytes=limits.output_bytes, nproc=limits.nproc).as_dict()
    header = {"program": program, "limits": lim}
    if spec.mode == "io":
        tests = {"mode": "io", "entry_point": spec.entry_point,
                 "inputs": encoded_inputs if encoded_inputs is not None else encode_inputs(problem),
                 "input_limits": budget.per_input_s, "stream": stream,
                 "batch": stream and budget.input_costs is not None, "input_costs": budget.input_costs,
                 # long strings cross as digests where equal strings are the only match
                 "digest_strings": not special_oracle(problem.benchmark, spec.entry_point or "")}
        if inputs_key:
            tests["inputs_key"] = inputs_key  # the pool sends each task's inputs once per worker
    else:
        tests = {"mode": spec.mode, "entry_point": spec.entry_point, "trusted_setup": spec.trusted_setup,
                 "test_code": spec.test_code, "call_check": spec.call_check}
    return header, tests


def decode_outputs(tree_list: list) -> list:
    return [decode_value(t, lambda ref_id, type_name: Opaque(type_name)) for t in tree_list]


def judge(problem: Problem, raw: RawOutcome, expected: list | None, check: OutputCheck | None = None) -> Verdict:
    """The verdict, decided here, outside the sandbox. io benchmarks: against `expected`, or through
    `check`, the candidate's own comparison so far (each output is compared once)."""
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
        if check is None and expected is not None:
            check = OutputCheck(Oracle(problem, expected))
        return _judge_io(problem, tester, raw.outputs or [], check, first)
    if status == "passed":
        return Verdict("passed", True, None, None, first)
    if status in ("failed", "timeout", "memory", "runtime_error", "syntax_error"):
        return Verdict(status, False, error, None, first)
    return Verdict("runtime_error", False, f"unexpected tester status {status!r}", None, first)


def _first(tester) -> dict | None:
    return tester.get("first_output") if isinstance(tester, dict) else None


def parse_output(blob: bytes):
    """One io output from the candidate's JSON bytes to a genuine builtin value (ValueError,
    DecodeError or RecursionError when it is malformed)."""
    return decode_outputs([json.loads(blob)])[0]


def _decodes(blob: bytes) -> bool:
    try:
        parse_output(blob)
    except Exception:  # noqa: BLE001
        return False
    return True


def _judge_io(problem: Problem, tester: dict, trees: list, check: OutputCheck | None, first) -> Verdict:
    """Outputs are in order: the first wrong one decides, unless the candidate failed before it.
    A failing candidate's `outputs` end at that input, whatever ran after it."""
    spec = problem.tests
    if check is None or not check.oracle.available:
        return Verdict("not_evaluable", False, "no reference outputs: the canonical solution could not be run here",
                       None, first)
    status = tester.get("status")
    base_n = spec.base_input_count
    wrong = check.first_wrong(trees)
    failed_at = tester.get("failed_input") if status != "completed" else None
    if wrong is not None and (type(failed_at) is not int or wrong < failed_at):
        if not _decodes(trees[wrong]):
            return Verdict("runtime_error", False, f"input {wrong}: malformed output", None, first, trees[:wrong + 1])
        base_passed = wrong >= base_n if status == "completed" or base_n else None
        return Verdict("failed", False, f"input {wrong}: wrong output", base_passed, first, trees[:wrong + 1])
    if status != "completed":
        stop = failed_at if type(failed_at) is int else 0
        s = status if status in ("timeout", "memory", "runtime_error", "syntax_error") else "runtime_error"
        return Verdict(s, False, tester.get("error"), stop >= base_n if base_n else None, first, trees)
    if len(trees) != check.oracle.count:
        return Verdict("runtime_error", False, "output count differs from input count", None, first, trees)
    return Verdict("passed", True, None, True, first, trees, tester.get("input_seconds"))
