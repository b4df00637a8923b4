"""Stress driver for worker pools (run as a script by tests/test_worker_pools.py).

In a process that already runs other threads (as pytest does) and turns SIGTERM into an
exception (as the CLI does), pools are made and ended ITERATIONS times while SIGTERM arrives at
random moments (during the forks too), workers fail, the parent fails, a consumer stops early
and a worker is killed from outside. It prints one line of outcomes and exits 0; a watchdog dumps
every thread's stack and exits 3 if it ever stops making progress, and it exits 4 if a worker
process outlives its pool.

    python tests/pool_stress.py ITERATIONS [--impl project|stdlib] [--seed N]

`--impl stdlib` runs the same cases on `multiprocessing.Pool` with a signal-resetting
initializer (what this project used before): it hangs within a few hundred iterations.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import random
import signal
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from codelewm_eval.errors import InputError, Terminated
from codelewm_eval.workers import WorkerDied, WorkerPool


def square(x: int) -> int:
    if x < 0:
        raise InputError("negative", path="rows.jsonl", line=-x, field="x")
    time.sleep(random.random() * 0.002)
    return x * x


def _reset_signals() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def stdlib_pool(workers: int):
    import multiprocessing

    return multiprocessing.get_context("fork").Pool(workers, initializer=_reset_signals)


def children() -> list[int]:
    """Live (not zombie) processes whose parent is this one."""
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == me and fields[0] != "Z":
                found.append(int(entry))
    return found


def one_case(make, kind: str, rng: random.Random) -> str:
    timer = None
    if kind == "sigterm":
        timer = threading.Timer(rng.uniform(0, 0.02), os.kill, (os.getpid(), signal.SIGTERM))
        timer.start()
    try:
        with make(rng.choice([1, 2, 3])) as pool:
            xs = list(range(rng.randint(1, 8)))
            if kind == "worker_error":
                xs.insert(rng.randint(0, len(xs)), -7)
            if kind == "early_stop":
                for value in pool.imap(square, xs):
                    if value >= 1:
                        break
            elif kind == "async":
                pending = pool.starmap_async(square, [(x,) for x in xs])
                time.sleep(rng.random() * 0.003)  # the parent works alongside
                assert pending.get() == [x * x for x in xs]
            elif kind == "worker_killed" and hasattr(pool, "pids"):
                os.kill(rng.choice(pool.pids), signal.SIGKILL)
                pool.map(square, list(range(50)))
            else:
                assert pool.map(square, xs) == [x * x for x in xs]
            if kind == "parent_error":
                raise KeyError("the parent failed")
        if timer is not None:
            time.sleep(0.025)  # the signal lands after the pool, then
        return "ok"
    except Terminated:
        return "Terminated"
    except InputError as exc:
        assert (exc.path, exc.line, exc.field) == ("rows.jsonl", 7, "x"), exc
        return "InputError"
    except (KeyError, WorkerDied) as exc:
        return type(exc).__name__
    finally:
        if timer is not None:
            timer.cancel()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("iterations", type=int)
    parser.add_argument("--impl", choices=["project", "stdlib"], default="project")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stall-s", type=float, default=30.0)
    args = parser.parse_args()

    def raise_terminated(signum, frame):
        raise Terminated()

    signal.signal(signal.SIGTERM, raise_terminated)
    stop = threading.Event()

    def busy() -> None:  # other threads of the process, as in pytest
        while not stop.is_set():
            sum(range(2000))
            time.sleep(0.0003)

    for _ in range(3):
        threading.Thread(target=busy, daemon=True).start()
    make = WorkerPool if args.impl == "project" else stdlib_pool
    kinds = ["ok", "ok", "worker_error", "parent_error", "sigterm", "sigterm", "early_stop", "async", "worker_killed"]
    rng = random.Random(args.seed)
    outcomes: dict[str, int] = {}
    for _ in range(args.iterations):
        faulthandler.dump_traceback_later(args.stall_s, exit=True)  # no progress for stall_s: stacks, exit 1
        while True:
            try:
                outcome = one_case(make, rng.choice(kinds), rng)
                break
            except Terminated:  # landed outside the case's own handling: count it, go on
                outcome = "Terminated"
                break
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        left = children()
        if left:
            faulthandler.cancel_dump_traceback_later()
            print(f"workers outlived their pool: {left}", flush=True)
            for pid in left:
                os.kill(pid, signal.SIGKILL)
            return 4
    faulthandler.cancel_dump_traceback_later()
    stop.set()
    print("done", sorted(outcomes.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
