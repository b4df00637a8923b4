"""The reference documentation, generated from the code so it cannot drift: one page per verb
from the argument parser (`docs/verbs/`), the file formats from the pydantic models
(`docs/formats.md`) and their JSON Schemas (`docs/schemas/`). `python scripts/gen_docs.py`
writes them; a test checks the committed ones are current."""

from __future__ import annotations

import argparse
import json

# one example per verb (what a newcomer would type)
EXAMPLES = {
    "execute": "codelewm-eval execute --benchmark humaneval --samples samples.jsonl --out results/model.jsonl",
    "execute-merge": "codelewm-eval execute-merge results/part-*.jsonl --out results/all.jsonl",
    "manifest verify": "codelewm-eval manifest verify packs/v1",
    "pack build": "codelewm-eval pack build --results results/*.jsonl --out packs/v1 --decoys "
                  "--decoy-minimum mutation=100/30",
    "preflight": "codelewm-eval preflight --pack packs/v1 --job jobs/standard.yaml",
    "decoys": "codelewm-eval decoys --results results/humaneval-canonical.jsonl --out results/humaneval-decoys.jsonl",
    "score": "codelewm-eval score --pack packs/v1 --out scores/baselines.jsonl",
    "evaluate": "codelewm-eval evaluate --pack packs/v1 --scores runs/p-pass-standard/seed-*/scores.jsonl "
                "--gates gates/standard.yaml --out evidence/v1",
    "compare": "codelewm-eval compare --baseline before.jsonl --candidate after.jsonl --anchors anchors.txt",
    "train": "codelewm-eval train --pack packs/v1 --seed 42 --scorer logreg --out runs/demo/seed-42",
    "jobs launch": "codelewm-eval jobs launch jobs/standard.yaml --dry-run",
    "jobs status": "codelewm-eval jobs status runs/p-pass-standard --watch 30",
    "jobs fetch": "codelewm-eval jobs fetch runs/p-pass-hub",
    "jobs verify": "codelewm-eval jobs verify runs/p-pass-standard",
    "jobs inspect-checkpoint": "codelewm-eval jobs inspect-checkpoint runs/p-pass-standard/seed-42/checkpoint",
    "secrets scan": "codelewm-eval secrets scan . --allowlist .secrets-allowlist",
    "claims audit": "codelewm-eval claims audit --format github",
    "claims render": "codelewm-eval claims render",
    "run": "codelewm-eval run --data-dir ../shared/data --out runs/real",
    "benchmarks": "codelewm-eval benchmarks",
    "bench execute": "codelewm-eval bench execute --data-dir ../shared/data -n 2000",
    "generate": "codelewm-eval generate --model runs/surgery-pass/seed-42/merged --benchmark humaneval "
                "--out samples/pass1-humaneval.jsonl",
    "report": "codelewm-eval report runs/real",
    "surgery harvest": "codelewm-eval surgery harvest --results results/base-*.jsonl --out harvests/current",
    "surgery tiny-model": "codelewm-eval surgery tiny-model --out models/tiny",
    "surgery train": "codelewm-eval surgery train --harvest harvests/current --base-model models/tiny --seed 42 "
                     "--out runs/pass1/seed-42",
    "surgery promote": "codelewm-eval surgery promote --baseline base.jsonl --candidate pass1.jsonl "
                       "--anchors harvests/current/anchors.txt",
}


def _formats():
    """(file name, title, model, what it is) of every artifact format."""
    from ..claims.audit import AuditReport
    from ..claims.ledger import Ledger
    from ..evidence.evaluate import DecoysFile, GatesFile, MetricsFile, RerankFile
    from ..evidence.gates import GateSpec
    from ..evidence.scores import ScoreRow
    from ..evidence.selective import CoverageFile
    from ..execution.results import ExecutionResult
    from ..jobs.launch import LaunchRecord, Payload
    from ..manifest import Manifest
    from ..pack.rows import PackRow, PackTask
    from ..pipeline import RunConfig
    from ..preflight.checks import PreflightReport
    from ..preflight.jobspec import JobSpec
    from ..train.progress import Event

    return [
        ("execution-result", "Execution results (`execute`: one JSON line per candidate)", ExecutionResult),
        ("pack-row", "Pack rows (`PACK/rows.jsonl`, and `rows.parquet`)", PackRow),
        ("pack-task", "Pack tasks (`PACK/tasks.jsonl`, and `tasks.parquet`; rows join on benchmark, task_id)",
         PackTask),
        ("preflight-report", "Preflight report (`preflight --report`)", PreflightReport),
        ("score-row", "Score files (one JSON line per scored row; `p_pass` in [0, 1])", ScoreRow),
        ("progress-event", "Progress events (`RUN/reports/job_progress.jsonl`, and stderr behind "
                           "`CODELEWM_EVENT `)", Event),
        ("evidence-metrics", "Evidence: `metrics.json`", MetricsFile),
        ("evidence-rerank", "Evidence: `rerank.json`", RerankFile),
        ("evidence-decoys", "Evidence: `decoys.json`", DecoysFile),
        ("evidence-gates", "Evidence: `gates.json`", GatesFile),
        ("evidence-coverage", "Evidence: `coverage.json` (risk-coverage of selective execution)", CoverageFile),
        ("gate-spec", "Gate spec (`gates/*.yaml`)", GateSpec),
        ("manifest", "Manifests (`DIR/manifest.json`, `FILE.manifest.json`)", Manifest),
        ("job-spec", "Job spec (`jobs/*.yaml`)", JobSpec),
        ("job-payload", "Job payloads (`jobs launch --dry-run`)", Payload),
        ("launch-record", "Launch record (`RUN/launch.json`)", LaunchRecord),
        ("ledger", "Claim ledger (`cards/claims.yaml`)", Ledger),
        ("audit-report", "Audit report (`claims audit --format json`)", AuditReport),
        ("run-config", "Run config (`run --config`)", RunConfig),
    ]


