"""CodeT dual execution agreement (Chen et al., arXiv 2207.10397) as a scorer.

The model's own generated test cases (assert lines sampled from the test-case prompt) are run
against every candidate of the task in the sandbox. Candidates that pass exactly the same set of
tests form a consensus set; a set's score is (candidates in it) x (tests they pass), and every
candidate gets its set's score. The generated tests are untrusted model output: they run inside
the candidate process C, never in the trusted tester, each under its own time limit.
"""

from __future__ import annotations

import ast
import gzip
import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..errors import InputError

PER_TASK_SAMPLE_TESTS = 5  # the first asserts of each generated sample, as CodeT extracts them
MAX_TESTS = 500
PER_TEST_S = 0.25
ENTRY = "codelewm_codet_agreement"

_HARNESS = '''

def {entry}():
    import signal as _signal

    class _Slow(BaseException):
        pass

    def _alarm(signum, frame):
        raise _Slow()

    _signal.signal(_signal.SIGALRM, _alarm)
    _results = []
    for _src in {tests!r}:
        _ns = dict(globals())
        try:
            _signal.setitimer(_signal.ITIMER_REAL, {per_test})
            exec(_src, _ns)
            _results.append(True)
        except BaseException:
            _results.append(False)
        finally:
            _signal.setitimer(_signal.ITIMER_REAL, 0)
    return _results
'''


def extract_tests(samples: list[str], entry_point: str) -> list[str]:
    """Generated assert statements: the test prompt ends with 'assert', each sample continues
    it; split on later asserts, keep those that parse and call the entry point, first few per
    sample, deduplicated in order of first appearance."""
    seen: dict[str, None] = {}
    for sample in samples:
        kept = 0
        for chunk in ("assert" + sample).split("\nassert"):
            statement = " ".join(("assert " + chunk.removeprefix("assert")).split())
            if kept >= PER_TASK_SAMPLE_TESTS:
                break
            try:
                tree = ast.parse(statement)
            except (SyntaxError, ValueError):
                continue
            if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Assert) or entry_point not in statement:
                continue
            kept += 1
            seen.setdefault(statement, None)
    return list(seen)[:MAX_TESTS]


def load_generated_tests(path: Path, entry_points: dict[str, str]) -> dict[str, list[str]]:
    """Rows of CodeT's test-case file: one per task, in the benchmark's id order (numeric or, as
    CodeT's own files are, lexicographic); the order is accepted only if every row's prompt
    defines its task's entry point."""
    try:
        with gzip.open(path, "rt", encoding="utf-8") if str(path).endswith(".gz") else open(path) as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read generated tests ({exc})", path=str(path)) from None
    if len(rows) != len(entry_points):
        raise InputError(f"{len(rows)} rows of generated tests for {len(entry_points)} tasks", path=str(path))
    numeric = sorted(entry_points, key=lambda t: [int(x) if x.isdigit() else x for x in t.replace("/", " / ").split()])
    for order in (numeric, sorted(entry_points)):
        if all(f"def {entry_points[t]}(" in row.get("prompt", "") for t, row in zip(order, rows)):
            return {t: extract_tests(row["samples"], entry_points[t]) for t, row in zip(order, rows)}
    raise InputError("its rows follow neither the numeric nor the lexicographic task order (checked by entry point)",
                     path=str(path))


def consensus_scores(passes: dict[int, list[bool]]) -> dict[int, float]:
    """Row -> |candidates with the same passing set| x |tests in that set|."""
    key = {i: tuple(j for j, ok in enumerate(p) if ok) for i, p in passes.items()}
    sizes = Counter(key.values())
    return {i: float(sizes[k] * len(k)) for i, k in key.items()}


def agreement(programs: dict[int, str], tests_of: dict[int, list[str]], group_of: dict[int, str], pool,
              memory_mb: int = 1024, progress=None) -> tuple[np.ndarray, dict]:
    """Run every candidate (row -> program) against its generated tests; the consensus score per
    row, computed among the rows of its group (one task's samples from one source).
    `progress(done, total)` is called as candidates finish."""
    from ..sandbox.inside.codec import decode_value, encode_value
    from ..sandbox.pool import Limits

    def one(i: int) -> tuple[int, list[bool] | None]:
        task_tests = tests_of.get(i) or []
        if not task_tests:
            return i, []  # no generated tests: every sample agrees on the empty set (score 0, a tie)
        wall = min(60.0, 1.0 + PER_TEST_S * 2 * len(task_tests))
        program = programs[i] + _HARNESS.format(entry=ENTRY, tests=task_tests, per_test=PER_TEST_S)
        # the generated tests are untrusted and run in C: an escape attempt fails that test, not the candidate
        limits = {**Limits(wall_s=wall, memory_mb=memory_mb).as_dict(), "on_violation": "refuse"}
        header = {"program": program, "limits": limits}
        job = {"mode": "io", "entry_point": ENTRY, "inputs": [encode_value([], {})], "input_limits": [wall]}
        raw = pool.run(header, job)
        try:  # each output is the candidate's JSON bytes
            outputs = [decode_value(json.loads(blob), lambda ref_id, type_name: None) for blob in raw.outputs or []]
        except Exception:  # noqa: BLE001 - a candidate that returned garbage passes nothing
            outputs = []
        result = outputs[0] if outputs and isinstance(outputs[0], list) else None
        if result is None or len(result) != len(task_tests):
            return i, [False] * len(task_tests)  # crashed at import, timed out, or broke the harness
        return i, [x is True for x in result]

    by_group: dict[str, dict[int, list[bool]]] = {}
    with ThreadPoolExecutor(max_workers=pool.size) as executor:
        for done, (i, passes) in enumerate(executor.map(one, sorted(programs)), start=1):
            if progress is not None:
                progress(done, len(programs))
            if passes is not None:
                by_group.setdefault(group_of[i], {})[i] = passes
    scores = np.full(max(programs) + 1 if programs else 0, np.nan)
    for per_group in by_group.values():
        for i, value in consensus_scores(per_group).items():
            scores[i] = value
    lengths = [len(t) for t in tests_of.values() if t]
    untested = sum(1 for i in programs if not tests_of.get(i))
    stats = {"candidates_run": sum(len(v) for v in by_group.values()) - untested,
             "candidates_without_tests": untested, "groups": len(by_group),
             "tests_per_candidate_mean": float(np.mean(lengths)) if lengths else 0.0}
    return scores, stats
