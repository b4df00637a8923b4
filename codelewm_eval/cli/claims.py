"""CLI verbs for claims: audit and render."""

from __future__ import annotations

from pathlib import Path

from .common import stage_verb


@stage_verb("codelewm_eval.claims.stage:audit_stage")
def cmd_claims_audit(args):
    from ..claims.stage import AuditConfig

    if args.format == "json":  # the same JSON as --json
        args.json = True
    return AuditConfig(root=Path(args.root), ledger=Path(args.ledger) if args.ledger else None,
                       paths=[Path(p) for p in args.paths or []], format=args.format)


@stage_verb("codelewm_eval.claims.stage:render_stage")
def cmd_claims_render(args):
    from ..claims.stage import RenderConfig

    return RenderConfig(root=Path(args.root), ledger=Path(args.ledger) if args.ledger else None)


def _add_claims(sub) -> None:
    cl = sub.add_parser("claims", help="the claim ledger: audit prose against evidence, render cards")
    cl_sub = cl.add_subparsers(dest="claims_verb", required=True)
    au = cl_sub.add_parser("audit", help="classify ledger claims and flag every statement that exceeds the evidence",
                           description="Verify every evidence bundle of the ledger (parents included; a parent "
                                       "not present here is reported by hash), classify each claim ALLOWED, BLOCKED "
                                       "(gate failed / blocked, seed missing, evidence missing / changed) or NOT "
                                       "RECORDED, and read the prose (the ledger's `prose` globs: README, cards, "
                                       "docs/benchmark; plus --paths) for result numbers that match no evidence "
                                       "value, claim words outside an ALLOWED claim, claims scoped wider than their "
                                       "gates, and multiples of small counts without a significant paired test. "
                                       "Exit 1 on any violation, naming file and line.")
    au.add_argument("--root", default=".", help="the project root (default: here)")
    au.add_argument("--ledger", help="default: ROOT/cards/claims.yaml")
    au.add_argument("--paths", nargs="+", help="more prose files to read (reports)")
    au.add_argument("--format", choices=["text", "json", "markdown", "github"], default="text",
                    help="github: workflow annotations, and the Markdown report in $GITHUB_STEP_SUMMARY")
    au.add_argument("--json", action="store_true", help="the report as JSON (the same as --format json)")
    au.set_defaults(func=cmd_claims_audit)
    re_ = cl_sub.add_parser("render", help="render model cards, dataset cards and results documents",
                            description="From the ledger's `cards` and verified evidence, render through jinja2 "
                                        "(ROOT/cards/templates, else the package's): a model card per seed and a "
                                        "dataset card into cards/rendered/, results documents into docs/benchmark/. "
                                        "Deterministic; the output passes the audit by construction.")
    re_.add_argument("--root", default=".")
    re_.add_argument("--ledger", help="default: ROOT/cards/claims.yaml")
    re_.add_argument("--json", action="store_true")
    re_.set_defaults(func=cmd_claims_render)
