"""C, the candidate process: enter a fresh workdir under limits, load the program, serve calls."""

from __future__ import annotations

import builtins
import json
import math
import os
import pickle
import resource
import sys
import types

from .codec import digest_of, dumps, encode_value
from .framing import read_frame, write_frame

MAX_ITER_ITEMS = 1_000_000
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


# A candidate that tries to leave its limits is ended at the attempt with this exit status, and is
# labelled sandbox_violation whatever it would have returned: starting a process (fork, exec,
# spawn, system), signalling another process, reaching the network, raising a resource limit, or
# writing, creating, renaming, linking or removing anything outside its own working directory.
# The sandbox contains all of these anyway (nproc, namespaces, a private /tmp); the label says that
# the candidate tried, so a solution that catches its failed fork or leaves a daemon is no pass.
VIOLATION_EXIT = 86
_SPAWN_EVENTS = {"os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.exec", "os.system", "subprocess.Popen",
                 "pty.spawn", "os.startfile"}
_NET_EVENTS = {"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg"}
_PATH_EVENTS = {"os.mkdir": (0,), "os.remove": (0,), "os.rmdir": (0,), "os.rename": (0, 1), "os.link": (0, 1),
                "os.symlink": (0, 1), "os.chmod": (0,), "os.chown": (0,), "os.truncate": (0,), "os.utime": (0,),
                "shutil.rmtree": (0,), "os.mkfifo": (0,), "os.mknod": (0,)}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def _install_guard(workdir: str, refuse_only: bool = False) -> None:
    """An audit hook (it cannot be removed) that ends the candidate at an escape attempt. With
    `refuse_only` (code whose checks are themselves untrusted, as CodeT's generated tests) the
    attempt raises PermissionError instead, failing the one check that made it."""
    exit_, write, getpid, fspath = os._exit, os.write, os.getpid, os.fspath
    abspath, sep = os.path.abspath, os.sep
    home = abspath(workdir) + sep

    def outside(path) -> bool:
        if isinstance(path, int) or path is None:
            return False  # a descriptor the candidate already holds
        try:
            text = fspath(path)
            text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
        except TypeError:
            return True
        return not (abspath(text) + sep).startswith(home)

    def stop(event: str) -> None:
        if refuse_only:
            raise PermissionError(f"sandbox: {event} is not allowed")
        write(2, f"\nsandbox_violation: {event}\n".encode())
        exit_(VIOLATION_EXIT)

    def guard(event: str, args: tuple) -> None:
        if event == "open":
            flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
            mode = args[1] if len(args) > 1 and isinstance(args[1], str) else ""
            if (flags & _WRITE_FLAGS or any(c in mode for c in "wax+")) and outside(args[0]):
                stop(f"open for writing {args[0]!r}")
        elif event in _SPAWN_EVENTS or event in _NET_EVENTS or event == "resource.setrlimit":
            stop(event)
        elif event in ("os.kill", "os.killpg"):
            if args and args[0] not in (0, getpid()):
                stop(event)
        elif event in _PATH_EVENTS:
            if any(outside(args[i]) for i in _PATH_EVENTS[event] if i < len(args)):
                stop(f"{event} {args[0]!r}")

    sys.addaudithook(guard)


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
    _install_guard(os.getcwd(), refuse_only=job["limits"].get("on_violation") == "refuse")
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
        # dont_inherit: this module's `from __future__ import annotations` must not reach the
        # program (it would leave annotations unevaluated, so an undefined name in one loads here
        # and fails in plain Python)
        code = compile(job["program"], "<candidate>", "exec", dont_inherit=True)
    except MemoryError as exc:  # out of memory while compiling is memory, as it is while running
        write_frame(reply_w, dumps({"load": "error", "exc": ["MemoryError", str(exc)[:500]]}))
        os._exit(0)
    except (SyntaxError, ValueError, OverflowError, RecursionError) as exc:
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
    """One reply frame per call; `calls` (io inputs in a batch) is one call per argument tuple, a
    reply each as it is computed, ending at the first exception."""
    while True:
        try:
            request = read_frame(call_r)
        except EOFError:
            os._exit(0)
        try:
            op, ref_id, args, kwargs, options = pickle.loads(request)
            target = _REFS[ref_id]
        except BaseException as exc:  # noqa: BLE001
            write_frame(reply_w, _reply_failure(exc))
            continue
        if op != "calls":
            write_frame(reply_w, _reply(op, target, args, kwargs, options))
            continue
        for one in args[0]:
            payload = _reply("call", target, one, {}, options)
            write_frame(reply_w, payload)
            if payload.startswith(b'{"exc"'):
                break


def _reply(op: str, target, args, kwargs, options) -> bytes:
    try:
        value = _answer(op, target, args, kwargs)
        huge = digest_of(value, options.get("digest_strings", False)) if op == "call" and options.get("digest") else None
        tree = {"ok": huge if huge is not None else encode_value(value, _REFS)}
    except BaseException as exc:  # noqa: BLE001 - every failure is reported, none escapes
        return _reply_failure(exc)
    try:
        return dumps(tree)
    except BaseException as exc:  # noqa: BLE001
        return dumps({"exc": ["UnencodableResult", str(exc)[:200]]})


def _reply_failure(exc: BaseException) -> bytes:
    limit = 200 if isinstance(exc, SystemExit) else 500
    try:
        return dumps({"exc": [type(exc).__name__, str(exc)[:limit]]})
    except BaseException:  # noqa: BLE001 - str(exc) itself may fail
        return dumps({"exc": [type(exc).__name__, ""]})
