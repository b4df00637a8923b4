"""`compare` reproduces the user's before/after tables from per-task results shaped like theirs,
adding what those tables lacked: the exact McNemar p and a CI for every row, and anchor gates."""

from __future__ import annotations

import json

import pytest

from codelewm_eval.cli import main
from codelewm_eval.evidence.compare import compare, read_outcomes

MBPP = [str(i) for i in range(11, 111)]  # n=100 official MBPP tasks
HE = [f"HumanEval/{i}" for i in range(164)]
LCB = [f"lcb_{i}" for i in range(50)]


def _write(path, passing: dict[str, set]):
    with open(path, "w") as fh:
        for bench, tasks in (("mbpp", MBPP), ("humaneval", HE), ("livecodebench", LCB)):
            for t in tasks:
                fh.write(json.dumps({"benchmark": bench, "task_id": t, "passed": t in passing.get(bench, set()),
                                     "mode": "B"}) + "\n")
    return path


def test_bd6_headline_table_with_mcnemar(tmp_path, capsys):
    baseline = _write(tmp_path / "baseline.jsonl", {"mbpp": set(MBPP[:6]), "humaneval": set(HE[:2])})
    post = _write(tmp_path / "bd6.jsonl", {"mbpp": set(MBPP[:13]), "humaneval": set(HE[:6])})
    c = compare(read_outcomes(baseline), read_outcomes(post), names=("baseline", "bd6"))
    rows = {r.benchmark: r for r in c.benchmarks}
    mbpp, he, lcb = rows["mbpp"], rows["humaneval"], rows["livecodebench"]
    assert (mbpp.n, mbpp.before, mbpp.after, mbpp.delta) == (100, 6, 13, 7)
    assert mbpp.delta_relative == pytest.approx(7 / 6)  # the "+117 %" of the report: "MBPP doubled"
    assert (he.n, he.before, he.after, he.delta_relative) == (164, 2, 6, pytest.approx(2.0))  # "tripled"
    assert (lcb.before, lcb.after, lcb.delta_relative) == (0, 0, None)
    # what the report lacked: 7 gained and none lost is p = 2 / 2^7; 4 gained is p = 2 / 2^4
    assert mbpp.mcnemar_p == pytest.approx(2 / 2 ** 7) and he.mcnemar_p == pytest.approx(2 / 2 ** 4)
    assert lcb.mcnemar_p == 1.0
    assert mbpp.delta_ci[0] > 0 and he.delta_ci[0] >= 0 <= he.delta_ci[1]
    assert mbpp.gained == MBPP[6:13] and mbpp.lost == [] and len(mbpp.kept) == 6
    assert main(["compare", "--baseline", str(baseline), "--candidate", str(post)]) == 0
    table = capsys.readouterr().out
    assert "| mbpp | 100 | 6/100 | 13/100 | +7 | +117% |" in table and "| 0.0156 |" in table
    assert "| humaneval | 164 | 2/164 | 6/164 | +4 | +200% |" in table and "| 0.125 |" in table


ANCHORS = ["MBPP/17", "MBPP/19", "MBPP/20", "MBPP/41", "MBPP/51", "MBPP/52", "MBPP/53", "MBPP/64", "MBPP/90",
           "MBPP/93", "MBPP/96", "MBPP/99", "MBPP/105", "HumanEval/23", "HumanEval/27", "HumanEval/34",
           "HumanEval/45", "HumanEval/53", "HumanEval/85"]
LOST = {"bd6_5": {"MBPP/53", "HumanEval/34", "HumanEval/45", "HumanEval/85"},
        "bd6_8d": {"HumanEval/27", "HumanEval/34", "HumanEval/45", "HumanEval/85"},
        "bd6_8d2": {"MBPP/53", "HumanEval/23", "HumanEval/27", "HumanEval/34", "HumanEval/45", "HumanEval/85"}}


def _anchor_pass(tmp_path, name, lost):
    passing = {"mbpp": {a.split("/")[1] for a in ANCHORS if a.startswith("MBPP") and a not in lost},
               "humaneval": {a for a in ANCHORS if a.startswith("HumanEval") and a not in lost}}
    return _write(tmp_path / f"{name}.jsonl", passing)


def test_anchor_ladder_and_strict_gate(tmp_path, capsys):
    anchors = tmp_path / "anchors.txt"
    anchors.write_text("# the 19 confirmed pass-1 wins\n" + "\n".join(ANCHORS) + "\n")
    prod = _anchor_pass(tmp_path, "bd6", set())
    passes = [_anchor_pass(tmp_path, name, lost) for name, lost in LOST.items()]
    out_md, out_json = tmp_path / "ladder.md", tmp_path / "ladder.json"
    code = main(["compare", "--baseline", str(prod), *sum((["--candidate", str(p)] for p in passes), []),
                 "--anchors", str(anchors), "--out-md", str(out_md), "--out-json", str(out_json)])
    assert code == 1  # anchors are lost: the strict gate fails
    text = out_md.read_text()
    assert "| **anchors passing** | 19/19 | 15/19 | 15/19 | 13/19 |" in text
    assert "| MBPP/53 | KEPT | LOST | KEPT | LOST |" in text and "| HumanEval/23 | KEPT | KEPT | KEPT | LOST |" in text
    data = json.loads(out_json.read_text())["comparisons"]
    assert sorted(data[2]["anchors_lost"]) == sorted(a if a.startswith("HumanEval") else f"mbpp/{a.split('/')[1]}"
                                                     for a in LOST["bd6_8d2"])
    assert all(c["anchor_gate"] == "fail" for c in data)
    assert main(["compare", "--baseline", str(prod), "--candidate", str(prod), "--anchors", str(anchors)]) == 0
    capsys.readouterr()


def test_bad_rows_name_their_line(tmp_path, capsys):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"benchmark": "mbpp", "task_id": "11", "passed": true}\n{"benchmark": "mbpp", "task_id": "12"}\n')
    assert main(["compare", "--baseline", str(path), "--candidate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "line 2" in err and "passed" in err
