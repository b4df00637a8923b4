"""The audit report as text, JSON, Markdown, or GitHub workflow annotations plus a step summary."""

from __future__ import annotations

import json
import os

from .audit import AuditReport


def _reason_line(r) -> str:
    return f"{r.type}: {r.subject}" + (f" ({r.detail})" if r.detail else "")


def as_text(report: AuditReport) -> str:
    out = [f"claims audit: {'OK' if report.ok else 'VIOLATIONS'} ({report.ledger})"]
    for b in report.bundles:
        state = "ok" if b.ok else "MISSING" if not b.present else "DOES NOT VERIFY"
        out.append(f"  evidence {b.name}: {state}" + (f"; {len(b.absent_parents)} parent(s) not present here"
                                                      if b.absent_parents else ""))
        out += [f"    {p}" for p in b.problems[:3]]
    for v in report.claims:
        out.append(f"  {v.status:12s} {v.id}" + (f"  {v.text}" if v.status == "ALLOWED" and v.text else ""))
        out += [f"      {_reason_line(r)}" for r in v.reasons[:4]]
    for f in report.findings:
        out.append(f"{f.file}:{f.line}: {f.kind}: {f.detail}\n    | {f.text}")
    out.append(f"{len(report.findings)} violation(s); {sum(v.status == 'ALLOWED' for v in report.claims)} allowed, "
               f"{sum(v.status == 'BLOCKED' for v in report.claims)} blocked, "
               f"{sum(v.status == 'NOT RECORDED' for v in report.claims)} not recorded; {report.lines_read} prose "
               f"line(s) in {len(report.prose_files)} file(s)" +
               (f", {report.lines_marked_not_a_claim} marked not-a-claim" if report.lines_marked_not_a_claim else ""))
    return "\n".join(out) + "\n"


def as_markdown(report: AuditReport) -> str:
    out = [f"## Claims audit: {'passed' if report.ok else 'FAILED'}", "",
           "| claim | kind | verdict | why |", "|---|---|---|---|"]
    for v in report.claims:
        why = "; ".join(_reason_line(r) for r in v.reasons[:3]).replace("|", "\\|")
        out.append(f"| `{v.id}` | {v.kind} | {v.status} | {why} |")
    out += ["", f"### Violations ({len(report.findings)})", ""]
    if report.findings:
        out += ["| file | line | kind | detail |", "|---|---|---|---|"]
        out += [f"| {f.file} | {f.line} | {f.kind} | {f.detail.replace('|', '/')} |" for f in report.findings]
    else:
        out.append("None: no statement exceeds the evidence.")
    out += ["", "### Evidence", ""]
    out += [f"- `{b.name}` ({b.path}): {'verifies' if b.ok else 'MISSING' if not b.present else 'DOES NOT VERIFY'}"
            + (f"; {len(b.absent_parents)} parent(s) not present here (known by hash)" if b.absent_parents else "")
            for b in report.bundles]
    return "\n".join(out) + "\n"


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def as_github(report: AuditReport) -> str:
    """`::error file=...,line=...` per violation; the Markdown report goes to the step summary."""
    lines = [f"::error file={f.file},line={f.line},title=claims audit: {f.kind}::{_escape(f.detail)}"
             for f in report.findings]
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(as_markdown(report))
    lines.append(f"claims audit: {len(report.findings)} violation(s)")
    return "\n".join(lines) + "\n"


def render(report: AuditReport, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report.model_dump(mode="json"), indent=2) + "\n"
    return {"text": as_text, "markdown": as_markdown, "github": as_github}[fmt](report)
