"""Scale benchmark: `pack build` + `preflight` on a million rows, against the 60 s / 4 GB target.

    python benchmarks/scale_pack.py [--rows 1000000] [--work DIR] [--data-dir ../shared/data]

Writes synthetic execution results (not timed) shaped like real ones: HumanEval and HumanEval+
prompts (package data), MBPP+ and MultiPL-E MBPP prompts when the data dir is there; programs are
the task's prompt plus a body from a few templates with per-candidate constants (so about 1 KB
per program, mostly distinct, some near-duplicates within a task); about 30% pass; skewed output
buckets; mutation decoys beside 5% of the passing rows. Their `program_ast` fingerprints are
derived from (task, template, constants), which is what `execute` would find for such programs;
computing real ones for a million programs would time the generator, not the pack.

Then it runs the real CLI (`codelewm-eval pack build --decoys`, then `codelewm-eval preflight`)
as child processes and reports each one's wall time and peak RSS, and the ratio to the target.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

TARGET_S, TARGET_MB = 60.0, 4096.0
BUCKETS = ["negative", "zero", "small", "medium", "large", None]
LENGTHS = ["empty", "short", "medium", "long", "huge"]
BODIES = [
    "    total = {a}\n    for i in range(len(values)):\n        if values[i] > {b}:\n            total += values[i] * {c}\n"
    "        else:\n            total -= {a}\n    return total\n",
    "    seen = set()\n    out = []\n    for x in values:\n        if x not in seen and x % {b} != {a}:\n"
    "            seen.add(x)\n            out.append(x + {c})\n    return out\n",
    "    if not values:\n        return {a}\n    best = values[0]\n    for v in values[1:]:\n"
    "        best = max(best, v - {b})\n    return best * {c}\n",
    "    result = []\n    i = {a}\n    while i < len(values):\n        result.append(values[i] ** 2 % {b})\n"
    "        i += {c}\n    return sorted(result)\n",
]


def _prompts(data_dir: Path | None) -> dict[str, dict[str, str]]:
    from codelewm_eval.benchmarks import load_benchmark

    names = ["humaneval", "humaneval-plus"]
    if data_dir is not None and data_dir.is_dir():
        names += ["mbpp-plus", "mbpp-multiple"]
    out = {}
    for name in names:
        bench = load_benchmark(name, data_dir)
        out[name] = {tid: p.prompt for tid, p in bench.problems.items()}
    return out


def write_results(path: Path, rows: int, data_dir: Path | None, seed: int = 7) -> dict:
    """Synthetic execution results with a sidecar manifest; returns counts."""
    from codelewm_eval.manifest import write_manifest

    rng = random.Random(seed)
    prompts = _prompts(data_dir)
    weights = {"humaneval": 0.40, "humaneval-plus": 0.20, "mbpp-plus": 0.25, "mbpp-multiple": 0.15}
    names = list(prompts)
    tasks = [(n, t) for n in names for t in prompts[n]]
    task_weight = [weights[n] / len(prompts[n]) for n, _ in tasks]
    task_profile = {key: (rng.uniform(0.05, 0.7), rng.choice(BUCKETS), rng.choice(BUCKETS)) for key in tasks}
    passing_by_task: dict[tuple, list[str]] = {}
    counts = {"rows": 0, "decoys": 0}
    with open(path, "w") as fh:
        drawn = rng.choices(range(len(tasks)), weights=task_weight, k=rows)
        for n, ti in enumerate(drawn):
            bench, task_id = tasks[ti]
            pass_rate, bucket_a, bucket_b = task_profile[(bench, task_id)]
            previous = passing_by_task.get((bench, task_id))
            if previous and rng.random() < 0.05:  # a failing single-point mutant of a passing row
                source = rng.choice(previous)
                candidate_id, passed, fmt = f"decoy~{source}~{n}", False, "decoy"
                counts["decoys"] += 1
            else:
                candidate_id, passed, fmt = f"syn{n:08d}", rng.random() < pass_rate, "pool"
            template = rng.randrange(len(BODIES))
            consts = {"a": rng.randrange(4), "b": rng.randrange(1, 6), "c": rng.randrange(1, 4)}
            if rng.random() < 0.8:  # most candidates are distinct programs; the rest repeat within the task
                consts["a"] = n
            body = BODIES[template].format(**consts)
            fingerprint = hashlib.sha256(f"{bench}|{task_id}|{template}|{sorted(consts.items())}".encode()).hexdigest()
            record = {
                "schema_version": 1, "benchmark": bench, "task_id": task_id, "candidate_id": candidate_id,
                "passed": passed, "status": "passed" if passed else rng.choice(["failed", "failed", "runtime_error"]),
                "error": None, "wall_time_s": 0.01, "peak_memory_mb": 9.0,
                "output_magnitude_bucket": bucket_a if rng.random() < 0.7 else bucket_b,
                "output_length_bucket": rng.choice(LENGTHS), "base_passed": None, "time_budget_s": 1.0,
                "time_budget_basis": "synthetic", "attempts": 1, "isolation": "synthetic",
                "label_provenance": "executed here", "program": prompts[bench][task_id] + body,
                "program_ast": "ast:" + fingerprint,
                "origin": {"model": "synthetic", "run": "scale", "sample_index": n, "source_file": None,
                           "source_line": None, "licence": None, "format": fmt},
                "upstream_passed": None, "upstream_status": None}
            fh.write(json.dumps(record) + "\n")
            counts["rows"] += 1
            if passed and fmt == "pool":
                passing_by_task.setdefault((bench, task_id), []).append(candidate_id)
    write_manifest(path, "execution-results", files=[path], config={"synthetic": True, "rows": rows})
    counts["bytes"] = path.stat().st_size
    return counts


PHASE = re.compile(r"^(?:pack build|preflight) \[\s*([\d.]+)s\] (.*)$", re.MULTILINE)


def _phases(output: str, seconds: float) -> list[tuple[str, float]]:
    """(phase, seconds) from a command's progress lines: each line opens a phase that lasts until
    the next one (the last one until the process ended, start-up included in the first)."""
    marks = [(float(t), what) for t, what in PHASE.findall(output)]
    out = []
    for (at, what), (then, _) in zip(marks, marks[1:] + [(seconds, "")]):
        out.append((what.split(" (")[0], round(then - at, 1)))
    return [(what, s) for what, s in out if what != "done" and not what.startswith("done:")]


def _timed(cmd: list[str]) -> dict:
    """Run a child; its wall time, peak RSS (MB), exit code and where the time went."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = proc.stdout.read()  # read while it runs: a full pipe would stall it
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = round(time.perf_counter() - started, 2)
    return {"command": " ".join(cmd), "exit": proc.returncode, "seconds": seconds,
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1), "phases": _phases(output, seconds),
            "output_tail": output[-2000:]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--work", default="/tmp/codelewm-scale")
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data"))
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    data_dir = Path(args.data_dir) if Path(args.data_dir).is_dir() else None
    results = work / "results.jsonl"
    t0 = time.perf_counter()
    counts = write_results(results, args.rows, data_dir)
    print(f"generated {counts['rows']:,} synthetic results ({counts['bytes'] / 1e9:.2f} GB) in "
          f"{time.perf_counter() - t0:.1f}s", file=sys.stderr)
    cli = [sys.executable, "-m", "codelewm_eval.cli"]
    data = ["--data-dir", str(data_dir)] if data_dir else []
    build = _timed(cli + ["pack", "build", "--results", str(results), "--out", str(work / "pack"), "--decoys",
                          "--json"] + data)
    report = {"rows": counts["rows"], "input_bytes": counts["bytes"], "build": build}
    if build["exit"] == 0:
        report["preflight"] = _timed(cli + ["preflight", "--pack", str(work / "pack"), "--report",
                                            str(work / "preflight.json")])
        report["pack_bytes"] = sum(p.stat().st_size for p in (work / "pack").iterdir())
    total = build["seconds"] + report.get("preflight", {}).get("seconds", 0)
    peak = max(build["peak_rss_mb"], report.get("preflight", {}).get("peak_rss_mb", 0))
    report.update({"total_seconds": round(total, 2), "peak_rss_mb": peak,
                   "target": {"seconds": TARGET_S, "peak_rss_mb": TARGET_MB},
                   "time_vs_target": round(total / TARGET_S, 3), "memory_vs_target": round(peak / TARGET_MB, 3),
                   "cpu_count": os.cpu_count(),
                   "meets_target": build["exit"] == 0 and total <= TARGET_S and peak <= TARGET_MB})
    for step in ("build", "preflight"):
        if step in report and report[step]["exit"] == 0:
            report[step].pop("output_tail")
    print(json.dumps(report, indent=2))
    if "preflight" in report:
        pf = report["preflight"]
        print(f"pack build {build['seconds']:.1f} s + preflight {pf['seconds']:.1f} s = {total:.1f} s against "
              f"{TARGET_S:.0f} s ({total / TARGET_S:.2f}x); peak RSS {peak:.0f} MB against {TARGET_MB:.0f} MB "
              f"({peak / TARGET_MB:.2f}x); {args.rows:,} rows on {os.cpu_count()} cores: "
              f"{'MEETS' if report['meets_target'] else 'MISSES'} the target", file=sys.stderr)
        print("profile: " + "; ".join(f"{step}: " + ", ".join(f"{what} {s:.1f}" for what, s in report[step]["phases"])
                                      for step in ("build", "preflight")), file=sys.stderr)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if report["meets_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
