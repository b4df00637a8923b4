"""Pack build: grouped stratified deterministic splits, evaluation-only sources, blockers."""

from __future__ import annotations

import json

import pytest

from codelewm_eval.benchmarks import load_benchmark
from codelewm_eval.benchmarks.family import problem_family
from codelewm_eval.candidates.models import Origin
from codelewm_eval.cli import main
from codelewm_eval.execution.results import ExecutionResult
from codelewm_eval.manifest import verify, write_manifest
from codelewm_eval.pack.build import PackBlocked, PackConfig, build_pack
from codelewm_eval.pack.splits import normalized_ast

BUCKETS = ["negative", "zero", "small", "medium", "large"]


def _results(tmp_path, name, benchmark, tasks, per_task=6, licence=None, program=None):
    path = tmp_path / f"{name}.jsonl"
    with open(path, "w") as fh:
        for t, tid in enumerate(tasks):
            for i in range(per_task):
                rec = ExecutionResult(
                    benchmark=benchmark, task_id=tid, candidate_id=f"{name}-{t}-{i}", passed=i % 2 == 0,
                    status="passed" if i % 2 == 0 else "failed", output_magnitude_bucket=BUCKETS[(t + i) % 5],
                    isolation="test", label_provenance="executed here",
                    program=program(t, i) if program else f"def f{t}():\n    return {t} + {i}\n",
                    origin=Origin(model="m", run=name, sample_index=i, licence=licence, format="pool"))
                fh.write(json.dumps(rec.model_dump(mode="json")) + "\n")
    write_manifest(path, "execution-results", files=[path])
    return path


def _rows(pack):
    return [json.loads(line) for line in (pack / "rows.jsonl").read_text().splitlines()]


MBPP_MULTIPLE_TASKS = ["mbpp_3_is_not_prime", "mbpp_4_heap_queue_largest", "mbpp_6_differ_At_One_Bit_Pos",
                       "mbpp_7_find_char_long", "mbpp_8_square_nums", "mbpp_9_find_Rotations", "mbpp_11_remove_Occ",
                       "mbpp_12_sort_matrix", "mbpp_14_find_Volume", "mbpp_16_text_lowercase_underscore",
                       "mbpp_17_square_perimeter", "mbpp_18_remove_dirty_chars"]


def two_benchmark_sources(tmp_path):
    """120 trainable HumanEval tasks and 12 evaluation-only MultiPL-E MBPP tasks, with manifests."""
    he = _results(tmp_path, "he", "humaneval", [f"HumanEval/{i}" for i in range(120)])
    return he, _results(tmp_path, "mm", "mbpp-multiple", MBPP_MULTIPLE_TASKS)


@pytest.fixture
def sources(tmp_path, data_dir):
    return two_benchmark_sources(tmp_path)


def test_pack_splits_are_grouped_stratified_and_evaluation_only_is_held_out(tmp_path, data_dir, sources):
    pack = tmp_path / "pack"
    build_pack(list(sources), pack, PackConfig(), data_dir, ["test"])
    rows = _rows(pack)
    assert verify(pack) == []
    task_splits = {}
    for r in rows:
        task_splits.setdefault((r["benchmark"], r["task_id"]), set()).add(r["split"])
    assert all(len(s) == 1 for s in task_splits.values())
    assert not any(r["split"] == "train" for r in rows if r["benchmark"] == "mbpp-multiple")
    assert all(r["evaluation_only"] for r in rows if r["benchmark"] == "mbpp-multiple")
    he = [r for r in rows if r["benchmark"] == "humaneval"]
    share = {s: sum(r["split"] == s for r in he) / len(he) for s in ("train", "val", "test")}
    assert 0.6 < share["train"] < 0.8 and 0.08 < share["val"] < 0.22 and 0.08 < share["test"] < 0.22
    for split in ("val", "test"):
        assert {r["output_magnitude_bucket"] for r in he if r["split"] == split} == set(BUCKETS)
    assert "licence" in rows[0] and rows[0]["label_provenance"].startswith("executed here")
    assert "prompt" not in rows[0] and "family" not in rows[0]  # stored once per task, in tasks.jsonl
    tasks = [json.loads(line) for line in (pack / "tasks.jsonl").read_text().splitlines()]
    assert [(t["benchmark"], t["task_id"]) for t in tasks] == sorted(task_splits)  # every task once, in order
    he_prompts = {tid: p.prompt for tid, p in load_benchmark("humaneval").problems.items()}
    assert all(t["prompt"] == he_prompts[t["task_id"]] for t in tasks if t["benchmark"] == "humaneval")
    assert all(t["family"] == problem_family(t["benchmark"], t["task_id"]) for t in tasks)
    stats = json.loads((pack / "stats.json").read_text())
    assert sum(c["rows"] for c in stats["cells"]) == len(rows)
    # deterministic: the same inputs and seed give the same pack rows
    again = tmp_path / "again"
    build_pack(list(sources), again, PackConfig(), data_dir, ["test"])
    assert (again / "rows.jsonl").read_bytes() == (pack / "rows.jsonl").read_bytes()


