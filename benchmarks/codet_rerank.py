"""CodeT dual execution agreement on the CodeGen-16B HumanEval samples, end to end: the
candidates' labels come from `execute` (executed here), the scores from running every sample
against the model's own generated asserts in the sandbox; reported as pass@1 of the top
candidate against no_action (sample 0), with a paired task bootstrap CI and exact McNemar.

    codelewm-eval execute --benchmark humaneval --samples <codet code file> --out results/codet.jsonl
    python benchmarks/codet_rerank.py --results results/codet.jsonl [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from codelewm_eval.benchmarks import load_benchmark
from codelewm_eval.evidence.codet import agreement, load_generated_tests
from codelewm_eval.evidence.rerank import rerank
from codelewm_eval.io import read_models
from codelewm_eval.execution.results import ExecutionResult
from codelewm_eval.sandbox.pool import Limits, SandboxPool

TESTS = "samples/humaneval/codet_HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_test_case.jsonl.gz"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", required=True, help="execute's results for the CodeT code samples")
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data"))
    parser.add_argument("--workers", type=int)
    parser.add_argument("--draws", type=int, default=2000)
    args = parser.parse_args(argv)
    results = [r for r in read_models(args.results, ExecutionResult, "an execution result")
               if r.status not in ("flaky", "not_evaluable")]
    bench = load_benchmark("humaneval", args.data_dir)
    tests = load_generated_tests(Path(args.data_dir) / TESTS, {t: p.entry_point for t, p in bench.problems.items()})
    programs = {i: r.program for i, r in enumerate(results)}
    tests_of = {i: tests.get(r.task_id, []) for i, r in enumerate(results)}
    group_of = {i: r.task_id for i, r in enumerate(results)}
    started = time.perf_counter()
    with SandboxPool(args.workers, Limits()) as pool:
        scores, stats = agreement(programs, tests_of, group_of, pool)
    seconds = time.perf_counter() - started
    passed = np.array([r.passed for r in results])
    order = np.array([-(r.origin.sample_index or 0) for r in results], dtype=float)
    members = defaultdict(list)
    for i, r in enumerate(results):
        members[r.task_id].append(i)
    ids = [r.candidate_id for r in results]
    result = rerank("humaneval", "all", "codet", dict(members), passed, scores, order, None, ids, draws=args.draws)
    with_tests = {t: m for t, m in members.items() if tests.get(t)}
    scoped = rerank("humaneval", "all", "codet", with_tests, passed, scores, order, None, ids, draws=args.draws)
    report = {"candidates": len(results), "tasks": len(members), "seconds": round(seconds, 1), **stats,
              "tasks_with_tests": sum(1 for t in tests.values() if t),
              "all_tasks": result.model_dump(mode="json"), "tasks_with_generated_tests": scoped.model_dump(mode="json"),
              "paper": "CodeT (arXiv 2207.10397), CodeGen-Mono-16B: 29.7 -> 36.7 pass@1"}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
