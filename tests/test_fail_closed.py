"""Fail closed: what a tired or hostile user gives a verb (an output that is a device, a FIFO, a
symbolic link or a loop, an output inside a sealed artifact, a name that selects nothing, text
in another encoding, a tampered input, a pathological line) ends in exit 2 naming the file, or in
the finding, never in a success that skipped the check."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from codelewm_eval.cli import main

from .conftest import ROOT


def _one_sample(tmp_path: Path) -> Path:
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"task_id": "HumanEval/0", "completion": "    return False\n"}) + "\n")
    return path


def _special_outputs(tmp_path: Path) -> dict[str, Path]:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    target = tmp_path / "target.txt"
    target.write_text("keep me\n")
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    loop = tmp_path / "loop.jsonl"
    loop.symlink_to(loop)
    to_device = tmp_path / "null.jsonl"
    to_device.symlink_to("/dev/null")
    return {"fifo": fifo, "symlink": link, "loop": loop, "symlink to a device": to_device}


@pytest.mark.parametrize("kind", ["fifo", "symlink", "loop", "symlink to a device", "device"])
def test_execute_never_replaces_a_device_fifo_or_symlink(tmp_path, capsys, kind):
    """`execute --out /dev/full`, run as root, deleted the machine's /dev/full and exited 0."""
    samples = _one_sample(tmp_path)
    if kind == "device":  # a device node of our own (a vulnerable build would replace it, not /dev/null)
        out = tmp_path / "null"
        try:
            os.mknod(out, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        except PermissionError:
            pytest.skip("creating a device node needs root")
    else:
        out = _special_outputs(tmp_path)[kind]
    before = os.lstat(out)
    assert main(["execute", "--benchmark", "humaneval", "--samples", str(samples), "--out", str(out),
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert str(out) in err and "Traceback" not in err
    after = os.lstat(out)
    assert stat.S_IFMT(after.st_mode) == stat.S_IFMT(before.st_mode) and after.st_ino == before.st_ino
    if kind == "symlink":
        assert (tmp_path / "target.txt").read_text() == "keep me\n"
    assert not list(tmp_path.glob("*.partial")) and not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize("verb", ["report", "compare", "execute"])
def test_outputs_inside_a_sealed_bundle_are_refused(tmp_path, capsys, verb):
    """`report B --out B/rep` wrote inside an evidence bundle; `manifest verify B` then failed."""
    from codelewm_eval.manifest import verify

    bundle = tmp_path / "bundle"
    shutil.copytree(ROOT / "manifests" / "evidence" / "codet-v1", bundle)
    assert [p for p in verify(bundle) if p.kind != "absent"] == []
    if verb == "report":
        argv = ["report", str(bundle), "--out", str(bundle / "rep")]
    elif verb == "compare":
        argv = ["compare", "--baseline", str(_outcomes(tmp_path, "a", 3)), "--candidate",
                str(_outcomes(tmp_path, "b", 5)), "--out", str(bundle / "cmp")]
    else:
        argv = ["execute", "--benchmark", "humaneval", "--samples", str(_one_sample(tmp_path)), "--out",
                str(bundle / "results.jsonl"), "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "sealed evidence artifact" in err and "Traceback" not in err
    assert [p for p in verify(bundle) if p.kind != "absent"] == []
    assert sorted(p.name for p in bundle.iterdir()) == sorted(
        p.name for p in (ROOT / "manifests" / "evidence" / "codet-v1").iterdir())


def _outcomes(tmp_path: Path, name: str, passing: int) -> Path:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps({"benchmark": "mbpp", "task_id": str(i), "passed": i < passing}) + "\n"
                            for i in range(11, 31)))
    return path


def test_a_report_of_a_run_may_still_go_inside_the_run(tmp_path):
    from codelewm_eval.io import check_output

    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"kind": "run"}))
    assert check_output(run / "report", directory=True) == run / "report"


