"""Explain where our labels differ from the code-davinci-002 file's upstream labels.

For each disagreeing candidate, re-run it in the same sandbox against the file's own
MultiPL-E tests (the tests upstream used). If that verdict equals the upstream label, the
difference comes from the test suites (official HumanEval tests vs MultiPL-E's translation),
not from the executor.

    python benchmarks/davinci_disagreements.py RESULTS.jsonl [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
from pathlib import Path

from codelewm_eval.benchmarks import load_benchmark
from codelewm_eval.benchmarks.models import Problem, TestSpec
from codelewm_eval.execution.jobs import Budget, build_job, judge
from codelewm_eval.sandbox.pool import Limits, SandboxPool


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--data-dir", default="../shared/data")
    args = ap.parse_args()
    samples = Path(args.data_dir) / "samples/humaneval/multiple-e_humaneval-py_code-davinci-002_T0.8_n200.jsonl.gz"
    rows = {json.loads(l)["task_id"]: json.loads(l) for l in gzip.open(samples, "rt")}
    he = load_benchmark("humaneval", args.data_dir)
    diffs = [json.loads(l) for l in open(args.results)]
    diffs = [d for d in diffs if d["upstream_passed"] is not None and d["passed"] != d["upstream_passed"]]
    classes = collections.Counter()
    with SandboxPool(workers=2) as pool:
        for d in diffs:
            row = rows[d["task_id"]]
            entry = he.problems[d["task_id"]].entry_point
            problem = Problem(benchmark="multiple-e", task_id=d["task_id"], prompt=row["prompt"], entry_point=entry,
                              tests=TestSpec(mode="check", entry_point=entry, trusted_setup=row["prompt"],
                                             test_code=row["tests"], call_check=False), licence="", source="")
            verdicts = []
            for _ in range(3):
                header, tests = build_job(problem, d["program"], Budget(15.0, None, "upstream-like"), Limits())
                verdicts.append(judge(problem, pool.run(header, tests), None).passed)
            if all(v == d["upstream_passed"] for v in verdicts):
                why = "test suites differ (MultiPL-E tests reproduce the upstream label here)"
            elif len(set(verdicts)) > 1:
                why = "nondeterministic candidate (verdict varies between runs)"
            else:
                why = "same tests, different verdict"
            classes[(d["task_id"], why)] += 1
    for (task, why), n in sorted(classes.items()):
        print(f"{n:4d}  {task:15s} {why}")
    print(f"total {len(diffs)}")


if __name__ == "__main__":
    main()
