"""`codelewm-eval <verb>`: a thin layer over the library.

Exit codes: 0 success, 1 a check or gate that did not pass, 2 bad input.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import re
import signal
import sys
from pathlib import Path

from .. import __version__
from ..errors import CodelewmError, InputError, Terminated
from ..values import fractions_arg, seed_arg
from .claims import _add_claims
from .common import (
    DEFAULT_DATA_DIR,
    count,
    emit,
    non_negative_int,
    output_locks,
    positive,
    refuse_outputs_among_inputs,
)
from .common import data_dir as _data_dir
from .evidence import _add_compare, _add_evidence
from .jobs import _add_jobs, _add_secrets, _add_train
from .surgery import _add_generate, _add_surgery


def _print_summary(summary: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary, indent=2, sort_keys=True))
        return
    print(f"{summary['benchmark']} ({summary['benchmark_version']}): {summary['passed']}/{summary['candidates']} "
          f"candidates passed over {summary['tasks']} tasks")
    print("  statuses: " + ", ".join(f"{k} {v}" for k, v in summary["status_counts"].items()))
    if summary.get("pass_at_k"):
        print("  " + ", ".join(f"{k} {100 * v:.2f}" for k, v in summary["pass_at_k"].items()))
    agreement = summary.get("upstream_agreement")
    if agreement:
        print(f"  agreement with upstream labels: {agreement['agree']}/{agreement['labelled']} "
              f"({100 * agreement['rate']:.2f}%); passed here only {agreement['passed_here_failed_upstream']}, "
              f"passed upstream only {agreement['failed_here_passed_upstream']}")
    if summary.get("reference_failures"):
        print(f"  canonical solutions that fail their own tests: {', '.join(summary['reference_failures'])}")
    rate = summary.get("candidates_per_second")
    print(f"  {summary['seconds']}s" + (f", {rate} candidates/s" if rate else "") +
          (f", {summary['resumed_records']} resumed" if summary.get("resumed_records") else ""))
    print(f"  isolation: {summary.get('isolation')}")
    print(f"  wrote {summary['out']}")


def cmd_execute(args) -> int:
    from ..execution.stage import ExecuteConfig, execute_stage

    config = ExecuteConfig(
        benchmark=args.benchmark, out=Path(args.out), samples=_samples_argument(args.samples),
        samples_format=args.samples_format, data_dir=_data_dir(args.data_dir), model=args.model,
        mbpp_split=args.mbpp_split, mbpp_plus_version=args.mbpp_plus_version, workers=args.workers,
        memory_mb=args.memory_mb, max_output_bytes=args.max_output_bytes, isolation=args.isolation,
        cache_dir=Path(args.cache_dir) if args.cache_dir else None, limit=args.limit, shard=args.shard,
        push_to=args.push_to, push_path=args.push_path, progress=not args.no_progress)
    result = execute_stage(config, args.command)
    _print_summary(result.summary, args.json)
    if result.pushed:
        print(f"uploaded {config.out.name} to {config.push_to} ({result.pushed})", file=sys.stderr)
    return 0


def cmd_report(args) -> int:
    from ..report.build import ReportConfig, report_stage
    from ..report.data import source_kind

    source = Path(args.source)
    if not source.is_dir():
        raise InputError("no such run or bundle directory", path=str(source))
    if args.out:
        out = Path(args.out)
    elif source_kind(source) == "run":
        out = source / "report"
    else:
        raise InputError("give --out DIR for a bundle's report (a run's goes to RUN/report)", field="--out")
    result = report_stage(ReportConfig(source=source, out=out), args.command)
    print(f"report ({result.kind}, {result.tasks} tasks) -> {result.index}")
    if result.problems:  # the page says so too; a tampered source is no success
        print(f"the source does not verify ({len(result.problems)} problem(s)); the page says so:", file=sys.stderr)
        for problem in result.problems[:10]:
            print(f"  {problem}", file=sys.stderr)
        return 1
    return 0


def _samples_argument(text: str | None) -> str | None:
    """A sample file as the user wrote it (a path, normalized), or a Hub file reference as is."""
    if not text:
        return None
    return text if text.startswith("hf://") else str(Path(text))


def cmd_execute_merge(args) -> int:
    from ..execution.shards import merge

    summary = merge([Path(p) for p in args.shards], Path(args.out), args.command)
    _print_summary(summary, args.json)
    return 0


def cmd_manifest_verify(args) -> int:
    from ..manifest import failures, manifest_path_for, verify

    path = manifest_path_for(args.target)
    if not path.exists():
        raise InputError("no manifest here (expected manifest.json in a directory, or FILE.manifest.json)",
                         path=str(path))
    problems = verify(args.target)
    absent = [p for p in problems if p.kind == "absent"]
    problems = failures(problems)
    if args.json:
        print(json.dumps({"schema_version": 1, "manifest": str(path), "ok": not problems,
                          "absent_parents": [p.model_dump() for p in absent],
                          "problems": [p.model_dump() for p in problems]}, indent=2))
    elif problems:
        print(f"{path}: {len(problems)} problem(s)")
        for p in problems:
            print(f"  {p.kind:10s} {p.path}: {p.detail}  [{p.manifest}]")
    else:
        print(f"{path}: ok" + (f" ({len(absent)} parent(s) not present here)" if absent else ""))
    if not args.json:
        for p in absent:
            print(f"  absent     {p.path}: {p.detail}  [{p.manifest}]")
    return 1 if problems else 0


def cmd_pack_build(args) -> int:
    from ..pack.build import PackBlocked, PackConfig
    from ..pack.stage import PackBuildConfig, pack_stage
    from ..pack.stats import DecoyMinimum

    config = PackConfig(fractions=args.fractions, seed=args.seed, evaluation_only=args.evaluation_only or [],
                        reference_decoys=args.decoys, same_problem_pairs_per_task=args.same_problem_pairs)
    for spec in args.decoy_minimum or []:
        match = re.fullmatch(r"([a-z_]+)=(\d+)/(\d+)", spec)
        if not match:
            raise InputError(f"--decoy-minimum must look like CATEGORY=PAIRS/TASKS, got {spec!r}")
        config.coverage.decoy_minimums[match[1]] = DecoyMinimum(pairs=int(match[2]), tasks=int(match[3]))
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        raise InputError("output directory is not empty", path=str(out))
    try:
        stats = pack_stage(PackBuildConfig(results=[Path(p) for p in args.results], out=out, pack=config,
                                           data_dir=_data_dir(args.data_dir), workers=args.workers,
                                           parquet=not args.no_parquet, progress=not args.no_progress),
                           args.command).stats
    except PackBlocked as blocked:
        if args.json:
            print(json.dumps({"ok": False, "blockers": [b.model_dump() for b in blocked.blockers]}, indent=2))
        else:
            print(f"pack not built: {len(blocked.blockers)} blocker(s)")
            for b in blocked.blockers:
                where = "/".join(x for x in (b.benchmark, b.split) if x)
                print(f"  {b.kind:26s} {where:24s} {b.detail}: observed {b.observed}, required {b.required}")
        return 1
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        print(f"pack: {stats['rows']} rows -> {out}  (excluded: {stats.get('excluded') or 'none'})")
        print(f"  {'split':6s} {'benchmark':16s} {'rows':>6s} {'tasks':>5s} {'pass':>6s}  magnitude buckets")
        for c in stats["cells"]:
            buckets = ", ".join(f"{k} {v}" for k, v in c["magnitude_buckets"].items())
            print(f"  {c['split']:6s} {c['benchmark']:16s} {c['rows']:6d} {c['tasks']:5d} {c['pass_rate']:6.3f}  {buckets}"
                  + ("  [evaluation only]" if c["evaluation_only_rows"] == c["rows"] else ""))
    return 0


def cmd_preflight(args) -> int:
    from ..hub import resolve_pack
    from ..preflight.run import preflight

    report = preflight(resolve_pack(args.pack), Path(args.job) if args.job else None, Path(args.report),
                       workers=args.workers, progress=not args.no_progress)
    if args.json:
        print(json.dumps(report.model_dump(mode="json"), indent=2))
    else:
        print(f"preflight {'OK' if report.ok else 'NOT OK'}: {args.pack}" + (f" with {args.job}" if args.job else ""))
        for c in report.checks:
            extra = f"observed {c.observed}, required {c.required}" if c.required is not None else (
                f"observed {c.observed}" if c.observed is not None else "")
            print(f"  {c.status:7s} {c.name:40s} {extra}" + (f"  {c.reason}" if c.reason else ""))
        print(f"  wrote {args.report}")
    return 0 if report.ok else 1


def cmd_decoys(args) -> int:
    from ..pack.stage import DecoysConfig, decoys_stage

    result = decoys_stage(DecoysConfig(results=Path(args.results), out=Path(args.out), per_source=args.per_source,
                                       data_dir=_data_dir(args.data_dir), workers=args.workers,
                                       progress=not args.no_progress), args.command)
    summary, d = result.summary, result.summary["decoys"]
    emit(args, result, f"{summary['benchmark']}: {d['mutants']} mutants, {d['failing_mutants']} fail (decoys), "
                       f"{d['equivalent_mutants']} equivalent; wrote {args.out}")
    return 0


def cmd_benchmarks(args) -> int:
    from ..benchmarks import registered
    from ..evidence.scorers import scorers

    for name, entry in registered().items():
        print(f"{name:16s} {entry.description}")
    print("\nscorers (`score --scorers NAME,...`; a package adds its own under the `codelewm_eval.scorers` "
          "entry-point group):")
    for scorer in scorers().values():
        flags = ", ".join(x for x, on in (("seeded", scorer.seeded), ("probability", scorer.probability)) if on)
        print(f"  {scorer.name:14s} {scorer.description}" + (f" [{flags}]" if flags else ""))
    return 0


def cmd_bench_execute(args) -> int:
    from ..bench import bench_execute

    report = bench_execute(data_dir=_data_dir(args.data_dir), samples=args.samples, n=args.n, workers=args.workers,
                           he_workers=args.he_workers, timeout=args.timeout, per_task=args.per_task,
                           scaling=args.scaling)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        print(report["text"])
    return 0


def _add_report(sub) -> None:
    rp = sub.add_parser("report", help="one static HTML page of a run, an evidence bundle or a comparison",
                        description="Write a self-contained static page (no server, no network): gates per seed "
                                    "(recomputed), reliability diagrams and ROC curves with their CIs, the rerank "
                                    "and decoy tables, before/after comparisons with the anchor ladder, per-task "
                                    "drill-down of every candidate (loaded in chunks), the claims and the audit's "
                                    "findings, and provenance (files with hashes, manifests and their parents). "
                                    "`run` writes RUN/report as its last stage.")
    rp.add_argument("source", help="a run directory, an evidence bundle or a comparison bundle")
    rp.add_argument("--out", help="the report directory (default for a run: RUN/report); replaced atomically")
    rp.set_defaults(func=cmd_report)


def _add_execute(sub) -> None:
    ex = sub.add_parser("execute", help="execute candidates against a benchmark in the sandbox",
                        description="Execute candidates against a benchmark's tests in the sandbox and write one "
                                    "JSON record per candidate. Resumable: run the same command again after a kill.")
    ex.add_argument("--benchmark", required=True, help="see `codelewm-eval benchmarks`")
    ex.add_argument("--samples", help="sample file (JSONL, .gz ok), or one on the Hub at a pinned revision "
                                      "(hf://datasets/OWNER/NAME@REVISION/PATH); default: the benchmark's canonical "
                                      "solutions")
    ex.add_argument("--samples-format", default="auto",
                    choices=["auto", "human-eval", "evalplus", "codet", "multiple-e", "pool", "lcb-graded"])
    ex.add_argument("--out", required=True, help="results JSONL (written atomically; OUT.summary.json beside it)")
    ex.add_argument("--data-dir", help=f"benchmark mirror laid out like shared/data (default {DEFAULT_DATA_DIR} if present)")
    ex.add_argument("--workers", type=count, default=None, help="sandbox workers (default: cores + 1)")
    ex.add_argument("--model", help="model name recorded in each candidate's origin")
    ex.add_argument("--mbpp-split", default="all", choices=["all", "test"], help="mbpp: all 974 or tasks 11-510")
    ex.add_argument("--mbpp-plus-version", default="v0.2.0", choices=["v0.2.0", "v0.1.0"])
    ex.add_argument("--memory-mb", type=count, default=2048, help="address-space limit per candidate")
    ex.add_argument("--max-output-bytes", type=count, default=1 << 20, help="cap on a candidate's captured output")
    ex.add_argument("--isolation", default="auto", choices=["auto", "bwrap", "rlimits", "rlimits-as-root"],
                    help="auto: bubblewrap namespaces when usable, else the documented rlimits fallback")
    ex.add_argument("--cache-dir", help="reference-output cache (default ~/.cache/codelewm-eval)")
    ex.add_argument("--limit", type=count, help="only the first N candidates")
    ex.add_argument("--shard", metavar="I/N", help="only the tasks of shard I of N (by a hash of the task id); "
                                                  "join the N result files with `execute-merge`")
    ex.add_argument("--push-to", metavar="REPO", help="then upload the results, their summary and manifest into this "
                                                      "model repo (secret-scanned first; HF_TOKEN)")
    ex.add_argument("--push-path", default="", metavar="DIR", help="the repo folder they go into (default: its root)")
    ex.add_argument("--no-progress", action="store_true")
    ex.add_argument("--json", action="store_true", help="print the summary as JSON")
    ex.set_defaults(func=cmd_execute)
    em = sub.add_parser("execute-merge", help="join the result files of `execute --shard I/N` into one",
                        description="Verify each shard's manifest, check that all N shards are there once, run with "
                                    "the same settings and share no candidate, then write the merged results (in "
                                    "sample-file order), a recomputed summary and a manifest whose parents are the "
                                    "shards. Exit 2 on any mismatch, naming the shard.")
    em.add_argument("shards", nargs="+", help="the shard result files")
    em.add_argument("--out", required=True)
    em.add_argument("--json", action="store_true")
    em.set_defaults(func=cmd_execute_merge)


def _add_manifest(sub) -> None:
    mf = sub.add_parser("manifest", help="artifact manifests")
    mf_sub = mf.add_subparsers(dest="manifest_verb", required=True)
    mv = mf_sub.add_parser("verify", help="check an artifact against its manifest, parents included",
                           description="Verify DIR/manifest.json (or FILE.manifest.json): exit 1 naming every "
                                       "missing, changed or unexpected file and every parent that does not verify.")
    mv.add_argument("target", help="an artifact directory, a file artifact, or a manifest path")
    mv.add_argument("--json", action="store_true")
    mv.set_defaults(func=cmd_manifest_verify)


def _add_pack(sub) -> None:
    pk = sub.add_parser("pack", help="cross-benchmark pass/fail packs")
    pk_sub = pk.add_subparsers(dest="pack_verb", required=True)
    pb = pk_sub.add_parser("build", help="build a pack from execution results",
                           description="Build a pack from execution results whose manifests verify: rows with "
                                       "labels, licences and provenance (rows.jsonl), each task's prompt and problem "
                                       "family once (tasks.jsonl; rows join on benchmark, task_id), and both as "
                                       "Parquet; splits grouped by problem family and near-duplicate program, "
                                       "stratified by benchmark, class and output magnitude; evaluation-only rows "
                                       "(licence forbids ML training) never in train. Exit 1 with typed blockers when "
                                       "val/test cannot carry the gates; nothing is written then.")
    pb.add_argument("--results", nargs="+", required=True, help="execution results files (with their manifests)")
    pb.add_argument("--out", required=True, help="pack directory (new or empty)")
    pb.add_argument("--seed", type=seed_arg, default=42, help="0..2**32-1 (default 42)")
    pb.add_argument("--fractions", type=fractions_arg, default="0.7,0.15,0.15",
                    help="train,val,test: finite positive numbers summing to 1")
    pb.add_argument("--evaluation-only", nargs="*", metavar="BENCHMARK",
                    help="benchmarks that must stay out of train (MultiPL-E-licensed rows always do)")
    pb.add_argument("--decoys", action="store_true",
                    help="also pair the reference decoy categories among the rows: same problem, different "
                         "submission; same code, different input (mutation decoys come from `decoys` results)")
    pb.add_argument("--decoy-minimum", action="append", metavar="CATEGORY=PAIRS/TASKS",
                    help="stop with a blocker unless val and test each hold this many decoy pairs over this many "
                         "tasks (e.g. mutation=100/30; repeatable)")
    pb.add_argument("--same-problem-pairs", type=non_negative_int, default=3, metavar="N",
                    help="with --decoys: at most N same-problem pairs per task (default 3)")
    pb.add_argument("--data-dir", help="benchmark mirror, for prompts")
    pb.add_argument("--workers", type=count, help="processes reading big inputs (default: cores, at most 8)")
    pb.add_argument("--no-parquet", action="store_true", help="skip rows.parquet and tasks.parquet")
    pb.add_argument("--no-progress", action="store_true", help="no phase lines on stderr")
    pb.add_argument("--json", action="store_true")
    pb.set_defaults(func=cmd_pack_build)


def _add_preflight(sub) -> None:
    pf = sub.add_parser("preflight", help="can this pack (and job) carry the gates? before any GPU is spent",
                        description="Check a pack (and optionally a job spec): manifest integrity with parents, no "
                                    "task or near-duplicate program in two splits, per split and benchmark coverage, "
                                    "decoy pairs per category, class balance, licences, secrets, seeds/timeout/"
                                    "secret names. Exit 0 only when every check passes; 1 otherwise; 2 bad input.")
    pf.add_argument("--pack", required=True, help="a pack directory, or hf://datasets/OWNER/NAME@REVISION (downloaded "
                                                 "into the cache first)")
    pf.add_argument("--job", help="job spec YAML")
    pf.add_argument("--report", default="preflight.json", help="where to write the JSON report")
    pf.add_argument("--json", action="store_true")
    pf.add_argument("--workers", type=count, help="processes reading a big pack (default: cores, at most 8)")
    pf.add_argument("--no-progress", action="store_true", help="no phase lines on stderr")
    pf.set_defaults(func=cmd_preflight)


def _add_decoys(sub) -> None:
    dc = sub.add_parser("decoys", help="execute single-point mutants of passing rows (semantic decoys)",
                        description="Make up to --per-source single-point AST mutants of every passing row of a "
                                    "results file (comparison flips, operator swaps, constants +1, not dropped/added, "
                                    "range and slice bounds, swapped arguments, changed return value), execute them "
                                    "in the sandbox and write their results with a manifest whose parent is the "
                                    "source. `pack build` keeps the failing ones as decoys beside their source row.")
    dc.add_argument("--results", required=True, help="execution results with passing rows (e.g. canonical solutions)")
    dc.add_argument("--out", required=True)
    dc.add_argument("--per-source", type=count, default=3)
    dc.add_argument("--data-dir")
    dc.add_argument("--workers", type=count)
    dc.add_argument("--no-progress", action="store_true")
    dc.add_argument("--json", action="store_true")
    dc.set_defaults(func=cmd_decoys)


def _add_benchmarks(sub) -> None:
    bl = sub.add_parser("benchmarks", help="list the benchmarks this version can load")
    bl.set_defaults(func=cmd_benchmarks)


def _add_bench(sub) -> None:
    bench = sub.add_parser("bench", help="speed benchmarks against named references")
    bench_sub = bench.add_subparsers(dest="bench_verb", required=True)
    be = bench_sub.add_parser("execute", help="this executor vs human_eval.execution.check_correctness, same candidates",
                              description="Run the same HumanEval candidates through this executor and through "
                                          "human-eval's check_correctness (4 threads) in one run; print both "
                                          "throughputs, their ratio and label agreement.")
    be.add_argument("--data-dir")
    be.add_argument("--samples", help="multiple-e/human-eval sample file (default: the code-davinci-002 file in --data-dir)")
    be.add_argument("-n", type=count, default=2000, help="candidates to run (spread over all tasks)")
    be.add_argument("--per-task", type=count, help="instead of -n: this many candidates from every task (20: the "
                                                   "issue's 20-per-task sample of the code-davinci-002 file)")
    be.add_argument("--scaling", action="store_true", help="also time this executor alone at 1, 2 and all workers")
    be.add_argument("--workers", type=count, default=None)
    be.add_argument("--he-workers", type=count, default=4, help="human-eval threads (its default is 4)")
    be.add_argument("--timeout", type=positive, default=3.0, help="human-eval per-candidate timeout (its default)")
    be.add_argument("--json", action="store_true")
    be.set_defaults(func=cmd_bench_execute)


def cmd_run(args) -> int:
    from ..pipeline import (
        RunBlocked,
        Runner,
        default_config,
        format_summary,
        load_config,
    )

    data = _data_dir(args.data_dir) if args.data_dir else None
    config = load_config(Path(args.config)) if args.config else default_config(with_data=data is not None)
    out = Path(args.out or f"runs/{config.name}")
    try:
        summary = Runner(config, out, data, progress=not args.no_progress).run()
    except RunBlocked as blocked:
        print(f"run stopped: {blocked}", file=sys.stderr)
        return 1
    emit(args, summary, lambda: format_summary(summary))
    return 0 if summary["audit_ok"] else 1


def _add_run(sub) -> None:
    rn = sub.add_parser("run", help="the whole flow on one config: execute, pack, preflight, 2 seeds, evidence, "
                                    "cards, audit",
                        description="Run execute (each source, and mutation decoys of canonical solutions) -> pack "
                                    "build -> preflight -> train (every seed, through the local job launcher) -> "
                                    "evaluate -> claims render -> claims audit, under OUT. Resumable: a finished "
                                    "stage whose outputs verify is not redone. Without --config: with --data-dir, "
                                    "HumanEval and MBPP+ canonical solutions with decoys and the MapCoder pools; "
                                    "without it, HumanEval from the installed human-eval package, offline. Ends with "
                                    "a summary table; exit 0 when the audit passes, 1 when a stage stops or the "
                                    "audit finds a violation.")
    rn.add_argument("--config", help="a run config YAML (see docs/formats.md#run-config)")
    rn.add_argument("--data-dir", help="benchmark mirror laid out like shared/data: use the real pools")
    rn.add_argument("--out", help="output directory (default: runs/<config name>)")
    rn.add_argument("--no-progress", action="store_true")
    rn.add_argument("--json", action="store_true", help="print the summary as JSON")
    rn.set_defaults(func=cmd_run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="codelewm-eval", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"codelewm-eval {__version__}")
    sub = parser.add_subparsers(dest="verb", required=True)
    _add_execute(sub)
    _add_manifest(sub)
    _add_pack(sub)
    _add_preflight(sub)
    _add_decoys(sub)
    _add_evidence(sub)
    _add_compare(sub)
    _add_train(sub)
    _add_jobs(sub)
    _add_secrets(sub)
    _add_claims(sub)
    _add_run(sub)
    _add_surgery(sub)
    _add_generate(sub)
    _add_report(sub)
    _add_benchmarks(sub)
    _add_bench(sub)
    return parser


# verbs that keep finished work when stopped and pick it up when run again
RESUMABLE = {"cmd_execute", "cmd_run", "cmd_generate", "cmd_train", "cmd_jobs_launch"}


def _after_stop(args) -> str:
    if getattr(getattr(args, "func", None), "__name__", "") in RESUMABLE:
        return "run the same command again to resume"
    return "nothing was half-written; run the command again to start over"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # the one place the command line is recorded (manifests, run records): what this call was given
    args.command = ["codelewm-eval", *(sys.argv[1:] if argv is None else argv)]
    from ..log import configure

    configure()
    previous = _terminate_as_exception()
    try:
        refuse_outputs_among_inputs(args)
        with output_locks(args):
            return args.func(args)
    except Terminated:
        print(f"codelewm-eval: terminated (SIGTERM); {_after_stop(args)}", file=sys.stderr)
        return 143
    except CodelewmError as exc:  # the one table: errors.py (input 2, environment 2, a check that did not pass 1)
        print(f"codelewm-eval: {exc.label}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"codelewm-eval: interrupted; {_after_stop(args)}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except UnicodeDecodeError as exc:  # a reader that does not name its file: say what can be said
        print(f"codelewm-eval: error: an input is not text in a known encoding ({exc.reason} at byte {exc.start}); "
              "the readers of --samples, --results, --anchors and --allowlist name the file", file=sys.stderr)
        return 2
    except OSError as exc:  # a location that cannot be read or written: read-only, full, missing, a directory
        if exc.errno == errno.ENOSPC:  # not bad input: the disk holding the output is full
            out = exc.filename or getattr(args, "out", None) or "the output"
            print(f"codelewm-eval: error: no space left on the device holding {out}; nothing half-written was kept "
                  "(free space and run the command again)", file=sys.stderr)
            return 1
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"codelewm-eval: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _terminate_as_exception():
    """SIGTERM unwinds like Ctrl-C (temporary files removed, a `failed` event written); returns
    the handler it replaced, or None off the main thread (where handlers cannot be set)."""
    def raise_terminated(signum, frame):
        raise Terminated()

    try:
        return signal.signal(signal.SIGTERM, raise_terminated)
    except ValueError:
        return None


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
