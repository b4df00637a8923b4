"""Each ledger claim classified ALLOWED, BLOCKED (with typed reasons) or NOT RECORDED, and its
wording rendered with the evidence values bound into it.

* NOT RECORDED: the claim names no evidence yet (planned, never measured).
* BLOCKED, with one reason per cause: `evidence_missing` (a bundle or a bound value is not
  there), `evidence_changed` (a bundle does not verify against its manifest),
  `evidence_inconsistent` (a stored gate verdict that its own measurements contradict), `seed_missing`
  (a scope seed the evidence or a gate does not cover), `gate_failed`, `gate_blocked` (the gate
  could not be judged: saturated, not evaluable, below its minimum n), and for negative claims
  `contradicted` (the gate the claim says did not hold, held).
* ALLOWED otherwise: every required gate passes on every seed in the claim's scope.
"""

from __future__ import annotations

from typing import Literal

import jinja2
from pydantic import BaseModel, Field

from .evidence import Bundle, PathError, format_value, select
from .ledger import Claim, Ledger


class BlockReason(BaseModel):
    type: Literal["evidence_missing", "evidence_changed", "evidence_inconsistent", "seed_missing", "gate_failed",
                  "gate_blocked", "contradicted", "wording"]
    subject: str
    detail: str = ""


class ClaimVerdict(BaseModel):
    id: str
    kind: str
    status: Literal["ALLOWED", "BLOCKED", "NOT RECORDED"]
    text: str | None = Field(None, description="the wording with its values bound (None when a value is missing)")
    reasons: list[BlockReason] = Field(default_factory=list)
    values: dict[str, float | int | str | None] = Field(default_factory=dict)
    citations: dict[str, str] = Field(default_factory=dict, description="value name -> evidence file and hash")
    scope_seeds: list[int] = Field(default_factory=list)
    scope_benchmarks: list[str] = Field(default_factory=list)
    line: int | None = None


_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)


def bind(claim: Claim, bundles: dict[str, Bundle]) -> tuple[dict, dict, dict, list[BlockReason]]:
    """(formatted values, raw values, citations, problems) of a claim's bound values."""
    formatted, raw, cites, problems = {}, {}, {}, []
    for name, ref in claim.values.items():
        bundle = bundles[ref.from_]
        data = bundle.files.get(ref.file)
        if data is None:
            problems.append(BlockReason(type="evidence_missing", subject=f"value {name}",
                                        detail=f"{ref.file} is not in evidence {ref.from_}"))
            continue
        try:
            value = select(data, ref.path)
        except PathError as exc:
            problems.append(BlockReason(type="evidence_missing", subject=f"value {name}",
                                        detail=f"{ref.from_}/{ref.file}: {ref.path}: {exc}"))
            continue
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            problems.append(BlockReason(type="evidence_missing", subject=f"value {name}",
                                        detail=f"{ref.from_}/{ref.file}: {ref.path} is not a number ({value!r})"))
            continue
        raw[name] = value
        formatted[name] = format_value(value, ref.digits, ref.style)
        cites[name] = bundle.cite(ref.file)
    return formatted, raw, cites, problems


def render_wording(claim: Claim, formatted: dict) -> str:
    return " ".join(_ENV.from_string(claim.wording).render(**formatted).split())


def classify(claim: Claim, ledger: Ledger, bundles: dict[str, Bundle]) -> ClaimVerdict:
    verdict = ClaimVerdict(id=claim.id, kind=claim.kind, status="ALLOWED", line=claim.line,
                           scope_seeds=claim.scope.seeds, scope_benchmarks=claim.scope.benchmarks)
    if not claim.evidence:
        verdict.status = "NOT RECORDED"
        return verdict
    reasons: list[BlockReason] = []
    used = [bundles[n] for n in dict.fromkeys(claim.evidence + [v.from_ for v in claim.values.values()])]
    for b in used:
        if not b.present:
            reasons.append(BlockReason(type="evidence_missing", subject=f"evidence {b.name}",
                                       detail=f"no manifest at {b.path}"))
        elif b.problems:
            p = b.problems[0]
            reasons.append(BlockReason(type="evidence_changed", subject=f"evidence {b.name}",
                                       detail=f"{len(b.problems)} problem(s), e.g. {p.kind} {p.path}: {p.detail}"))
        elif b.inconsistent:
            reasons.append(BlockReason(type="evidence_inconsistent", subject=f"evidence {b.name}",
                                       detail="; ".join(b.inconsistent[:3])))
    if not reasons:
        formatted, raw, cites, problems = bind(claim, bundles)
        reasons += problems
        verdict.values, verdict.citations = raw, cites
        if not problems:
            try:
                verdict.text = render_wording(claim, formatted)
            except jinja2.TemplateError as exc:
                reasons.append(BlockReason(type="wording", subject="wording", detail=str(exc)))
        reasons += _gate_reasons(claim, [bundles[n] for n in claim.evidence])
    reasons += _wording_reasons(claim)
    verdict.reasons = reasons
    verdict.status = "BLOCKED" if reasons else "ALLOWED"
    return verdict