def _token() -> str:
    import random
    import string

    rng = random.Random(7)  # built at run time: no literal token in this file
    return "hf_" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(34))


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "nul"])
def test_secrets_scan_reads_every_encoding_and_nul_bytes(tmp_path, capsys, encoding):
    """An hf_ token in a UTF-16 file (with or without BOM), or between NUL bytes: '0 finding(s)', exit 0."""
    text = f'login(token="{_token()}")\n'
    path = tmp_path / "notes.txt"
    path.write_bytes(b"\0\0\0" + text.encode() + b"\0\0" if encoding == "nul" else text.encode(encoding))
    assert main(["secrets", "scan", str(path)]) == 1
    out = capsys.readouterr().out
    assert "Hugging Face" in out and "notes.txt" in out


def test_secrets_scan_refuses_a_truncated_gzip_and_goes_on_past_a_false_parquet(tmp_path, capsys):
    import gzip

    data = gzip.compress((f'token = "{_token()}"\n' * 200).encode())
    (tmp_path / "bad.jsonl.gz").write_bytes(data[: len(data) // 2])
    for target in (tmp_path / "bad.jsonl.gz", tmp_path):
        assert main(["secrets", "scan", str(target)]) == 2
        err = capsys.readouterr().err
        assert "bad.jsonl.gz" in err and "truncated or corrupt" in err and "Traceback" not in err
    other = tmp_path / "other"
    other.mkdir()
    (other / "rows.parquet").write_text(f'token = "{_token()}"\n')
    (other / "b.txt").write_text(f'key = "{_token()}"\n')
    assert main(["secrets", "scan", str(other)]) == 1
    out = capsys.readouterr().out
    assert "rows.parquet" in out and "b.txt" in out


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-8-sig"])
def test_claims_audit_reads_utf16_prose(tmp_path, capsys, encoding):
    """An over-claim saved as UTF-16 passed the audit: 0 violations, exit 0."""
    report = tmp_path / "report.md"
    report.write_bytes("# Results\n\nBD6 pass-1 tripled HumanEval passes.\n".encode(encoding))
    assert main(["claims", "audit", "--root", str(ROOT), "--ledger", str(ROOT / "cards" / "context-claims.yaml"),
                 "--paths", str(report)]) == 1
    out = capsys.readouterr().out
    assert "report.md:3" in out and "tripled" in out


def test_claims_audit_refuses_a_binary_file_without_printing_it(tmp_path, capsys):
    blob = tmp_path / "image.md"
    blob.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)) * 4)
    assert main(["claims", "audit", "--root", str(ROOT), "--ledger", str(ROOT / "cards" / "context-claims.yaml"),
                 "--paths", str(blob)]) == 2
    captured = capsys.readouterr()
    assert "image.md" in captured.err and "not text" in captured.err and "IHDR" not in captured.out + captured.err


def test_evaluation_only_names_must_match_a_benchmark(tmp_path, capsys, data_dir):
    """`pack build --evaluation-only HumanEval` (the benchmark is `humaneval`) exited 0 with the
    evaluation-only rows in train."""
    results = tmp_path / "r.jsonl"
    results.write_text("")
    assert main(["pack", "build", "--results", str(results), "--out", str(tmp_path / "pack"),
                 "--evaluation-only", "HumanEval"]) == 2
    err = capsys.readouterr().err
    assert "'HumanEval' is not a benchmark" in err and "did you mean humaneval" in err
    assert not (tmp_path / "pack").exists()


@pytest.mark.timeout(120)  # quadratic readers took hours on this line; linear ones take seconds
def test_a_ten_megabyte_token_is_read_in_linear_time_by_the_audit_and_the_scan(tmp_path, capsys):
    """`claims audit` on one long unbroken token followed by a claim grew with the square of the
    token (30 KB: 21-48 s; 10 MB did not finish): a pull request could stall the CI."""
    report = tmp_path / "report.md"
    report.write_text("x" * 10_000_000 + " BD6 pass-1 tripled HumanEval passes.\n")
    assert main(["claims", "audit", "--root", str(ROOT), "--ledger", str(ROOT / "cards" / "context-claims.yaml"),
                 "--paths", str(report)]) == 1
    out = capsys.readouterr().out
    assert "report.md:1: small_count_multiple" in out and "xxxxxxxx" not in out
    notes = tmp_path / "notes.txt"
    notes.write_text("y" * 10_000_000 + f' token = "{_token()}"\n')
    assert main(["secrets", "scan", str(notes)]) == 1
    assert "Hugging Face" in capsys.readouterr().out


