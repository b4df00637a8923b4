"""The scale benchmark runs end to end on a small size (its timings are reported, not asserted)."""

from __future__ import annotations

import importlib.util
import json

from .conftest import ROOT


def test_scale_benchmark_builds_and_preflights(tmp_path, data_dir, capsys):
    spec = importlib.util.spec_from_file_location("scale_pack", ROOT / "benchmarks" / "scale_pack.py")
    scale = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scale)
    scale.main(["--rows", "20000", "--work", str(tmp_path / "w"), "--data-dir", str(data_dir), "--keep"])
    printed = capsys.readouterr()
    report = json.loads(printed.out)
    assert report["rows"] == 20000
    # the figures against the targets, and where the time went, phase by phase
    assert "against 60 s" in printed.err and "against 4096 MB" in printed.err and "profile: build: " in printed.err
    phases = dict(report["build"]["phases"])
    assert {"reading results", "splits", "writing"} <= set(phases) and all(s >= 0 for s in phases.values())
    assert sum(phases.values()) <= report["build"]["seconds"] + 0.5
    assert [p for p, _ in report["preflight"]["phases"]] == ["reading rows and tasks", "checks"]
    assert report["build"]["exit"] == 0 and report["preflight"]["exit"] == 0, report
    assert report["build"]["peak_rss_mb"] > 0 and report["total_seconds"] > 0
    pf = json.loads((tmp_path / "w" / "preflight.json").read_text())
    assert pf["ok"] and {c["name"] for c in pf["checks"]} >= {"manifest", "split_leak", "secrets:pack"}
    rows = (tmp_path / "w" / "pack" / "rows.jsonl").read_text().splitlines()
    assert len(rows) > 19000 and {json.loads(r)["benchmark"] for r in rows} >= {"humaneval", "mbpp-plus"}


def test_bootstrap_benchmark_runs_and_its_intervals_agree_with_the_loop(capsys):
    spec = importlib.util.spec_from_file_location("bootstrap_speed", ROOT / "benchmarks" / "bootstrap_speed.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.main(["--candidates", "3000", "--tasks", "150", "--draws", "300", "--reference-draws", "20"])
    printed = capsys.readouterr()
    report = json.loads(printed.out)
    assert "against 10 s" in printed.err and "profile: AUC " in printed.err
    assert report["draws"] == 300 and report["speedup_per_draw"] > 0
    low, high = report["cis"]["auc_ci"]
    task, y, p, _ = bench.fixture(3000, 150)
    from sklearn.metrics import roc_auc_score

    assert low < roc_auc_score(y, p) < high
