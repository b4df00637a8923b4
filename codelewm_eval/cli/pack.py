"""CLI verbs for packs and their checks: pack build, preflight, manifest verify."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import InputError
from ..values import fractions_arg, seed_arg
from .common import count, non_negative_int, stage_verb
from .common import data_dir as _data_dir


@stage_verb("codelewm_eval.pack.stage:pack_stage")
def cmd_pack_build(args):
    from ..pack.build import PackConfig
    from ..pack.stage import PackBuildConfig
    from ..pack.stats import DecoyMinimum

    config = PackConfig(fractions=args.fractions, seed=args.seed, evaluation_only=args.evaluation_only or [],
                        reference_decoys=args.decoys, same_problem_pairs_per_task=args.same_problem_pairs)
    for spec in args.decoy_minimum or []:
        match = re.fullmatch(r"([a-z_]+)=(\d+)/(\d+)", spec)
        if not match:
            raise InputError(f"--decoy-minimum must look like CATEGORY=PAIRS/TASKS, got {spec!r}")
        config.coverage.decoy_minimums[match[1]] = DecoyMinimum(pairs=int(match[2]), tasks=int(match[3]))
    return PackBuildConfig(results=[Path(p) for p in args.results], out=Path(args.out), pack=config,
                           data_dir=_data_dir(args.data_dir), workers=args.workers, parquet=not args.no_parquet,
                           progress=not args.no_progress)


@stage_verb("codelewm_eval.preflight.run:preflight_stage")
def cmd_preflight(args):
    from ..preflight.run import PreflightConfig

    return PreflightConfig(pack=args.pack, job=Path(args.job) if args.job else None, report=Path(args.report),
                           workers=args.workers, progress=not args.no_progress)


@stage_verb("codelewm_eval.manifest:verify_stage")
def cmd_manifest_verify(args):
    from ..manifest import VerifyConfig

    return VerifyConfig(target=Path(args.target))


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
