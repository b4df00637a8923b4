"""A run's record of its own process (`reports/process.json`: pid, host, the kernel's start time
of the process, so a recycled pid is not taken for it), and whether that process is alive. Written
by the runs themselves (train, surgery train), read by `jobs status`: a base module, so that the
runs do not import the job layer above them."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from .errors import InputError

PROCESS_FILE = Path("reports") / "process.json"


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def record_self(run_dir: Path) -> None:
    path = Path(run_dir) / PROCESS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                "start_ticks": _start_ticks(os.getpid())}) + "\n")


def alive(run_dir: Path) -> bool | None:
    """Is the run's recorded process alive? None: unknown (no record, or another machine's)."""
    try:
        record = json.loads((Path(run_dir) / PROCESS_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or (record.get("host") == socket.gethostname()
                                        and not isinstance(record.get("pid"), int)):
        raise InputError(f"malformed process record (pid {record.get('pid') if isinstance(record, dict) else record!r}"
                         "): it cannot say whether the run is alive", path=str(Path(run_dir) / PROCESS_FILE),
                         field="pid")
    if record.get("host") != socket.gethostname():
        return None
    ticks = _start_ticks(record["pid"])
    if ticks is None or ticks != record.get("start_ticks"):
        return False
    try:  # a zombie (exited, not yet reaped) is not alive
        state = Path(f"/proc/{record['pid']}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")
