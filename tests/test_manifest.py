"""Manifests: every missing, changed or unexpected file and every broken parent is named."""

from __future__ import annotations

import json

from codelewm_eval.cli import main
from codelewm_eval.manifest import manifest_path_for, verify, write_manifest


def _results(tmp_path):
    results = tmp_path / "res" / "results.jsonl"
    results.parent.mkdir()
    results.write_text('{"a": 1}\n')
    summary = tmp_path / "res" / "results.summary.json"
    summary.write_text("{}\n")
    (tmp_path / "res" / "other.txt").write_text("not part of the artifact")
    write_manifest(results, "execution-results", files=[results, summary], command=["x"], config={"k": 1})
    return results


def _pack(tmp_path, parent):
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "rows.jsonl").write_text('{"row": 1}\n')
    (pack / "stats.json").write_text("{}\n")
    write_manifest(pack, "pack", parents=[parent], config={"seed": 42})
    return pack


def test_a_fresh_chain_verifies(tmp_path, capsys):
    pack = _pack(tmp_path, _results(tmp_path))
    assert verify(pack) == []
    assert main(["manifest", "verify", str(pack)]) == 0
    data = json.loads((pack / "manifest.json").read_text())
    assert data["schema_version"] == 1 and data["config_hash"] and data["code_version"]["codelewm_eval"]
    assert {f["path"] for f in data["files"]} == {"rows.jsonl", "stats.json"}


def test_flipped_byte_missing_and_unexpected_files_are_all_named(tmp_path, capsys):
    pack = _pack(tmp_path, _results(tmp_path))
    raw = bytearray((pack / "rows.jsonl").read_bytes())
    raw[3] ^= 0x01
    (pack / "rows.jsonl").write_bytes(bytes(raw))
    (pack / "stats.json").unlink()
    (pack / "extra.bin").write_bytes(b"x")
    kinds = {(p.kind, p.path) for p in verify(pack)}
    assert kinds == {("changed", "rows.jsonl"), ("missing", "stats.json"), ("unexpected", "extra.bin")}
    assert main(["manifest", "verify", str(pack), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and len(out["problems"]) == 3


def test_a_parent_that_changed_fails_its_children(tmp_path):
    results = _results(tmp_path)
    pack = _pack(tmp_path, results)
    results.write_text('{"a": 2}\n')  # the executions under the pack changed
    problems = verify(pack)
    assert any(p.kind == "parent" for p in problems)
    assert any(p.kind == "changed" and p.path == "results.jsonl" for p in problems)
    # rewriting the parent's manifest to match does not help: the child recorded its hash
    write_manifest(results, "execution-results", files=[results, results.with_name("results.summary.json")])
    problems = verify(pack)
    assert [p.detail for p in problems if p.kind == "parent"] == ["parent manifest changed since this artifact was made"]


def test_sidecar_ignores_unrelated_files_and_bad_input_exits_2(tmp_path, capsys):
    results = _results(tmp_path)
    assert verify(results) == []  # other.txt beside it is not part of the artifact
    assert manifest_path_for(results).name == "results.jsonl.manifest.json"
    assert main(["manifest", "verify", str(tmp_path / "nothing")]) == 2
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json")
    assert main(["manifest", "verify", str(broken)]) == 1
    assert "unreadable" in capsys.readouterr().out


def test_a_digest_is_reused_only_while_the_file_is_unchanged(tmp_path, monkeypatch):
    """sha256 is kept per process by the file's identity and state: a file edited in place (same
    size, mtime put back) is read again; an unchanged one is not."""
    import hashlib
    import os

    from codelewm_eval import io as cio

    path = tmp_path / "rows.jsonl"
    path.write_bytes(b"a" * 4096)
    first = cio.sha256_file(path)
    reads = []
    real_open = open
    monkeypatch.setattr("builtins.open", lambda p, *a, **k: (reads.append(str(p)), real_open(p, *a, **k))[1])
    assert cio.sha256_file(path) == first and reads == []  # not read again
    stat = path.stat()
    with real_open(path, "r+b") as fh:
        fh.write(b"b")  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # mtime put back; ctime moves anyway
    assert cio.sha256_file(path) == hashlib.sha256(b"b" + b"a" * 4095).hexdigest() != first
    assert reads == [str(path)]
