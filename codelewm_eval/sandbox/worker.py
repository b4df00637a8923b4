"""The warm worker that runs inside the sandbox (stdlib only: site-packages is hidden).

Three roles, all inside one bubblewrap sandbox:

* T, the *tester*, is the worker's main process. It reads jobs from the orchestrator, runs
  the trusted test code in-process and calls into the candidate only through an RPC
  channel that carries plain data. T is non-dumpable (no other process of the sandbox can
  ptrace it or read its memory), never executes candidate code, and alone writes the
  verdict to the orchestrator, on a pipe no candidate ever holds.
* Z, the *zygote*, is forked by T at start-up, before T reads any job, so Z never holds
  test code. It pre-forks one candidate process per job and, after the job, kills it and
  every process it spawned and wipes the scratch directories.
* C, the *candidate* process, forked by Z. It executes the candidate program and then
  serves remote calls. Everything it sends back is tagged JSON that T decodes into genuine
  builtin values; anything else stays in C as a numbered reference that equals only itself.

Always-equal objects, patched builtins, early exits and printed markers in C therefore
cannot make T report a pass, and C cannot see the tests: they were never in its memory.

Frames on every pipe are a 4-byte big-endian length followed by the payload.
"""

from __future__ import annotations

import builtins
import ctypes
import json
import math
import os
import pickle
import resource
import select
import shutil
import signal
import socket
import struct
import sys
import time
import types

PRELOAD = (
    "array", "bisect", "collections", "copy", "datetime", "decimal", "fractions",
    "functools", "hashlib", "heapq", "itertools", "json", "math", "operator", "random",
    "re", "statistics", "string", "typing", "unicodedata", "cmath", "dataclasses",
)  # numpy stays importable but is not preloaded: it doubles the cost of every fork
MAX_FRAME = 64 * 1024 * 1024
MAX_ITER_ITEMS = 1_000_000
# Inside bubblewrap /tmp, /dev/shm and /dev/mqueue are private to this worker and the pid
# namespace holds nothing but it; the rlimits fallback gets a private scratch directory and
# a sweep limited to its own cgroup (or to the candidate's session) from the orchestrator.
WORK_ROOT = os.environ.get("CODELEWM_SCRATCH") or "/tmp"
SWEEP = os.environ.get("CODELEWM_SWEEP") or "pidns"


# --------------------------------------------------------------------------- framing

