"""`jobs status`, `jobs verify`, `jobs inspect-checkpoint` on local runs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from codelewm_eval.cli import main
from codelewm_eval.jobs.status import summarize
from codelewm_eval.train.progress import read_events

from .test_train import pack  # noqa: F401 - the fixture


def _event(kind, minutes_ago=0.0, **fields):
    when = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
    return {"schema_version": 1, "event": kind, "run_id": "r", "seed": 42, "time": when.isoformat(), **fields}


def test_status_flags_stalled_diverged_failed_and_tolerates_torn_lines(tmp_path):
    progress = tmp_path / "job_progress.jsonl"
    lines = [_event("start", 30), _event("progress", 29, step=10, max_steps=100, loss=0.5, eta_s=900.0),
             _event("eval", 28, val_auc=0.71), {"event": "heartbeat-v2", "whatever": 1}]
    progress.write_text("\n".join(json.dumps(x) for x in lines) + '\n{"schema_version": 1, "event": "progr')
    events, skipped = read_events(progress)
    assert skipped == 2 and [e["event"] for e in events] == ["start", "progress", "eval"]
    stalled = summarize(events, "r", skipped, stall_after=600)
    assert stalled.stage == "running" and stalled.flags == ["stalled"] and stalled.step == 10
    assert stalled.val_auc == 0.71 and stalled.skipped_lines == 2
    assert summarize(events, "r", stall_after=3600).flags == []
    diverged = summarize(events + [_event("progress", 0, step=11, max_steps=100, loss=None, loss_finite=False)], "r")
    assert "diverged" in diverged.flags
    failed = summarize(events + [_event("failed", 0, error="CUDA out of memory")], "r")
    assert failed.stage == "failed" and failed.flags == ["failed"] and failed.error == "CUDA out of memory"
    done = summarize(events + [_event("complete", 0)], "r", stall_after=1)
    assert done.stage == "complete" and done.flags == [] and done.eta_s == 0.0
    # the same events recovered from job log text
    logs = "\n".join("2026-11-22 INFO CODELEWM_EVENT " + json.dumps(x) for x in lines[:3]) + "\nnoise\n"
    assert [e["event"] for e in read_events(logs, from_logs=True)[0]] == ["start", "progress", "eval"]


def test_verify_and_inspect_a_two_seed_run(tmp_path, pack, capsys):  # noqa: F811
    run = tmp_path / "run"
    for seed in (42, 1729):
        assert main(["train", "--pack", str(pack), "--seed", str(seed), "--scorer", "logreg", "--quiet",
                     "--out", str(run / f"seed-{seed}")]) == 0
    assert main(["jobs", "status", str(run)]) == 0
    assert main(["jobs", "verify", str(run)]) == 0
    assert main(["jobs", "verify", str(run), "--seeds", "42,1729,7"]) == 1  # a required seed is missing
    capsys.readouterr()
    assert main(["jobs", "inspect-checkpoint", str(run / "seed-42" / "checkpoint"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {t["name"]: t["shape"] for t in report["tensors"]} == {"coef": [1, 1 << 18], "intercept": [1]}
    # one flipped byte in a checkpoint: verify names it
    ckpt = run / "seed-1729" / "checkpoint" / "model.safetensors"
    raw = bytearray(ckpt.read_bytes())
    raw[-3] ^= 0x01
    ckpt.write_bytes(bytes(raw))
    assert main(["jobs", "verify", str(run), "--json"]) == 1
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert not checks["manifest:seed-1729"]["ok"] and "checkpoint/model.safetensors" in checks["manifest:seed-1729"]["detail"]
    assert checks["manifest:seed-42"]["ok"]


def test_inspect_counts_non_finite_values_and_refuses_pickles(tmp_path, capsys):
    from safetensors.numpy import save_file

    path = tmp_path / "bad.safetensors"
    save_file({"w": np.array([[1.0, np.nan], [np.inf, 2.0]], dtype=np.float32)}, str(path))
    assert main(["jobs", "inspect-checkpoint", str(path)]) == 1
    assert "NON-FINITE 2" in capsys.readouterr().out
    pickled = tmp_path / "model.bin"
    pickled.write_bytes(b"\x80\x04\x95 not loaded")  # never unpickled: refused by its format
    assert main(["jobs", "inspect-checkpoint", str(pickled)]) == 2
    assert "pickle" in capsys.readouterr().err


def test_status_json_is_strict_and_any_non_finite_loss_is_diverged(tmp_path, capsys):
    import json as _json

    from codelewm_eval.cli import main

    for seed, loss in ((1, "nan"), (2, float("inf")), (3, "not a number"), (4, 0.5)):
        reports = tmp_path / "run" / f"seed-{seed}" / "reports"
        reports.mkdir(parents=True)
        (reports.parent / "config.json").write_text(_json.dumps({"seed": seed}))
        events = [{"schema_version": 1, "event": "start", "run_id": "r", "seed": seed, "time": "2026-01-01T00:00:00+00:00"},
                  {"schema_version": 1, "event": "progress", "run_id": "r", "seed": seed, "step": 1, "max_steps": 2,
                   "loss": loss, "eta_s": float("inf"), "time": "2026-01-01T00:00:01+00:00"}]
        (reports / "job_progress.jsonl").write_text("".join(_json.dumps(e) + "\n" for e in events))
    main(["jobs", "status", str(tmp_path / "run"), "--json"])
    text = capsys.readouterr().out
    statuses = _json.loads(text, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))["seeds"]
    diverged = {s["seed"]: "diverged" in s["flags"] for s in statuses}
    assert diverged == {1: True, 2: True, 3: True, 4: False}


def test_a_run_moved_without_its_pack_verifies_with_pack(tmp_path, pack, capsys):  # noqa: F811
    import shutil

    run = tmp_path / "run"
    for seed in (42, 1729):
        assert main(["train", "--pack", str(pack), "--seed", str(seed), "--scorer", "logreg", "--quiet",
                     "--out", str(run / f"seed-{seed}")]) == 0
    moved = tmp_path / "elsewhere" / "deeper" / "run"
    moved.parent.mkdir(parents=True)
    shutil.move(str(run), str(moved))
    capsys.readouterr()
    assert main(["jobs", "verify", str(moved), "--json"]) == 1
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert "the run was moved without it; give it with --pack DIR" in checks["scores:seed-42"]["detail"]
    assert main(["jobs", "verify", str(moved), "--pack", str(pack)]) == 0
    # another pack is not this run's pack
    other = tmp_path / "other"
    shutil.copytree(pack, other)
    stats = json.loads((other / "stats.json").read_text())
    from codelewm_eval.manifest import load_manifest, write_manifest

    manifest = load_manifest(other / "manifest.json")
    write_manifest(other, "pack", parents=[other / p.manifest for p in manifest.parents], config={"other": True})
    capsys.readouterr()
    assert stats and main(["jobs", "verify", str(moved), "--pack", str(other), "--json"]) == 1
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert "is not the pack this seed trained on" in checks["scores:seed-42"]["detail"]
    # moved together with its pack beside it (as `jobs fetch` lays a Hub run out): found there
    shutil.copytree(pack, moved / "pack")
    assert main(["jobs", "verify", str(moved)]) == 0
