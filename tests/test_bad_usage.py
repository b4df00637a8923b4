"""Every verb, given a path that is not there (or not what it needs), says so clearly and exits 2:
no traceback, nothing written."""

from __future__ import annotations

import pytest

from codelewm_eval.cli import main

NOPE = "/nonexistent/codelewm"


MISSING = [
    ["execute", "--benchmark", "humaneval", "--samples", f"{NOPE}/s.jsonl", "--out", "{tmp}/r.jsonl"],
    ["execute", "--benchmark", "no-such-benchmark", "--out", "{tmp}/r.jsonl"],
    ["execute-merge", f"{NOPE}/a.jsonl", "--out", "{tmp}/m.jsonl"],
    ["decoys", "--results", f"{NOPE}/r.jsonl", "--out", "{tmp}/d.jsonl"],
    ["manifest", "verify", NOPE],
    ["pack", "build", "--results", f"{NOPE}/r.jsonl", "--out", "{tmp}/pack"],
    ["preflight", "--pack", NOPE, "--report", "{tmp}/pf.json"],
    ["preflight", "--pack", "{tmp}", "--report", "{tmp}/pf.json"],
    ["score", "--pack", NOPE, "--out", "{tmp}/s.jsonl"],
    ["evaluate", "--pack", NOPE, "--scores", f"{NOPE}/s.jsonl", "--out", "{tmp}/ev"],
    ["evaluate", "--pack", "{tmp}", "--scores", f"{NOPE}/s.jsonl", "--out", "{tmp}/ev"],
    ["compare", "--baseline", f"{NOPE}/a.jsonl", "--candidate", f"{NOPE}/b.jsonl"],
    ["train", "--pack", NOPE, "--seed", "1", "--scorer", "logreg", "--out", "{tmp}/run"],
    ["jobs", "launch", f"{NOPE}/job.yaml"],
    ["jobs", "status", NOPE],
    ["jobs", "status", "{tmp}"],
    ["jobs", "fetch", NOPE],
    ["jobs", "fetch", "{tmp}"],
    ["jobs", "verify", NOPE],
    ["jobs", "verify", "{tmp}"],
    ["jobs", "inspect-checkpoint", NOPE],
    ["secrets", "scan", NOPE],
    ["claims", "audit", "--root", NOPE],
    ["claims", "render", "--root", NOPE],
    ["run", "--config", f"{NOPE}/run.yaml"],
    ["surgery", "harvest", "--results", f"{NOPE}/r.jsonl", "--out", "{tmp}/h"],
    ["surgery", "tiny-model", "--out", "/proc/codelewm/tiny"],
    ["surgery", "train", "--harvest", NOPE, "--base-model", "{tmp}", "--seed", "1", "--out", "{tmp}/s"],
    ["surgery", "promote", "--baseline", f"{NOPE}/a.jsonl", "--candidate", f"{NOPE}/b.jsonl", "--anchors",
     f"{NOPE}/anchors.txt"],
    ["generate", "--model", NOPE, "--benchmark", "humaneval", "--out", "{tmp}/g.jsonl"],
    ["bench", "execute", "--samples", f"{NOPE}/s.jsonl"],
    ["report", NOPE, "--out", "{tmp}/report"],
]
# verbs that read no input (nothing to give them wrongly)
NO_INPUTS = {"benchmarks"}


@pytest.mark.parametrize("argv", MISSING, ids=lambda a: " ".join(a[:2]))
def test_missing_inputs_exit_2_with_a_clear_message(argv, tmp_path, capsys):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "codelewm-eval: error:" in err and "Traceback" not in err
    assert NOPE in err or str(tmp_path) in err or "no-such-benchmark" in err or "/proc/codelewm" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written


def _verbs(parser, prefix=()) -> set[tuple[str, ...]]:
    import argparse

    found = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found |= _verbs(sub, (*prefix, name)) or {(*prefix, name)}
    return found


