"""Forked worker processes that cannot hang at shutdown.

`multiprocessing.Pool` ends in `terminate()` even on success: it sends SIGTERM to workers that
may not yet have replaced the parent's handler (the CLI turns SIGTERM into an exception, so a
worker that gets it that early loses it and lives on), while the parent holds the task queue's
lock and waits for them forever; a worker killed while it holds that shared lock hangs the next
`terminate()` the same way. This pool has none of those paths:

* each worker has its own pipe (no lock shared between processes), so any worker can die at any
  moment without blocking another process;
* SIGTERM and SIGINT are blocked in the forking thread around each fork, and the child sets its
  own dispositions (SIGTERM: die; SIGINT: ignored, the parent ends the pool) before it unblocks
  them, so a SIGTERM that arrives at any moment is either pending until the child's own
  disposition applies, or delivered to a child whose disposition is already its own;
* on success, each worker is sent an end-of-work message and reaped (no signals); on failure
  (an exception, Ctrl-C or SIGTERM in the parent), workers get SIGTERM, a bounded wait, then
  SIGKILL; a worker that dies unexpectedly is an error in the parent, never a wait.

Workers leave through `os._exit`: no atexit hook, finalizer or `finally` of the parent's runs
twice. Functions and arguments cross by pickle; an exception raised in a worker is raised again
in the parent (its traceback text kept when it cannot be pickled).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from multiprocessing.connection import Connection, Pipe, wait
from typing import Any

_SIGNALS = {signal.SIGTERM, signal.SIGINT}
PREFETCH = 2          # tasks in flight per worker: one computing, one waiting in its pipe
GRACE_S = 2.0         # after SIGTERM on failure, before SIGKILL
CLOSE_S = 30.0        # on success, for idle workers to read their end-of-work message and exit


class WorkerDied(RuntimeError):
    """A worker process ended before it answered (killed from outside, or out of memory)."""


class _Worker:
    def __init__(self, pid: int, conn: Connection):
        self.pid, self.conn, self.in_flight, self.status = pid, conn, 0, None

    def reap(self, block: bool = False) -> bool:
        """True once the process has been reaped."""
        if self.status is None:
            try:
                pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere
                pid, status = self.pid, 0
            if pid:
                self.status = status
        return self.status is not None

    def signal(self, signum: int) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass


def _died(worker: _Worker) -> WorkerDied:
    worker.reap(block=True)
    return WorkerDied(f"worker process {worker.pid} ended before it answered (wait status {worker.status})")


def _serve(conn: Connection) -> None:
    """A worker's loop: (index, fn, args) in, (index, ok, value) out, until None or EOF."""
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        index, fn, args = message
        try:
            answer = (index, True, fn(*args))
        except BaseException as exc:
            answer = (index, False, _portable(exc))
        try:
            conn.send(answer)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            conn.send((index, False, _portable(exc)))