def _read_exact(fd: int, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> bytes:
    (n,) = struct.unpack(">I", _read_exact(fd, 4))
    if n > MAX_FRAME:
        raise ValueError("frame too large")
    return _read_exact(fd, n)


def write_frame(fd: int, payload: bytes) -> None:
    data = struct.pack(">I", len(payload)) + bytes(payload)
    view = memoryview(data)
    while view:
        k = os.write(fd, view)
        view = view[k:]


def wait_readable(fd: int, timeout: float | None) -> bool:
    if timeout is not None and timeout <= 0:
        return False
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    ms = None if timeout is None else max(1, int(timeout * 1000))
    while True:
        try:
            return bool(poller.poll(ms))
        except InterruptedError:  # pragma: no cover
            continue


# --------------------------------------------------------------------------- value codec

_PLAIN_SCALARS = (type(None), bool, int, str)


def encode_value(obj, refs: dict, depth: int = 0):
    """C side: turn a value into tagged JSON. Non-plain values become references."""
    if depth > 200:
        raise ValueError("value nested too deeply")
    t = type(obj)
    if t is Digest:
        return {"$": "digest", "sha256": obj.sha256, "kind": obj.kind, "items": obj.items}
    if t is int and obj.bit_length() > 12000:
        # beyond the decimal-conversion limit: hex has none
        return {"$": "int", "v": format(obj, "x")}
    if t in _PLAIN_SCALARS:
        return obj
    if t is float:
        if math.isfinite(obj):
            return obj
        return {"$": "float", "v": repr(obj)}
    if t is list:
        return [encode_value(x, refs, depth + 1) for x in obj]
    if t is tuple:
        return {"$": "tuple", "v": [encode_value(x, refs, depth + 1) for x in obj]}
    if t is dict:
        return {"$": "dict", "v": [[encode_value(k, refs, depth + 1), encode_value(v, refs, depth + 1)] for k, v in obj.items()]}
    if t is set or t is frozenset:
        return {"$": t.__name__, "v": [encode_value(x, refs, depth + 1) for x in obj]}
    if t is complex:
        return {"$": "complex", "v": [repr(obj.real), repr(obj.imag)]}
    if t is bytes:
        return {"$": "bytes", "v": obj.hex()}
    # Subclasses of builtin scalars are copied out as the exact builtin value (their own
    # __eq__ stays behind); numpy scalars become the Python number they hold.
    if isinstance(obj, bool):
        return bool(int.__index__(obj))
    if isinstance(obj, int):
        return encode_value(int.__index__(obj), refs, depth + 1)
    if isinstance(obj, float):
        return encode_value(float.__float__(obj), refs, depth + 1)
    if isinstance(obj, str):
        return str.__getitem__(obj, slice(None))
    # Subclasses of builtin containers (Counter, defaultdict, OrderedDict, namedtuple, ...)
    # are copied out as the builtin container, read through the base class's own methods so
    # that overridden ones cannot change what is reported.
    if isinstance(obj, dict):
        return {"$": "dict", "v": [[encode_value(k, refs, depth + 1), encode_value(v, refs, depth + 1)]
                                   for k, v in dict.items(obj)]}
    if isinstance(obj, list):
        return [encode_value(x, refs, depth + 1) for x in list.__iter__(obj)]
    if isinstance(obj, tuple):
        return {"$": "tuple", "v": [encode_value(x, refs, depth + 1) for x in tuple.__iter__(obj)]}
    if isinstance(obj, frozenset):
        return {"$": "frozenset", "v": [encode_value(x, refs, depth + 1) for x in frozenset.__iter__(obj)]}
    if isinstance(obj, set):
        return {"$": "set", "v": [encode_value(x, refs, depth + 1) for x in set.__iter__(obj)]}
    mod = getattr(t, "__module__", "")
    if mod == "numpy" and hasattr(obj, "item") and getattr(obj, "ndim", None) == 0:
        return encode_value(obj.item(), refs, depth + 1)
    ref_id = len(refs) + 1
    refs[ref_id] = obj
    return {"$": "ref", "id": ref_id, "type": t.__name__[:80]}


class DecodeError(Exception):
    pass


DIGEST_OVER_BYTES = 16 << 20  # estimated marshal size above which only a digest crosses


class Digest:
    """Stands for a huge output (io benchmarks): equal only to a Digest of the same bytes."""

    __slots__ = ("sha256", "kind", "items")

    def __init__(self, sha256: str, kind: str, items: int):
        self.sha256, self.kind, self.items = sha256, kind, items

    def __eq__(self, other):
        return type(other) is Digest and other.sha256 == self.sha256 and other.kind == self.kind

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(self.sha256)

    def __repr__(self):
        return f"<digest of a {self.kind} of {self.items} items: {self.sha256[:12]}>"


def digest_of(obj) -> dict | None:
    """A SHA-256 over the marshal v0 bytes (no shared references) of each top-level item
    (sorted for dicts and sets); exact. None unless the value is a builtin container whose
    items would take more than DIGEST_OVER_BYTES to send."""
    import hashlib
    import marshal

    if isinstance(obj, dict):
        kind, items = "dict", dict.items(obj)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        kind = "list" if isinstance(obj, list) else "tuple" if isinstance(obj, tuple) else "set"
        items = obj
    else:
        return None
    if len(obj) < 1000:
        return None
    sample = [len(marshal.dumps(item, 0)) for item, _ in zip(items, range(200))]
    if len(obj) * (sum(sample) / len(sample)) <= DIGEST_OVER_BYTES:
        return None
    h = hashlib.sha256(kind.encode())
    # dict and set items are hashed in sorted order; sequences stream in their own order
    parts = sorted(marshal.dumps(item, 0) for item in items) if kind in ("dict", "set") else (
        marshal.dumps(item, 0) for item in items)
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return {"$": "digest", "sha256": h.hexdigest(), "kind": kind, "items": len(obj)}


def decode_value(tree, make_ref, depth: int = 0):
    """T side: rebuild genuine builtin values from tagged JSON; nothing else gets through."""
    if depth > 400:
        raise DecodeError("value nested too deeply")
    t = type(tree)
    if tree is None or t is bool or t is int or t is str or t is float:
        return tree
    if t is list:
        return [decode_value(x, make_ref, depth + 1) for x in tree]
    if t is not dict or "$" not in tree:
        raise DecodeError("malformed value")
    tag = tree["$"]
    v = tree.get("v")
    if tag == "tuple":
        return tuple(decode_value(x, make_ref, depth + 1) for x in _list(v))
    if tag == "dict":
        out = {}
        for pair in _list(v):
            if type(pair) is not list or len(pair) != 2:
                raise DecodeError("malformed dict item")
            out[decode_value(pair[0], make_ref, depth + 1)] = decode_value(pair[1], make_ref, depth + 1)
        return out
    if tag == "set":
        return {decode_value(x, make_ref, depth + 1) for x in _list(v)}
    if tag == "frozenset":
        return frozenset(decode_value(x, make_ref, depth + 1) for x in _list(v))
    if tag == "int":
        if type(v) is not str or not v or len(v) > 10_000_000:
            raise DecodeError("malformed int")
        return int(v, 16)
    if tag == "float":
        if v not in ("nan", "inf", "-inf"):
            raise DecodeError("malformed float")
        return float(v)
    if tag == "complex":
        parts = _list(v)
        if len(parts) != 2 or not all(type(p) is str for p in parts):
            raise DecodeError("malformed complex")
        return complex(float(parts[0]), float(parts[1]))
    if tag == "bytes":
        if type(v) is not str:
            raise DecodeError("malformed bytes")
        return bytes.fromhex(v)
    if tag == "digest":
        sha, kind, items = tree.get("sha256"), tree.get("kind"), tree.get("items")
        if type(sha) is not str or len(sha) != 64 or kind not in ("dict", "list", "tuple", "set") or type(items) is not int:
            raise DecodeError("malformed digest")
        return Digest(sha, kind, items)
    if tag == "ref":
        ref_id = tree.get("id")
        if type(ref_id) is not int:
            raise DecodeError("malformed reference")
        return make_ref(ref_id, str(tree.get("type", "object"))[:80])
    raise DecodeError(f"unknown tag {tag!r}")


def _list(v):
    if type(v) is not list:
        raise DecodeError("expected a list")
    return v


def _json_default(o):  # pragma: no cover - encode_value only yields JSON-able values
    raise TypeError(type(o).__name__)


def dumps(tree) -> bytes:
    return json.dumps(tree, allow_nan=False, default=_json_default, separators=(",", ":")).encode()


# --------------------------------------------------------------------------- candidate side

_REFS: dict = {}


def _resolve_ref(ref_id):
    """Unpickled in C: turns a reference that T passes back into C's own object."""
    return _REFS[ref_id]


def _apply_rlimits(limits: dict, cpu_seconds: float) -> None:
    def setl(which, value):
        try:
            soft, hard = resource.getrlimit(which)
            value = int(value)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            pass

    setl(resource.RLIMIT_AS, limits["memory_mb"] * 1024 * 1024)
    setl(resource.RLIMIT_CPU, max(1, math.ceil(cpu_seconds)))
    setl(resource.RLIMIT_FSIZE, limits["output_bytes"])
    setl(resource.RLIMIT_CORE, 0)
    setl(resource.RLIMIT_NOFILE, 64)
    if limits.get("nproc"):
        setl(resource.RLIMIT_NPROC, limits["nproc"])


def _close_fds_except(keep: set) -> None:
    """Close every descriptor above 2 except `keep` (close_range: no /proc walk)."""
    low = 3
    for fd in sorted(k for k in keep if k >= 3):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 16)


