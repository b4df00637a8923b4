"""Reference decoy categories found among the rows: same problem / different submission, and
same code / different input (HumanEval vs HumanEval+); both rows always share a split."""

from __future__ import annotations

import json

from codelewm_eval.candidates.models import Origin
from codelewm_eval.execution.results import ExecutionResult
from codelewm_eval.fingerprint import normalized_ast
from codelewm_eval.manifest import write_manifest
from codelewm_eval.pack.build import PackConfig, build_pack
from codelewm_eval.benchmarks.family import problem_family as task_family
from codelewm_eval.pack.pairs import SAME_CODE, SAME_PROBLEM
from codelewm_eval.preflight.run import preflight

BUCKETS = ["negative", "zero", "small", "medium", "large"]


def _write(path, records):
    with open(path, "w") as fh:
        for rec in records:
            fh.write(rec.model_dump_json() + "\n")
    write_manifest(path, "execution-results", files=[path])
    return path


def _result(bench, t, i, passed, program):
    return ExecutionResult(benchmark=bench, task_id=f"HumanEval/{t}", candidate_id=f"c-{t}-{i}", passed=passed,
                           status="passed" if passed else "failed", output_magnitude_bucket=BUCKETS[(t + i) % 5],
                           isolation="test", label_provenance="executed here", program=program,
                           program_ast=normalized_ast(program), origin=Origin(model="m", sample_index=i, format="human-eval"))


def _sources(tmp_path):
    """One pool judged by HumanEval and by HumanEval+: samples 0-2 pass both; sample 3 passes
    HumanEval's tests and fails HumanEval+'s extra inputs; samples 4-5 fail both."""
    he, plus = [], []
    for t in range(120):
        for i in range(6):
            program = f"def f{t}(x):\n    return x + {i}\n"
            he.append(_result("humaneval", t, i, i <= 3, program))
            plus.append(_result("humaneval-plus", t, i, i <= 2, program))
    return _write(tmp_path / "he.jsonl", he), _write(tmp_path / "plus.jsonl", plus)


def test_reference_pairs_are_aligned_counted_and_deterministic(tmp_path, data_dir):
    sources = _sources(tmp_path)
    config = PackConfig(reference_decoys=True, same_problem_pairs_per_task=2)
    stats = build_pack(list(sources), tmp_path / "pack", config, data_dir, ["test"])
    rows = [json.loads(line) for line in (tmp_path / "pack" / "rows.jsonl").read_text().splitlines()]
    by_id = {r["row_id"]: r for r in rows}
    decoys = [r for r in rows if r["decoy"]]
    same_code = [r for r in decoys if r["decoy"]["category"] == SAME_CODE]
    same_problem = [r for r in decoys if r["decoy"]["category"] == SAME_PROBLEM]
    # every HumanEval+ row of sample 3 is a same-code decoy of the HumanEval row with its program
    assert len(same_code) == 120
    for r in same_code:
        shadow = by_id[r["decoy"]["shadows_row_id"]]
        assert r["benchmark"] == "humaneval-plus" and shadow["benchmark"] == "humaneval"
        assert r["program"] == shadow["program"] and shadow["passed"] and not r["passed"]
        assert r["split"] == shadow["split"]
    # at most 2 same-problem pairs per (benchmark, task): a failing row beside a passing one of that task
    per_task = {}
    for r in same_problem:
        shadow = by_id[r["decoy"]["shadows_row_id"]]
        assert (shadow["benchmark"], shadow["task_id"], shadow["split"]) == (r["benchmark"], r["task_id"], r["split"])
        assert shadow["passed"] and not r["passed"] and shadow["program"] != r["program"]
        per_task[(r["benchmark"], r["task_id"])] = per_task.get((r["benchmark"], r["task_id"]), 0) + 1
    assert max(per_task.values()) == 2 and len(per_task) == 240
    assert len({r["row_id"] for r in decoys}) == len(decoys)  # a row is the decoy of one pair at most
    counted = {}
    for cell in stats["cells"]:
        for cat, n in cell["decoy_pairs"].items():
            counted[cat] = counted.get(cat, 0) + n
    assert counted == {SAME_CODE: 120, SAME_PROBLEM: len(same_problem)}
    # same inputs, same seed: byte-identical; input order does not matter either
    build_pack(list(reversed(sources)), tmp_path / "again", config, data_dir, ["test"])
    again = sorted((tmp_path / "again" / "rows.jsonl").read_text().splitlines())
    assert again == sorted((tmp_path / "pack" / "rows.jsonl").read_text().splitlines())


def test_without_the_flag_there_are_no_reference_pairs(tmp_path, data_dir):
    build_pack(list(_sources(tmp_path)), tmp_path / "pack", PackConfig(), data_dir, ["test"])
    assert '"decoy":null' in (tmp_path / "pack" / "rows.jsonl").read_text()
    assert '"category"' not in (tmp_path / "pack" / "rows.jsonl").read_text()


def test_preflight_checks_each_category_against_the_job_minimums(tmp_path, data_dir):
    pack = tmp_path / "pack"
    build_pack(list(_sources(tmp_path)), pack, PackConfig(reference_decoys=True), data_dir, ["test"])
    job = tmp_path / "job.yaml"
    job.write_text("name: j\nseeds: [42, 1729]\ntimeout: 1h\ndecoy_minimums:\n"
                   f"  {SAME_CODE}: {{pairs: 10, tasks: 10}}\n  {SAME_PROBLEM}: {{pairs: 100000, tasks: 1}}\n")
    report = preflight(pack, job)
    status = {c.name: c.status for c in report.checks if c.name.startswith("decoys:")}
    assert status == {f"decoys:{s}:{c}": ("pass" if c == SAME_CODE else "fail")
                      for s in ("val", "test") for c in (SAME_CODE, SAME_PROBLEM)}
    # no job: the default minimums ask for mutation pairs, which this pack does not have
    failed = {c.name for c in preflight(pack).checks if c.status != "pass"}
    assert failed == {"decoys:val:mutation", "decoys:test:mutation"}


def test_task_families_link_benchmark_variants():
    assert task_family("humaneval", "HumanEval/7") == task_family("humaneval-plus", "HumanEval/7")
    assert task_family("mbpp", "2") == task_family("mbpp-plus", "Mbpp/2") == task_family("mbpp-multiple", "mbpp_2_x")
    assert task_family("mbpp", "2") != task_family("mbpp-plus", "Mbpp/3")
    assert task_family("livecodebench", "abc") == "livecodebench/abc"
    assert task_family("mbpp", "MbppEval/2") == task_family("mbxp", "MBPP/2") == "mbpp/2"
    assert task_family("humaneval", "HumanEval/017") == "humaneval/17"


def test_build_stops_when_val_or_test_lack_the_decoy_minimum(tmp_path, data_dir, capsys):
    from codelewm_eval.cli import main

    he, plus = _sources(tmp_path)
    out = tmp_path / "pack"
    args = ["pack", "build", "--results", str(he), str(plus), "--out", str(out), "--decoys", "--no-progress",
            "--data-dir", str(data_dir)]
    assert main(args + ["--decoy-minimum", f"{SAME_CODE}=100000/1"]) == 1
    printed = capsys.readouterr().out
    assert "too_few_decoy_pairs" in printed and SAME_CODE in printed and not out.exists()
    assert main(args + ["--decoy-minimum", "same code=1"]) == 2
    assert main(args + ["--decoy-minimum", f"{SAME_CODE}=5/3", "--decoy-minimum", f"{SAME_PROBLEM}=20/10"]) == 0
