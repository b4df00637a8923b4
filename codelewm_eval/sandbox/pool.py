"""Warm sandboxed workers, seen from the orchestrator.

A pool starts N copies of the `inside` package's worker (stdlib only) inside the strongest isolation this
machine offers and hands them jobs. The isolation level actually achieved is recorded on
every result:

* ``bwrap``: Debian's bubblewrap with user, pid, net, ipc, uts and cgroup namespaces, the
  sandbox uid 65534, all capabilities dropped, a read-only view of only ``/usr`` and the
  Python standard library (site-packages, home directories, the project and any data
  directory are not visible), a size-capped private ``/tmp`` and a fresh ``/proc``. When
  running as root, each worker also goes into a ``pids`` cgroup that caps its process count.
* ``rlimits``: the documented weaker fallback when bubblewrap is missing: a separate session,
  scrubbed environment, resource limits and no site-packages, but a shared network, file
  system and pid space.

Everything else (time limits, memory, output cap, the two-process verdict) is the same on
both levels and is enforced by the worker.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import struct
import subprocess
import sys
import sysconfig
import tempfile
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from ..errors import EnvironmentProblem
from .inside.framing import HELD_FIELDS, INPUTS_HELD, OUTPUT_FRAME, read_output_frame

INSIDE = Path(__file__).with_name("inside")     # the stdlib-only package that runs in the sandbox
SANDBOX_ROOT = "/opt/codelewm"
SANDBOX_PYLIB = "/opt/codelewm/pylib"
START = "import sys; sys.path.insert(0, {root!r}); from inside.main import main; main()"
CGROUP_PIDS_ROOT = Path("/sys/fs/cgroup/pids")


class SandboxError(EnvironmentProblem, RuntimeError):
    """The sandbox itself could not start or broke down (never the candidate's fault)."""

    label = "sandbox"


@dataclass(frozen=True)
class Limits:
    wall_s: float = 3.0
    per_input_s: float | None = None
    memory_mb: int = 2048
    output_bytes: int = 1 << 20
    nproc: int = 64

    def as_dict(self) -> dict:
        return {
            "wall_s": float(self.wall_s),
            "per_input_s": self.per_input_s,
            "cpu_s": float(self.wall_s) + 1.0,
            "memory_mb": int(self.memory_mb),
            "output_bytes": int(self.output_bytes),
            "nproc": int(self.nproc),
        }


@dataclass
class RawOutcome:
    """What came back from the sandbox for one job, before any verdict logic."""

    tester: dict | None
    meta: dict
    isolation: str
    outputs: list | None = None  # io: each output as the candidate's JSON bytes, in input order


def _python_paths() -> tuple[str, str, str]:
    base_prefix = sys.base_prefix
    executable = getattr(sys, "_base_executable", None) or sys.executable
    if not os.path.realpath(executable).startswith(os.path.realpath(base_prefix)):
        executable = os.path.join(base_prefix, "bin", f"python{sys.version_info.major}.{sys.version_info.minor}")
    stdlib = sysconfig.get_paths()["stdlib"]
    site = os.path.join(stdlib, "site-packages")
    return base_prefix, executable, site


def _numpy_dirs() -> list[Path]:
    """numpy is the one third-party package candidates may import (read-only)."""
    try:
        import numpy
    except ImportError:  # pragma: no cover
        return []
    pkg = Path(numpy.__file__).parent
    dirs = [pkg]
    libs = pkg.parent / "numpy.libs"
    if libs.is_dir():
        dirs.append(libs)
    return dirs


def bwrap_available() -> bool:
    exe = shutil.which("bwrap")
    if not exe:
        return False
    try:
        probe = subprocess.run(
            [exe, "--unshare-all", "--die-with-parent", "--ro-bind", "/usr", "/usr",
             "--symlink", "usr/bin", "/bin", "--symlink", "usr/lib", "/lib",
             "--symlink", "usr/lib64", "/lib64", "--proc", "/proc", "--dev", "/dev", "true"],
            capture_output=True, timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def _bwrap_command(tmp_mb: int) -> list[str]:
    base_prefix, executable, site = _python_paths()
    cmd = [
        shutil.which("bwrap") or "bwrap",
        "--unshare-all", "--die-with-parent", "--new-session",
        "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL",
        "--ro-bind", "/usr", "/usr",
        "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
        "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
        "--ro-bind", base_prefix, base_prefix,
        "--tmpfs", site,
        "--ro-bind", str(INSIDE), f"{SANDBOX_ROOT}/inside",
        "--proc", "/proc", "--dev", "/dev",
        "--size", str(tmp_mb * 1024 * 1024), "--tmpfs", "/tmp",
        "--chdir", "/tmp",
        "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/tmp",
        "--setenv", "LANG", "C.UTF-8", "--setenv", "PYTHONHASHSEED", "0",
        "--setenv", "CODELEWM_EXTRA_PATH", SANDBOX_PYLIB,
    ]
    for d in _numpy_dirs():
        cmd += ["--ro-bind", str(d), f"{SANDBOX_PYLIB}/{d.name}"]
    # bwrap builds the root on a tmpfs: make it read-only once everything is mounted, so the
    # only writable places are the private /tmp and /dev/shm, which the worker wipes per job.
    cmd += ["--remount-ro", "/"]
    cmd += [executable, "-S", "-I", "-B", "-c", START.format(root=SANDBOX_ROOT)]
    return cmd


def _fallback_command(scratch: str, cgroup: Path | None) -> tuple[list[str], dict]:
    _, executable, _ = _python_paths()
    env = {"PATH": "/usr/bin:/bin", "HOME": scratch, "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
           "CODELEWM_SCRATCH": scratch, "CODELEWM_SWEEP": f"cgroup:{cgroup}" if cgroup else "session"}
    dirs = _numpy_dirs()
    if dirs:
        env["CODELEWM_EXTRA_PATH"] = str(dirs[0].parent)
    return [executable, "-S", "-I", "-B", "-c", START.format(root=str(INSIDE.parent))], env


class _PidsCgroup:
    """A pids cgroup (v1 or v2) capping one worker's process count; root only, best effort."""

    def __init__(self, max_pids: int):
        self.path: Path | None = None
        for root in (CGROUP_PIDS_ROOT, Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup")):
            try:
                if not (root / "cgroup.procs").exists():
                    continue
                path = root / f"codelewm-{os.getpid()}-{uuid.uuid4().hex[:8]}"
                path.mkdir()
                if not (path / "pids.max").exists():
                    path.rmdir()
                    continue
                (path / "pids.max").write_text(str(max_pids))
                self.path = path
                return
            except OSError:
                continue

    def enter(self) -> None:  # runs in the child between fork and exec
        if self.path is not None:
            try:
                (self.path / "cgroup.procs").write_text(str(os.getpid()))
            except OSError:
                pass

    def remove(self) -> None:
        if self.path is not None:
            try:
                self.path.rmdir()
            except OSError:
                pass


class Worker:
    def __init__(self, use_bwrap: bool, limits: Limits, tmp_mb: int = 128):
        self.cgroup = _PidsCgroup(limits.nproc + 8)
        self.scratch: str | None = None
        if use_bwrap:
            cmd, env = _bwrap_command(tmp_mb), {}
            level = "bwrap(user,pid,net,ipc,uts,cgroup ns; uid 65534; ro /usr+stdlib; private /tmp)"
        else:
            self.scratch = tempfile.mkdtemp(prefix="codelewm-scratch-")
            cmd, env = _fallback_command(self.scratch, self.cgroup.path)
            level = "rlimits(session, scrubbed env, no site-packages, private scratch dir; shared net/fs/pids)"
            if os.geteuid() == 0:  # only reached with --isolation rlimits-as-root: said on every row
                level += "+AS-ROOT(acknowledged: candidates ran as root, with the host's network and files)"
        if self.cgroup.path is not None:
            level += "+pids-cgroup"
        self.isolation = level
        self._held: OrderedDict[str, bool] = OrderedDict()
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=env, preexec_fn=self.cgroup.enter, close_fds=True,
        )
        hello = self._read_frame()
        if hello is None or not json.loads(hello).get("ready"):
            self.close()
            raise SandboxError("the sandbox worker did not start")

    def _read_exact(self, n: int) -> bytes | None:
        data = self.proc.stdout.read(n)
        if data is None or len(data) < n:
            return None
        return data

    def _read_frame(self) -> bytes | None:
        head = self._read_exact(4)
        if head is None:
            return None
        (n,) = struct.unpack(">I", head)
        return self._read_exact(n) if n else b""

    def _write_frame(self, payload: bytes) -> None:
        self.proc.stdin.write(struct.pack(">I", len(payload)) + payload)

    def run(self, header: dict, tests: dict, on_progress=None) -> RawOutcome | None:
        """One job; None when the worker itself died (the caller restarts it). A streaming io job
        sends its outputs as it goes, without waiting: when `on_progress(first, outputs)` says
        stop, the tester is told once, and it stops before its next batch of inputs. An io job's
        outputs (JSON bytes, one per input run) are the outcome's `outputs`."""
        full = tests
        tests = self._without_held_inputs(tests)
        try:
            self._write_frame(json.dumps(header).encode())
            self._write_frame(json.dumps(tests).encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return None
        streamed: list = []
        told_stop = False
        meta_raw = self._read_frame()
        while meta_raw is not None and meta_raw[:1] == OUTPUT_FRAME:
            try:
                first, outputs = read_output_frame(meta_raw)
            except ValueError:
                return None  # T writes these frames: a malformed one is a broken worker
            if first != len(streamed):
                return None
            streamed.extend(outputs)
            if on_progress is not None and not told_stop and not on_progress(first, outputs):
                told_stop = True
                try:
                    self._write_frame(b'{"go":false}')
                    self.proc.stdin.flush()
                except (BrokenPipeError, OSError):
                    return None
            meta_raw = self._read_frame()
        result_raw = self._read_frame()
        if meta_raw is None or result_raw is None:
            return None
        meta = json.loads(meta_raw)
        if meta.get("inputs_missing") and tests.get("inputs") is None:
            self._held.pop(tests.get("inputs_key"), None)
            return self.run(header, full, on_progress)
        try:
            tester = json.loads(result_raw)
        except ValueError:
            tester = None
        if tester is not None and type(tester) is not dict:
            tester = None
        if tester is not None and "streamed" in tester and tester["streamed"] != len(streamed):
            tester = None  # the tester's account disagrees with what it sent
        if tester is not None and "streamed" in tester:
            return RawOutcome(tester=tester, meta=meta, isolation=self.isolation, outputs=streamed)
        return RawOutcome(tester=tester, meta=meta, isolation=self.isolation)

    def _without_held_inputs(self, tests: dict) -> dict:
        """A task's inputs (with their limits and costs) go to a worker once: the tester holds the
        last INPUTS_HELD tasks' by key, and this side keeps the same list in the same order, so it
        knows what the tester holds. The key covers all of HELD_FIELDS."""
        key = tests.get("inputs_key")
        if not key:
            return tests
        if key in self._held:
            self._held.move_to_end(key)
            return {**tests, **dict.fromkeys(HELD_FIELDS)}
        self._held[key] = True
        if len(self._held) > INPUTS_HELD:
            self._held.popitem(last=False)
        return tests

    def close(self) -> None:
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.cgroup.remove()
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)


class SandboxPool:
    """N warm workers; `run` is safe to call from many threads at once."""

    def __init__(self, workers: int | None = None, limits: Limits | None = None, isolation: str = "auto"):
        # One more worker than cores: while one waits on a pipe, another uses the CPU.
        self.size = max(1, workers or (os.cpu_count() or 1) + 1)
        self.limits = limits or Limits()
        if isolation not in ("auto", "bwrap", "rlimits", "rlimits-as-root"):
            raise SandboxError(f"unknown isolation {isolation!r} (auto, bwrap, rlimits, rlimits-as-root)")
        if isolation == "rlimits" and os.geteuid() == 0:
            raise SandboxError(
                "--isolation rlimits as root runs untrusted candidates as root: they can read /etc/shadow, reach "
                "the network and write the host's /tmp. Install bubblewrap, run as an unprivileged user, or pass "
                "--isolation rlimits-as-root to accept it (every result row then says so)")
        if isolation == "auto":
            self.use_bwrap = bwrap_available()
            if not self.use_bwrap and os.geteuid() == 0:
                raise SandboxError(
                    "refusing to run untrusted candidates as root without bubblewrap: install it "
                    "(apt-get install bubblewrap) or pass --isolation rlimits to accept the weaker fallback")
        elif isolation == "bwrap":
            if not bwrap_available():
                raise SandboxError("bubblewrap is not usable here (install Debian's 'bubblewrap')")
            self.use_bwrap = True
        else:  # rlimits (not root), or rlimits-as-root (acknowledged)
            self.use_bwrap = False
        self._idle: queue.Queue[Worker] = queue.Queue()
        self._all: list[Worker] = []
        self._lock = threading.Lock()
        self._closed = False
        try:
            for _ in range(self.size):
                self._add_worker()
        except BaseException:  # a worker that would not start, or a signal: none is left behind
            self.close()
            raise

    def _add_worker(self) -> None:
        w = Worker(self.use_bwrap, self.limits)
        with self._lock:
            if self._closed:  # closed while this one started (another thread's failure)
                w.close()
                raise SandboxError("the sandbox pool was closed")
            self._all.append(w)
        self._idle.put(w)

    @property
    def isolation(self) -> str:
        return self._all[0].isolation if self._all else "none"

    def _take(self) -> Worker:
        """An idle worker; a closed pool raises instead of waiting for one that never returns."""
        while True:
            if self._closed:
                raise SandboxError("the sandbox pool was closed")
            try:
                return self._idle.get(timeout=0.5)
            except queue.Empty:
                continue

    def run(self, header: dict, tests: dict, on_progress=None) -> RawOutcome:
        worker = self._take()
        outcome = worker.run(header, tests, on_progress)
        if self._closed:  # the pool was closed under this job: its worker is gone, start no other
            raise SandboxError("the sandbox pool was closed")
        if outcome is not None and outcome.meta.get("worker_died"):
            self._replace(worker)
            return outcome
        if outcome is None:
            # The candidate managed to kill its worker: that is never a pass.
            self._replace(worker)
            return RawOutcome(tester=None, meta={"worker_died": True}, isolation=worker.isolation)
        self._idle.put(worker)
        return outcome

    def _replace(self, worker: Worker) -> None:
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)
        worker.close()
        self._add_worker()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._all = self._all, []
        for w in workers:
            w.close()

    def __enter__(self) -> "SandboxPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
