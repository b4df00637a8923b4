"""Time budgets are CPU seconds: a loaded machine slows a candidate without changing its status,
an infinite loop is stopped once it has spent its budget, and a candidate that sleeps is
stopped by the wall-clock cap (WALL_CAP_FACTOR times the budget)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from codelewm_eval.sandbox.inside.tester import WALL_CAP_FACTOR

from .conftest import check_problem, run_program

SPIN = check_problem("def check(candidate):\n    assert candidate() == 1\n", entry="spin")


def _spinning(cpu_s: float) -> str:
    """A candidate that returns 1 after using `cpu_s` seconds of its own CPU time."""
    return ("import time\n"
            "def spin():\n"
            f"    end = time.process_time() + {cpu_s}\n"
            "    while time.process_time() < end:\n"
            "        pass\n"
            "    return 1\n")


@pytest.fixture
def loaded_machine():
    """Three CPU-bound processes per core, each in its own session (the scheduler shares a core
    between sessions first): everything else gets a fraction of a core."""
    import os

    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True) for _ in range(3 * (os.cpu_count() or 1))]
    time.sleep(0.3)
    try:
        yield len(hogs)
    finally:
        for h in hogs:
            h.kill()
            h.wait()


def test_a_loaded_machine_slows_a_candidate_without_failing_it(pool, loaded_machine):
    # 0.5 CPU s inside a 1.0 s budget: on a machine this loaded it takes well over 1 s of wall
    # time, which a wall-clock budget would have called a timeout.
    t0 = time.monotonic()
    verdict, raw = run_program(pool, SPIN, _spinning(0.5), wall_s=1.0)
    wall = time.monotonic() - t0
    assert verdict.status == "passed", (verdict, raw.tester)
    assert 0.45 <= raw.tester["test_cpu_s"] < 1.0
    assert wall > 1.0, f"the machine was not loaded ({loaded_machine} hogs, {wall:.2f}s wall)"


def test_an_infinite_loop_is_stopped_once_its_cpu_budget_is_spent(pool):
    t0 = time.monotonic()
    verdict, raw = run_program(pool, SPIN, "def spin():\n    while True:\n        pass\n", wall_s=0.5)
    assert verdict.status == "timeout" and not verdict.passed
    assert raw.tester["test_cpu_s"] >= 0.5
    assert time.monotonic() - t0 < 0.5 * WALL_CAP_FACTOR
    assert "CPU s" in verdict.error


def test_a_sleeping_candidate_uses_no_cpu_and_the_wall_cap_stops_it(pool):
    nap = "import time\ndef spin():\n    time.sleep({s})\n    return 1\n"
    verdict, raw = run_program(pool, SPIN, nap.format(s=0.8), wall_s=0.5)
    assert verdict.status == "passed", raw.tester  # slept past the budget, used almost no CPU
    assert raw.tester["test_cpu_s"] < 0.5
    t0 = time.monotonic()
    verdict, _ = run_program(pool, SPIN, nap.format(s=60), wall_s=0.4)
    assert verdict.status == "timeout"
    assert 0.4 * WALL_CAP_FACTOR - 0.1 <= time.monotonic() - t0 < 0.4 * WALL_CAP_FACTOR + 2
