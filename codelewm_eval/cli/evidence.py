"""CLI verbs for evidence: score, evaluate, compare."""

from __future__ import annotations

from pathlib import Path

from ..values import seed_arg
from .common import count, probability, stage_verb
from .common import data_dir as _data_dir


@stage_verb("codelewm_eval.evidence.score_stage:score_stage")
def cmd_score(args):
    from ..evidence.score_stage import ScoreConfig

    return ScoreConfig(pack=Path(args.pack), out=Path(args.out), scorers=[n.strip() for n in args.scorers.split(",")
                                                                           if n.strip()],
                       seed=args.seed, run=args.run, codet_tests=args.codet_tests, data_dir=_data_dir(args.data_dir),
                       workers=args.workers, progress=not args.no_progress)


@stage_verb("codelewm_eval.evidence.evaluate_stage:evaluate_stage")
def cmd_evaluate(args):
    from ..evidence.evaluate_stage import EvaluateConfig

    return EvaluateConfig(pack=Path(args.pack), scores=[Path(p) for p in args.scores],
                          gates=Path(args.gates) if args.gates else None, out=Path(args.out), draws=args.draws,
                          bins=args.bins, plots=not args.no_plots, tie_seed=args.tie_seed,
                          mutant_sets=args.mutant_sets)


@stage_verb("codelewm_eval.evidence.compare_stage:compare_stage")
def cmd_compare(args):
    from ..evidence.compare_stage import CompareConfig

    return CompareConfig(baseline=Path(args.baseline) if args.baseline else None,
                         candidates=[Path(c) for c in args.candidate or []], anchors=args.anchors, draws=args.draws,
                         out_md=args.out_md, out_json=args.out_json, out=args.out, plan=args.plan,
                         passes=args.passes or [], expect=args.expect or [], alpha=args.alpha)


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
    sc.add_argument("--json", action="store_true")
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
    cp.add_argument("--baseline", help="per-task outcomes (execution results or rows with "
                                                      "benchmark, task_id, passed)")
    cp.add_argument("--candidate", action="append", help="repeatable: one per later pass (with --plan: the earlier "
                                                         "passes of the lineage, whose loss rate the plan uses)")
    cp.add_argument("--anchors", help="tasks that must not be lost, one per line (e.g. MBPP/53, HumanEval/85)")
    cp.add_argument("--draws", type=count, default=2000)
    cp.add_argument("--out-md", help="write the Markdown tables here")
    cp.add_argument("--out-json", help="write the JSON here")
    cp.add_argument("--out", help="write an evidence bundle here (compare.json, compare.md, gates.json with the "
                                  "paired and anchor gates, manifest) for claims to rest on")
    cp.add_argument("--plan", action="store_true",
                    help="say, per benchmark, what a comparison on this baseline can detect: the least net new "
                         "passes the exact McNemar test can call significant (with no task lost, and with the loss "
                         "rate of the --candidate passes), and the exact power for --expect")
    cp.add_argument("--passes", action="append", metavar="BENCH=PASSES/TASKS",
                    help="--plan without a baseline file: humaneval=2/164 (repeatable)")
    cp.add_argument("--expect", action="append", metavar="BENCH=+GAIN",
                    help="--plan: a hypothesised net gain, mbpp=+7 (repeatable)")
    cp.add_argument("--alpha", type=probability, default=0.05, help="significance level (default 0.05)")
    cp.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    cp.set_defaults(func=cmd_compare)
