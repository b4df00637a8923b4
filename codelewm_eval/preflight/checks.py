"""The preflight checks: each returns typed results (pass / fail / blocked, observed, required)."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from ..benchmarks.family import problem_family
from ..manifest import failures, verify
from ..pack.rows import PackTask, RowFacts
from ..pack.splits import family_leaks, straddling
from ..pack.stats import CoverageRules, coverage_blockers
from ..secrets import Finding, scan_text
from ..stage import StageResult
from .jobspec import DecoyMinimum, JobSpec

SCHEMA_VERSION = 1
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|PRIVATE", re.IGNORECASE)


class Check(BaseModel):
    name: str = Field(description="manifest, split_leak, coverage:<kind>, decoys:<split>:<category>, ...")
    status: Literal["pass", "warn", "fail", "blocked"] = Field(
        description="warn: launchable, with a reason to look (a train subset too small for the gates, a dtype the "
                    "flavor cannot run)")
    observed: int | float | str | None = None
    required: int | float | str | None = None
    reason: str = Field("", description="why it did not pass, in words")
    numbers: dict[str, float] = Field(default_factory=dict, description="the numbers behind it (gates: the best value "
                                                                       "the pack allows, the value needed, the "
                                                                       "interval half-width there)")


class PreflightReport(StageResult):
    """Can this pack (and job) carry the gates? `ok` when every check passes (or only warns)."""

    schema_version: int = SCHEMA_VERSION
    pack: str
    job: str | None = None
    ok: bool
    checks: list[Check]


def check_manifest(pack: Path) -> list[Check]:
    everything = verify(pack)
    problems = failures(everything)
    if not problems:
        absent = [p for p in everything if p.kind == "absent"]
        return [Check(name="manifest", status="pass", observed="verifies, parents included" if not absent else
                      f"verifies; {len(absent)} parent(s) not present here, known by hash only",
                      reason="; ".join(f"{p.path}: {p.detail}" for p in absent[:5]))]
    return [Check(name="manifest", status="fail", observed=f"{len(problems)} problem(s)", required="0",
                  reason="; ".join(f"{p.kind} {p.path}: {p.detail}" for p in problems[:5]))]


def check_tasks(rows: list[RowFacts], tasks: list[PackTask] | None, row_schema: int | None) -> list[Check]:
    """tasks: every row's task is in the tasks table once, with its own problem family (rows
    join their prompt and family there). Packs before schema 2 have no table: rows carry both."""
    if tasks is None:
        if row_schema is not None and row_schema < 2:
            return [Check(name="tasks", status="pass", observed="no tasks table",
                          reason=f"rows of schema {row_schema} carry their task's prompt and family")]
        return [Check(name="tasks", status="fail", observed="tasks.jsonl missing", required="one line per task",
                      reason="the rows' prompts and problem families are in tasks.jsonl, which is not there")]
    keys = [(t.benchmark, t.task_id) for t in tasks]
    known = set(keys)
    problems = [f"{b}/{t} listed twice" for b, t in sorted(k for k in known if keys.count(k) > 1)] if \
        len(known) < len(keys) else []
    missing = sorted({(r.benchmark, r.task_id) for r in rows} - known)
    problems += [f"{b}/{t} has rows and no task line" for b, t in missing]
    problems += [f"{t.benchmark}/{t.task_id} family {t.family!r}, not {problem_family(t.benchmark, t.task_id)!r}"
                 for t in tasks if t.family != problem_family(t.benchmark, t.task_id)]
    if not problems:
        return [Check(name="tasks", status="pass", observed=len(tasks), reason="every row joins one task line")]
    return [Check(name="tasks", status="fail", observed=f"{len(problems)} problem(s)", required="0",
                  reason="; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))]


def check_leaks(rows: list[RowFacts]) -> list[Check]:
    """split_leak: a task or near-duplicate program in two splits; family_leak: one problem (in
    any benchmark variant or source) in two splits, the held-out claim's own condition."""
    out = []
    leaks = straddling(rows)
    if not leaks:
        out.append(Check(name="split_leak", status="pass", observed=0, required=0))
    else:
        out.append(Check(name="split_leak", status="fail", observed=len(leaks), required=0,
                         reason="; ".join(f"{k} in {', '.join(v)}" for k, v in list(leaks.items())[:5])))
    families = family_leaks(rows)
    if not families:
        out.append(Check(name="family_leak", status="pass", observed=0, required=0,
                         reason="every problem family lives in one split"))
    else:
        named = "; ".join(f"{k} in {', '.join(v)}" for k, v in list(families.items())[:10])
        more = f" (and {len(families) - 10} more)" if len(families) > 10 else ""
        out.append(Check(name="family_leak", status="fail", observed=len(families), required=0,
                         reason=f"problem families straddle splits: {named}{more}; rebuild the pack with this "
                                "version (splits group by family)"))
    return out


