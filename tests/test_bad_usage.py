"""Every verb, given a path that is not there (or not what it needs), says so clearly and exits 2:
no traceback, nothing written."""

from __future__ import annotations

import pytest

from codelewm_eval.cli import main

NOPE = "/nonexistent/codelewm"


@pytest.mark.parametrize("argv", [
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
], ids=lambda a: " ".join(a[:2]))
def test_missing_inputs_exit_2_with_a_clear_message(argv, tmp_path, capsys):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "codelewm-eval: error:" in err and "Traceback" not in err
    assert NOPE in err or str(tmp_path) in err or "no-such-benchmark" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing written


def test_evaluate_refuses_to_overwrite_what_is_not_evidence(tmp_path, capsys):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    assert main(["evaluate", "--pack", NOPE, "--scores", f"{NOPE}/s.jsonl", "--out", str(tmp_path / "mine")]) == 2
    assert "not an evidence bundle" in capsys.readouterr().err
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
