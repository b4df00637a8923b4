"""Frames on every pipe: a 4-byte big-endian length, then the payload. T's io outputs go to the
orchestrator in output frames: b"P", the index of the first and the count (4 bytes each), then
each output as a length-prefixed blob of the candidate's JSON, parsed there one by one."""

from __future__ import annotations

import os
import select
import struct
import time

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


class FrameReader:
    """Frames from one pipe, read in bulk: a read takes every byte already written, so a burst of
    small frames (a batch's outputs) costs one wake-up and one read, not three calls each. Bytes
    are read only after `wait` saw them within its timeout, so a frame that is buffered arrived in
    time, and a writer that stops mid-frame cannot block the reader."""

    CHUNK = 1 << 16

    def __init__(self, fd: int):
        self.fd = fd
        self._buf = bytearray()
        self._at = 0
        self._poller = select.poll()
        self._poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)

    def _missing(self) -> int:
        """Bytes still to read before a whole frame is buffered (0: one is)."""
        have = len(self._buf) - self._at
        if have < 4:
            return 4 - have
        (n,) = struct.unpack_from(">I", self._buf, self._at)
        if n > MAX_FRAME:
            raise ValueError("frame too large")
        return max(0, 4 + n - have)

    def has_frame(self) -> bool:
        return self._missing() == 0

    def wait(self, timeout: float | None) -> bool:
        """Whether a whole frame is buffered, reading what arrives within `timeout` seconds
        (None: block); EOFError when the writer closed its end mid-frame or before one."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            missing = self._missing()
            if not missing:
                return True
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ms = None if left is None else 0 if left == 0 else max(1, int(left * 1000))
            try:
                if not self._poller.poll(ms):
                    return False
            except InterruptedError:  # pragma: no cover
                continue
            chunk = os.read(self.fd, min(max(self.CHUNK, missing), 1 << 20))
            if not chunk:
                raise EOFError
            if self._at and self._at == len(self._buf):
                self._buf.clear()
                self._at = 0
            self._buf += chunk

    def take(self) -> bytes:
        """The next buffered frame's payload (call after `wait` or `has_frame` said there is one)."""
        (n,) = struct.unpack_from(">I", self._buf, self._at)
        start = self._at + 4
        payload = bytes(self._buf[start:start + n])
        self._at = start + n
        if self._at == len(self._buf):
            self._buf.clear()
            self._at = 0
        elif self._at > (1 << 20):
            del self._buf[:self._at]
            self._at = 0
        return payload


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
HELD_FIELDS = ("inputs", "input_limits", "input_costs")  # what a held task's later jobs leave out
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