def schema_files() -> dict[str, str]:
    from . import build_parser
    from .schemas import result_model, schema_of

    out = {}
    for name, _, model in _formats():
        schema = model.model_json_schema()
        out[f"docs/schemas/{name}.schema.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    for verb, parser in _verbs(build_parser()):  # what each verb's --json prints: its stage's result
        schema = schema_of(result_model(parser.get_default("func")))
        out[f"docs/schemas/verbs/{verb.replace(' ', '-')}.schema.json"] = json.dumps(schema, indent=2,
                                                                                     sort_keys=True) + "\n"
    return out


def _type(prop: dict) -> str:
    if "$ref" in prop:
        return prop["$ref"].split("/")[-1]
    if "anyOf" in prop:
        return " or ".join(_type(p) for p in prop["anyOf"])
    if "enum" in prop:
        return " / ".join(json.dumps(v) for v in prop["enum"])
    if "const" in prop:
        return json.dumps(prop["const"])
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list of {_type(prop.get('items', {}))}" if prop.get("items") else "list"
    if kind == "object" and isinstance(prop.get("additionalProperties"), dict):
        return f"map of {_type(prop['additionalProperties'])}"
    return kind


def _table(schema: dict) -> list[str]:
    required = set(schema.get("required", []))
    lines = ["| field | type | required | description |", "|---|---|---|---|"]
    for field, prop in schema.get("properties", {}).items():
        desc = (prop.get("description") or "").replace("|", "/").replace("\n", " ")
        default = f" (default {json.dumps(prop['default'])})" if "default" in prop and prop["default"] not in (
            None, [], {}) else ""
        lines.append(f"| `{field}` | {_type(prop).replace('|', '/')} | {'yes' if field in required else 'no'} | "
                     f"{desc}{default} |")
    return lines


def formats_page() -> str:
    out = ["# File formats", "",
           "Generated from the pydantic models by `python scripts/gen_docs.py`; the JSON Schemas beside this page "
           "(`docs/schemas/`) are generated from the same models, and a test fails when either is stale. Every "
           "record and report carries a `schema_version`.", ""]
    for name, title, model in _formats():
        schema = model.model_json_schema()
        out += [f"## {title}", "", f"Schema: [`schemas/{name}.schema.json`](schemas/{name}.schema.json)", ""]
        doc = (model.__doc__ or "").strip()
        if doc and not doc.startswith(("Usage docs", "!!! abstract")):
            out += [" ".join(doc.split()), ""]
        out += _table(schema) + [""]
        for ref, sub in sorted(schema.get("$defs", {}).items()):
            out += [f"`{ref}`:", ""] + _table(sub) + [""]
    return "\n".join(out)


def _verbs(parser: argparse.ArgumentParser, prefix: str = "") -> list[tuple[str, argparse.ArgumentParser]]:
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                full = f"{prefix} {name}".strip()
                nested = _verbs(sub, full)
                out += nested if nested else [(full, sub)]
    return out


def verb_pages() -> dict[str, str]:
    from . import build_parser

    pages, index = {}, ["# Verbs", "", "One page per verb, generated from its `--help`.", ""]
    for verb, parser in _verbs(build_parser()):
        slug = verb.replace(" ", "-")
        parser.prog = f"codelewm-eval {verb}"
        text = [f"# `codelewm-eval {verb}`", "", (parser.description or parser.format_usage()).strip(), ""]
        if verb in EXAMPLES:
            text += ["Example:", "", "```bash", EXAMPLES[verb], "```", ""]
        from .schemas import config_model, result_model

        func = parser.get_default("func")
        text += [f"Stage: `{func.stage_path.replace(':', '.')}` takes a `{config_model(func).__name__}` and returns a "
                 f"`{result_model(func).__name__}`; `--json` prints that result, as "
                 f"[`schemas/verbs/{slug}.schema.json`](../schemas/verbs/{slug}.schema.json) says.", ""]
        text += ["```text", parser.format_help().rstrip(), "```", ""]
        pages[f"docs/verbs/{slug}.md"] = "\n".join(text)
        index.append(f"- [`{verb}`]({slug}.md): " + " ".join((parser.description or "").split())[:110])
    pages["docs/verbs/README.md"] = "\n".join(index) + "\n"
    return pages


def all_files() -> dict[str, str]:
    import os

    os.environ["COLUMNS"] = "100"  # argparse wraps help to the terminal: fix it so the pages are stable
    return {**verb_pages(), **schema_files(), "docs/formats.md": formats_page()}
