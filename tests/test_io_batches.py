"""io benchmarks (HumanEval+/MBPP+ layout) through the real sandbox: inputs in batches under
per-input CPU limits enforced from outside the candidate, outputs compared as bytes first, and
each task's inputs sent once per worker."""

from __future__ import annotations

import json

from codelewm_eval.benchmarks import models
from codelewm_eval.benchmarks.models import Benchmark, Problem
from codelewm_eval.candidates.models import Candidate, Origin
from codelewm_eval.execution.runner import execute
from codelewm_eval.sandbox.inside.framing import INPUTS_HELD
from codelewm_eval.sandbox.pool import Limits, SandboxPool

CANONICAL = "def f(x):\n    return [x, str(x), x * 0.5]\n"


def _bench(tasks: int = 1, inputs: int = 60) -> Benchmark:
    problems = {}
    for t in range(tasks):
        tid = f"unit/{t}"
        problems[tid] = Problem(benchmark="unit-io", task_id=tid, prompt="", entry_point="f", canonical_solution=CANONICAL,
                                tests=models.TestSpec(mode="io", entry_point="f", inputs=[[t * 1000 + i] for i in range(inputs)],
                                               base_input_count=10),
                                licence="MIT", source="tests")
    return Benchmark(name="unit-io", version="1", licence="MIT", source="tests", source_sha256="0" * 64,
                     problems=problems)


def _cand(task: str, name: str, program: str) -> Candidate:
    return Candidate(candidate_id=name, task_id=task, program=program,
                     origin=Origin(model="m", run="r", sample_index=0, source_file="t", licence="MIT", format="pool"))


def _run(bench, cands, tmp_path, **kw) -> dict:
    out = tmp_path / "r.jsonl"
    execute(bench, cands, out, progress=False, workers=kw.get("workers", 2))
    return {r["candidate_id"]: r for r in map(json.loads, out.read_text().splitlines())}


def test_slow_inputs_in_a_row_are_each_held_to_their_own_budget(tmp_path):
    # inputs 20..24 take about 0.35 CPU s each: every one within its 1 s floor, 1.75 s together.
    # They are cheap for the canonical solution, so they go out in one batch; the candidate passes
    # because each input is timed from the output before it once the batch is slow.
    slow = ("def f(x):\n    if 20 <= x % 1000 < 25:\n        import time\n        t = time.process_time()\n"
            "        while time.process_time() - t < 0.35:\n            pass\n    return [x, str(x), x * 0.5]\n")
    loop = "def f(x):\n    while x % 1000 == 30:\n        pass\n    return [x, str(x), x * 0.5]\n"
    wrong = "def f(x):\n    return [x, str(x), x * 0.5 if x % 1000 != 12 else 0.0]\n"
    records = _run(_bench(), [_cand("unit/0", "slow", slow), _cand("unit/0", "loop", loop),
                              _cand("unit/0", "wrong", wrong), _cand("unit/0", "right", CANONICAL)], tmp_path)
    assert records["slow"]["status"] == "passed" and records["slow"]["inputs_run"] == 60
    assert records["loop"]["status"] == "timeout" and records["loop"]["error"].startswith("input 30:")
    assert records["loop"]["base_passed"] is True  # inputs 0..9 were right before it looped
    assert records["wrong"]["status"] == "failed" and records["wrong"]["inputs_run"] == 13
    assert records["wrong"]["error"] == "input 12: wrong output" and records["wrong"]["base_passed"] is True
    assert records["right"]["passed"]


def test_inputs_go_once_per_worker_and_a_lost_copy_is_sent_again(tmp_path):
    bench = _bench(tasks=INPUTS_HELD + 3, inputs=12)
    cands = [_cand(t, f"{t}#{k}", CANONICAL) for k in range(2) for t in bench.problems]  # cycles past INPUTS_HELD
    records = _run(bench, cands, tmp_path, workers=1)
    assert all(r["passed"] for r in records.values()) and len(records) == 2 * len(bench.problems)

    from codelewm_eval.execution.jobs import Budget, build_job, encode_inputs, judge

    problem = bench.problems["unit/0"]
    with SandboxPool(workers=1, limits=Limits()) as pool:
        worker = pool._take()
        try:
            header, tests = build_job(problem, CANONICAL, Budget(10.0, [1.0] * 12, "t"), Limits(),
                                      encode_inputs(problem), inputs_key="k1")
            assert worker.run(header, tests).tester["status"] == "completed"
            worker._held["k2"] = True  # this side believes the tester holds k2: it does not
            raw = worker.run(header, dict(tests, inputs_key="k2"))
            assert raw.tester["status"] == "completed" and len(raw.outputs) == 12  # sent again, inputs included
            assert judge(problem, raw, [[x, str(x), x * 0.5] for (x,) in problem.tests.inputs]).passed
        finally:
            pool._idle.put(worker)