def _executed(tmp_path: Path) -> Path:
    from codelewm_eval.benchmarks import load_benchmark

    he = load_benchmark("humaneval")
    rows = []
    for tid in list(he.problems)[:6]:
        body = he.problems[tid].canonical_solution[len(he.problems[tid].prompt):]
        rows.append({"task_id": tid, "completion": body})
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "orig.jsonl"
    assert main(["execute", "--benchmark", "humaneval", "--samples", str(samples), "--out", str(out),
                 "--no-progress"]) == 0
    return out


def test_compare_refuses_tampered_results_and_non_boolean_labels(tmp_path, capsys):
    """`compare --baseline orig --candidate tampered --out b` built a bundle from results whose
    manifest does not verify (passed flipped); `"passed": "yes"` and `1` were read as passes."""
    orig = _executed(tmp_path)
    tampered = tmp_path / "tampered.jsonl"
    rows = [json.loads(line) for line in orig.read_text().splitlines()]
    for r in rows[:3]:
        r["passed"] = not r["passed"]
    tampered.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    shutil.copy(orig.with_name(orig.name + ".manifest.json"), tampered.with_name(tampered.name + ".manifest.json"))
    shutil.copy(orig.with_suffix(".summary.json"), tampered.with_suffix(".summary.json"))
    capsys.readouterr()
    assert main(["compare", "--baseline", str(orig), "--candidate", str(tampered), "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert "tampered.jsonl" in err and "does not verify" in err and not (tmp_path / "b").exists()
    for bad in ('"yes"', "1"):
        plain = tmp_path / "plain.jsonl"
        plain.write_text(f'{{"benchmark": "mbpp", "task_id": "11", "passed": {bad}}}\n')
        assert main(["compare", "--baseline", str(plain), "--candidate", str(plain)]) == 2
        err = capsys.readouterr().err
        assert "plain.jsonl, line 1, field 'passed'" in err


def test_compare_of_files_with_no_task_in_common_is_refused(tmp_path, capsys):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text('{"benchmark": "mbpp", "task_id": "11", "passed": true}\n')
    b.write_text('{"benchmark": "humaneval", "task_id": "HumanEval/0", "passed": true}\n')
    assert main(["compare", "--baseline", str(a), "--candidate", str(b)]) == 2
    assert "no task in common" in capsys.readouterr().err


@pytest.mark.parametrize("argv, flag", [
    (["pack", "build", "--results", "r.jsonl", "--out", "p", "--fractions", "nan,nan,nan"], "--fractions"),
    (["pack", "build", "--results", "r.jsonl", "--out", "p", "--fractions", "inf,-inf,1"], "--fractions"),
    (["pack", "build", "--results", "r.jsonl", "--out", "p", "--seed", "-5"], "--seed"),
    (["pack", "build", "--results", "r.jsonl", "--out", "p", "--seed", str(2**70)], "--seed"),
    (["score", "--pack", "p", "--out", "s.jsonl", "--seed", "-1"], "--seed"),
    (["train", "--pack", "p", "--seed", "1e23", "--scorer", "logreg", "--out", "run"], "--seed"),
])
def test_flags_out_of_range_exit_2_naming_the_flag(tmp_path, capsys, monkeypatch, argv, flag):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("body, where", [
    ("sources:\n- name: he\n  benchmark: humaneval\n  limit: -5\ngates: []\n", "line 4, field 'sources.0.limit'"),
    ("sources:\n- name: he\n  benchmark: humaneval\nseeds: [-1]\ngates: []\n", "line 4, field 'seeds.0'"),
    ("sources:\n- name: he\n  benchmark: humaneval\nseeds: [1.0e+23]\ngates: []\n", "line 4, field 'seeds.0'"),
    ("sources:\n- name: he\n  benchmark: humaneval\nseeds: [true]\ngates: []\n", "line 4, field 'seeds.0'"),
])
def test_run_configs_obey_the_same_rules_and_leave_nothing(tmp_path, capsys, body, where):
    """`limit: -5` executed 159 of 164 candidates, then ended in a traceback; seeds [-1] and [1e23]
    passed preflight and --dry-run."""
    config = tmp_path / "run.yaml"
    config.write_text(body)
    assert main(["run", "--config", str(config), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"run.yaml, {where}" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.yaml"]


def test_a_job_spec_seed_out_of_range_is_refused(tmp_path, capsys):
    spec = (ROOT / "jobs" / "standard.yaml").read_text()
    import yaml

    raw = yaml.safe_load(spec)
    raw["seeds"] = [42, -1]
    path = tmp_path / "job.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    assert main(["jobs", "launch", str(path), "--dry-run"]) == 2
    assert "job.yaml" in (err := capsys.readouterr().err) and "seeds" in err and "Traceback" not in err


def test_a_score_too_large_for_a_float_is_counted_not_a_traceback(tmp_path):
    from codelewm_eval.evidence.scores import read_scores

    path = tmp_path / "scores.jsonl"
    path.write_text('{"benchmark": "humaneval", "task_id": "HumanEval/0", "candidate_id": "c0", "split": "test", '
                    '"scores": {"p_pass": ' + "9" * 401 + ', "length": ' + "9" * 401 + '}}\n')
    scores = read_scores(path, {"humaneval/HumanEval/0/c0": 0}, ["test"])
    assert scores.health["p_pass"].out_of_range + scores.health["p_pass"].non_finite == 1
    assert scores.health["length"].non_finite == 1 and scores.health["length"].scored == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="the policy is about running as root")
def test_the_rlimits_fallback_as_root_needs_an_acknowledgement_recorded_on_every_row(tmp_path, capsys):
    """`--isolation rlimits` as root: candidates ran as root, read /etc/shadow, connected out and
    wrote to the host's /tmp, labelled passed, with no warning."""
    samples = _one_sample(tmp_path)
    out = tmp_path / "r.jsonl"
    base = ["execute", "--benchmark", "humaneval", "--samples", str(samples), "--out", str(out), "--no-progress"]
    assert main([*base, "--isolation", "rlimits"]) == 2
    err = capsys.readouterr().err
    assert "rlimits-as-root" in err and "/etc/shadow" in err and not out.exists()
    assert main([*base, "--isolation", "rlimits-as-root"]) == 0
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert "AS-ROOT(acknowledged" in row["isolation"]


def test_messages_read_as_a_user_would_write_them(tmp_path, capsys):
    # an anchors file in UTF-16 is read; a binary one is named
    anchors = tmp_path / "anchors.txt"
    anchors.write_bytes("MBPP/11\n".encode("utf-16"))
    from codelewm_eval.io import read_list_file

    assert read_list_file(anchors, "anchors file") == {"MBPP/11"}
    anchors.write_bytes(b"\x00\x01\x02\xff\xfe\x00garbage")
    with pytest.raises(Exception, match="anchors.txt.*not text"):
        read_list_file(anchors, "anchors file")
    # duplicate keys: the last one silently won
    from codelewm_eval.errors import InputError
    from codelewm_eval.io import iter_jsonl, read_yaml

    spec = tmp_path / "run.yaml"
    spec.write_text("name: a\nseeds: [1]\nname: b\n")
    with pytest.raises(InputError, match=r"run.yaml, line 3: .*'name' is given twice"):
        read_yaml(spec, "run config")
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"passed": true, "passed": false}\n')
    with pytest.raises(InputError, match=r"rows.jsonl, line 1: malformed JSON \(key 'passed' is given twice"):
        list(iter_jsonl(rows))
    # a malformed line says "column" once; a union's member type is no field of the user's file
    scores = tmp_path / "scores.jsonl"
    scores.write_text('{"benchmark": "humaneval", "task_id": "HumanEval/0", "candidate_id": "c0", "split": "test", '
                      '"scores": {"p_pass": "high"}}\n{"a": 1,, }\n')
    from codelewm_eval.evidence.scores import ScoreRow
    from codelewm_eval.io import iter_models

    with pytest.raises(InputError) as bad:
        list(iter_models(scores, ScoreRow, "a score row"))
    assert "field 'scores.p_pass'" in str(bad.value) and ".float" not in str(bad.value)
    scores.write_text('{"a": 1,, }\n')
    with pytest.raises(InputError) as bad:
        list(iter_models(scores, ScoreRow, "a score row"))
    assert str(bad.value).count("column") == 1 and " at at " not in str(bad.value)


def test_jobs_status_names_a_malformed_process_record(tmp_path, capsys):
    import socket

    run = tmp_path / "seed-42"
    (run / "reports").mkdir(parents=True)
    (run / "config.json").write_text("{}")
    (run / "reports" / "job_progress.jsonl").write_text(
        json.dumps({"event": "start", "run_id": "r", "seed": 42, "time": "2026-12-07T00:00:00+00:00"}) + "\n")
    (run / "reports" / "process.json").write_text(json.dumps({"pid": "abc", "host": socket.gethostname()}))
    assert main(["jobs", "status", str(run)]) == 2
    err = capsys.readouterr().err
    assert "process.json" in err and "pid" in err and "malformed" in err


def test_a_full_disk_is_no_bad_input_and_names_the_file(tmp_path, capsys, monkeypatch):
    """Disk full was reported as bad input (exit 2) with no file named."""
    import errno as errno_
    import json as json_

    from codelewm_eval import io as io_module

    def full(*args, **kwargs):
        raise OSError(errno_.ENOSPC, "No space left on device")

    a = tmp_path / "a.jsonl"
    a.write_text('{"benchmark": "mbpp", "task_id": "11", "passed": true}\n')
    monkeypatch.setattr(json_, "dump", full)
    out = tmp_path / "cmp.json"
    assert main(["compare", "--baseline", str(a), "--candidate", str(a), "--out-json", str(out)]) == 1
    err = capsys.readouterr().err
    assert "no space left on the device holding" in err and "cmp.json" in err
    assert not out.exists() and not list(tmp_path.glob(".cmp.json.*"))
    assert io_module.errno.ENOSPC == errno_.ENOSPC


def test_a_plain_file_given_as_sealed_results_says_it_has_no_manifest(tmp_path, capsys):
    samples = _one_sample(tmp_path)
    assert main(["pack", "build", "--results", str(samples), "--out", str(tmp_path / "pack")]) == 2
    err = capsys.readouterr().err
    assert "s.jsonl" in err and "no manifest beside it" in err and "unreadable" not in err


def test_a_run_whose_pack_cannot_carry_the_gates_stops_with_the_blockers(tmp_path, capsys):
    """`run` ended in an uncaught PackBlocked traceback (`pack build` itself exits 1 with typed blockers)."""
    config = tmp_path / "run.yaml"
    config.write_text("name: tiny\nsources:\n- name: he\n  benchmark: humaneval\n  limit: 3\n  decoys: 1\n"
                      "seeds: [42]\ngates: []\n")
    assert main(["run", "--config", str(config), "--out", str(tmp_path / "out"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "run stopped: pack build: the pack cannot carry the gates" in err and "Traceback" not in err
    assert "observed" in err and "required" in err


@pytest.mark.parametrize("make, code, label", [
    (lambda: __import__("codelewm_eval.errors", fromlist=["x"]).InputError("bad", path="f.yaml", line=3), 2, "error"),
    (lambda: __import__("codelewm_eval.sandbox.pool", fromlist=["x"]).SandboxError("no sandbox"), 2, "sandbox"),
    (lambda: __import__("codelewm_eval.pipeline", fromlist=["x"]).RunBlocked("preflight is NOT OK"), 1, "run stopped"),
    (lambda: __import__("codelewm_eval.pack.build", fromlist=["x"]).PackBlocked([]), 1, "pack not built"),
])
def test_one_error_table_maps_every_error_to_its_exit_code(monkeypatch, capsys, make, code, label):
    import codelewm_eval.cli as cli

    def verb(args):
        raise make()

    parser = cli.build_parser
    monkeypatch.setattr(cli, "build_parser", lambda: _with(parser(), verb))
    assert cli.main(["benchmarks"]) == code
    err = capsys.readouterr().err
    assert err.startswith(f"codelewm-eval: {label}: ") and "Traceback" not in err


def _with(parser, verb):
    parser.parse_args = (lambda original: lambda argv=None: _set(original(argv), verb))(parser.parse_args)
    return parser


def _set(args, verb):
    args.func = verb
    return args