def _portable(exc: BaseException) -> tuple[bytes | None, str]:
    """The exception pickled (when it survives a round trip) and its traceback text."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    try:
        data = pickle.dumps(exc)
        pickle.loads(data)
    except Exception:
        data = None
    return data, text


def _raise_remote(value: tuple[bytes | None, str], pid: int) -> None:
    data, text = value
    exc = pickle.loads(data) if data is not None else RuntimeError(f"worker {pid} failed:\n{text}")
    raise exc


@contextlib.contextmanager
def _signals_deferred():
    """SIGTERM and SIGINT held back while workers are forked: blocked in this thread (a child
    starts with them blocked), and, on the main thread, where Python runs signal handlers,
    the handlers replaced by a recorder, so no handler can raise between a fork and the pool's
    record of the child. Recorded signals are raised again once the handlers are back. Yields
    the signal mask a child sets once its own dispositions are in place."""
    caught: list[int] = []
    saved: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in _SIGNALS:
            handler = signal.getsignal(signum)
            if callable(handler):
                saved[signum] = signal.signal(signum, lambda n, _frame: caught.append(n))
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield set(previous) - _SIGNALS
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        for signum, handler in saved.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(caught):
            signal.raise_signal(signum)


class WorkerPool:
    """N forked worker processes with `map`, `starmap`, `imap` and `starmap_async` in the manner
    of `multiprocessing.Pool` (results in input order). Use it as a context manager: leaving
    normally closes and joins it, leaving by an exception ends its workers within GRACE_S."""

    def __init__(self, workers: int):
        self._workers: list[_Worker] = []
        self._closed = False
        try:
            with _signals_deferred() as unblocked:
                for _ in range(max(1, workers)):
                    self._fork(unblocked)
        except BaseException:
            self.terminate()
            raise

    def _fork(self, unblocked: set) -> None:
        """One worker, recorded before any signal handler of this process can run again."""
        parent_end, child_end = Pipe(duplex=True)
        pid = os.fork()
        if pid == 0:  # the child: signals stay blocked until its own dispositions are set
            code = 1
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.pthread_sigmask(signal.SIG_SETMASK, unblocked)
                parent_end.close()
                for other in self._workers:  # earlier workers' pipes: not this child's
                    other.conn.close()
                _serve(child_end)
                code = 0
            finally:
                os._exit(code)
        self._workers.append(_Worker(pid, parent_end))
        child_end.close()

    @property
    def pids(self) -> list[int]:
        return [w.pid for w in self._workers]

    # -- work ------------------------------------------------------------------------------

    def _run(self, fn: Callable, calls: Iterable[tuple], queued: deque | None = None) -> Iterator[tuple[int, Any]]:
        """(index, result) as they come; the first failure is raised here."""
        if self._closed:
            raise ValueError("the pool is closed")
        queued = queued if queued is not None else deque(enumerate(calls))
        try:
            yield from self._collect(fn, queued)
        except BaseException:  # a failure, or the caller stopped early: answers are in flight
            self.terminate()
            raise

    def _collect(self, fn: Callable, queued: deque) -> Iterator[tuple[int, Any]]:
        while True:
            self._dispatch(fn, queued)
            busy = {w.conn: w for w in self._workers if w.in_flight}
            if not busy:
                return
            for conn in wait(list(busy)):
                worker = busy[conn]
                try:
                    index, ok, value = conn.recv()
                except (EOFError, OSError):
                    raise _died(worker) from None
                worker.in_flight -= 1
                if not ok:
                    _raise_remote(value, worker.pid)
                yield index, value

    def _dispatch(self, fn: Callable, queued: deque) -> None:
        for worker in self._workers:
            while queued and worker.in_flight < PREFETCH:
                index, args = queued.popleft()
                try:
                    worker.conn.send((index, fn, tuple(args)))
                except OSError:  # its end of the pipe is gone: the worker died
                    raise _died(worker) from None
                worker.in_flight += 1

    def starmap(self, fn: Callable, calls: Iterable[Iterable], chunksize: int | None = None) -> list:
        calls = list(calls)
        out: list[Any] = [None] * len(calls)
        for index, value in self._run(fn, calls):
            out[index] = value
        return out

    def map(self, fn: Callable, items: Iterable, chunksize: int | None = None) -> list:
        return self.starmap(fn, [(item,) for item in items])

    def imap(self, fn: Callable, items: Iterable, chunksize: int | None = None) -> Iterator:
        """fn(item) for each item, in order, each as soon as it and those before it are done."""
        done: dict[int, Any] = {}
        following = 0
        for index, value in self._run(fn, [(item,) for item in items]):
            done[index] = value
            while following in done:
                yield done.pop(following)
                following += 1

    def starmap_async(self, fn: Callable, calls: Iterable[Iterable], chunksize: int | None = None) -> Pending:
        """The first tasks are sent now (the workers start at once); `get()` collects them all."""
        calls = list(calls)
        queued = deque(enumerate(calls))
        self._dispatch(fn, queued)
        return Pending(self, fn, queued, len(calls))

    # -- ending ----------------------------------------------------------------------------

    def close(self) -> None:
        """Every worker is told there is no more work and reaped; one that does not leave within
        CLOSE_S is killed (it cannot happen to a healthy worker: this is the bound)."""
        if self._closed:
            return
        self._closed = True
        try:
            for worker in self._workers:
                try:
                    worker.conn.send(None)
                except OSError:
                    pass
        except BaseException:  # a signal's exception before every worker was told: end them all
            self.terminate()
            raise
        self._reap_all(CLOSE_S)

    def terminate(self) -> None:
        """SIGTERM to every worker, GRACE_S to leave, then SIGKILL; all reaped on return."""
        self._closed = True
        try:
            for worker in self._workers:
                worker.signal(signal.SIGTERM)
        finally:
            self._reap_all(GRACE_S)

    def _reap_all(self, within_s: float) -> None:
        deadline = time.monotonic() + within_s
        try:
            while not all(w.reap() for w in self._workers) and time.monotonic() < deadline:
                time.sleep(0.005)
        finally:  # also when a signal's exception interrupts the wait: no worker outlives its pool
            for worker in self._workers:
                if not worker.reap():
                    worker.signal(signal.SIGKILL)
                    worker.reap(block=True)
                worker.conn.close()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        if kind is None:
            self.close()
        else:
            self.terminate()


class Pending:
    """What `starmap_async` returns: `get()` gives the results in input order."""

    def __init__(self, pool: WorkerPool, fn: Callable, queued: deque, count: int):
        self._pool, self._fn, self._queued, self._count = pool, fn, queued, count

    def get(self) -> list:
        out: list[Any] = [None] * self._count
        for index, value in self._pool._run(self._fn, (), self._queued):
            out[index] = value
        return out


def worker_pool(workers: int) -> WorkerPool:
    """A pool of forked worker processes (they share what this process has read, copy on write)."""
    return WorkerPool(workers)
