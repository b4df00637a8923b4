"""Worker pools end, whatever happens: results in order, errors raised in the parent with their
fields, a worker killed from outside is an error (never a wait), SIGTERM at random moments in a
threaded process never hangs a pool or leaves a worker behind, and the sandbox pool and the
executor stop at once when they are told to."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from codelewm_eval.errors import InputError
from codelewm_eval.workers import WorkerDied, WorkerPool

from .conftest import ROOT

STRESS = ROOT / "tests" / "pool_stress.py"


def _square(x: int) -> int:
    if x < 0:
        raise InputError("a negative number", path="in.jsonl", line=-x, field="x")
    return x * x


class _Unpicklable(Exception):
    def __init__(self, a, b):  # pickles, but cannot be rebuilt from its args
        super().__init__(f"{a}{b}")


def _raise_unpicklable(_x: int) -> None:
    raise _Unpicklable("no", "pickle")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_results_come_back_in_input_order():
    with WorkerPool(3) as pool:
        assert pool.map(_square, range(40)) == [x * x for x in range(40)]
        assert list(pool.imap(_square, range(25))) == [x * x for x in range(25)]
        pending = pool.starmap_async(_square, [(x,) for x in range(12)])
        assert pending.get() == [x * x for x in range(12)]
        pids = pool.pids
    assert not any(_alive(pid) for pid in pids)  # closed and reaped on a normal exit


def test_an_input_error_in_a_worker_keeps_its_file_line_and_field():
    with pytest.raises(InputError) as caught:
        with WorkerPool(2) as pool:
            pool.map(_square, [1, 2, -9, 4])
    assert (caught.value.path, caught.value.line, caught.value.field) == ("in.jsonl", 9, "x")
    assert str(caught.value) == "in.jsonl, line 9, field 'x': a negative number"


def test_an_exception_that_cannot_cross_arrives_as_its_traceback_text():
    with pytest.raises(RuntimeError, match="_Unpicklable: nopickle"):
        with WorkerPool(2) as pool:
            pool.map(_raise_unpicklable, [1])


def test_a_worker_killed_from_outside_is_an_error_not_a_wait():
    with pytest.raises(WorkerDied, match="ended before it answered"):
        with WorkerPool(2) as pool:
            pids = pool.pids
            os.kill(pids[0], signal.SIGKILL)
            pool.map(_square, range(100))
    assert not any(_alive(pid) for pid in pids)


def test_a_consumer_that_stops_early_ends_the_workers():
    with WorkerPool(2) as pool:
        pids = pool.pids
        for value in pool.imap(_square, range(50)):
            if value > 4:
                break
        with pytest.raises(ValueError, match="closed"):
            pool.map(_square, [1])
    assert not any(_alive(pid) for pid in pids)


@pytest.mark.parametrize("seed", [0, 1])
def test_pools_never_hang_under_random_sigterms_in_a_threaded_process(seed):
    """400 pools made and ended in a process with three busy threads whose SIGTERM raises (as the
    CLI's does), with SIGTERM at random moments (forks included), failing workers, failing
    parents, early stops and killed workers. Before this pool (multiprocessing.Pool with a
    signal-resetting initializer, `pool_stress.py --impl stdlib`), the same driver hung in
    `Pool.terminate` or left workers alive within 300 iterations on 3 seeds of 3."""
    done = subprocess.run([sys.executable, str(STRESS), "400", "--seed", str(seed), "--stall-s", "20"],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    assert done.stdout.startswith("done") and "Terminated" in done.stdout and "WorkerDied" in done.stdout


def test_a_closed_sandbox_pool_refuses_work_and_starts_no_worker(pool):
    from codelewm_eval.sandbox.pool import Limits, SandboxError, SandboxPool

    fresh = SandboxPool(workers=1, limits=Limits())
    procs = [w.proc for w in fresh._all]
    fresh.close()
    with pytest.raises(SandboxError, match="closed"):
        fresh.run({}, {})
    assert fresh._all == [] and all(p.poll() is not None for p in procs)


def test_a_sandbox_pool_that_fails_to_start_leaves_no_worker(monkeypatch):
    from codelewm_eval.sandbox import pool as sandbox_pool

    started = []
    real = sandbox_pool.Worker

    def second_fails(*args, **kwargs):
        if started:
            raise sandbox_pool.SandboxError("the sandbox worker did not start")
        started.append(real(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(sandbox_pool, "Worker", second_fails)
    with pytest.raises(sandbox_pool.SandboxError):
        sandbox_pool.SandboxPool(workers=3)
    assert started and started[0].proc.poll() is not None


@pytest.mark.slow
def test_sigterm_mid_execute_stops_the_queued_candidates(tmp_path):
    """SIGTERM during `execute`: the running candidates end with the sandbox, the queued ones
    are not run (before, the thread pool ran every queued candidate before it exited), and the
    same command resumes to the whole file."""
    from codelewm_eval.benchmarks import load_benchmark

    problem = load_benchmark("humaneval").problems["HumanEval/0"]
    body = ("    import time\n    end = time.process_time() + 0.4\n    while time.process_time() < end:\n"
            "        pass\n" + problem.canonical_solution)
    samples = tmp_path / "s.jsonl"
    samples.write_text("".join(json.dumps({"task_id": "HumanEval/0", "completion": body}) + "\n" for _ in range(80)))
    out = tmp_path / "r.jsonl"
    cmd = [sys.executable, "-m", "codelewm_eval.cli", "execute", "--benchmark", "humaneval", "--samples",
           str(samples), "--out", str(out), "--workers", "2", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    partial = out.with_name(out.name + ".partial")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not partial.exists() or partial.read_bytes().count(b"\n") < 4):
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err.decode()[-2000:]
    kept = partial.read_bytes().count(b"\n") - 1  # the first line is the run key
    assert 0 < kept < 60, kept
    done = subprocess.run(cmd, capture_output=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert sum(1 for _ in out.open()) == 80 and not partial.exists()
