"""CodeT dual execution agreement: test extraction, consensus sets, and sandboxed runs of
untrusted generated asserts inside the candidate process."""

from __future__ import annotations

import numpy as np

from codelewm_eval.benchmarks import load_benchmark
from codelewm_eval.evidence.codet import agreement, consensus_scores, extract_tests, load_generated_tests

from .conftest import require_data


def test_generated_asserts_are_extracted_normalized_and_deduplicated():
    samples = ["\n    f(1) == 2, 'one'\nassert \n    f(2) == 3\nassert f(", "\n    f(1) == 2, 'one'\nassert g(1) == 1\n"]
    assert extract_tests(samples, "f") == ["assert f(1) == 2, 'one'", "assert f(2) == 3"]


def test_consensus_score_is_set_size_times_tests_passed():
    passes = {0: [True, True, False], 1: [True, True, False], 2: [True, True, True], 3: [False, False, False]}
    assert consensus_scores(passes) == {0: 4.0, 1: 4.0, 2: 3.0, 3: 0.0}


def test_agreement_in_the_sandbox(pool, tmp_path):
    planted = tmp_path / "pwned"
    tests = ["assert inc(1) == 2", "assert inc(5) == 6", "assert inc(-1) == 0",
             f"import os; os.system('echo pwned > {planted}'); assert True"]  # hostile: it runs in C, sandboxed
    programs = {0: "def inc(x):\n    return x + 1\n", 1: "def inc(x):\n    return x + 1  # same behaviour\n",
                2: "def inc(x):\n    return x * 2\n", 3: "def inc(x):\n    while True:\n        pass\n",
                4: "raise SystemExit('no')\n"}
    tests_of = {i: tests for i in programs}
    scores, stats = agreement(programs, tests_of, {i: "task" for i in programs}, pool)
    # the hostile test's os.system is refused by the sandbox's guard (it fails, for every program):
    # 0 and 1 agree on the 3 others: 2 x 3; 2 passes inc(1) == 2 alone: 1 x 1; 3 times out on each
    # (each test has its own time limit) and 4 never loads: 0
    assert scores.tolist() == [6.0, 6.0, 1.0, 0.0, 0.0]
    assert stats["candidates_run"] == 5
    assert not planted.exists()  # refused, and under bwrap the sandbox's filesystem is not the host's anyway


def test_codegen_test_file_rows_are_matched_to_tasks():
    path = require_data("samples", "humaneval",
                        "codet_HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_test_case.jsonl.gz")
    bench = load_benchmark("humaneval")
    tests = load_generated_tests(path, {t: p.entry_point for t, p in bench.problems.items()})
    assert len(tests) == 164 and sum(1 for t in tests.values() if t) == 154
    assert tests["HumanEval/0"][0] == "assert has_close_elements([], 1) == False, 'Empty list'"
    assert all(bench.problems[t].entry_point in s for t, ts in tests.items() for s in ts)
    assert 40 < np.mean([len(v) for v in tests.values()]) < 60
