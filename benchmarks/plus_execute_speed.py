"""This executor alone on a HumanEval+/MBPP+ sample: seconds, statuses, where the workers' time
went per status, and the orchestrator's CPU; labels saved to compare two versions candidate by
candidate (run the older checkout with PYTHONPATH pointing at it, one run after the other).

    python benchmarks/plus_execute_speed.py --per-task 20 --labels-out new.json [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from codelewm_eval.bench_evalplus import sample
from codelewm_eval.candidates.readers import canonical_candidates
from codelewm_eval.execution.runner import execute


def _machine_cpu() -> float:
    """CPU seconds this machine spent busy (user, nice, system, irq, softirq, steal), every process."""
    with open("/proc/stat") as fh:
        ticks = [int(x) for x in fh.readline().split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--benchmark", default="humaneval-plus", choices=["humaneval-plus", "mbpp-plus"])
    ap.add_argument("--per-task", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--data-dir", default="../shared/data")
    ap.add_argument("--labels-out")
    args = ap.parse_args()
    bench, _, cands = sample(args.benchmark, Path(args.data_dir), args.per_task, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        # reference runs off the clock
        execute(bench, list(canonical_candidates(bench)), Path(tmp) / "warm.jsonl", progress=False, workers=args.workers)
        t0, c0, busy0 = time.perf_counter(), time.process_time(), _machine_cpu()
        execute(bench, cands, Path(tmp) / "r.jsonl", progress=False, workers=args.workers)
        seconds, cpu, busy = time.perf_counter() - t0, time.process_time() - c0, _machine_cpu() - busy0
        records = [json.loads(line) for line in (Path(tmp) / "r.jsonl").read_text().splitlines()]
    by_status: dict[str, list] = {}
    for r in records:
        row = by_status.setdefault(r["status"], [0, 0.0, 0])
        row[0] += 1
        row[1] += r["wall_time_s"] or 0
        row[2] += r.get("inputs_run") or 0
    print(json.dumps({"candidates": len(cands), "seconds": round(seconds, 1), "per_second": round(len(cands) / seconds, 2),
                      "orchestrator_cpu_s": round(cpu, 1), "machine_cpu_s": round(busy, 1),
                      "cores_busy": round(busy / seconds, 2), "statuses": dict(Counter(r["status"] for r in records)),
                      "worker_wall_s_by_status": {k: round(v[1], 1) for k, v in by_status.items()},
                      "inputs_run_by_status": {k: v[2] for k, v in by_status.items()}}))
    if args.labels_out:
        Path(args.labels_out).write_text(json.dumps({r["candidate_id"]: r["passed"] for r in records}))


if __name__ == "__main__":
    main()
