"""Preflight: passes on a sound pack and job; fails each time with the specific typed check."""

from __future__ import annotations

import json

import pytest

from codelewm_eval.cli import main
from codelewm_eval.manifest import write_manifest
from codelewm_eval.pack.build import PackConfig, build_pack
from codelewm_eval.preflight.run import preflight

from .test_pack import _results, two_benchmark_sources

GOOD_JOB = "name: p-pass\nseeds: [42, 1729]\ntimeout: 2h\nsecrets: [HF_TOKEN]\ndecoy_minimums: {mutation: {pairs: 0, tasks: 0}}\n"


@pytest.fixture
def pack(tmp_path, data_dir):
    out = tmp_path / "pack"
    build_pack(list(two_benchmark_sources(tmp_path)), out, PackConfig(), data_dir, ["test"])
    return out


def _job(tmp_path, text=GOOD_JOB):
    path = tmp_path / "job.yaml"
    path.write_text(text)
    return path


def _rewrite(pack, edit):
    """Change rows as a faulty builder would, and re-seal the manifest so only the content is wrong."""
    rows = [json.loads(line) for line in (pack / "rows.jsonl").read_text().splitlines()]
    edit(rows)
    (pack / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    manifest = json.loads((pack / "manifest.json").read_text())
    parents = [pack / p["manifest"] for p in manifest["parents"]]
    write_manifest(pack, "pack", parents=parents)


def _failed(report):
    return {c.name for c in report.checks if c.status != "pass"}


def test_sound_pack_and_job_pass(tmp_path, pack, capsys):
    report = preflight(pack, _job(tmp_path), tmp_path / "pf.json")
    assert report.ok, _failed(report)
    assert main(["preflight", "--pack", str(pack), "--job", str(_job(tmp_path)),
                 "--report", str(tmp_path / "pf2.json")]) == 0
    saved = json.loads((tmp_path / "pf2.json").read_text())
    assert saved["ok"] and all({"name", "status", "observed", "required", "reason"} <= set(c) for c in saved["checks"])


def test_too_few_decoy_pairs(tmp_path, pack):
    assert _failed(preflight(pack)) == {"decoys:val:mutation", "decoys:test:mutation"}


def test_flipped_byte(tmp_path, pack):
    raw = bytearray((pack / "rows.jsonl").read_bytes())
    raw[100] ^= 0x20
    (pack / "rows.jsonl").write_bytes(bytes(raw))
    report = preflight(pack, _job(tmp_path))
    assert "manifest" in _failed(report) and not report.ok


def test_val_missing_a_magnitude_bucket(tmp_path, pack):
    def drop_large_from_val(rows):
        for r in rows:
            if r["split"] == "val" and r["benchmark"] == "humaneval" and r["output_magnitude_bucket"] == "large":
                r["output_magnitude_bucket"] = "small"
    _rewrite(pack, drop_large_from_val)
    report = preflight(pack, _job(tmp_path))
    assert _failed(report) == {"coverage:missing_magnitude_bucket"}
    (check,) = [c for c in report.checks if c.name == "coverage:missing_magnitude_bucket"]
    assert "humaneval/val" in check.reason and "'large'" in check.reason


def test_task_in_two_splits(tmp_path, pack):
    def move_one_row(rows):
        row = next(r for r in rows if r["split"] == "train")
        row["split"] = "test"
    _rewrite(pack, move_one_row)
    assert "split_leak" in _failed(preflight(pack, _job(tmp_path)))


def test_multiple_e_rows_in_train(tmp_path, pack):
    def leak_into_train(rows):
        for r in rows:
            if r["benchmark"] == "mbpp-multiple":
                r["split"] = "train"
    _rewrite(pack, leak_into_train)
    assert "licence:evaluation_only_not_in_train" in _failed(preflight(pack, _job(tmp_path)))


@pytest.mark.parametrize("text,check", [
    (GOOD_JOB.replace("[42, 1729]", "[42]"), "job:seeds"),
    (GOOD_JOB.replace("[42, 1729]", "[42, 42]"), "job:seeds"),
    (GOOD_JOB.replace("timeout: 2h\n", ""), "job:timeout"),
    (GOOD_JOB + "env:\n  HF_TOKEN: hf_" + "Xy7" * 12 + "\n", "secrets:job"),
    (GOOD_JOB + "env:\n  WANDB_API_KEY: 0123456789abcdef\n", "secrets:job"),
    (GOOD_JOB + "labels: {note: python train.py --token hf_" + "Xy7" * 12 + "}\n", "secrets:job"),
    (GOOD_JOB.replace("[HF_TOKEN]", "['hf_" + "Xy7" * 12 + "']"), "job:secrets_by_name"),
])
def test_bad_job_specs(tmp_path, pack, text, check):
    assert check in _failed(preflight(pack, _job(tmp_path, text)))


def test_build_leaves_out_rows_with_credentials(tmp_path, data_dir):
    src = _results(tmp_path, "sec", "humaneval", [f"HumanEval/{i}" for i in range(120)],
                   program=lambda t, i: ("DB = 'postgresql://admin:" + "s3cretpw@db/x'\n" if (t, i) == (5, 0) else "")
                   + f"def f{t}():\n    return {i}\n")
    # a token in any field the row carries leaves it out too; one in a field it does not carry
    # (the failure message) does not reach the pack and costs no row
    token = "hf_" + "Qw7" * 12
    lines = src.read_text().splitlines()
    edited = [json.loads(line) for line in lines[40:43]]
    edited[0]["origin"]["model"] = f"org/{token}"
    edited[1]["label_provenance"] = f"graded upstream by {token}"
    edited[2]["error"] = f"KeyError: {token}"
    lines[40:43] = [json.dumps(r) for r in edited]
    src.write_text("\n".join(lines) + "\n")
    write_manifest(src, "execution-results", files=[src])
    out = tmp_path / "pack"
    build_pack([src], out, PackConfig(), data_dir, ["test"])
    stats = json.loads((out / "stats.json").read_text())
    assert stats["excluded"] == {"secret_in_text": 3}
    text = (out / "rows.jsonl").read_text()
    assert "postgresql://" not in text and token not in text
    assert edited[2]["candidate_id"] in text  # kept: its error message is not part of the row
    assert preflight(out).ok or "secrets:pack" not in _failed(preflight(out))


def test_secret_in_the_pack(tmp_path, pack):
    def plant(rows):
        rows[0]["program"] += "\nTOKEN = 'hf_" + "Ab3" * 12 + "'\n"
    _rewrite(pack, plant)
    assert _failed(preflight(pack, _job(tmp_path))) == {"secrets:pack"}


def test_unusable_input_exits_2(tmp_path, pack, capsys):
    assert main(["preflight", "--pack", str(tmp_path / "nope")]) == 2
    bad = _job(tmp_path, "name: x\nseeds: [1, 2\n")
    assert main(["preflight", "--pack", str(pack), "--job", str(bad), "--report", str(tmp_path / "r.json")]) == 2
    assert "job.yaml" in capsys.readouterr().err


def test_unknown_job_spec_keys_are_errors_that_still_name_a_planted_token(tmp_path, pack, capsys):
    job = _job(tmp_path, GOOD_JOB + "command: python train.py --token hf_" + "Xy7" * 12 + "\n")
    assert main(["preflight", "--pack", str(pack), "--job", str(job), "--report", str(tmp_path / "pf.json")]) == 2
    err = capsys.readouterr().err
    assert "command" in err and "Hugging Face Token" in err and "Xy7Xy7" not in err


def test_a_tasks_table_edited_by_hand(tmp_path, pack, capsys):
    """Rows join their prompt and family in tasks.jsonl: a task line lost, a family changed, a
    line that is no task; sealed again or not."""
    tasks = (pack / "tasks.jsonl").read_text().splitlines()
    manifest = json.loads((pack / "manifest.json").read_text())
    parents = [pack / p["manifest"] for p in manifest["parents"]]

    edited = [json.loads(t) for t in tasks]
    lost = edited.pop(3)
    edited[0]["family"] = "humaneval/999"
    (pack / "tasks.jsonl").write_text("".join(json.dumps(t) + "\n" for t in edited))
    write_manifest(pack, "pack", parents=parents)  # sealed again: only the content can tell
    check = next(c for c in preflight(pack).checks if c.name == "tasks")
    assert check.status == "fail" and check.observed == "2 problem(s)"
    assert f"{lost['benchmark']}/{lost['task_id']} has rows and no task line" in check.reason
    assert "family 'humaneval/999'" in check.reason

    (pack / "tasks.jsonl").write_text("\n".join(tasks[:5] + ['{"benchmark": "humaneval", "task_id": 7}'] + tasks[6:]) + "\n")
    report = preflight(pack)  # not sealed: the manifest says why, and nothing else is judged
    assert not report.ok and [c.name for c in report.checks if c.status != "pass"] == ["manifest", "rows"]
    assert "tasks.jsonl" in report.checks[-1].reason and "line 6" in report.checks[-1].reason

    write_manifest(pack, "pack", parents=parents)  # sealed: a pack that is not a pack is unusable input
    assert main(["preflight", "--pack", str(pack)]) == 2
    err = capsys.readouterr().err
    assert "tasks.jsonl" in err and "line 6" in err and "task_id" in err

    (pack / "tasks.jsonl").unlink()
    write_manifest(pack, "pack", parents=parents)
    check = next(c for c in preflight(pack).checks if c.name == "tasks")
    assert check.status == "fail" and check.observed == "tasks.jsonl missing"
