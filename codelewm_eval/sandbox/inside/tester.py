"""T's side of a job: drive the candidate through trusted tests over plain-data RPC."""

from __future__ import annotations

import builtins
import ctypes
import json
import math
import os
import pickle
import struct
import sys
import time
import types

from .candidate import _resolve_ref
from .codec import DecodeError, Digest, decode_value
from .framing import FrameReader, write_frame


class CandidateError(Exception):
    """An exception raised inside the candidate process whose type is not a builtin one."""


class CandidateTimeout(BaseException):
    """The candidate did not answer within its budget (not catchable by test code)."""


class CandidateGone(BaseException):
    """The candidate process died or broke the protocol (not catchable by test code)."""


# A time budget is CPU seconds: what the candidate process (and the children it reaped) and T's
# trusted tests used since the job began. A loaded machine slows the wall clock, not the CPU
# clock, so a status does not follow the load. The wall clock is capped at WALL_CAP_FACTOR times
# the budget, for candidates that sleep or block without using CPU.
WALL_CAP_FACTOR = 5.0
_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float | None:
    """utime + stime + cutime + cstime of `pid`, from /proc (None when unreadable)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read()
        fields = raw[raw.rindex(b")") + 2:].split()
        return sum(int(x) for x in fields[11:15]) / _TICKS
    except (OSError, ValueError, IndexError):
        return None


class CpuWindow:
    """One budget: `remaining()` is how long T may wait before it must look again (0: spent).

    While the wall clock since the window opened is under the budget, the CPU used cannot be
    over it (T and the candidate take turns), so /proc is read only once the budget's worth of
    wall time has passed: a candidate that answers in time costs no reading at all."""

    def __init__(self, pid: int | None, budget_s: float, overlap: int = 1):
        # overlap: how many of the counted processes may run at once (2 while T reads a batch's
        # results as the candidate computes the next: CPU can then grow twice as fast as the wall)
        self.pid, self.budget_s, self.overlap = pid, budget_s, overlap
        self.wall0 = time.monotonic()
        self.wall_end = self.wall0 + WALL_CAP_FACTOR * budget_s
        self.t_cpu0 = time.process_time()
        self.c_cpu0 = process_cpu_seconds(pid) if pid else None

    def cpu_used(self) -> float:
        c_cpu = process_cpu_seconds(self.pid) if self.pid else None
        if c_cpu is None or self.c_cpu0 is None:
            return time.monotonic() - self.wall0  # no /proc: the wall clock stands in
        return (time.process_time() - self.t_cpu0) + (c_cpu - self.c_cpu0)

    def remaining(self) -> float:
        now = time.monotonic()
        wall_left = self.wall_end - now
        if wall_left <= 0:
            return 0.0
        optimistic = (self.budget_s - self.overlap * (now - self.wall0)) / self.overlap
        if optimistic > 0:
            return min(wall_left, optimistic)
        cpu_left = self.budget_s - self.cpu_used()
        if cpu_left <= 0:
            return 0.0
        return min(wall_left, max(cpu_left / self.overlap, 0.01))  # /proc counts in clock ticks


class Channel:
    def __init__(self, call_w: int, reply_r: int, windows: list[CpuWindow]):
        self.call_w = call_w
        self.reply_r = reply_r
        self.replies = FrameReader(reply_r)
        self.windows = windows
        self.first_output = None
        self.calls = 0
        self.digest_huge = False  # io benchmarks: huge outputs cross as digests
        self.digest_strings = False  # and, where the oracle is plain equality, long strings too

    def receive(self):
        raw = self.receive_raw()
        try:
            return json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise CandidateGone(f"malformed reply ({type(exc).__name__})") from None

    def receive_raw(self) -> bytes:
        """The next reply frame. One already read arrived within its windows (bytes are read only
        while they are open), so it is taken without looking at the clocks again."""
        try:
            while not self.replies.has_frame():
                left = min(w.remaining() for w in self.windows)
                if left <= 0:
                    raise CandidateTimeout()
                self.replies.wait(left)
            return self.replies.take()
        except (EOFError, ValueError, OSError, struct.error) as exc:
            raise CandidateGone(f"candidate process ended ({type(exc).__name__})") from None

    def more_waiting(self) -> bool:
        """Whether another whole reply is already here (then the one before needs no CPU mark)."""
        try:
            return self.replies.has_frame()
        except ValueError:
            return False

    def receive_output(self) -> bytes:
        """An io output as the candidate's own JSON bytes, unparsed: T only forwards it, and the
        orchestrator parses each output alone (a reply cannot reach into another's structure)."""
        raw = self.receive_raw()
        if raw.startswith(b'{"ok":') and raw.endswith(b"}"):
            return raw[6:-1]
        try:
            tree = json.loads(raw)
        except (ValueError, RecursionError):
            raise CandidateGone("malformed reply") from None
        self.raise_for(tree)
        raise CandidateGone("malformed reply")

    def send(self, op: str, ref_id: int, args=(), kwargs=None) -> None:
        options = {"digest": self.digest_huge, "digest_strings": self.digest_strings}
        payload = pickle.dumps((op, ref_id, tuple(args), dict(kwargs or {}), options), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            write_frame(self.call_w, payload)
        except OSError:
            raise CandidateGone("candidate process ended") from None

    def request(self, op: str, ref_id: int, args=(), kwargs=None):
        self.send(op, ref_id, args, kwargs)
        return self.decoded(self.receive_ok(), count_call=op == "call")

    def decoded(self, tree, count_call: bool = False):
        try:
            value = decode_value(tree, self.make_ref)
        except (DecodeError, ValueError, TypeError, RecursionError) as exc:
            raise CandidateGone(f"malformed value: {exc}") from None
        if count_call:
            self.calls += 1
            if self.calls == 1:
                self.first_output = summarize(value)
        return value

    def receive_ok(self):
        """The next reply's value as tagged JSON, undecoded; the candidate's exception raised."""
        tree = self.receive()
        if type(tree) is dict and "ok" in tree:
            return tree["ok"]
        self.raise_for(tree)

    def raise_for(self, tree) -> None:
        """Raise the exception a reply reports (malformed: the candidate is gone)."""
        if type(tree) is not dict:
            raise CandidateGone("malformed reply")
        exc = tree.get("exc")
        if type(exc) is list and len(exc) == 2 and all(type(x) is str for x in exc):
            name, message = exc
            cls = getattr(builtins, name, None)
            if isinstance(cls, type) and issubclass(cls, Exception) and cls.__module__ == "builtins":
                raise cls(message)
            raise CandidateError(f"{name}: {message}")
        raise CandidateGone("malformed reply")

    def make_ref(self, ref_id: int, type_name: str):
        return RemoteRef(self, ref_id, type_name)


class RemoteRef:
    """A value that stayed in the candidate process. Equality is identity of the reference."""

    __slots__ = ("_ch", "_id", "_type")

    def __init__(self, channel, ref_id, type_name):
        object.__setattr__(self, "_ch", channel)
        object.__setattr__(self, "_id", ref_id)
        object.__setattr__(self, "_type", type_name)

    def __call__(self, *args, **kwargs):
        return self._ch.request("call", self._id, args, kwargs)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._ch.request("getattr", self._id, (name,))

    def __setattr__(self, name, value):
        self._ch.request("setattr", self._id, (name, value))

    def __iter__(self):
        return iter(self._ch.request("iter", self._id))

    def __len__(self):
        return self._ch.request("len", self._id)

    def __bool__(self):
        value = self._ch.request("bool", self._id)
        if type(value) is not bool:
            raise CandidateGone("malformed truth value")
        return value

    def __getitem__(self, key):
        return self._ch.request("getitem", self._id, (key,))

    def __contains__(self, item):
        return self._ch.request("contains", self._id, (item,))

    def __str__(self):
        return self._ch.request("str", self._id)

    def __repr__(self):
        return self._ch.request("repr", self._id)

    def __eq__(self, other):
        return type(other) is RemoteRef and other._id == self._id

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(("ref", self._id))

    def __reduce__(self):
        return (_resolve_ref, (self._id,))


def summarize(value):
    """What the orchestrator needs to bucket the first output, never the value itself."""
    if type(value) is Digest:
        return {"kind": "sequence", "len": value.items}
    if type(value) in (int, float):
        return {"kind": "number", "value": float(value) if math.isfinite(value) else None}
    if type(value) in (list, tuple, str, dict, set, frozenset, bytes):
        return {"kind": "sequence", "len": len(value)}
    if type(value) is bool:
        return {"kind": "bool"}
    if value is None:
        return {"kind": "none"}
    return {"kind": "other"}


def _set_non_dumpable() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(4, 0, 0, 0, 0) != 0:  # PR_SET_DUMPABLE = 4
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE) failed")


def run_tests(call_w: int, reply_r: int, header: dict, tests: dict, candidate_pid: int | None = None,
              report=None) -> dict:
    """In T: drive one candidate through its tests; never raises. `report(first, outputs)` hands io
    outputs to the orchestrator, which compares them with the expected ones (they never enter
    the sandbox) and, for tests asked to stream, answers whether to go on."""
    started = time.monotonic()
    limits = header["limits"]
    job = CpuWindow(candidate_pid, limits["wall_s"])
    mode = tests["mode"]
    channel = Channel(call_w, reply_r, [job])
    try:
        load = channel.receive()
        if type(load) is not dict or load.get("load") not in ("ok", "error", "syntax_error"):
            raise CandidateGone("malformed load reply")
        if load["load"] == "syntax_error":
            result = {"status": "syntax_error", "error": str(load.get("error"))[:500]}
        elif load["load"] == "error":
            exc = load.get("exc") or ["Error", ""]
            result = {"status": "runtime_error", "error": f"while loading: {exc[0]}: {exc[1]}"[:500]}
        elif mode == "io":
            result = _run_io(channel, load, tests, limits.get("per_input_s"), job, candidate_pid,
                             report)
        else:
            result = _run_test_code(channel, load, tests)
    except CandidateTimeout:
        result = {"status": "timeout", "error": f"no answer within the time budget ({limits['wall_s']:.2f} CPU s)"}
    except CandidateGone as exc:
        result = {"status": "runtime_error", "error": str(exc)[:500], "candidate_gone": True}
    except RecursionError:
        result = {"status": "runtime_error", "error": "RecursionError in tester"}
    except MemoryError:
        result = {"status": "memory", "error": "MemoryError"}
    except Exception as exc:  # noqa: BLE001 - a broken test harness must still answer
        result = {"status": "runtime_error", "error": f"tester: {type(exc).__name__}: {exc}"[:500]}
    finally:
        sys.modules.pop("__candidate__", None)
    result["first_output"] = channel.first_output
    result["test_seconds"] = round(time.monotonic() - started, 6)
    result["test_cpu_s"] = round(job.cpu_used(), 6)
    return result


def _bind_names(channel: Channel, load: dict) -> dict:
    bound = {}
    for name, tree in load.get("names", {}).items():
        try:
            bound[name] = decode_value(tree, channel.make_ref)
        except DecodeError:
            continue
    return bound


def _import_stdlib_modules(ns: dict, modules) -> None:
    """Tests that use a module the candidate imported (MBPP's `sys.getsizeof`) see T's own,
    genuine copy of it: only standard-library names, imported here by T."""
    if type(modules) is not dict:
        return
    stdlib = getattr(sys, "stdlib_module_names", frozenset())
    for alias, name in modules.items():
        if type(alias) is not str or type(name) is not str or not alias.isidentifier():
            continue
        if name.split(".")[0] not in stdlib:
            continue
        try:
            ns[alias] = __import__(name, fromlist=["_"]) if "." in name else __import__(name)
        except Exception:  # noqa: BLE001
            continue


_COMPILED: dict = {}


def _compiled(source: str, name: str):
    """Trusted test code, compiled once per worker (a task's tests come with each of its candidates)."""
    code = _COMPILED.get((name, source))
    if code is None:
        if len(_COMPILED) > 1024:
            _COMPILED.clear()
        code = _COMPILED[(name, source)] = compile(source, name, "exec", dont_inherit=True)
    return code


def _run_test_code(channel: Channel, load: dict, tests: dict) -> dict:
    module = types.ModuleType("__candidate__")
    sys.modules["__candidate__"] = module
    ns = module.__dict__
    ns["__builtins__"] = builtins
    _import_stdlib_modules(ns, load.get("modules"))
    exec(_compiled(tests.get("trusted_setup") or "", "<trusted-setup>"), ns)
    trusted = set(ns)
    remote = _bind_names(channel, load)
    entry = tests.get("entry_point")
    for name, value in remote.items():
        if name not in trusted or name == entry:
            ns[name] = value
    if entry and entry not in remote:
        return {"status": "runtime_error", "error": f"NameError: the candidate defines no '{entry}'"}
    try:
        exec(_compiled(tests["test_code"], "<tests>"), ns)
        if tests.get("call_check"):
            ns["check"](ns[entry])
    except AssertionError as exc:
        return {"status": "failed", "error": ("AssertionError " + str(exc))[:300]}
    except CandidateError as exc:
        return {"status": "runtime_error", "error": str(exc)[:500]}
    except MemoryError:
        return {"status": "memory", "error": "MemoryError"}
    except Exception as exc:  # noqa: BLE001
        status = "memory" if type(exc).__name__ == "MemoryError" else "runtime_error"
        return {"status": status, "error": f"{type(exc).__name__}: {exc}"[:500]}
    return {"status": "passed", "error": None}


# Inputs go to the candidate in batches, one call per batch, and its outputs come back one frame
# per input as they are computed. A batch's CPU window is its smallest input budget, counted from
# the batch's start: every input is then held to no more than its own budget (the inputs before it
# in the batch count against it too: stricter, never looser). So that this stays far from any
# budget, a batch holds only inputs whose canonical CPU time sums to under BATCH_COST_SHARE of that
# budget (a heavy input goes alone), and batches start at one input and double, up to BATCH_MAX,
# only while the candidate's last batch took under BATCH_COST_SHARE of its budget too; one that
# took more sends the next inputs one at a time. Reference runs (no "batch") time every input alone.
BATCH_MAX = 64
BATCH_COST_SHARE = 0.02
BATCH_MARK_SHARE = 0.01
MARK_EVERY_SHARE = 0.001


def _batch_end(i: int, size: int, costs: list, budgets) -> int:
    """The end of the batch that starts at input `i`: at most `size` inputs, cheap enough together."""
    end, total, lowest = i + 1, costs[i] if i < len(costs) else math.inf, budgets(i)
    while end < i + size and end < len(costs):
        lowest = min(lowest, budgets(end))
        total += costs[end]
        if not total < BATCH_COST_SHARE * lowest:
            break
        end += 1
    return end


def _next_batch_size(size: int, wall_s: float, budget_s: float) -> int:
    return min(BATCH_MAX, size * 2) if wall_s < BATCH_COST_SHARE * budget_s else 1


class DecodedInputs:
    """A task's io inputs as values, each decoded once: a worker holds one per task with the task's
    inputs (see main._with_held_inputs), so the same task's next candidates reuse them (they are
    only pickled to the candidate, never handed to code that could change them)."""

    def __init__(self, trees: list):
        self.trees = trees
        self._values: list = [None] * len(trees)
        self._done: list = [False] * len(trees)

    @classmethod
    def of(cls, tests: dict) -> "DecodedInputs":
        held = tests.get("decoded_inputs")
        return held if type(held) is cls and held.trees is tests["inputs"] else cls(tests["inputs"])

    def __len__(self) -> int:
        return len(self.trees)

    def values(self, start: int, end: int, make_ref) -> list:
        for j in range(start, end):
            if not self._done[j]:
                self._values[j] = decode_value(self.trees[j], make_ref)
                self._done[j] = True
        return self._values[start:end]


def _run_io(channel: Channel, load: dict, tests: dict, per_call, job: CpuWindow, pid: int | None,
            report=None) -> dict:
    """Every input through the candidate's entry point. Outputs go to the orchestrator as the
    candidate's own JSON bytes, through `report(first, outputs)`, which says whether to go on:
    after each batch when the tests ask to stream (the orchestrator compares them as they come
    and says stop at the first wrong one), else all at the end. They are decoded, and compared,
    only outside the sandbox."""
    remote = _bind_names(channel, load)
    entry = tests["entry_point"]
    fn = remote.get(entry)
    if fn is None:
        return {"status": "runtime_error", "error": f"NameError: the candidate defines no '{entry}'"}
    if type(fn) is not RemoteRef:
        return {"status": "runtime_error", "error": f"TypeError: '{entry}' is not callable"}
    channel.digest_huge = True
    channel.digest_strings = tests.get("digest_strings") is True
    inputs, limits = DecodedInputs.of(tests), tests.get("input_limits") or []
    costs = tests.get("input_costs") or [] if tests.get("batch") else []
    batching = len(costs) == len(inputs) and all(type(c) in (int, float) for c in costs)
    stream = bool(tests.get("stream")) and report is not None
    if batching:
        job.overlap = 2

    def budget_of(k: int) -> float:
        return (limits[k] if k < len(limits) else None) or per_call or job.budget_s

    outputs: list[bytes] = []
    seconds: list | None = None if batching else []
    i, size, sent = 0, 1, 0

    def result(status: str, error: str | None = None, **extra) -> dict:
        """Unsent outputs go now: the orchestrator holds them all before it reads the result."""
        if report is not None and sent < len(outputs):
            report(sent, outputs[sent:])
        return {"status": status, "error": error and error[:500], "outputs": [], "streamed": len(outputs),
                "input_seconds": seconds, **extra}

    while i < len(inputs):
        end = _batch_end(i, size, costs, budget_of) if batching else i + 1
        budget = min(budget_of(k) for k in range(i, end))
        window = CpuWindow(pid, budget, overlap=2 if batching else 1)
        channel.windows = [job, window]
        failure = _call_batch(channel, fn, inputs, i, end, outputs, pid, budget_of if end - i > 1 else None)
        if failure is not None:
            status, error = failure
            if status == "timeout":
                error = f"no answer within {budget:.2f} CPU s"
            return result(status, f"input {len(outputs)}: {error}", failed_input=len(outputs))
        if seconds is not None:
            seconds.append(round(window.cpu_used(), 6))  # CPU seconds: the reference sets budgets from them
        else:
            size = _next_batch_size(size, window.overlap * (time.monotonic() - window.wall0), budget)
        i = end
        if stream and i < len(inputs):
            go = report(sent, outputs[sent:])
            sent = len(outputs)
            if not go:  # an output so far is wrong: the rest cannot change the verdict
                return result("stopped", stopped_after=len(outputs))
    return result("completed")


def _call_batch(channel: Channel, fn: RemoteRef, inputs: list, i: int, end: int, outputs: list, pid: int | None,
                budget_of=None):
    """Inputs i..end-1 in one call, each output appended as it comes; (status, error) of the
    input that failed (the next one after `outputs`), or None.

    The batch's window is its smallest budget from its start. Once a batch has run for
    BATCH_MARK_SHARE of that budget, T notes the candidate's CPU clock at the outputs it
    receives (at most every MARK_EVERY_SHARE of the budget, and not at one whose next output is
    already here); an input still running when the window closes is then given its own budget
    from the last mark before it: the output before it, or one at most MARK_EVERY_SHARE of the
    budget earlier (stricter by that much, never looser). Only a batch that closed its window
    within BATCH_MARK_SHARE of its start holds the input to all the inputs before it."""
    job, window = channel.windows
    # (input, candidate CPU, T's CPU, wall) when that input's output arrived; the batch's start first
    mark = (i - 1, window.c_cpu0, window.t_cpu0, window.wall0)
    k = i
    try:
        channel.send("calls", fn._id, (inputs.values(i, end, channel.make_ref),))
        for k in range(i, end):
            alone_for = None
            while True:
                try:
                    blob = channel.receive_output()
                    break
                except CandidateTimeout:
                    if budget_of is None or alone_for == k or mark[1] is None:
                        raise
                    channel.windows = [job, _window_since(pid, budget_of(k), window.overlap, mark)]
                    alone_for = k  # the batch's window is spent: the input's own budget decides
            if k == 0:
                channel.decoded(_parsed(blob), count_call=True)  # the first output's summary (buckets)
            outputs.append(blob)
            if alone_for is not None:
                channel.windows = [job, window]
            if budget_of is not None and pid:
                now = time.monotonic()
                if (now - window.wall0 >= BATCH_MARK_SHARE * window.budget_s
                        and now - mark[3] >= MARK_EVERY_SHARE * window.budget_s and not channel.more_waiting()):
                    mark = (k, process_cpu_seconds(pid), time.process_time(), now)
    except CandidateTimeout:
        return "timeout", ""
    except CandidateError as exc:
        return "runtime_error", str(exc)
    except Exception as exc:  # noqa: BLE001
        return ("memory" if isinstance(exc, MemoryError) else "runtime_error"), f"{type(exc).__name__}: {exc}"
    return None


def _window_since(pid: int | None, budget_s: float, overlap: int, mark: tuple) -> CpuWindow:
    """A window of `budget_s` opened at `mark` (the CPU clocks then), not now."""
    alone = CpuWindow(pid, budget_s, overlap=overlap)
    _, alone.c_cpu0, alone.t_cpu0, alone.wall0 = mark
    alone.wall_end = alone.wall0 + WALL_CAP_FACTOR * budget_s
    return alone


def _parsed(blob: bytes):
    try:
        return json.loads(blob)
    except (ValueError, RecursionError) as exc:
        raise CandidateGone(f"malformed value: {type(exc).__name__}") from None
