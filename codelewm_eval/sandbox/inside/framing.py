"""Frames on every pipe: a 4-byte big-endian length, then the payload."""

from __future__ import annotations

import os
import select
import struct

MAX_FRAME = 64 * 1024 * 1024


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
