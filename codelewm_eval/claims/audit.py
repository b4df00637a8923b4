"""`claims audit`: verify the evidence, classify every ledger claim, read the prose, and report
every statement that exceeds the evidence (exit 1 on any)."""

from __future__ import annotations

import glob
import os
from pathlib import Path

from pydantic import BaseModel, Field

from ..pack.pairs import task_family
from .evidence import Bundle, load_bundle, numbers
from .ledger import Ledger, load_ledger
from .prose import Finding, ProseContext, audit_prose, normalize
from .verdicts import ClaimVerdict, classify_all

SCHEMA_VERSION = 1
DEFAULT_LEDGER = Path("cards") / "claims.yaml"


class BundleStatus(BaseModel):
    name: str
    path: str
    present: bool
    ok: bool
    problems: list[str] = Field(default_factory=list)
    absent_parents: list[str] = Field(default_factory=list, description="known by hash only: not present here")


class AuditReport(BaseModel):
    schema_version: int = SCHEMA_VERSION
    ok: bool
    ledger: str
    bundles: list[BundleStatus]
    claims: list[ClaimVerdict]
    findings: list[Finding]
    prose_files: list[str]
    lines_read: int
    lines_marked_not_a_claim: int


def load_bundles(ledger: Ledger, root: Path) -> dict[str, Bundle]:
    return {name: load_bundle(name, root / path) for name, path in ledger.evidence.items()}


def blocked_text(claim, verdict: ClaimVerdict) -> str:
    """How a BLOCKED claim is quoted: its rendered wording, or with [name] where a value is missing."""
    if verdict.text:
        return verdict.text
    import re

    return " ".join(re.sub(r"\{\{\s*(\w+)[^}]*\}\}", r"[\1]", claim.wording).split())


def prose_context(ledger: Ledger, bundles: dict[str, Bundle], verdicts: list[ClaimVerdict]) -> ProseContext:
    allowed = [(normalize(v.text), v) for v in verdicts if v.status == "ALLOWED" and v.text]
    blocked = [normalize(blocked_text(c, v)) for c, v in zip(ledger.claims, verdicts) if v.status != "ALLOWED"]
    values: set[float] = set()
    gates: dict[str, dict[str, str]] = {}
    paired: dict[str, list[float]] = {}
    for b in bundles.values():
        if not b.ok:
            continue  # numbers of evidence that does not verify support nothing
        for name, data in b.files.items():
            numbers(data, values)
        for g in b.files.get("gates.json", {}).get("gates", []):
            per_seed = g.get("per_seed") or {}
            seen = gates.setdefault(g["name"], {})
            for seed, status in per_seed.items():  # the same gate in two bundles: the worse verdict stands
                if seen.get(seed, "pass") == "pass":
                    seen[seed] = status
        for comparison in b.files.get("compare.json", {}).get("comparisons", []):
            for delta in comparison.get("benchmarks", []):
                family = task_family(delta["benchmark"].lower(), "0")[0]
                family = "mbpp" if family.startswith("mbpp") else family
                if delta.get("delta", 0) > 0:  # a multiple states a gain: only gains can back one
                    paired.setdefault(family, []).append(delta["mcnemar_p"])
    return ProseContext(allowed=allowed, blocked=blocked, numbers=values, gates=gates, paired=paired)


def prose_paths(ledger: Ledger, root: Path, extra: list[Path]) -> list[Path]:
    found: dict[str, Path] = {}
    for pattern in ledger.prose:
        for name in sorted(glob.glob(str(root / pattern), recursive=True)):
            if os.path.isfile(name):
                found[os.path.realpath(name)] = Path(name)
    for path in extra:
        found[os.path.realpath(path)] = Path(path)
    return list(found.values())


def audit(root: Path, ledger_path: Path | None = None, extra: list[Path] = ()) -> AuditReport:
    root = Path(root)
    ledger_file = Path(ledger_path) if ledger_path else root / DEFAULT_LEDGER
    ledger = load_ledger(ledger_file)
    bundles = load_bundles(ledger, root)
    verdicts = classify_all(ledger, bundles)
    findings: list[Finding] = []
    statuses = []
    for b in bundles.values():
        statuses.append(BundleStatus(name=b.name, path=b.path.as_posix(), present=b.present, ok=b.ok,
                                     problems=[f"{p.kind} {p.path}: {p.detail}" for p in b.problems],
                                     absent_parents=[f"{p.path}: {p.detail}" for p in b.absent]))
        if b.present and b.problems:
            p = b.problems[0]
            findings.append(Finding(file=(b.path / "manifest.json").as_posix(), line=1, kind="evidence_changed",
                                    text=f"evidence {b.name}",
                                    detail=f"does not verify: {p.kind} {p.path}: {p.detail}"))
    ctx = prose_context(ledger, bundles, verdicts)
    paths = prose_paths(ledger, root, list(extra))
    prose_findings, read, skipped = audit_prose(paths, ctx, root)
    findings += prose_findings
    return AuditReport(ok=not findings, ledger=str(ledger_file), bundles=statuses, claims=verdicts,
                       findings=findings, prose_files=[str(p) for p in paths], lines_read=read,
                       lines_marked_not_a_claim=skipped)
