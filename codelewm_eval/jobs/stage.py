"""The launch stage: what `codelewm-eval jobs launch` and `run` both call.

Policy lives here, not in the CLI: everything that would leave the machine is secret-scanned
first (a finding refuses the launch before any request), then the pack (or a surgery job's
harvest) must pass preflight, and only then does one job per seed start, locally or on Hugging
Face Jobs. It returns a typed `LaunchResult`; `describe` gives the lines the CLI prints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from ..errors import InputError
from .launch import LaunchRecord


class LaunchConfig(BaseModel):
    spec: Path
    backend: str = "local"
    run_id: str | None = None
    dry_run: bool = False
    evaluate: bool = Field(True, description="a local p_pass run that completes is evaluated against its gates")


class LaunchResult(BaseModel):
    """What a launch did. `status`: refused (nothing started; `refusal` and `reasons` say why),
    dry_run (the payloads, nothing started or written), started (hf: jobs submitted), finished
    (local: every seed ran; `failed` names those that exited non-zero; `gates` when evaluated)."""

    status: Literal["refused", "dry_run", "started", "finished"]
    exit_code: int
    run_dir: Path | None = None
    refusal: str | None = None
    reasons: list[str] = Field(default_factory=list)
    payloads: list[dict] = Field(default_factory=list)
    record: LaunchRecord | None = None
    failed: list[str] = Field(default_factory=list)
    evidence: Path | None = None
    gates: list[dict] = Field(default_factory=list)
    merged: Path | None = Field(None, description="execute: the shards joined (execute-merge)")
    estimate: list[dict] = Field(default_factory=list, description="execute: candidates and expected wall time "
                                                                   "per shard")


def _refused(refusal: str, reasons: list[str]) -> LaunchResult:
    return LaunchResult(status="refused", exit_code=1, refusal=refusal, reasons=reasons)


def launch_stage(config: LaunchConfig, command: list[str] | None = None) -> LaunchResult:
    """Secret scan, then preflight (of the pack, or of a surgery harvest), then one job per seed;
    the launch is refused (exit code 1, nothing started) unless both pass, whoever calls it. A
    local run that completes is evaluated against the spec's gates."""
    from ..hub import resolve_pack
    from ..io import sha256_file
    from ..preflight.run import preflight
    from .launch import prepare, require_local_pack, resolve_secrets, run_hf, run_local

    spec_path = config.spec
    spec, text, payloads, refusals = prepare(spec_path, config.run_id, config.backend)
    if refusals:  # before anything else: no request, no download, no subprocess
        return _refused(f"{len(refusals)} secret finding(s) in what would leave this machine",
                        [r.describe() for r in refusals])
    run_dir = Path(spec.outputs.dir.format(name=spec.name))
    run_dir = run_dir if run_dir.is_absolute() else (spec_path.parent / run_dir).resolve()
    estimate: list[dict] = []
    if spec.task == "execute":
        pack = pack_arg = None
        problems, estimate = _execute_preflight(spec, spec_path)
        if problems:
            return _refused("the sample file cannot be executed", problems)
    elif spec.task == "surgery":
        pack = pack_arg = None
        problems = _surgery_preflight(spec, payloads[0].command)
        if problems:
            return _refused("the harvest is not ready for training", problems)
    else:
        if config.backend == "local":
            require_local_pack(spec, spec_path)
        pack_arg = payloads[0].command[payloads[0].command.index("--pack") + 1]
        pack = resolve_pack(pack_arg)  # a Hub pack is downloaded at its pinned revision and checked here
        report = preflight(pack, spec_path, None if config.dry_run else run_dir / "preflight.json", progress=False)
        if not report.ok:
            return _refused(f"preflight is NOT OK for {pack_arg}",
                            [f"{c.status:7s} {c.name}: observed {c.observed}, required {c.required}  {c.reason}"
                             for c in report.checks if c.status != "pass"])
    if config.dry_run:
        return LaunchResult(status="dry_run", exit_code=0, run_dir=run_dir, estimate=estimate,
                            payloads=[p.model_dump(mode="json") for p in payloads])
    secrets = resolve_secrets(spec.secrets) if config.backend == "hf" else {}
    run_dir.mkdir(parents=True, exist_ok=True)
    record = LaunchRecord(run_id=payloads[0].labels["run_id"], backend=config.backend, spec=str(spec_path.resolve()),
                          spec_sha256=sha256_file(spec_path), seeds=[p.seed for p in payloads],
                          payload_sha256={str(p.seed): p.digest() for p in payloads}, pack=pack_arg,
                          outputs_repo=spec.outputs.hub_repo if config.backend == "hf" else None)
    if config.backend == "hf":
        record = run_hf(payloads, record, run_dir, secrets)
        return LaunchResult(status="started", exit_code=0, run_dir=run_dir, record=record)
    record = run_local(payloads, record, run_dir, parallel=spec.execute.parallel if spec.execute else 1)
    failed = [seed for seed, job in record.jobs.items() if job.get("exit_code")]
    result = LaunchResult(status="finished", exit_code=1 if failed else 0, run_dir=run_dir, record=record,
                          failed=failed)
    if not failed and spec.task == "execute":
        from ..execution.shards import merge

        result.merged = run_dir / "results.jsonl"
        merge([Path(p.out_dir) for p in payloads], result.merged,
              ["codelewm-eval", "execute-merge", *(p.out_dir for p in payloads), "--out", str(result.merged)])
    if not failed and spec.task == "p_pass" and spec.gates and config.evaluate:
        gates = _evaluate_run(run_dir, pack, payloads, (spec_path.parent / spec.gates).resolve(), command)
        result.evidence, result.gates = run_dir / "evidence", gates
        result.exit_code = 0 if all(g["status"] == "pass" for g in gates) else 1
    return result


