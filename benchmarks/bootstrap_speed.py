"""Bootstrap speed: 10,000 task-resampling draws of ROC-AUC, ECE and rerank lift on 100,000
candidates over 5,000 tasks, vectorized, against a plain loop that resamples tasks and calls
scikit-learn per draw (run on a subset of draws and compared per draw; the loop's time for all
draws is that per-draw time times the draw count, which is stated, not hidden).

    python benchmarks/bootstrap_speed.py [--draws 10000] [--reference-draws 200]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from codelewm_eval.evidence import metrics as M


def fixture(n: int, tasks: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    task = rng.integers(0, tasks, n)
    y = rng.random(n) < 0.3
    p = np.clip(rng.normal(0.3 + 0.3 * y, 0.2), 0, 1)
    # rerank: per task, the top-p candidate vs the first candidate
    order = np.lexsort((-p, task))
    first_of_task = np.r_[True, task[order][1:] != task[order][:-1]]
    top = np.zeros(tasks)
    top[task[order][first_of_task]] = y[order][first_of_task]
    first = np.zeros(tasks)
    seen = np.zeros(tasks, dtype=bool)
    for i in range(n):  # the first candidate of each task, in input order
        if not seen[task[i]]:
            seen[task[i]], first[task[i]] = True, y[i]
    return task, y, p, top - first


def vectorized(task, y, p, delta, draws: int, seed: int = 1) -> dict:
    started = time.perf_counter()
    boot = M.TaskBootstrap(task, draws=draws, seed=seed)
    auc = M.bootstrap_auc(boot, y, p)
    t_auc = time.perf_counter()
    bins = M.calibration_bins(p, 10, "width")
    ece, _ = M.bootstrap_calibration(boot, y, p, bins)
    t_ece = time.perf_counter()
    lift_boot = M.TaskBootstrap(np.arange(len(delta)), draws=draws, seed=seed)
    lift = M.bootstrap_ratio(lift_boot, delta, np.ones(len(delta)))
    done = time.perf_counter()
    return {"seconds": done - started, "auc_ci": M.interval(auc)[:2], "ece_ci": M.interval(ece)[:2],
            "lift_ci": M.interval(lift)[:2],
            "profile": f"AUC {t_auc - started:.2f} s (units x draws: sparse products and a cumulative sum, "
                       f"float32), ECE {t_ece - t_auc:.2f} s (per-task bin counts), lift {done - t_ece:.2f} s"}


def plain_loop(task, y, p, delta, draws: int, seed: int = 1) -> dict:
    from sklearn.metrics import roc_auc_score

    started = time.perf_counter()
    members = np.split(np.argsort(task, kind="stable"), np.flatnonzero(np.diff(np.sort(task))) + 1)
    rng = np.random.default_rng(seed)
    edges = np.linspace(0, 1, 11)
    aucs, eces, lifts = [], [], []
    for _ in range(draws):
        picked = rng.integers(0, len(members), len(members))
        rows = np.concatenate([members[t] for t in picked])
        aucs.append(roc_auc_score(y[rows], p[rows]))
        index = np.clip(np.searchsorted(edges, p[rows], side="right") - 1, 0, 9)
        gap = np.bincount(index, weights=y[rows] - p[rows], minlength=10)
        eces.append(np.abs(gap).sum() / len(rows))
        lifts.append(delta[rng.integers(0, len(delta), len(delta))].mean())
    return {"seconds": time.perf_counter() - started}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", type=int, default=100_000)
    parser.add_argument("--tasks", type=int, default=5_000)
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--reference-draws", type=int, default=200)
    args = parser.parse_args(argv)
    task, y, p, delta = fixture(args.candidates, args.tasks)
    fast = vectorized(task, y, p, delta, args.draws)
    ref = plain_loop(task, y, p, delta, args.reference_draws)
    per_draw_fast = fast["seconds"] / args.draws
    per_draw_ref = ref["seconds"] / args.reference_draws
    report = {"candidates": args.candidates, "tasks": args.tasks, "draws": args.draws,
              "vectorized_seconds": round(fast["seconds"], 2), "target_seconds": 10.0,
              "meets_target": fast["seconds"] <= 10.0,
              "reference": "a loop resampling tasks and calling sklearn.metrics.roc_auc_score per draw (+ ECE "
                           "histogram and lift mean)",
              "reference_draws_run": args.reference_draws, "reference_seconds": round(ref["seconds"], 2),
              "reference_seconds_per_draw": round(per_draw_ref, 5),
              "reference_seconds_for_all_draws": round(per_draw_ref * args.draws, 1),
              "speedup_per_draw": round(per_draw_ref / per_draw_fast, 1),
              "cis": {k: [round(x, 4) for x in v] for k, v in fast.items() if k.endswith("_ci")},
              "profile": fast["profile"]}
    print(json.dumps(report, indent=2))
    print(f"{args.draws:,} draws on {args.candidates:,} candidates over {args.tasks:,} tasks: {fast['seconds']:.2f} s "
          f"against 10 s ({fast['seconds'] / 10:.2f}x): {'MEETS' if report['meets_target'] else 'MISSES'} the target; "
          f"{report['speedup_per_draw']}x the per-draw scikit-learn loop", file=sys.stderr)
    print(f"profile: {fast['profile']}", file=sys.stderr)
    return 0 if report["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
