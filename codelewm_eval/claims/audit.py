"""`claims audit`: verify the evidence, classify every ledger claim, read the prose, and report
every statement that exceeds the evidence (exit 1 on any)."""

from __future__ import annotations

import glob
import os
from pathlib import Path

from pydantic import BaseModel, Field

from ..benchmarks.family import family_name
from .evidence import DEFAULT_LEDGER, Bundle, load_bundles, numbers
from .ledger import Ledger, load_ledger
from .prose import Finding, ProseContext, audit_prose, normalize
from .verdicts import ClaimVerdict, blocked_text, classify_all

SCHEMA_VERSION = 1


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


def prose_context(ledger: Ledger, bundles: dict[str, Bundle], verdicts: list[ClaimVerdict]) -> ProseContext:
    """What prose is judged against: the ALLOWED claims with their scope, the BLOCKED wordings,
    and the verified evidence as typed quantities (facts and before/after comparisons)."""
    from . import quantities as Q
    from .prose import AllowedClaim

    allowed = [(normalize(v.text), v) for v in verdicts if v.status == "ALLOWED" and v.text]
    blocked = [normalize(blocked_text(c, v)) for c, v in zip(ledger.claims, verdicts) if v.status != "ALLOWED"]
    values: set[float] = set()
    gates: dict[str, dict[str, str]] = {}
    by_bundle: dict[str, dict[str, dict[str, str]]] = {}
    metric_of: dict[str, str] = {}
    paired: dict[str, list[float]] = {}
    facts, changes, anchor_gates = [], [], {}
    for b in bundles.values():
        if not b.ok:
            continue  # numbers of evidence that does not verify support nothing
        for name, data in b.files.items():
            numbers(data, values)
        f, c = Q.bundle_facts(b.name, b.files, b.measured)
        facts += f
        changes += c
        for g in b.files.get("gates.json", {}).get("gates", []):
            metric_of[g["name"]] = g.get("metric", "")
            if g.get("metric") == "anchors_kept":
                anchor_gates[Q.norm_name(g["name"].split(":", 1)[0])] = g.get("status")
            per_seed = g.get("per_seed") or {}
            by_bundle.setdefault(g["name"], {})[Q.norm_name(b.name)] = dict(per_seed)
            seen = gates.setdefault(g["name"], {})
            for seed, status in per_seed.items():  # the same gate in two bundles: the worse verdict stands
                if seen.get(seed, "pass") == "pass":
                    seen[seed] = status
        for comparison in b.files.get("compare.json", {}).get("comparisons", []):
            for delta in comparison.get("benchmarks", []):
                fam = family_name(delta["benchmark"])
                if delta.get("delta", 0) > 0:  # a multiple states a gain: only gains can back one
                    paired.setdefault(fam, []).append(delta["mcnemar_p"])
    claims = []
    for claim, verdict in zip(ledger.claims, verdicts):
        if verdict.status != "ALLOWED" or not verdict.text:
            continue
        metrics = {metric_of.get(g, "") for g in claim.requires}
        claims.append(AllowedClaim(
            text=normalize(verdict.text), id=claim.id, kind=claim.kind,
            benchmarks={"all" if b == "all" else (Q.family(b) or b) for b in claim.scope.benchmarks},
            model=Q.norm_name(claim.scope.model or ""), metrics=metrics, paired="mcnemar_p" in metrics))
    return ProseContext(allowed=allowed, blocked=blocked, numbers=values, gates=gates, paired=paired, facts=facts,
                        changes=changes, claims=claims, anchor_gates=anchor_gates,
                        gates_by_bundle=by_bundle)


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
                                     problems=[f"{p.kind} {p.path}: {p.detail}" for p in b.problems] +
                                              [f"inconsistent: {x}" for x in b.inconsistent],
                                     absent_parents=[f"{p.path}: {p.detail}" for p in b.absent]))
        if b.present and b.problems:
            p = b.problems[0]
            findings.append(Finding(file=f"{b.rel}/manifest.json", line=1, kind="evidence_changed",
                                    text=f"evidence {b.name}",
                                    detail=f"does not verify: {p.kind} {p.path}: {p.detail}"))
        elif b.present and b.inconsistent:
            findings.append(Finding(file=f"{b.rel}/gates.json", line=1, kind="evidence_inconsistent",
                                    text=f"evidence {b.name}",
                                    detail="stored verdicts disagree with the measurements: " +
                                           "; ".join(b.inconsistent[:5])))
    ctx = prose_context(ledger, bundles, verdicts)
    paths = prose_paths(ledger, root, list(extra))
    prose_findings, read, skipped = audit_prose(paths, ctx, root)
    findings += rendered_edits(root, ledger, bundles, verdicts, paths)
    findings += prose_findings
    return AuditReport(ok=not findings, ledger=str(ledger_file), bundles=statuses, claims=verdicts,
                       findings=findings, prose_files=[str(p) for p in paths], lines_read=read,
                       lines_marked_not_a_claim=skipped)


def rendered_edits(root: Path, ledger: Ledger, bundles: dict[str, Bundle], verdicts: list[ClaimVerdict],
                   paths: list[Path]) -> list[Finding]:
    """A rendered card or results document must equal what the evidence renders to today: every
    line that differs (a hand edit, or evidence and ledger that moved on) is named."""
    import difflib

    from .render import renderings

    expected = renderings(root, ledger, bundles, {v.id: v for v in verdicts}, strict=False)
    findings = []
    for path in paths:
        try:
            rel = path.resolve().relative_to(root.resolve())
        except ValueError:
            continue
        if rel not in expected:
            continue
        actual = path.read_text(encoding="utf-8").splitlines()
        wanted = expected[rel].splitlines()
        for tag, a0, a1, b0, b1 in difflib.SequenceMatcher(None, actual, wanted, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            line = min(a0, len(actual) - 1) if actual else 0
            for i in range(a0, max(a1, a0 + 1)):
                if i >= len(actual) and actual:
                    i = len(actual) - 1
                want = wanted[b0 + (i - a0)] if b0 + (i - a0) < b1 else "(nothing)"
                findings.append(Finding(file=rel.as_posix(), line=i + 1, kind="rendered_edited",
                                        text=(actual[i] if actual else "")[:160],
                                        detail=f"differs from the rendering of the evidence, which reads: {want[:160]}"))
            del line
    return findings