def test_reference_outputs_edited_by_hand_are_computed_again(tmp_path):
    from codelewm_eval.execution.reference import ReferenceCache
    from codelewm_eval.io import default_cache_dir

    bench = _bench(tasks=1, inputs=8)
    bench = bench.model_copy(update={"source_sha256": "1" * 64})  # its own cache entry
    problem = bench.problems["unit/0"]
    _run(bench, [_cand("unit/0", "right", CANONICAL)], tmp_path)
    cache = ReferenceCache(default_cache_dir(), bench)
    ref = cache.get(problem)
    assert ref is not None and len(ref.outputs) == 8
    (blob_file,) = cache.outputs_dir.glob("*.bin")
    data = bytearray(blob_file.read_bytes())
    data[-2] = ord("9") if data[-2] != ord("9") else ord("8")  # one digit of the last expected output
    blob_file.write_bytes(bytes(data))
    assert ReferenceCache(default_cache_dir(), bench).get(problem) is None  # its digest no longer matches
    records = _run(bench, [_cand("unit/0", "right2", CANONICAL)], tmp_path / "again")
    assert records["right2"]["passed"]  # computed again, not judged against the edited bytes
    assert ReferenceCache(default_cache_dir(), bench).get(problem) is not None


LONG = "def f(x):\n    return ' '.join(str(i) for i in range(x))\n"  # HumanEval/15's shape: megabytes of digits


def _long_bench(benchmark: str = "unit-io", entry: str = "f") -> Benchmark:
    sizes = [3, 20_000, 5, 30_000]  # two outputs far over DIGEST_STR_OVER characters
    problem = Problem(benchmark=benchmark, task_id="long/0", prompt="", entry_point=entry,
                      canonical_solution=LONG.replace("def f", f"def {entry}"),
                      tests=models.TestSpec(mode="io", entry_point=entry, inputs=[[n] for n in sizes], base_input_count=2),
                      licence="MIT", source="tests")
    return Benchmark(name=benchmark, version="1", licence="MIT", source="tests", source_sha256="2" * 64,
                     problems={"long/0": problem})


def test_long_strings_cross_as_digests_and_one_wrong_character_still_fails(tmp_path):
    from codelewm_eval.execution.reference import ReferenceCache
    from codelewm_eval.io import default_cache_dir
    from codelewm_eval.sandbox.inside.codec import DIGEST_STR_OVER

    bench = _long_bench()
    off_by_one = LONG.replace("range(x)", "range(x) if i != 19_998")  # drops one number of a long output only
    subclass = ("class S(str):\n    def __eq__(self, o):\n        return True\n"
                "def f(x):\n    return S(' '.join(str(i) for i in range(x)))\n")
    records = _run(bench, [_cand("long/0", "right", LONG), _cand("long/0", "off", off_by_one),
                           _cand("long/0", "sub", subclass)], tmp_path)
    assert records["right"]["passed"] and records["right"]["inputs_run"] == 4
    assert records["off"]["status"] == "failed" and records["off"]["error"] == "input 1: wrong output"
    assert records["sub"]["passed"]  # a str subclass is its characters: its own __eq__ stays behind
    ref = ReferenceCache(default_cache_dir(), bench).get(bench.problems["long/0"])
    sizes = [len(blob) for blob in ref.outputs]
    assert sizes[0] < 100 and sizes[1] < 200 < DIGEST_STR_OVER and b'"kind":"str"' in ref.outputs[1]


def test_long_strings_stay_whole_where_the_oracle_is_more_than_equality():
    from codelewm_eval.execution.jobs import Budget, build_job

    plain, special = _long_bench(), _long_bench("mbpp-plus", "check_str")  # check_str: a special MBPP+ oracle
    for bench, digests in ((plain, True), (special, False)):
        problem = bench.problems["long/0"]
        _, tests = build_job(problem, LONG, Budget(5.0, None, "t"), Limits(), stream=True)
        assert tests["digest_strings"] is digests


def test_two_tasks_with_the_same_inputs_and_different_limits_are_held_apart():
    from codelewm_eval.execution.reference import Reference
    from codelewm_eval.execution.runner import Executor

    bench = _bench(tasks=2, inputs=4)
    bench.problems["unit/1"].tests.inputs = list(bench.problems["unit/0"].tests.inputs)  # the same inputs
    refs = {t: Reference(key=t, ok=True, input_seconds=[s] * 4).with_outputs([b"0"] * 4)
            for t, s in (("unit/0", 0.01), ("unit/1", 1.0))}
    executor = Executor(None, bench, refs, Limits())
    (_, key0), _, budget0 = executor._prepared("unit/0")
    (_, key1), _, budget1 = executor._prepared("unit/1")
    assert budget0.per_input_s != budget1.per_input_s and key0 != key1
