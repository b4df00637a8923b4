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
from .codec import DecodeError, Digest, decode_value, encode_value
from .framing import read_frame, wait_readable, write_frame


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

    def __init__(self, pid: int | None, budget_s: float):
        self.pid, self.budget_s = pid, budget_s
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
        optimistic = self.budget_s - (now - self.wall0)
        if optimistic > 0:
            return min(wall_left, optimistic)
        cpu_left = self.budget_s - self.cpu_used()
        if cpu_left <= 0:
            return 0.0
        return min(wall_left, max(cpu_left, 0.01))  # /proc counts in clock ticks


class Channel:
    def __init__(self, call_w: int, reply_r: int, windows: list[CpuWindow]):
        self.call_w = call_w
        self.reply_r = reply_r
        self.windows = windows
        self.first_output = None
        self.calls = 0
        self.digest_huge = False  # io benchmarks: huge outputs cross as digests

    def receive(self):
        while True:
            left = min(w.remaining() for w in self.windows)
            if left <= 0:
                raise CandidateTimeout()
            if wait_readable(self.reply_r, left):
                break
        try:
            raw = read_frame(self.reply_r)
            return json.loads(raw)
        except (EOFError, ValueError, OSError, struct.error) as exc:
            raise CandidateGone(f"candidate process ended ({type(exc).__name__})") from None

    def request(self, op: str, ref_id: int, args=(), kwargs=None):
        options = {"digest": self.digest_huge}
        payload = pickle.dumps((op, ref_id, tuple(args), dict(kwargs or {}), options), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            write_frame(self.call_w, payload)
        except OSError:
            raise CandidateGone("candidate process ended") from None
        tree = self.receive()
        if type(tree) is not dict:
            raise CandidateGone("malformed reply")
        if "ok" in tree:
            try:
                value = decode_value(tree["ok"], self.make_ref)
            except (DecodeError, ValueError, TypeError, RecursionError) as exc:
                raise CandidateGone(f"malformed value: {exc}") from None
            if op == "call":
                self.calls += 1
                if self.calls == 1:
                    self.first_output = summarize(value)
            return value
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
    """In T: drive one candidate through its tests; never raises. `report(first, outputs)`, for io
    tests asked to stream, hands the outputs so far to the orchestrator, which compares them with
    the expected ones (they never enter the sandbox) and answers whether to go on."""
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
                             report if tests.get("stream") else None)
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
        code = _COMPILED[(name, source)] = compile(source, name, "exec")
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


def _reports_after(i: int) -> bool:
    """After which inputs the outputs go to the orchestrator: each of the first 16 (most failing
    candidates fail there), then every 8th."""
    return i < 16 or (i + 1) % 8 == 0


def _run_io(channel: Channel, load: dict, tests: dict, per_call, job: CpuWindow, pid: int | None,
            report=None) -> dict:
    remote = _bind_names(channel, load)
    entry = tests["entry_point"]
    fn = remote.get(entry)
    if fn is None:
        return {"status": "runtime_error", "error": f"NameError: the candidate defines no '{entry}'"}
    channel.digest_huge = True
    inputs = tests["inputs"]
    limits = tests.get("input_limits") or []
    outputs = []
    seconds = []
    reported = 0
    for i, raw in enumerate(inputs):
        args = decode_value(raw, channel.make_ref)
        budget = limits[i] if i < len(limits) else per_call
        window = CpuWindow(pid, budget or job.budget_s)
        channel.windows = [job, window]
        try:
            out = fn(*args)
        except CandidateTimeout:
            return {"status": "timeout", "error": f"input {i}: no answer within {budget or 0:.2f} CPU s",
                    "outputs": outputs, "input_seconds": seconds, "failed_input": i}
        except CandidateError as exc:
            return {"status": "runtime_error", "error": f"input {i}: {exc}"[:500], "outputs": outputs,
                    "input_seconds": seconds, "failed_input": i}
        except Exception as exc:  # noqa: BLE001
            status = "memory" if isinstance(exc, MemoryError) else "runtime_error"
            return {"status": status, "error": f"input {i}: {type(exc).__name__}: {exc}"[:500],
                    "outputs": outputs, "input_seconds": seconds, "failed_input": i}
        seconds.append(round(window.cpu_used(), 6))  # CPU seconds: the reference sets budgets from them
        outputs.append(encode_value(out, {}))
        if report is not None and i + 1 < len(inputs) and _reports_after(i):
            go = report(reported, outputs[reported:])
            reported = len(outputs)
            if not go:  # an output so far is wrong: the rest cannot change the verdict
                return {"status": "stopped", "error": None, "outputs": outputs, "input_seconds": seconds,
                        "stopped_after": len(outputs)}
    return {"status": "completed", "error": None, "outputs": outputs, "input_seconds": seconds}
