"""Jobs that die are seen dying: a killed seed is failed at once, a killed launcher leaves no
orphan (checked by pid), SIGTERM writes a `failed` event, and a relaunch leaves a running seed
alone. Real processes and real signals; a seed is frozen with SIGSTOP to make the timing exact."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from codelewm_eval.cli import main
from codelewm_eval.jobs.processes import alive

from .test_jobs_launch import _spec
from .test_train import pack  # noqa: F401 - the fixture

CLI = [sys.executable, "-m", "codelewm_eval.cli"]


def _wait_for(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")


def _frozen_seed(run_dir, launcher):
    """The pid of seed 42's `train`, stopped (SIGSTOP) as soon as it records itself."""
    record = run_dir / "seed-42" / "reports" / "process.json"

    def started():
        if launcher.poll() is not None:
            raise AssertionError(f"the launcher ended early (exit {launcher.returncode})")
        try:
            return json.loads(record.read_text())["pid"]
        except (OSError, ValueError, KeyError):
            return None

    pid = _wait_for(started, what="seed 42 to start")
    os.kill(pid, signal.SIGSTOP)
    return pid


def _gone(pid):
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


def _status(run_dir, capsys):
    capsys.readouterr()
    main(["jobs", "status", str(run_dir), "--json"])
    return {s["seed"]: s for s in json.loads(capsys.readouterr().out)["seeds"]}


def _launched(tmp_path, pack, stderr):  # noqa: F811
    """A `jobs launch` of the two-seed spec, its run directory, and seed 42's pid, frozen."""
    run_dir = tmp_path / "runs" / "t"
    launcher = subprocess.Popen(CLI + ["jobs", "launch", str(_spec(tmp_path, pack))], stdout=subprocess.DEVNULL,
                                stderr=stderr)
    return launcher, run_dir, _frozen_seed(run_dir, launcher)


@pytest.mark.slow
def test_a_killed_launcher_takes_its_seed_with_it_and_the_seed_says_why(tmp_path, pack, capsys):  # noqa: F811
    launcher, run_dir, seed = _launched(tmp_path, pack, subprocess.DEVNULL)
    launcher.kill()  # SIGKILL: no handler runs in the launcher
    launcher.wait()
    os.kill(seed, signal.SIGCONT)  # the kernel's parent-death SIGTERM is waiting for it
    _wait_for(lambda: _gone(seed), timeout=30, what="the orphan to end")
    statuses = _status(run_dir, capsys)
    assert statuses[42]["stage"] == "failed" and "Terminated" in statuses[42]["error"]
    assert 1729 not in statuses  # never started


@pytest.mark.slow
def test_sigterm_to_the_launcher_stops_its_seed_and_is_recorded(tmp_path, pack, capsys):  # noqa: F811
    launcher, run_dir, seed = _launched(tmp_path, pack, subprocess.PIPE)
    os.kill(seed, signal.SIGCONT)
    launcher.terminate()
    _, err = launcher.communicate(timeout=60)
    assert launcher.returncode == 143 and b"terminated (SIGTERM)" in err
    assert _gone(seed)
    statuses = _status(run_dir, capsys)
    if statuses[42]["stage"] != "complete":  # it may have finished in the instant before the signal
        assert statuses[42]["stage"] == "failed"
        assert json.loads((run_dir / "launch.json").read_text())["jobs"]["42"]["exit_code"] == \
            "stopped with the launcher"


@pytest.mark.slow
def test_a_killed_seed_is_failed_at_once_and_a_relaunch_leaves_a_running_seed_alone(tmp_path, pack, capsys):  # noqa: F811
    run_dir = tmp_path / "runs" / "t"
    run_dir.mkdir(parents=True)
    train = subprocess.Popen(CLI + ["train", "--pack", str(pack), "--seed", "42", "--scorer", "logreg", "--quiet",
                                    "--out", str(run_dir / "seed-42")], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    seed = _frozen_seed(run_dir, train)
    assert alive(run_dir / "seed-42") is True
    statuses = _status(run_dir, capsys)
    assert statuses[42]["stage"] == "running"  # frozen, but alive: running (stalled only after the threshold)
    # a relaunch must not delete and rerun a seed whose process is still there
    capsys.readouterr()
    assert main(["jobs", "launch", str(_spec(tmp_path, pack))]) == 2
    assert f"seed 42 is still running (pid {seed})" in capsys.readouterr().err
    assert (run_dir / "seed-42" / "config.json").exists()
    os.kill(seed, signal.SIGKILL)
    train.wait()
    assert alive(run_dir / "seed-42") is False
    statuses = _status(run_dir, capsys)
    assert statuses[42]["stage"] == "failed" and "killed" in statuses[42]["error"]
    assert "stalled" not in statuses[42]["flags"]
    # and `--watch` ends: nothing is running any more
    capsys.readouterr()
    assert main(["jobs", "status", str(run_dir), "--watch", "1"]) == 1
