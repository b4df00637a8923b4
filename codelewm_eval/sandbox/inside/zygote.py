"""Z, the zygote: forked before any test exists, it makes one clean candidate process per job
and afterwards kills everything the candidate left and wipes the scratch directories."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import time

from .candidate import candidate_main
from .framing import read_frame, write_frame

# Inside bubblewrap /tmp, /dev/shm and /dev/mqueue are private to this worker and the pid
# namespace holds nothing but it; the rlimits fallback gets a private scratch directory and
# a sweep limited to its own cgroup (or to the candidate's session) from the orchestrator.
WORK_ROOT = os.environ.get("CODELEWM_SCRATCH") or "/tmp"
SWEEP = os.environ.get("CODELEWM_SWEEP") or "pidns"
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
            # a candidate that ended on its own (the tester saw its pipes close) is still exiting:
            # give it a moment, so its exit status (a sandbox violation's among them) is read
            deadline = time.monotonic() + (0.2 if request.get("gone") else 0.0)
            while True:
                try:
                    pid, status, rusage = os.wait4(spare.pid, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid:
                    c_status, c_rusage = status, rusage
                    break
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.001)
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