def candidate_main(prog_r: int, call_r: int, reply_w: int) -> None:
    """Runs in C: enter the candidate's process, load its program, serve calls. Never returns."""
    os.setsid()
    _close_fds_except({prog_r, call_r, reply_w})
    try:
        job = json.loads(read_frame(prog_r))
    except Exception:
        os._exit(3)
    os.close(prog_r)
    _enter_workdir(job["workdir"])
    _apply_rlimits(job["limits"], job["limits"]["cpu_s"])
    _load_program(job, reply_w)
    _serve_calls(call_r, reply_w)


def _enter_workdir(workdir: str) -> None:
    """A fresh working directory; stdin from /dev/null, stdout and stderr to a capped file."""
    os.mkdir(workdir, 0o700)
    os.chdir(workdir)
    out_fd = os.open("output.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    null_fd = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null_fd, 0)
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    os.close(null_fd)
    os.close(out_fd)


def _load_program(job: dict, reply_w: int) -> None:
    """Execute the program as module __candidate__ and report what it defines (or why not)."""
    module = types.ModuleType("__candidate__")
    module.__dict__["__builtins__"] = builtins
    sys.modules["__candidate__"] = module
    try:
        code = compile(job["program"], "<candidate>", "exec")
    except (SyntaxError, ValueError, OverflowError, MemoryError, RecursionError) as exc:
        write_frame(reply_w, dumps({"load": "syntax_error", "error": f"{type(exc).__name__}: {exc}"[:500]}))
        os._exit(0)
    try:
        exec(code, module.__dict__)
    except BaseException as exc:  # noqa: BLE001 - any failure while loading is the candidate's
        write_frame(reply_w, dumps({"load": "error", "exc": [type(exc).__name__, str(exc)[:500]]}))
        os._exit(0)
    names, modules = {}, {}
    for name, value in list(module.__dict__.items()):
        if isinstance(value, types.ModuleType):
            modules[name] = str(getattr(value, "__name__", ""))[:100]
        elif not name.startswith("__") and callable(value):
            names[name] = encode_value(value, _REFS)
    write_frame(reply_w, dumps({"load": "ok", "names": names, "modules": modules}))


def _answer(op: str, target, args, kwargs):
    """One remote operation on one of C's objects; the value goes back as tagged JSON."""
    if op == "call":
        return target(*args, **kwargs)
    if op == "getattr":
        return getattr(target, args[0])
    if op == "setattr":
        setattr(target, args[0], args[1])
        return None
    if op == "iter":
        value = []
        for item in target:
            value.append(item)
            if len(value) > MAX_ITER_ITEMS:
                raise MemoryError("iterator too long")
        return value
    if op == "len":
        return int(len(target))
    if op == "getitem":
        return target[args[0]]
    if op == "bool":
        return bool(target)
    if op == "contains":
        return bool(args[0] in target)
    if op == "str":
        return str(target)
    if op == "repr":
        return repr(target)
    raise ValueError(f"unknown op {op}")


def _serve_calls(call_r: int, reply_w: int) -> None:
    while True:
        try:
            request = read_frame(call_r)
        except EOFError:
            os._exit(0)
        try:
            op, ref_id, args, kwargs, options = pickle.loads(request)
            value = _answer(op, _REFS[ref_id], args, kwargs)
            huge = digest_of(value) if op == "call" and options.get("digest") else None
            tree = {"ok": huge if huge is not None else encode_value(value, _REFS)}
        except BaseException as exc:  # noqa: BLE001 - every failure is reported, none escapes
            limit = 200 if isinstance(exc, SystemExit) else 500
            tree = {"exc": [type(exc).__name__, str(exc)[:limit]]}
        try:
            payload = dumps(tree)
        except BaseException as exc:  # noqa: BLE001
            payload = dumps({"exc": ["UnencodableResult", str(exc)[:200]]})
        write_frame(reply_w, payload)


# --------------------------------------------------------------------------- tester side

class CandidateError(Exception):
    """An exception raised inside the candidate process whose type is not a builtin one."""


class CandidateTimeout(BaseException):
    """The candidate did not answer within its budget (not catchable by test code)."""


class CandidateGone(BaseException):
    """The candidate process died or broke the protocol (not catchable by test code)."""


class Channel:
    def __init__(self, call_w: int, reply_r: int, deadline_fn):
        self.call_w = call_w
        self.reply_r = reply_r
        self.deadline_fn = deadline_fn
        self.first_output = None
        self.calls = 0
        self.digest_huge = False  # io benchmarks: huge outputs cross as digests

    def receive(self, timeout: float):
        if not wait_readable(self.reply_r, timeout):
            raise CandidateTimeout()
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
        tree = self.receive(self.deadline_fn())
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


def run_tests(call_w: int, reply_r: int, header: dict, tests: dict) -> dict:
    """In T: drive one candidate through its tests; never raises."""
    started = time.monotonic()
    limits = header["limits"]
    deadline = started + limits["wall_s"]
    mode = tests["mode"]
    channel = Channel(call_w, reply_r, lambda: deadline - time.monotonic())
    try:
        load = channel.receive(deadline - time.monotonic())
        if type(load) is not dict or load.get("load") not in ("ok", "error", "syntax_error"):
            raise CandidateGone("malformed load reply")
        if load["load"] == "syntax_error":
            result = {"status": "syntax_error", "error": str(load.get("error"))[:500]}
        elif load["load"] == "error":
            exc = load.get("exc") or ["Error", ""]
            result = {"status": "runtime_error", "error": f"while loading: {exc[0]}: {exc[1]}"[:500]}
        elif mode == "io":
            result = _run_io(channel, load, tests, limits.get("per_input_s"), deadline)
        else:
            result = _run_test_code(channel, load, tests)
    except CandidateTimeout:
        result = {"status": "timeout", "error": f"no answer within the time budget ({limits['wall_s']:.2f}s)"}
    except CandidateGone as exc:
        result = {"status": "runtime_error", "error": str(exc)[:500]}
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


def _run_test_code(channel: Channel, load: dict, tests: dict) -> dict:
    module = types.ModuleType("__candidate__")
    sys.modules["__candidate__"] = module
    ns = module.__dict__
    ns["__builtins__"] = builtins
    _import_stdlib_modules(ns, load.get("modules"))
    exec(compile(tests.get("trusted_setup") or "", "<trusted-setup>", "exec"), ns)
    trusted = set(ns)
    remote = _bind_names(channel, load)
    entry = tests.get("entry_point")
    for name, value in remote.items():
        if name not in trusted or name == entry:
            ns[name] = value
    if entry and entry not in remote:
        return {"status": "runtime_error", "error": f"NameError: the candidate defines no '{entry}'"}
    try:
        exec(compile(tests["test_code"], "<tests>", "exec"), ns)
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


def _run_io(channel: Channel, load: dict, tests: dict, per_call, deadline: float) -> dict:
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
    for i, raw in enumerate(inputs):
        args = decode_value(raw, channel.make_ref)
        budget = limits[i] if i < len(limits) else per_call
        t0 = time.monotonic()
        call_deadline = min(deadline, t0 + budget) if budget else deadline
        channel.deadline_fn = lambda d=call_deadline: d - time.monotonic()
        try:
            out = fn(*args)
        except CandidateTimeout:
            return {"status": "timeout", "error": f"input {i}: no answer within {budget or 0:.2f}s",
                    "outputs": outputs, "input_seconds": seconds, "failed_input": i}
        except CandidateError as exc:
            return {"status": "runtime_error", "error": f"input {i}: {exc}"[:500], "outputs": outputs,
                    "input_seconds": seconds, "failed_input": i}
        except Exception as exc:  # noqa: BLE001
            status = "memory" if isinstance(exc, MemoryError) else "runtime_error"
            return {"status": status, "error": f"input {i}: {type(exc).__name__}: {exc}"[:500],
                    "outputs": outputs, "input_seconds": seconds, "failed_input": i}
        seconds.append(round(time.monotonic() - t0, 6))
        outputs.append(encode_value(out, {}))
    return {"status": "completed", "error": None, "outputs": outputs, "input_seconds": seconds}


# --------------------------------------------------------------------------- zygote (Z)
#
# Z is forked by T before T reads any job, so Z (and every C it forks) never holds test
# code. T asks Z over a unix socket; Z answers with the RPC pipe ends of a fresh C
# (SCM_RIGHTS) and, when T is done, kills C and everything else it spawned.

SCRATCH_DIRS = ("/tmp", "/dev/shm", "/dev/mqueue") if SWEEP == "pidns" else (WORK_ROOT,)


def _sweep_candidates(keep: set[int], candidate: int) -> list[int]:
    """Every process the candidate may have left behind, and nothing else."""
    if SWEEP == "pidns":  # a private pid namespace: everything but us is the candidate's
        return [int(n) for n in os.listdir("/proc") if n.isdigit() and int(n) not in keep]
    if SWEEP.startswith("cgroup:"):  # our own pids cgroup: nothing can leave it
        try:
            with open(os.path.join(SWEEP[len("cgroup:"):], "cgroup.procs")) as fh:
                return [int(x) for x in fh.read().split() if int(x) not in keep]
        except (OSError, ValueError):
            pass
    victims = []  # weakest: the candidate's own session (a second setsid escapes it)
    for n in os.listdir("/proc"):
        if n.isdigit() and int(n) not in keep:
            try:
                if os.getsid(int(n)) == candidate:
                    victims.append(int(n))
            except OSError:
                pass
    return victims


def _kill_everything_else(keep: set[int], candidate: int) -> None:
    for _ in range(3):
        victims = _sweep_candidates(keep, candidate)
        if not victims:
            return
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        _reap(block=False)


def _reap(block: bool) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _wipe_scratch() -> None:
    """Nothing a candidate wrote survives it: empty every writable place in the sandbox."""
    for root in SCRATCH_DIRS:
        try:
            names = os.listdir(root)
        except OSError:
            continue
        for name in names:
            path = os.path.join(root, name)
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.unlink(path)
            except OSError:
                pass


class Spare:
    """A pre-forked, still-idle candidate process."""

    def __init__(self, control_fd: int):
        self.prog_r, self.prog_w = os.pipe()
        self.call_r, self.call_w = os.pipe()
        self.reply_r, self.reply_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                candidate_main(self.prog_r, self.call_r, self.reply_w)
            finally:
                os._exit(4)
        self.pid = pid
        for fd in (self.prog_r, self.call_r, self.reply_w):
            os.close(fd)


def _describe_status(status):
    if status is None:
        return None
    if os.WIFSIGNALED(status):
        return {"signal": os.WTERMSIG(status)}
    return {"code": os.WEXITSTATUS(status)}


def zygote_main(sock) -> None:
    """Runs in Z. Never returns."""
    null = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1):
        os.dup2(null, fd)
    os.close(null)
    keep = {1, os.getpid(), os.getppid()}
    control = sock.fileno()
    job_no = 0
    spare = Spare(control)
    while True:
        try:
            request = json.loads(read_frame(control))
        except (EOFError, OSError, ValueError):
            os._exit(0)
        if request["op"] == "start":
            job_no += 1
            try:
                write_frame(spare.prog_w, json.dumps({"program": request["program"], "limits": request["limits"],
                                                      "workdir": f"{WORK_ROOT}/c{job_no}"}).encode())
            except OSError:
                pass
            socket.send_fds(sock, [json.dumps({"pid": spare.pid}).encode()], [spare.call_w, spare.reply_r])
            for fd in (spare.prog_w, spare.call_w, spare.reply_r):
                os.close(fd)
        elif request["op"] == "finish":
            c_status = c_rusage = None
            try:
                pid, status, rusage = os.wait4(spare.pid, os.WNOHANG)
                if pid:
                    c_status, c_rusage = status, rusage
            except ChildProcessError:
                pass
            if c_status is None:
                try:
                    os.kill(spare.pid, signal.SIGKILL)
                    _, _, c_rusage = os.wait4(spare.pid, 0)
                except (OSError, ChildProcessError):
                    pass
            _kill_everything_else(keep, spare.pid)
            write_frame(control, json.dumps({
                "c_exit": _describe_status(c_status),
                "peak_memory_mb": round(c_rusage.ru_maxrss / 1024.0, 2) if c_rusage else None,
            }).encode())
            _wipe_scratch()
            spare = Spare(control)


