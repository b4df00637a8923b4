"""Seed processes on this machine: recorded, watched, and never orphaned.

A `train` run records its process in `reports/process.json` (pid, host, the kernel's start time
of the process, so a recycled pid is not taken for it). `jobs status` asks whether that process
is still alive: a seed whose process is gone without a `complete` or `failed` event was killed,
and is reported failed at once instead of "running" until the stall threshold.

The local launcher starts each seed in its own process group, with the kernel asked to send it
SIGTERM if the launcher dies (even by SIGKILL: Linux's parent-death signal), and on its own
termination stops the group (SIGTERM, then SIGKILL after a grace period). SIGTERM makes a seed
write its `failed` event before it exits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

from ..errors import Terminated
from ..process_record import PROCESS_FILE, alive, record_self  # noqa: F401 - re-exported

GRACE_S = 10.0


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


_RUNNING: set = set()


def run_seed(argv: list[str], env: dict, stdout) -> int:
    """Run one seed to its end, in its own process group; if this process is interrupted or
    terminated meanwhile, stop the seed's group first (SIGTERM, then SIGKILL), then re-raise.
    Seeds waited on from other threads are stopped by `stop_all`."""
    child = subprocess.Popen(argv, env=env, stdout=stdout, start_new_session=True, preexec_fn=_die_with_parent)
    _RUNNING.add(child)
    try:
        return child.wait()
    except (KeyboardInterrupt, Terminated):
        stop_group(child)
        raise
    finally:
        _RUNNING.discard(child)


def stop_all() -> None:
    """Stop every seed this process is running (the launcher is going down)."""
    for child in list(_RUNNING):
        stop_group(child)


def stop_group(child: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, GRACE_S), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(child.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if child.poll() is not None:
                return
            time.sleep(0.05)
