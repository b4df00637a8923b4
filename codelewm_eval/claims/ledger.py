"""The claim ledger (`cards/claims.yaml`): every public claim, its wording with numbers bound to
evidence values, its kind and scope, the gates it needs and the evidence it rests on; plus the
evidence bundles by name and the cards to render.

    schema_version: 1
    evidence:
      logreg: manifests/evidence/logreg-v1          # an evidence bundle (or a compare bundle)
    claims:
      - id: p-pass-auc
        kind: positive                               # positive | negative | diagnostic
        scope: {model: p-pass-logreg, benchmarks: [all], seeds: [42, 1729]}
        requires: [p-pass-auc]                       # gates; each must pass on every scope seed
        evidence: [logreg]
        values:
          auc: {from: logreg, file: metrics.json, digits: 3,
                path: "records[scorer=p_pass,benchmark=all,split=test,seed=42].metrics.auc.value"}
        wording: "Held-out p_pass ROC-AUC is {{ auc }} on seed 42."

A negative claim states that something did not hold: its `requires` gates must NOT pass (a
negative claim about a gate that passed contradicts the evidence and is blocked). A
diagnostic claim only reports values. Paths select into the evidence JSON: `key`, a list index,
or `key[field=value,...]` for the one element of a list that matches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from ..errors import InputError
from ..io import read_yaml, validated

SCHEMA_VERSION = 1


class Scope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(None, description="the model or run the claim is about")
    benchmarks: list[str] = Field(default_factory=lambda: ["all"], description="'all' = pooled over benchmarks")
    seeds: list[int] = Field(default_factory=list, description="every seed the claim speaks for")


class ValueRef(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str = Field(alias="from", description="an evidence bundle named in `evidence`")
    file: str = Field(description="a JSON file of the bundle: metrics.json, rerank.json, decoys.json, gates.json, "
                                  "compare.json")
    path: str
    digits: int = 3
    style: Literal["plain", "signed", "percent", "pvalue", "int"] = "plain"


class Claim(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    kind: Literal["positive", "negative", "diagnostic"]
    scope: Scope = Field(default_factory=Scope)
    requires: list[str] = Field(default_factory=list, description="gate names")
    evidence: list[str] = Field(default_factory=list, description="evidence bundle names; empty: not recorded")
    values: dict[str, ValueRef] = Field(default_factory=dict)
    wording: str = Field(description="a jinja2 template; {{ name }} is a value, formatted at its digits")
    line: int | None = Field(None, exclude=True, description="where the claim starts in the ledger")


class CardSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["model", "dataset", "results"]
    name: str
    evidence: str = Field(description="the evidence bundle the card reports")
    seeds: list[int] = Field(default_factory=list, description="model: one card per seed")
    claims: list[str] = Field(default_factory=list, description="ledger claims shown (default: those on its evidence)")
    title: str | None = None
    base_model: str | None = None
    licence: str = "apache-2.0"
    datasets: list[str] = Field(default_factory=list)
    summary: str = ""


class Ledger(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    evidence: dict[str, str] = Field(default_factory=dict, description="name -> bundle directory (relative to root)")
    claims: list[Claim] = Field(default_factory=list)
    cards: list[CardSpec] = Field(default_factory=list)
    prose: list[str] = Field(default_factory=lambda: ["README.md", "cards/**/*.md", "docs/benchmark/**/*.md"],
                             description="globs (relative to root) whose prose the audit reads")


def _claim_lines(text: str) -> dict[int, int]:
    """claim index -> 1-based line where it starts."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    for key, value in getattr(node, "value", []):
        if getattr(key, "value", None) == "claims" and isinstance(value, yaml.SequenceNode):
            return {i: item.start_mark.line + 1 for i, item in enumerate(value.value)}
    return {}


def load_ledger(path: Path) -> Ledger:
    raw, text = read_yaml(path, "claim ledger")
    lines = _claim_lines(text)
    ledger = validated(Ledger, raw, path, line_of=lambda loc: lines.get(loc[1]) if len(loc) > 1 and
                       loc[0] == "claims" and isinstance(loc[1], int) else None)
    seen = set()
    for i, claim in enumerate(ledger.claims):
        claim.line = lines.get(i)
        if claim.id in seen:
            raise InputError(f"claim id {claim.id!r} is used twice", path=str(path), line=claim.line, field="id")
        seen.add(claim.id)
        for name in claim.evidence + [v.from_ for v in claim.values.values()]:
            if name not in ledger.evidence:
                raise InputError(f"claim {claim.id!r} names evidence {name!r}, which `evidence` does not define",
                                 path=str(path), line=claim.line, field="evidence")
    return ledger