def test_near_duplicate_programs_never_straddle_splits(tmp_path, data_dir):
    # every task shares one program text (modulo formatting) with the next: one big group
    def program(t, i):
        return f"def f( ):\n    return {t // 2}   # sample {i}\n" if i == 0 else f"def g{t}():\n    return {i}\n"
    assert normalized_ast("def f( ):\n    return 1   # a\n") == normalized_ast("def f():\n  return 1\n")
    src = _results(tmp_path, "dup", "humaneval", [f"HumanEval/{i}" for i in range(120)], program=program)
    pack = tmp_path / "pack"
    build_pack([src], pack, PackConfig(), data_dir, ["test"])
    splits = {}
    for r in _rows(pack):
        splits.setdefault(normalized_ast(r["program"]), set()).add(r["split"])
    assert all(len(s) == 1 for s in splits.values())


def test_blocked_build_names_what_is_missing_and_writes_nothing(tmp_path, data_dir, capsys):
    src = _results(tmp_path, "few", "humaneval", [f"HumanEval/{i}" for i in range(6)])
    out = tmp_path / "pack"
    with pytest.raises(PackBlocked) as blocked:
        build_pack([src], out, PackConfig(), data_dir, ["test"])
    kinds = {(b.kind, b.split) for b in blocked.value.blockers}
    assert ("too_few_tasks", "val") in kinds and ("too_few_tasks", "test") in kinds
    assert not out.exists()
    assert main(["pack", "build", "--results", str(src), "--out", str(out)]) == 1
    assert "too_few_tasks" in capsys.readouterr().out and not out.exists()


def test_results_without_a_verifying_manifest_are_refused(tmp_path, sources, capsys):
    he, _ = sources
    he.write_text(he.read_text().replace('"passed": false', '"passed": true', 1))  # a tampered label
    assert main(["pack", "build", "--results", str(he), "--out", str(tmp_path / "p")]) == 2
    assert "does not verify" in capsys.readouterr().err


def test_a_rare_bucket_reaches_val_and_test(tmp_path, data_dir):
    # "large" is one row in each of 3 tasks of varying sizes: measured, the stratified folds
    # alone leave it out of val or test for seeds 0-3; the deterministic repair must not.
    path = tmp_path / "rare.jsonl"
    with open(path, "w") as fh:
        for t in range(120):
            for i in range(2 + (t * 13) % 9):
                bucket = "large" if (t in (7, 50, 99) and i == 0) else BUCKETS[(t * 7 + i) % 4]
                rec = ExecutionResult(benchmark="humaneval", task_id=f"HumanEval/{t}", candidate_id=f"r-{t}-{i}",
                                      passed=(t + i) % 3 == 0, status="passed" if (t + i) % 3 == 0 else "failed",
                                      output_magnitude_bucket=bucket, isolation="test", label_provenance="executed here",
                                      program=f"def f{t}():\n    return {i}\n", origin=Origin(format="pool"))
                fh.write(json.dumps(rec.model_dump(mode="json")) + "\n")
    write_manifest(path, "execution-results", files=[path])
    for seed in (0, 1, 2, 3):
        out = tmp_path / f"pack{seed}"
        build_pack([path], out, PackConfig(seed=seed), data_dir, ["test"])
        splits = {r["split"] for r in _rows(out) if r["output_magnitude_bucket"] == "large"}
        assert {"val", "test"} <= splits, seed


def test_two_inputs_with_one_file_name_keep_all_their_rows(tmp_path, data_dir):
    """Spools are named by input order, not by file name: a/results.jsonl and b/results.jsonl
    both reach the pack whole (a name-keyed spool let the second overwrite the first)."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = _results(tmp_path / "a", "results", "humaneval", [f"HumanEval/{i}" for i in range(0, 120)])
    second = _results(tmp_path / "b", "results", "humaneval-plus", [f"HumanEval/{i}" for i in range(0, 120)])
    build_pack([first, second], tmp_path / "pack", PackConfig(), data_dir, ["test"])
    rows = _rows(tmp_path / "pack")
    assert {r["benchmark"] for r in rows} == {"humaneval", "humaneval-plus"}
    assert len(rows) == 2 * 120 * 6 and len({r["row_id"] for r in rows}) == len(rows)
