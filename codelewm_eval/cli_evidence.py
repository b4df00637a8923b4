"""CLI verbs for evidence: score, evaluate, compare."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .cli_common import data_dir as _data_dir, count
from .errors import InputError


CODET_TESTS = "samples/humaneval/codet_HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_test_case.jsonl.gz"


def cmd_score(args) -> int:
    import numpy as np

    from .evidence.scorers import score_rows, scorers
    from .evidence.scores import ScoreRow, write_scores
    from .manifest import require_verified, write_manifest
    from .pack.read import read_rows

    pack = Path(args.pack)
    require_verified(pack, "the pack", kind="pack")
    names = [n.strip() for n in args.scorers.split(",") if n.strip()]
    known = scorers()
    if set(names) - set(known):
        raise InputError(f"unknown scorer(s) {sorted(set(names) - set(known))}; registered: {', '.join(known)}")
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
    import time

    started = {"t": time.monotonic(), "last": 0.0}

    def progress(name, done, total):
        now = time.monotonic()
        if done is None:
            print(f"score [{now - started['t']:6.1f}s] {name} ...", file=sys.stderr, flush=True)
        elif done == total or now - started["last"] >= 10:
            started["last"] = now
            print(f"score [{now - started['t']:6.1f}s] {name}: {done}/{total} candidates run", file=sys.stderr,
                  flush=True)

    try:
        scores, report = score_rows(rows, names, seed=args.seed, codet_tests=codet_tests, workers=args.workers,
                                    progress=None if args.no_progress else progress)
    except ValueError as exc:
        raise InputError(str(exc), path=str(pack)) from None
    out = Path(args.out)
    write_scores(out, [ScoreRow(benchmark=r.benchmark, task_id=r.task_id, candidate_id=r.candidate_id, split=r.split,
                                scores={n: (float(scores[n][i]) if np.isfinite(scores[n][i]) else None)
                                        for n in names}) for i, r in enumerate(rows)])
    write_manifest(out, "scores", files=[out], parents=[pack], command=["codelewm-eval", *sys.argv[1:]],
                   config={"scorers": names, "seed": args.seed, "run": args.run or f"builtin-seed-{args.seed}",
                           "fit": report})
    from .evidence.scorers import score_summary

    print(f"scored {len(rows)} rows with {', '.join(names)} -> {out}" +
          (f"  (p_pass: C={report['p_pass']['C']}, val log loss {report['p_pass']['val_log_loss']})"
           if "p_pass" in report else ""))
    for line in score_summary(rows, scores):
        auc = "AUC not evaluable" if line["auc"] is None else f"AUC {line['auc']:.3f}"
        print(f"  {line['split']:4s} {line['scorer']:9s} {line['scored']:>7d}/{line['rows']} rows scored, {auc}")
    return 0


def cmd_evaluate(args) -> int:
    from .evidence.evaluate import evaluate
    from .evidence.gates import load_gate_spec

    spec = load_gate_spec(Path(args.gates)) if args.gates else None
    result = evaluate(Path(args.pack), [Path(p) for p in args.scores], spec, Path(args.out), draws=args.draws,
                      n_bins=args.bins, command=["codelewm-eval", *sys.argv[1:]], plots=not args.no_plots,
                      tie_seed=args.tie_seed, mutant_sets=args.mutant_sets)
    if args.json:
        print(json.dumps({k: result[k] for k in ("gates", "ok", "health", "identical_seeds")}, indent=2))
    else:
        print(f"evidence -> {args.out}")
        print(evaluation_summary(result))
    return 0 if result["ok"] else 1


def _f(x, spec=".3f") -> str:
    return "-" if x is None else format(x, spec)


def _ci(ci, spec="+.3f") -> str:
    return "-" if not ci else f"[{_f(ci[0], spec)}, {_f(ci[1], spec)}]"


def evaluation_summary(result: dict) -> str:
    """Every scorer's pooled AUC per split, every rerank slice per split (lift over random, and
    over no_action where the source has an order), identical seeds, and every gate."""
    out = []
    for seed, twin in result.get("identical_seeds", {}).items():
        out.append(f"  seed {seed}: scores identical to seed {twin}; counted once (gates that require it: blocked)")
    for r in result["metrics"]:
        if r["benchmark"] == "all":
            auc = r["metrics"].get("auc")
            value = f"AUC {_f(auc['value'])} {_ci(auc.get('bootstrap_ci'), '.3f')}" if auc else \
                f"AUC not evaluable ({r['not_evaluable'].get('auc', '')})"
            ece = r["metrics"].get("ece")
            health = f"  score health: {r['score_health']}" if r.get("score_health") else ""
            out.append(f"  {r['split']:4s} seed {r['seed']} {r['scorer']:9s} all benchmarks  {r['rows']:>6d} rows  "
                       f"{value}" + (f"  ECE {_f(ece['value'])}" if ece else "") + health)
    for r in result["reranks"]:
        over = (f"vs no_action {_f(r['no_action'])}: lift {_f(r['lift'], '+.3f')} {_ci(r['lift_ci'])} McNemar p "
                f"{_f(r['mcnemar_p'], '.3g')}" if r["ordered"] else "no sample order (no_action not evaluable)")
        out.append(f"  {r['split']:4s} seed {r['seed']} {r['scorer']:9s} rerank {r['benchmark']}: pass@1 "
                   f"{_f(r['pass_at_1'])} vs random {_f(r['random_expected'])}: lift {_f(r['lift_random'], '+.3f')} "
                   f"{_ci(r['lift_random_ci'])}; {over}; ties {r['tied_tasks']}/{r['tasks']} (seed {r['tie_seed']})"
                   + (f"  SATURATED ({r['saturated']})" if r["saturated"] else ""))
    by_cell: dict = {}
    for d in result["decoys"]:
        by_cell.setdefault((d["split"], d["seed"], d["category"]), []).append(d)
    for (split, seed, category), found in by_cell.items():
        parts = [f"{d['scorer']} {_f(d['accuracy'])} {_ci(d['accuracy_ci'], '.3f')}" for d in found]
        out.append(f"  {split:4s} seed {seed} decoys {category} ({max(d['pairs'] for d in found)} pairs), accuracy: "
                   + ", ".join(parts))
    for g in result["gates"]:
        why = "; ".join(f"{x['type']}: {x['subject']} (observed {x['observed']}, required {x['required']})"
                        for x in g["reasons"][:3])
        out.append(f"  gate {g['status']:7s} {g['name']}" + (f"  {why}" if why else ""))
    return "\n".join(out)


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
    if args.out:
        _write_compare_bundle(Path(args.out), payload, comparisons, text, paths)
    print(json.dumps(payload, indent=2) if args.json else text, end="" if not args.json else "\n")
    return 1 if any(c.anchor_gate == "fail" for c in comparisons) else 0


def _write_compare_bundle(out: Path, payload: dict, comparisons, text: str, inputs: list[Path]) -> None:
    """An evidence bundle of a comparison: compare.json, compare.md, and gates.json with, per
    candidate, a paired gate per benchmark (a gain with McNemar p < 0.05) and the anchor gate;
    its manifest's parents are the inputs that have manifests."""
    from .io import atomic_writer, write_json_atomic
    from .manifest import manifest_path_for, write_manifest

    from .evidence.compare import comparison_gates

    gates = comparison_gates(comparisons)
    staging = out.with_name("." + out.name + ".partial")
    if staging.exists():
        import shutil

        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    write_json_atomic(staging / "compare.json", payload)
    write_json_atomic(staging / "gates.json", {"schema_version": 1, "gates": gates})
    with atomic_writer(staging / "compare.md") as fh:
        fh.write(text)
    parents = [p for p in inputs if manifest_path_for(p).exists()]
    write_manifest(staging, "comparison", parents=parents, command=["codelewm-eval", *sys.argv[1:]],
                   config={"baseline": str(inputs[0]), "candidates": [str(p) for p in inputs[1:]]})
    if out.exists():
        import shutil

        shutil.rmtree(out)
    staging.rename(out)


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
    sc.add_argument("--workers", type=count, help="codet scorer: sandbox workers")
    sc.add_argument("--no-progress", action="store_true", help="no progress lines on stderr")
    sc.set_defaults(func=cmd_score)
    ev = sub.add_parser("evaluate", help="metrics with CIs, rerank and decoy gates: an evidence bundle",
                        description="Held-out ROC-AUC (DeLong and task-bootstrap CIs), PR-AUC, Brier, ECE/MCE with "
                                    "CIs, reliability and ROC plots, rerank lift over the exact random "
                                    "expectation and (where the samples have an order) over no_action, with paired "
                                    "bootstrap CIs and exact McNemar, decoy accuracy per category, and the gates of "
                                    "a YAML spec (pass / fail / blocked with typed reasons). Exit 0 when every gate "
                                    "passes, 1 otherwise, 2 for unusable input.")
    ev.add_argument("--pack", required=True)
    ev.add_argument("--scores", nargs="+", required=True, help="score files (one per seed)")
    ev.add_argument("--gates", help="gate spec YAML")
    ev.add_argument("--out", required=True, help="evidence directory (new or empty)")
    ev.add_argument("--draws", type=count, default=2000, help="bootstrap draws (tasks resampled)")
    ev.add_argument("--bins", type=count, default=10, help="calibration bins")
    ev.add_argument("--no-plots", action="store_true")
    ev.add_argument("--tie-seed", type=int, default=0, help="seed of the random draw that breaks rerank ties at the "
                                                              "top (recorded in rerank.json)")
    ev.add_argument("--mutant-sets", action="store_true",
                    help="also rerank each canonical solution against its executed mutants (slice "
                         "'<benchmark>:canonical+mutants', no sample order): a rerank gate without model samples")
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
    cp.add_argument("--draws", type=count, default=2000)
    cp.add_argument("--out-md", help="write the Markdown tables here")
    cp.add_argument("--out-json", help="write the JSON here")
    cp.add_argument("--out", help="write an evidence bundle here (compare.json, compare.md, gates.json with the "
                                  "paired and anchor gates, manifest) for claims to rest on")
    cp.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    cp.set_defaults(func=cmd_compare)