# --------------------------------------------------------------------------- tester main loop (T)

def serve(in_fd: int = 0, out_fd: int = 1) -> None:
    # Nobody in the sandbox (all one uid) may ptrace T or read its memory: it holds the tests.
    _set_non_dumpable()
    extra = os.environ.get("CODELEWM_EXTRA_PATH")
    if extra:
        sys.path.insert(0, extra)
    # The interpreter runs with -S (no site-packages); install the builtins `site` would add
    # (help, exit, quit, copyright, credits, license) without touching sys.path.
    try:
        import site

        site.setquit()
        site.setcopyright()
        site.sethelper()
    except Exception:  # pragma: no cover
        pass
    for name in PRELOAD:
        try:
            __import__(name)
        except Exception:
            pass
    import gc

    gc.collect()
    gc.freeze()  # forked children then never walk (and copy) the inherited objects' pages
    t_sock, z_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    zpid = os.fork()
    if zpid == 0:
        t_sock.close()
        try:
            zygote_main(z_sock)
        finally:
            os._exit(6)
    z_sock.close()
    control = t_sock.fileno()
    write_frame(out_fd, json.dumps({"ready": True, "pid": os.getpid()}).encode())
    while True:
        try:
            header = json.loads(read_frame(in_fd))
            tests = json.loads(read_frame(in_fd))
        except EOFError:
            return
        started = time.monotonic()
        meta = {"wall_s": None}
        try:
            write_frame(control, json.dumps({"op": "start", "program": header["program"],
                                             "limits": header["limits"]}).encode())
            msg, fds, _, _ = socket.recv_fds(t_sock, 1 << 16, 2)
            if len(fds) != 2:
                raise OSError("zygote sent no pipes")
            call_w, reply_r = fds
            try:
                result = run_tests(call_w, reply_r, header, tests)
            finally:
                os.close(call_w)
                os.close(reply_r)
            write_frame(control, json.dumps({"op": "finish"}).encode())
            meta.update(json.loads(read_frame(control)))
        except (OSError, EOFError, ValueError):
            # The candidate brought down the zygote: this worker can no longer make clean
            # candidate processes. Report it and exit; the orchestrator starts a new worker.
            meta["worker_died"] = True
            result = None
        meta["tester_answered"] = result is not None
        meta["wall_s"] = round(time.monotonic() - started, 6)
        write_frame(out_fd, json.dumps(meta).encode())
        write_frame(out_fd, json.dumps(result, allow_nan=False, default=str).encode() if result is not None else b"null")
        if result is None:
            os._exit(0)


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    serve()
