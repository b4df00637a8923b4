"""The floor under any executor on a HumanEval+/MBPP+ sample: the candidates' own work.

Draws the sample of `bench execute --against evalplus` (same seed), labels it with this executor,
then runs every candidate that did not time out over the inputs that decided its label (a passing
one: all of its task's inputs; a failing one: up to and including its first wrong output, where
EvalPlus stops too) in plain Python (no sandbox, no harness, no time limits), two processes at
once, and prints the CPU seconds and the wall time. With the timeouts' budgets (at least a
CPU-second each), that is what no executor with the same limits can go below; README.md compares
EvalPlus's time against it.

    python benchmarks/plus_floor.py --benchmark humaneval-plus --per-task 20 [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import tempfile
import time
from multiprocessing import Pool
from pathlib import Path

from codelewm_eval.bench_evalplus import sample
from codelewm_eval.execution.runner import execute


def _own_work(job: tuple[str, str, list]) -> float:
    program, entry, inputs = job
    ns: dict = {}
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        t0 = time.process_time()
        try:
            exec(program, ns)  # noqa: S102 - candidates that ran in the sandbox first without trying to leave it
            f = ns[entry]
            for args in inputs:
                f(*args)
        except (Exception, SystemExit):  # noqa: BLE001 - a runtime error (or exit()) ends its work, as in any executor
            pass
    return time.process_time() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-task", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--benchmark", default="humaneval-plus", choices=["humaneval-plus", "mbpp-plus"])
    ap.add_argument("--data-dir", default="../shared/data")
    ap.add_argument("--processes", type=int, default=2)
    args = ap.parse_args()
    bench, _, cands = sample(args.benchmark, Path(args.data_dir), args.per_task, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        execute(bench, cands, Path(tmp) / "r.jsonl", progress=False)
        records = [json.loads(line) for line in (Path(tmp) / "r.jsonl").read_text().splitlines()]
    ran = [r for r in records if r["status"] in ("passed", "failed", "runtime_error")]
    jobs = [(r["program"], bench.problems[r["task_id"]].entry_point,
             [list(a) for a in bench.problems[r["task_id"]].tests.inputs[:r["inputs_run"] or 0]]) for r in ran]
    timeouts = sum(r["status"] == "timeout" for r in records)
    t0 = time.perf_counter()
    with Pool(args.processes) as pool:
        cpu = pool.map(_own_work, jobs, chunksize=1)
    wall = time.perf_counter() - t0
    passing = [c for c, r in zip(cpu, ran) if r["passed"]]
    print(json.dumps({"candidates_run": len(jobs), "passing": len(passing), "passing_cpu_s": round(sum(passing), 1),
                      "own_cpu_s": round(sum(cpu), 1), "wall_s": round(wall, 1),
                      "processes": args.processes, "timeouts": timeouts,
                      "floor_s": round(wall + timeouts / args.processes, 1),
                      "slowest_cpu_s": sorted(round(x, 2) for x in cpu)[-5:]}))


if __name__ == "__main__":
    main()
