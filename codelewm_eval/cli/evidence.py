"""CLI verbs for evidence: score, evaluate, compare."""

from __future__ import annotations

from pathlib import Path

from .common import count, emit
from .common import data_dir as _data_dir
from ..values import seed_arg


def cmd_score(args) -> int:
    from ..evidence.score_stage import ScoreConfig, score_stage

    names = [n.strip() for n in args.scorers.split(",") if n.strip()]
    result = score_stage(ScoreConfig(pack=Path(args.pack), out=Path(args.out), scorers=names, seed=args.seed,
                                     run=args.run, codet_tests=args.codet_tests, data_dir=_data_dir(args.data_dir),
                                     workers=args.workers, progress=not args.no_progress),
                         command=args.command)
    p_pass = result.fit.get("p_pass")
    print(f"scored {result.rows} rows with {', '.join(names)} -> {result.out}" +
          (f"  (p_pass: C={p_pass['C']}, val log loss {p_pass['val_log_loss']})" if p_pass else ""))
    for line in result.summary:
        auc = "AUC not evaluable" if line.auc is None else f"AUC {line.auc:.3f}"
        print(f"  {line.split:4s} {line.scorer:9s} {line.scored:>7d}/{line.rows} rows scored, {auc}")
    return 0


def cmd_evaluate(args) -> int:
    from ..evidence.evaluate_stage import EvaluateConfig, evaluate_stage

    result = evaluate_stage(EvaluateConfig(pack=Path(args.pack), scores=[Path(p) for p in args.scores],
                                           gates=Path(args.gates) if args.gates else None, out=Path(args.out),
                                           draws=args.draws, bins=args.bins, plots=not args.no_plots,
                                           tie_seed=args.tie_seed, mutant_sets=args.mutant_sets), args.command)
    emit(args, result, lambda: f"evidence -> {args.out}\n" + evaluation_summary(result.model_dump()))
    return 0 if result.ok else 1


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
    from ..evidence.compare_stage import CompareConfig, compare_stage

    result = compare_stage(CompareConfig(baseline=Path(args.baseline), candidates=[Path(c) for c in args.candidate],
                                         anchors=args.anchors, draws=args.draws, out_md=args.out_md,
                                         out_json=args.out_json, out=args.out),
                           command=args.command)
    emit(args, result.payload(), result.markdown)
    return 1 if result.anchor_failed else 0


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
    sc.add_argument("--seed", type=seed_arg, default=42)
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