def describe(result: LaunchResult) -> tuple[list[str], list[str]]:
    """The lines a person reads about a launch: (stdout, stderr)."""
    if result.status == "refused":
        return [], [f"launch refused: {result.refusal}", *(f"  {r}" for r in result.reasons)]
    if result.status == "dry_run":
        cost = [f"shard {e['shard']}: {e['candidates']} candidates, about {e['expected_seconds']} s on {e['flavor']} "
                f"(at {CANDIDATES_PER_CORE_S:g} candidates/s per core; price: unknown)" for e in result.estimate]
        return [json.dumps(result.payloads, indent=2)], cost
    record, run_dir = result.record, result.run_dir
    if result.status == "started":
        return [*(f"seed {seed}: job {job['job_id']} {job['stage']}  {job['url']}" for seed, job in record.jobs.items()),
                f"run {record.run_id}: watch with `codelewm-eval jobs status {run_dir}`; when done, "
                f"`codelewm-eval jobs fetch {run_dir}` then `jobs verify`"], []
    out = [f"run {record.run_id}: seeds {', '.join(map(str, record.seeds))} -> {run_dir}" +
           (f"; FAILED: {', '.join(result.failed)}" if result.failed else "")]
    if result.merged:
        out.append(f"shards merged -> {result.merged}")
    if result.evidence:
        ok = all(g["status"] == "pass" for g in result.gates)
        out += [f"  gate {g['status']:7s} {g['name']}" for g in result.gates]
        out.append(f"evidence -> {result.evidence} ({'every gate passes' if ok else 'NOT every gate passes'})")
    return out, []


# Measured on a 2-core machine: `bench execute` on its default sample (timeouts included) runs
# 116.7 candidates/s, about 58 per core.
CANDIDATES_PER_CORE_S = 58.0
FLAVOR_CORES = {"cpu-basic": 2, "cpu-upgrade": 8, "cpu-performance": 8, "cpu-xl": 16}


def _execute_preflight(spec, spec_path: Path) -> tuple[list[str], list[dict]]:
    """An execute job's inputs: the benchmark loads, the sample file reads, nothing in it is a
    credential (it leaves the machine on a Hub backend); and the cost model: candidates and
    expected wall time per shard, from the measured throughput and the flavor's cores."""
    from ..benchmarks import load_benchmark
    from ..candidates.readers import read_candidates
    from ..execution.shards import shard_of
    from ..secrets.files import scan_paths

    job = spec.execute
    samples = (spec_path.parent / job.samples).resolve()
    data_dir = (spec_path.parent / job.data_dir).resolve() if job.data_dir else None
    if not samples.is_file():
        raise InputError(f"no sample file at {samples}", path=str(spec_path), line=spec.line("execute", "samples"),
                         field="execute.samples")
    bench = load_benchmark(job.benchmark, data_dir)
    candidates = read_candidates(str(samples), bench, job.samples_format)
    problems = [f"secret: {f.describe()}" for f in scan_paths([samples])[0]]
    counts = [0] * job.shards
    for c in candidates:
        counts[shard_of(c.task_id, job.shards) - 1] += 1
    rate = CANDIDATES_PER_CORE_S * FLAVOR_CORES.get(spec.flavor, 2)
    estimate = [{"shard": f"{i + 1}/{job.shards}", "candidates": n, "expected_seconds": round(n / rate, 1),
                 "flavor": spec.flavor, "price": None} for i, n in enumerate(counts)]
    if not candidates:
        problems.append(f"no candidates in {samples}")
    return problems, estimate


def _surgery_preflight(spec, command: list[str]) -> list[str]:
    """A surgery job's preflight: the harvest verifies, has rows, carries no secret, and the
    hyperparameters respect the reports' lessons (unless the spec overrides them)."""
    from ..hub import is_hub_ref, materialize, parse_ref
    from ..io import default_cache_dir
    from ..manifest import failures, verify
    from ..secrets.files import scan_paths
    from ..surgery.harvest import read_rows
    from ..surgery.sft import SftConfig, check_lessons

    harvest_arg = command[command.index("--harvest") + 1]
    if is_hub_ref(harvest_arg):
        ref = parse_ref(harvest_arg)
        harvest = materialize(ref, default_cache_dir() / "hub-harvests" / ref.repo_id.replace("/", "--") /
                              (ref.revision or "main"))
    else:
        harvest = Path(harvest_arg)
    problems = [f"manifest: {p.kind} {p.path}: {p.detail}" for p in failures(verify(harvest))]
    if problems:
        return problems
    rows = len(read_rows(harvest / "train.jsonl"))
    if not rows:
        problems.append("train.jsonl has no rows")
    findings, _, _ = scan_paths([harvest / "train.jsonl", harvest / "anchors.jsonl"], set())
    problems += [f"secret: {f.describe()}" for f in findings]
    knobs = {k: v for k, v in spec.hyperparameters.items() if k in ("rank", "lr", "epochs")}
    try:
        check_lessons(SftConfig(base_model=spec.base_model or "-", seed=0, run_id="-", **knobs), rows,
                      bool(spec.hyperparameters.get("override_lessons")))
    except InputError as exc:
        problems.append(f"lessons: {exc}")
    return problems


def _evaluate_run(run_dir: Path, pack: Path, payloads, gates: Path, command: list[str] | None) -> list[dict]:
    """After a local run: the evidence of every seed against the spec's gates, in RUN/evidence."""
    from ..evidence.evaluate import evaluate
    from ..evidence.gates import load_gate_spec

    result = evaluate(pack, [Path(p.out_dir) / "scores.jsonl" for p in payloads], load_gate_spec(gates),
                      run_dir / "evidence", command=command or [])
    return result["gates"]
