from __future__ import annotations

import pytest

from codelewm_eval.benchmarks import BENCHMARKS, load_benchmark
from codelewm_eval.benchmarks.mbpp import mbpp_plus_deserialize
from codelewm_eval.errors import InputError


def test_humaneval_works_without_a_data_dir():
    bench = load_benchmark("humaneval")
    assert len(bench) == 164
    p = bench.problems["HumanEval/0"]
    assert p.entry_point == "has_close_elements"
    assert p.canonical_solution.startswith(p.prompt)
    assert p.tests.mode == "check" and p.tests.call_check


def test_humaneval_mirror_is_byte_identical_to_the_package(data_dir):
    assert load_benchmark("humaneval", data_dir).source_sha256 == load_benchmark("humaneval").source_sha256


@pytest.mark.parametrize("name,count", [
    ("humaneval-plus", 164), ("mbpp", 974), ("mbpp-sanitized", 427), ("mbpp-plus", 378),
    ("mbpp-multiple", 397), ("livecodebench", 880)])
def test_counts(data_dir, name, count):
    assert len(load_benchmark(name, data_dir)) == count


def test_mbpp_test_range(data_dir):
    bench = load_benchmark("mbpp", data_dir, mbpp_split="test")
    ids = sorted(int(t) for t in bench.problems)
    assert len(ids) == 500 and ids[0] == 11 and ids[-1] == 510


def test_mbpp_plus_versions(data_dir):
    assert len(load_benchmark("mbpp-plus", data_dir, mbpp_plus_version="v0.1.0")) == 399


def test_humaneval_plus_inputs_and_atol(data_dir):
    bench = load_benchmark("humaneval-plus", data_dir)
    p = bench.problems["HumanEval/0"]
    assert p.tests.mode == "io" and 0 < p.tests.base_input_count < len(p.tests.inputs)
    assert sum(len(x.tests.inputs) for x in bench.problems.values()) > 120_000
    assert any(x.tests.atol > 0 for x in bench.problems.values())


def test_mbpp_plus_inputs_are_rebuilt_as_the_solution_needs(data_dir):
    bench = load_benchmark("mbpp-plus", data_dir)
    first = bench.problems["Mbpp/124"].tests.inputs[0]
    assert isinstance(first[0], float) and isinstance(first[1], complex)
    assert all(isinstance(a, tuple) for a in bench.problems["Mbpp/2"].tests.inputs[0])
    assert isinstance(bench.problems["Mbpp/252"].tests.inputs[0][0], complex)
    assert bench.problems["Mbpp/793"].tests.base_input_count == len(bench.problems["Mbpp/793"].tests.inputs)


def test_deserialize_rules():
    assert mbpp_plus_deserialize(2, [[1, 2], [3]]) == [(1, 2), (3,)]
    assert mbpp_plus_deserialize(115, [[[1], []]]) == [[{1}, {}]]
    assert mbpp_plus_deserialize(580, [[1, [2, [3]]]]) == [(1, (2, (3,)))]
    assert mbpp_plus_deserialize(999, [[1, 2]]) == [[1, 2]]


def test_mbpp_entry_points_and_setup_code(data_dir):
    bench = load_benchmark("mbpp", data_dir)
    assert all(p.entry_point for p in bench.problems.values())
    assert "root = Node(1)" in bench.problems["367"].tests.test_code


def test_livecodebench_has_no_tests(data_dir):
    bench = load_benchmark("livecodebench", data_dir)
    assert all(p.tests.mode == "none" for p in bench.problems.values())


def test_unknown_benchmark_and_missing_dir(tmp_path):
    with pytest.raises(InputError, match="unknown benchmark"):
        load_benchmark("nope", tmp_path)
    with pytest.raises(InputError, match="data directory not found"):
        load_benchmark("mbpp", tmp_path / "missing")
    with pytest.raises(InputError, match="file not found"):
        load_benchmark("mbpp", tmp_path)
    assert set(BENCHMARKS) >= {"humaneval", "humaneval-plus", "mbpp", "mbpp-sanitized", "mbpp-plus", "livecodebench"}
