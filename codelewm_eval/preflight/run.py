"""Run every preflight check on a pack (and a job spec) and write `preflight.json`."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..io import write_json_atomic
from ..pack.stats import CoverageRules
from .checks import (Check, PreflightReport, check_balance, check_coverage, check_decoys, check_job, check_leaks,
                     check_licences, check_manifest, check_pack_secrets, load_rows)
from .jobspec import JobSpec, load_job_spec


def preflight(pack: Path, job: Path | None = None, report_path: Path | None = None,
              rules: CoverageRules | None = None) -> PreflightReport:
    pack = Path(pack)
    if not (pack / "rows.jsonl").is_file():
        raise InputError("not a pack directory (no rows.jsonl)", path=str(pack))
    spec, text = load_job_spec(job) if job else (None, "")
    manifest_checks = check_manifest(pack)
    try:
        rows = load_rows(pack)
    except InputError as exc:
        if manifest_checks[0].status == "pass":
            raise  # a sealed pack that is not a pack: unusable input
        # tampered beyond parsing: the manifest failure is the reason; nothing else can be judged
        checks = manifest_checks + [Check(name="rows", status="blocked", reason=f"unreadable after tampering: {exc}")]
        report = PreflightReport(pack=str(pack), job=str(job) if job else None, ok=False, checks=checks)
        if report_path is not None:
            write_json_atomic(report_path, report.model_dump(mode="json"))
        return report
    checks = manifest_checks + check_leaks(rows) + check_coverage(rows, rules or CoverageRules())
    defaults = JobSpec(name="defaults", seeds=[42, 1729])
    checks += check_decoys(rows, (spec or defaults).min_decoy_pairs, (spec or defaults).min_decoy_tasks)
    checks += check_balance(rows) + check_licences(rows) + check_pack_secrets(rows)
    if spec is not None:
        checks += check_job(spec, text, str(job))
    report = PreflightReport(pack=str(pack), job=str(job) if job else None,
                             ok=all(c.status == "pass" for c in checks), checks=checks)
    if report_path is not None:
        write_json_atomic(report_path, report.model_dump(mode="json"))
    return report