def test_every_verb_is_driven_through_a_missing_input():
    from codelewm_eval.cli import build_parser

    verbs = _verbs(build_parser())
    covered = {tuple(a[:2]) if tuple(a[:2]) in verbs else (a[0],) for a in MISSING}
    assert len(verbs) >= 25
    assert verbs - covered - {(v,) for v in NO_INPUTS} == set()


@pytest.mark.parametrize("name, text, said", [
    ("run.json", '{"stages": {"pack build": {"inputs": 3}}}', "stages.pack build.inputs"),
    ("run.json", "{not json", "malformed JSON"),
    ("launch.json", '{"run_id": "r", "backend": "hf"}', "spec"),
])
def test_a_hand_edited_run_record_exits_2_naming_file_and_field(name, text, said, tmp_path, capsys):
    (tmp_path / name).write_text(text)
    argv = ["run", "--out", str(tmp_path)] if name == "run.json" else ["jobs", "fetch", str(tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert str(tmp_path / name) in err and said in err and "Traceback" not in err


def test_evaluate_refuses_to_overwrite_what_is_not_evidence(tmp_path, capsys):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    assert main(["evaluate", "--pack", NOPE, "--scores", f"{NOPE}/s.jsonl", "--out", str(tmp_path / "mine")]) == 2
    assert "not an evidence bundle" in capsys.readouterr().err
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("argv, said", [
    (["execute", "--benchmark", "humaneval", "--samples", "{tmp}/s.jsonl", "--out", "{tmp}/s.jsonl"],
     "--out is the --samples input"),
    (["score", "--pack", "{tmp}/pack", "--out", "{tmp}/pack/rows.jsonl"], "--out is inside the --pack input"),
    (["pack", "build", "--results", "{tmp}/pack/r.jsonl", "--out", "{tmp}/pack"],
     "--out would replace a directory holding the --results input"),
    (["decoys", "--results", "{tmp}/s.jsonl", "--out", "{tmp}/s.jsonl"], "--out is the --results input"),
    (["compare", "--baseline", "{tmp}/s.jsonl", "--candidate", "{tmp}/b.jsonl", "--out-json", "{tmp}/b.jsonl"],
     "--out-json is the --candidate input"),
], ids=lambda a: a[0] if isinstance(a, list) else "")
def test_an_output_that_is_an_input_is_refused_before_any_work(argv, said, tmp_path, capsys):
    (tmp_path / "pack").mkdir()
    (tmp_path / "pack" / "rows.jsonl").write_text('{"keep": "me"}\n')
    (tmp_path / "pack" / "r.jsonl").write_text('{"keep": "me too"}\n')
    (tmp_path / "s.jsonl").write_text('{"task_id": "HumanEval/0", "completion": "    return 1\\n"}\n')
    (tmp_path / "b.jsonl").write_text('{"benchmark": "humaneval", "task_id": "HumanEval/0", "passed": true}\n')
    before = _files(tmp_path)
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err
    assert _files(tmp_path) == before  # nothing changed, nothing added


@pytest.mark.parametrize("argv, option", [
    (["execute", "--benchmark", "humaneval", "--out", "{tmp}/r.jsonl", "--limit", "0"], "--limit"),
    (["execute", "--benchmark", "humaneval", "--out", "{tmp}/r.jsonl", "--limit", "-3"], "--limit"),
    (["execute", "--benchmark", "humaneval", "--out", "{tmp}/r.jsonl", "--workers", "0"], "--workers"),
    (["execute", "--benchmark", "humaneval", "--out", "{tmp}/r.jsonl", "--memory-mb", "-1"], "--memory-mb"),
    (["evaluate", "--pack", "p", "--scores", "s", "--out", "{tmp}/e", "--draws", "0"], "--draws"),
    (["jobs", "status", "{tmp}", "--watch", "-5"], "--watch"),
    (["generate", "--model", "m", "--benchmark", "humaneval", "--out", "{tmp}/g.jsonl", "--top-p", "1.5"], "--top-p"),
    (["surgery", "promote", "--baseline", "a", "--candidate", "b", "--alpha", "2"], "--alpha"),
], ids=lambda a: " ".join(a[-2:]) if isinstance(a, list) else "")
def test_numeric_options_are_checked_where_they_are_parsed(argv, option, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert exit_.value.code == 2
    assert f"argument {option}" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_outputs_are_gzip_when_named_gz_follow_the_umask_and_a_directory_is_refused(tmp_path, capsys):
    import gzip
    import json
    import os

    samples = tmp_path / "s.jsonl"
    samples.write_text('{"task_id": "HumanEval/0", "completion": "    return 1\\n"}\n')
    old = os.umask(0o022)
    try:
        assert main(["execute", "--benchmark", "humaneval", "--samples", str(samples), "--out",
                     str(tmp_path / "r.jsonl.gz"), "--no-progress"]) == 0
    finally:
        os.umask(old)
    with gzip.open(tmp_path / "r.jsonl.gz", "rt") as fh:
        assert json.loads(fh.readline())["task_id"] == "HumanEval/0"
    assert (tmp_path / "r.jsonl.gz").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "r.jsonl.gz.manifest.json").stat().st_mode & 0o777 == 0o644
    (tmp_path / "dir.jsonl").mkdir()
    assert main(["execute", "--benchmark", "humaneval", "--samples", str(samples), "--out",
                 str(tmp_path / "dir.jsonl")]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert main(["execute", "--benchmark", "humaneval", "--samples", str(samples), "--out",
                 "/proc/codelewm/r.jsonl", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "/proc/codelewm" in err and "Traceback" not in err


def test_a_second_writer_of_an_output_is_refused_naming_the_first(tmp_path, capsys):
    import fcntl
    import os

    out = tmp_path / "r.jsonl"
    lock = tmp_path / ".r.jsonl.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, b"4242")
    try:
        assert main(["execute", "--benchmark", "humaneval", "--out", str(out), "--limit", "1", "--no-progress"]) == 2
    finally:
        os.close(fd)
    assert "another codelewm-eval (pid 4242) is writing this output" in capsys.readouterr().err
    assert not out.exists()
    lock.unlink()
    assert main(["execute", "--benchmark", "humaneval", "--out", str(out), "--limit", "1", "--no-progress"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.jsonl", "r.jsonl.manifest.json", "r.summary.json"]


def test_a_killed_pack_builds_staging_is_removed_by_the_next_build(tmp_path, data_dir):
    from codelewm_eval.pack.build import PackConfig, build_pack

    from .test_pack_decoy_pairs import _sources

    stale = tmp_path / ".pack.abc123.building"
    stale.mkdir()
    (stale / "spool-x.jsonl").write_text("half a build\n")
    build_pack(list(_sources(tmp_path)), tmp_path / "pack", PackConfig(), data_dir, ["test"])
    assert not stale.exists() and (tmp_path / "pack" / "manifest.json").exists()


def test_a_file_named_twice_a_non_utf8_ledger_and_a_fake_gz_exit_2(tmp_path, capsys):
    samples = tmp_path / "r.jsonl"
    samples.write_text("{}\n")
    assert main(["pack", "build", "--results", str(samples), str(samples), "--out", str(tmp_path / "p")]) == 2
    assert "names this file twice" in capsys.readouterr().err
    ledger = tmp_path / "claims.yaml"
    ledger.write_bytes(b"\xff\xfe not text")
    assert main(["claims", "audit", "--root", str(tmp_path), "--ledger", str(ledger)]) == 2
    assert "not UTF-8" in capsys.readouterr().err
    fake = tmp_path / "s.jsonl.gz"
    fake.write_text('{"task_id": "HumanEval/0", "completion": "x"}\n')
    assert main(["execute", "--benchmark", "humaneval", "--samples", str(fake), "--out", str(tmp_path / "o.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "s.jsonl.gz" in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims.yaml", "r.jsonl", "s.jsonl.gz"]
