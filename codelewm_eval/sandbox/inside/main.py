"""The worker's entry point: T's main loop (see the package docstring)."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
from collections import OrderedDict

from .framing import (
    HELD_FIELDS,
    INPUTS_HELD,
    read_frame,
    wait_readable,
    write_frame,
    write_output_frames,
)
from .tester import DecodedInputs, _set_non_dumpable, run_tests
from .zygote import zygote_main

PRELOAD = (
    "array", "bisect", "collections", "copy", "datetime", "decimal", "fractions",
    "functools", "hashlib", "heapq", "itertools", "json", "math", "operator", "random",
    "re", "statistics", "string", "typing", "unicodedata", "cmath", "dataclasses",
)  # numpy stays importable but is not preloaded: it doubles the cost of every fork


def serve(in_fd: int = 0, out_fd: int = 1) -> None:
    # Nobody in the sandbox (all one uid) may ptrace T or read its memory: it holds the tests.
    _set_non_dumpable()
    _prepare_interpreter()
    t_sock, z_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    zpid = os.fork()
    if zpid == 0:
        t_sock.close()
        try:
            zygote_main(z_sock)
        finally:
            os._exit(6)
    z_sock.close()
    write_frame(out_fd, json.dumps({"ready": True, "pid": os.getpid()}).encode())
    held: OrderedDict = OrderedDict()
    while True:
        try:
            header = _next_job_frame(in_fd)
            tests = _with_held_inputs(json.loads(read_frame(in_fd)), held)
        except EOFError:
            return
        if tests is None:
            write_frame(out_fd, json.dumps({"wall_s": 0.0, "inputs_missing": True}).encode())
            write_frame(out_fd, b"null")
            continue
        started = time.monotonic()
        meta = {"wall_s": None}

        def report(first: int, outputs: list) -> bool:
            """Send io outputs to the orchestrator without waiting for it; it answers only to stop
            (an output is wrong), and T looks for that answer before each next batch."""
            write_output_frames(out_fd, first, outputs)
            if wait_readable(in_fd, 0):
                return bool(json.loads(read_frame(in_fd)).get("go"))
            return True

        try:
            result = _one_candidate(t_sock, header, tests, meta, report)
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


def _with_held_inputs(tests: dict, held: OrderedDict) -> dict | None:
    """A task's inputs, with their time limits and costs, come once per worker (the orchestrator
    keeps the same list, in the same order, of the INPUTS_HELD tasks whose inputs T holds); later
    jobs name them by key."""
    key = tests.get("inputs_key")
    if not key:
        return tests
    if tests.get("inputs") is None:
        if key not in held:
            return None  # the two lists disagree: the orchestrator sends this job again, inputs included
        tests.update(held[key])
        held.move_to_end(key)
    else:
        held[key] = {name: tests.get(name) for name in HELD_FIELDS}
        held[key]["decoded_inputs"] = tests["decoded_inputs"] = DecodedInputs(tests["inputs"])  # decoded as used
        if len(held) > INPUTS_HELD:
            held.popitem(last=False)
    return tests


def _next_job_frame(in_fd: int) -> dict:
    """The next job's header; a stop the orchestrator sent after the last job had ended is dropped."""
    while True:
        frame = json.loads(read_frame(in_fd))
        if "go" not in frame:
            return frame


def _prepare_interpreter() -> None:
    """The extra path, the builtins `site` would add, the preloaded modules, and a frozen heap."""
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


def _one_candidate(t_sock, header: dict, tests, meta: dict, report=None):
    """Ask the zygote for a fresh candidate process, run the tests against it, and add what the
    zygote saw of its end to `meta`; the tester's result (None: it did not answer)."""
    control = t_sock.fileno()
    write_frame(control, json.dumps({"op": "start", "program": header["program"], "limits": header["limits"]}).encode())
    msg, fds, _, _ = socket.recv_fds(t_sock, 1 << 16, 2)
    if len(fds) != 2:
        raise OSError("zygote sent no pipes")
    call_w, reply_r = fds
    try:
        result = run_tests(call_w, reply_r, header, tests, json.loads(msg).get("pid"), report)
    finally:
        os.close(call_w)
        os.close(reply_r)
    gone = bool(result and result.get("candidate_gone"))  # its exit status says why: wait for it
    write_frame(control, json.dumps({"op": "finish", "gone": gone}).encode())
    meta.update(json.loads(read_frame(control)))
    return result


def main() -> None:
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    serve()
