"""`codelewm-eval run` on its embedded offline default: every stage, a summary, an audit that
passes; a second run redoes nothing; a run killed mid-way resumes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from codelewm_eval.cli import main

from .conftest import ROOT


@pytest.mark.slow
def test_offline_default_runs_end_to_end_and_resumes(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ../shared/data from here: the offline default
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # start it, and kill it once the pack stage has begun
    proc = subprocess.Popen([sys.executable, "-m", "codelewm_eval.cli", "run", "--out", str(out), "--no-progress"],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    seen = ""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        seen += line
        if "pack build ..." in line or not line:
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert "pack build ..." in seen, seen[-2000:]
    state = json.loads((out / "run.json").read_text())
    assert set(state["stages"]) == {"execute humaneval-canonical", "decoys humaneval-canonical"}
    # resumed: what finished is not redone
    assert main(["run", "--out", str(out), "--no-progress", "--json"]) == 0
    captured = capsys.readouterr()
    assert "execute humaneval-canonical: done earlier, outputs verify; not redone" in captured.err
    summary = json.loads(captured.out)
    # every headline gate: discrimination, calibration, rerank (canonical + mutants, offline) and decoys
    assert summary["audit_ok"] and {g["name"]: g["status"] for g in summary["gates"]}.keys() == {
        "p-pass-auc", "p-pass-calibration", "decoy-mutation", "selective-execution", "mutant-rerank-lift"}
    assert all(r["auc"] is not None and 0 <= r["auc"] <= 1 for r in summary["rows"])
    # two seeds that differ (the logreg seed draws a bootstrap of the train families), or one seed
    # counted once with its gates blocked
    by_seed = {r["seed"]: r["auc"] for r in summary["rows"] if r["benchmark"] == "all"}
    assert set(by_seed) == {42, 1729} and by_seed[42] != by_seed[1729] and not summary["identical_seeds"]
    assert any(r["lift"] is not None for r in summary["rows"])  # the rerank lift over random, measured
    assert (out / "docs" / "benchmark" / "humaneval-offline-results.md").exists()
    card = (out / "cards" / "rendered" / "humaneval-offline-pack.md").read_text()
    assert "Problem families per split" in card and "pack_stats.json" in card
    assert main(["jobs", "verify", str(out / "runs" / "humaneval-offline")]) == 0
    # the run ends in a page people can look at, checked in a browser where there is one
    from .test_report import check_run_report

    assert summary["report"] == str(out / "report" / "index.html")
    check_run_report(out / "report" / "index.html", tmp_path)
    # each stage's manifest records that stage's own command, not `run`'s
    commands = {name: json.loads((out / path).read_text())["command"][:3] for name, path in (
        ("execute", "results/humaneval-canonical.jsonl.manifest.json"),
        ("decoys", "results/humaneval-canonical-decoys.jsonl.manifest.json"), ("pack", "pack/manifest.json"),
        ("train", "runs/humaneval-offline/seed-42/manifest.json"), ("evaluate", "evidence/manifest.json"))}
    assert commands == {"execute": ["codelewm-eval", "execute", "--benchmark"],
                        "decoys": ["codelewm-eval", "decoys", "--results"],
                        "pack": ["codelewm-eval", "pack", "build"], "train": ["codelewm-eval", "train", "--pack"],
                        "evaluate": ["codelewm-eval", "evaluate", "--pack"]}
    # a third run redoes nothing but render and audit
    capsys.readouterr()
    assert main(["run", "--out", str(out), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert err.count("done earlier") == 6 and "train: done earlier" in err


def test_a_bad_run_config_is_exit_2(tmp_path, capsys):
    bad = tmp_path / "run.yaml"
    bad.write_text("name: x\nsources: [{name: a, benchmark: humaneval}]\ngates: []\nseedz: [1]\n")
    assert main(["run", "--config", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "seedz" in capsys.readouterr().err
    assert main(["run", "--config", str(tmp_path / "nope.yaml")]) == 2
