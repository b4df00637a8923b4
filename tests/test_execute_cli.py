"""The `execute` verb end to end: real HumanEval, exit codes, atomic output, resume after kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codelewm_eval.cli import main
from codelewm_eval.execution.results import MEASURED_FIELDS

from .conftest import ROOT


def _samples(tmp_path: Path, n_tasks: int = 12, per_task: int = 4) -> Path:
    from codelewm_eval.benchmarks import load_benchmark

    he = load_benchmark("humaneval")
    rows = []
    for tid in list(he.problems)[:n_tasks]:
        canonical = he.problems[tid].canonical_solution[len(he.problems[tid].prompt):]
        for i in range(per_task):
            completion = canonical if i % 2 == 0 else "    return None\n"
            rows.append({"task_id": tid, "completion": completion + f"# sample {i}\n"})
    path = tmp_path / "samples.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _records(path: Path) -> list[dict]:
    out = []
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        for field in MEASURED_FIELDS:
            rec.pop(field)
        out.append(rec)
    return out


def test_execute_labels_and_summary(tmp_path, capsys):
    samples = _samples(tmp_path)
    out = tmp_path / "results.jsonl"
    assert main(["execute", "--benchmark", "humaneval", "--samples", str(samples), "--out", str(out),
                 "--no-progress", "--json", "--workers", "2"]) == 0
    summary = json.loads(capsys.readouterr().out)
    records = _records(out)
    assert len(records) == 48 and summary["passed"] == 24
    assert all(r["passed"] == (r["origin"]["sample_index"] % 2 == 0) for r in records)
    assert summary["pass_at_k"] == {"pass@1": 0.5}
    assert not out.with_name(out.name + ".partial").exists()
    assert json.loads(out.with_suffix(".summary.json").read_text())["candidates"] == 48
    from codelewm_eval.manifest import verify

    assert verify(out) == []  # results and summary are covered by results.jsonl.manifest.json
    manifest = json.loads(out.with_name(out.name + ".manifest.json").read_text())
    assert manifest["kind"] == "execution-results" and manifest["config"]["benchmark"] == "humaneval"
    first = records[0]
    for field in ("schema_version", "benchmark", "task_id", "candidate_id", "passed", "status", "isolation",
                  "label_provenance", "program", "origin", "output_magnitude_bucket", "output_length_bucket"):
        assert field in first
    # deterministic order: the input order
    assert [r["task_id"] for r in records] == [json.loads(l)["task_id"] for l in samples.read_text().splitlines()]


@pytest.mark.parametrize("content,needle", [
    ('{"task_id": "HumanEval/0", "completion": "x"}\n{broken\n', "line 2"),
    ('{"task_id": "HumanEval/9999", "completion": "x"}\n', "field 'task_id'"),
    ('{"task_id": "HumanEval/0", "solution": 3}\n', "field 'solution'"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, content, needle):
    samples = tmp_path / "bad.jsonl"
    samples.write_text(content)
    out = tmp_path / "out.jsonl"
    assert main(["execute", "--benchmark", "humaneval", "--samples", str(samples), "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl" in err and needle in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == [samples]


def test_unreadable_samples_and_unknown_benchmark(tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    assert main(["execute", "--benchmark", "humaneval", "--samples", str(tmp_path / "nope.jsonl"), "--out", str(out)]) == 2
    assert "file not found" in capsys.readouterr().err
    assert main(["execute", "--benchmark", "nope", "--out", str(out)]) == 2
    assert not out.exists()


def test_killed_run_resumes_to_the_same_file(tmp_path):
    samples = _samples(tmp_path, n_tasks=40, per_task=5)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    base = [sys.executable, "-m", "codelewm_eval.cli", "execute", "--benchmark", "humaneval", "--samples", str(samples),
            "--no-progress", "--workers", "2"]
    full = tmp_path / "full.jsonl"
    subprocess.run(base + ["--out", str(full)], check=True, env=env, capture_output=True)

    out = tmp_path / "resumed.jsonl"
    partial = out.with_name(out.name + ".partial")
    proc = subprocess.Popen(base + ["--out", str(out)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if partial.exists() and len(partial.read_text().splitlines()) > 40:
            break
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert partial.exists() and not out.exists()
    done_before = len(partial.read_text().splitlines()) - 1
    assert 0 < done_before < 200
    with open(partial, "a") as fh:  # a torn line, as a kill mid-write leaves
        fh.write('{"candidate_id": "torn')
    result = subprocess.run(base + ["--out", str(out), "--json"], env=env, capture_output=True, text=True, check=True)
    summary = json.loads(result.stdout)
    assert summary["resumed_records"] == done_before
    assert _records(out) == _records(full)
    assert len({r["candidate_id"] for r in _records(out)}) == 200


def test_help_for_every_verb():
    for argv in (["--help"], ["execute", "--help"], ["benchmarks", "--help"], ["bench", "execute", "--help"]):
        proc = subprocess.run([sys.executable, "-m", "codelewm_eval.cli", *argv], capture_output=True, text=True,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)))
        assert proc.returncode == 0 and "usage:" in proc.stdout


def test_sharded_execution_merges_to_the_unsharded_run(tmp_path, capsys):
    samples = _samples(tmp_path, n_tasks=10, per_task=2)
    whole = tmp_path / "whole.jsonl"
    common = ["--benchmark", "humaneval", "--samples", str(samples), "--no-progress", "--workers", "2"]
    assert main(["execute", *common, "--out", str(whole)]) == 0
    shards = []
    for i in (1, 2, 3):
        shards.append(tmp_path / f"shard-{i}.jsonl")
        assert main(["execute", *common, "--out", str(shards[-1]), "--shard", f"{i}/3"]) == 0
    sizes = [len(s.read_text().splitlines()) for s in shards]
    assert sum(sizes) == 20 and all(sizes)  # every candidate in exactly one shard
    tasks = [{json.loads(line)["task_id"] for line in s.read_text().splitlines()} for s in shards]
    assert not (tasks[0] & tasks[1] or tasks[0] & tasks[2] or tasks[1] & tasks[2])  # a task stays in one shard
    merged = tmp_path / "merged.jsonl"
    capsys.readouterr()
    assert main(["execute-merge", *map(str, reversed(shards)), "--out", str(merged), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert _records(merged) == _records(whole)  # same records, same order
    assert summary["passed"] == 10 and summary["candidates"] == 20 and summary["shards"] == 3
    from codelewm_eval.manifest import verify

    assert verify(merged) == []
    assert len(json.loads(merged.with_name(merged.name + ".manifest.json").read_text())["parents"]) == 3
    # a missing shard, a repeated one, or a shard run with other settings is refused
    assert main(["execute-merge", str(shards[0]), str(shards[1]), "--out", str(tmp_path / "x.jsonl")]) == 2
    assert "3/3 missing" in capsys.readouterr().err
    assert main(["execute-merge", str(shards[0]), str(shards[0]), str(shards[2]), "--out",
                 str(tmp_path / "x.jsonl")]) == 2
    assert "names this file twice" in capsys.readouterr().err
    other = tmp_path / "other-2.jsonl"
    assert main(["execute", *common, "--out", str(other), "--shard", "2/3", "--memory-mb", "1024"]) == 0
    capsys.readouterr()
    assert main(["execute-merge", str(shards[0]), str(other), str(shards[2]), "--out",
                 str(tmp_path / "x.jsonl")]) == 2
    assert "memory_mb" in capsys.readouterr().err
    assert not (tmp_path / "x.jsonl").exists()
    assert main(["execute", *common, "--out", str(tmp_path / "y.jsonl"), "--shard", "4/3"]) == 2


@pytest.mark.slow
def test_bench_execute_per_task_sample_and_scaling(data_dir):
    from codelewm_eval.bench import BenchExecuteConfig, bench_execute_stage

    report = bench_execute_stage(BenchExecuteConfig(data_dir=data_dir, per_task=1, scaling=True, he_workers=2))
    assert report.candidates == 161  # one from every task the file samples (161 of HumanEval's 164)
    assert report.label_agreement >= 0.98 and report.ratio > 1
    assert [x.workers for x in report.scaling] == sorted({1, 2, report.scaling[-1].workers})
    assert all(x.per_second > 0 for x in report.scaling) and "1 worker(s)" in report.text()