def check_coverage(rows: list[RowFacts], rules: CoverageRules) -> list[Check]:
    blockers = coverage_blockers(rows, rules)
    if not blockers:
        return [Check(name="coverage", status="pass", reason="both classes, tasks and common buckets in every split")]
    return [Check(name=f"coverage:{b.kind}", status="fail", observed=b.observed, required=b.required,
                  reason=f"{b.benchmark}/{b.split}: {b.detail}") for b in blockers]


def check_decoys(rows: list[RowFacts], minimums: dict[str, DecoyMinimum]) -> list[Check]:
    """Decoy pairs per category in val and test: against the minimums for the categories that
    have them (the decoy gate needs them), reported for the others."""
    pairs: dict[tuple, int] = defaultdict(int)
    tasks: dict[tuple, set] = defaultdict(set)
    for r in rows:
        if r.decoy_category is not None:
            pairs[(r.split, r.decoy_category)] += 1
            tasks[(r.split, r.decoy_category)].add((r.benchmark, r.task_id))
    categories = sorted(set(minimums) | {cat for _split, cat in pairs})
    out = []
    for split in ("val", "test"):
        for cat in categories:
            n, t = pairs[(split, cat)], len(tasks[(split, cat)])
            need = minimums.get(cat)
            ok = need is None or (n >= need.pairs and t >= need.tasks)
            out.append(Check(name=f"decoys:{split}:{cat}", status="pass" if ok else "fail",
                             observed=f"{n} pairs / {t} tasks",
                             required=f"{need.pairs} pairs / {need.tasks} tasks" if need else "no minimum set",
                             reason="" if ok else "too few aligned decoy pairs for the decoy gate"))
    return out


def check_balance(rows: list[RowFacts], low: float = 0.02, high: float = 0.98) -> list[Check]:
    cells: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        cells[(r.split, r.benchmark)][0] += 1
        cells[(r.split, r.benchmark)][1] += int(r.passed)
    bad = sorted((k, p / n) for k, (n, p) in cells.items() if not low <= p / n <= high)
    if not bad:
        worst = min((min(p / n, 1 - p / n), f"{k[0]}/{k[1]}: {p / n:.3f}") for k, (n, p) in cells.items()) \
            if cells else (None, "no rows")
        return [Check(name="class_balance", status="pass", observed=f"nearest the bounds: {worst[1]}",
                      required=f"pass rate in [{low}, {high}]")]
    return [Check(name="class_balance", status="fail", observed=f"{s}/{b}: {rate:.3f}", required=f"[{low}, {high}]",
                  reason="a split is nearly one class") for (s, b), rate in bad]


def check_licences(rows: list[RowFacts]) -> list[Check]:
    unlicensed = sum(1 for r in rows if not r.licence or r.licence == "unknown")
    in_train = sum(1 for r in rows if r.evaluation_only and r.split == "train")
    upstream = sum(1 for r in rows if r.label_provenance.startswith("graded upstream"))
    return [
        Check(name="licence:present", status="pass" if not unlicensed else "fail", observed=unlicensed, required=0,
              reason="" if not unlicensed else "rows without a licence"),
        Check(name="licence:evaluation_only_not_in_train", status="pass" if not in_train else "fail",
              observed=in_train, required=0,
              reason="" if not in_train else "rows whose licence forbids ML training are in train"),
        Check(name="labels:upstream_graded", status="pass", observed=upstream,
              reason="labels graded upstream, not executed here" if upstream else ""),
    ]


def check_pack_secrets(findings: list[Finding]) -> list[Check]:
    found = [f.describe() for f in findings]
    return [Check(name="secrets:pack", status="pass" if not found else "fail", observed=len(found), required=0,
                  reason="; ".join(found[:5]))]


def check_job(spec: JobSpec, text: str, where: str) -> list[Check]:
    seeds_ok = len(spec.seeds) >= 2 and len(set(spec.seeds)) == len(spec.seeds)
    secrets = [f.describe() for f in scan_text(text, where=where)]
    secrets += [f"env {k}: a secret-named variable carries a value (pass it by name in `secrets`)"
                for k, v in spec.env.items() if SECRET_NAME.search(k) and v.strip()]
    names_ok = all(s.isidentifier() and s.upper() == s for s in spec.secrets)
    return [
        Check(name="job:seeds", status="pass" if seeds_ok else "fail", observed=json.dumps(spec.seeds),
              required="two or more distinct seeds", reason="" if seeds_ok else "the standard run needs 2 distinct seeds"),
        Check(name="job:timeout", status="pass" if spec.timeout else "fail", observed=str(spec.timeout),
              required="set", reason="" if spec.timeout else "a job without a timeout can bill forever"),
        Check(name="job:secrets_by_name", status="pass" if names_ok else "fail", observed=json.dumps(spec.secrets),
              required="secret names (UPPER_CASE), never values"),
        Check(name="secrets:job", status="pass" if not secrets else "fail", observed=len(secrets), required=0,
              reason="; ".join(secrets[:5])),
    ]