def _wording_reasons(claim: Claim) -> list[BlockReason]:
    """The ledger's own wording may not be scoped wider than the claim."""
    from .vocabulary import GENERAL_SCOPE, SEED_SCOPE

    reasons = []
    general = GENERAL_SCOPE.search(claim.wording)
    if general and "all" not in claim.scope.benchmarks:
        reasons.append(BlockReason(type="wording", subject="benchmark scope",
                                   detail=f"worded for '{general.group(0)}' but scoped to {claim.scope.benchmarks}"))
    seeds = SEED_SCOPE.search(claim.wording)
    if seeds and len(claim.scope.seeds) < 2:
        reasons.append(BlockReason(type="wording", subject="seed scope",
                                   detail=f"worded for '{seeds.group(0)}' but scoped to seeds {claim.scope.seeds}"))
    return reasons


def _gate_reasons(claim: Claim, bundles: list[Bundle]) -> list[BlockReason]:
    reasons = []
    for b in bundles:
        present = b.seeds()
        for seed in claim.scope.seeds:
            if present and seed not in present:
                reasons.append(BlockReason(type="seed_missing", subject=f"seed {seed}",
                                           detail=f"evidence {b.name} has seeds {present}"))
    for gate_name in claim.requires:
        gate = next((g for g in (b.gate(gate_name) for b in bundles) if g is not None), None)
        if gate is None:
            reasons.append(BlockReason(type="evidence_missing", subject=f"gate {gate_name}",
                                       detail="no such gate in the claim's evidence"))
            continue
        per_seed = gate.get("per_seed") or {}
        if not per_seed:  # a gate without seeds (a before/after comparison): its one verdict
            per_seed = {"-": gate.get("status")}
            seeds = ["-"]
        else:
            seeds = claim.scope.seeds or [int(s) for s in per_seed]
        statuses = {}
        for seed in seeds:
            status = per_seed.get(str(seed))
            if status is None:
                reasons.append(BlockReason(type="seed_missing", subject=f"gate {gate_name} seed {seed}",
                                           detail=f"the gate judged seeds {sorted(per_seed) or gate.get('seeds')}"))
            statuses[seed] = status
        def why(seed, gate=gate) -> str:
            mine = [r for r in gate.get("reasons", []) if seed == "-" or str(r.get("subject", "")).startswith(
                f"seed {seed} ")] or gate.get("reasons", [])
            return "; ".join(f"{r.get('type')}: {r.get('subject')} (observed {r.get('observed')}, required "
                             f"{r.get('required')})" for r in mine[:2])

        judged = {s: v for s, v in statuses.items() if v is not None}
        if claim.kind == "negative":
            if judged and all(v == "pass" for v in judged.values()):
                on = ", ".join(str(s) for s in judged)
                reasons.append(BlockReason(type="contradicted", subject=f"gate {gate_name}",
                                           detail=f"the claim says it did not hold, but it passed (seeds: {on})"))
            continue
        for seed, status in judged.items():
            if status == "fail":
                reasons.append(BlockReason(type="gate_failed", subject=f"gate {gate_name} seed {seed}",
                                           detail=why(seed)))
            elif status == "blocked":
                reasons.append(BlockReason(type="gate_blocked", subject=f"gate {gate_name} seed {seed}",
                                           detail=why(seed)))
    return reasons


def classify_all(ledger: Ledger, bundles: dict[str, Bundle]) -> list[ClaimVerdict]:
    return [classify(c, ledger, bundles) for c in ledger.claims]


def blocked_text(claim: Claim, verdict: ClaimVerdict) -> str:
    """How a BLOCKED claim is quoted: its rendered wording, or with [name] where a value is missing."""
    import re

    if verdict.text:
        return verdict.text
    return " ".join(re.sub(r"\{\{\s*(\w+)[^}]*\}\}", r"[\1]", claim.wording).split())
