"""Frames on every pipe: a 4-byte big-endian length, then the payload. T's io outputs go to the
orchestrator in output frames: b"P", the index of the first and the count (4 bytes each), then
each output as a length-prefixed blob of the candidate's JSON, parsed there one by one."""

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
    """Whether `fd` has data (or hung up) within `timeout` seconds; 0 only looks."""
    if timeout is not None and timeout < 0:
        return False
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    ms = None if timeout is None else 0 if timeout == 0 else max(1, int(timeout * 1000))
    while True:
        try:
            return bool(poller.poll(ms))
        except InterruptedError:  # pragma: no cover
            continue


INPUTS_HELD = 16  # tasks whose io inputs a worker keeps (both sides keep the same list; see pool.Worker)
OUTPUT_FRAME = b"P"
OUTPUT_FRAME_BYTES = 16 << 20  # outputs past this go on in a further frame


def write_output_frames(fd: int, first: int, outputs: list) -> None:
    start = 0
    while start < len(outputs):
        end, size = start, 0
        while end < len(outputs) and (end == start or size + len(outputs[end]) <= OUTPUT_FRAME_BYTES):
            size += len(outputs[end]) + 4
            end += 1
        body = b"".join(struct.pack(">I", len(blob)) + blob for blob in outputs[start:end])
        write_frame(fd, OUTPUT_FRAME + struct.pack(">II", first + start, end - start) + body)
        start = end


def read_output_frame(payload: bytes) -> tuple[int, list]:
    """(first, outputs) of an output frame; ValueError when it is malformed."""
    if payload[:1] != OUTPUT_FRAME or len(payload) < 9:
        raise ValueError("not an output frame")
    first, count = struct.unpack_from(">II", payload, 1)
    view, at, outputs = memoryview(payload), 9, []
    for _ in range(count):
        if at + 4 > len(payload):
            raise ValueError("truncated output frame")
        (n,) = struct.unpack_from(">I", payload, at)
        if at + 4 + n > len(payload):
            raise ValueError("truncated output frame")
        outputs.append(bytes(view[at + 4:at + 4 + n]))
        at += 4 + n
    if at != len(payload):
        raise ValueError("trailing bytes in output frame")
    return first, outputs
