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

from ..commands import command_line
from ..errors import InputError
from ..stage import StageConfig, StageResult
from .launch import LaunchRecord


class LaunchConfig(StageConfig):
    spec: Path
    backend: str = "local"
    run_id: str | None = None
    dry_run: bool = False
    evaluate: bool = Field(True, description="a local p_pass run that completes is evaluated against its gates")

    def command(self) -> list[str]:
        """The `jobs launch` command line that does exactly this."""
        return command_line(["jobs", "launch", str(self.spec)], ("--backend", self.backend),
                            ("--run-id", self.run_id), defaults={"--backend": "local"}) + \
            (["--dry-run"] if self.dry_run else []) + ([] if self.evaluate else ["--no-evaluate"])


class LaunchResult(StageResult):
    """What a launch did. `status`: refused (nothing started; `refusal` and `reasons` say why),
    dry_run (the payloads, nothing started or written), started (hf: jobs submitted), finished
    (local: every seed ran; `failed` names those that exited non-zero; `gates` when evaluated)."""

    schema_version: int = 1
    status: Literal["refused", "dry_run", "started", "finished"]
    code: int = Field(description="the exit code: 1 when refused or a seed failed")
    run_dir: Path | None = None
    refusal: str | None = None
    reasons: list[str] = Field(default_factory=list)
    payloads: list[dict] = Field(default_factory=list)
    record: LaunchRecord | None = None
    failed: list[str] = Field(default_factory=list)
    evidence: Path | None = None
    gates: list[dict] = Field(default_factory=list)
    merged: Path | None = Field(None, description="execute and generate: the shards joined")
    estimate: list[dict] = Field(default_factory=list, description="execute: candidates, expected wall time and "
                                                                   "price per shard")
    kept: list[str] = Field(default_factory=list, description="hf relaunch: seeds or shards whose earlier job was "
                                                              "kept (same payload, not failed)")

    def text(self) -> str:
        """What a person reads (a dry run: the payloads as JSON)."""
        return "\n".join(_describe(self)[0])

    def messages(self) -> list[str]:
        """A refusal and its reasons, or a dry run's estimate."""
        return _describe(self)[1]

    def exit_code(self) -> int:
        return self.code


def _refused(refusal: str, reasons: list[str]) -> LaunchResult:
    return LaunchResult(status="refused", code=1, refusal=refusal, reasons=reasons)


class _Checked(BaseModel):
    """What the checks before a launch found: the pack (p_pass), the sample file (execute), the
    estimate per shard; or the refusal that stops it."""

    pack: Path | None = None
    pack_arg: str | None = None
    samples_local: Path | None = None
    estimate: list[dict] = Field(default_factory=list)
    refused: LaunchResult | None = None


def launch_stage(config: LaunchConfig, command: list[str] | None = None) -> LaunchResult:
    """Secret scan, then preflight (of the pack, or of a surgery harvest), then one job per seed;
    the launch is refused (exit code 1, nothing started) unless both pass, whoever calls it. A
    local run that completes is evaluated against the spec's gates."""
    from .launch import prepare

    spec, _text, payloads, refusals = prepare(config.spec, config.run_id, config.backend)
    if refusals:  # before anything else: no request, no download, no subprocess
        return _secrets_refused(refusals)
    run_dir = Path(spec.outputs.dir.format(name=spec.name))
    run_dir = run_dir if run_dir.is_absolute() else (config.spec.parent / run_dir).resolve()
    checked = _check_before_launch(spec, config, payloads, run_dir)
    if checked.refused:
        return checked.refused
    if config.dry_run:
        return LaunchResult(status="dry_run", code=0, run_dir=run_dir, estimate=checked.estimate,
                            payloads=[p.model_dump(mode="json") for p in payloads])
    if config.backend == "hf":
        return _launch_hf(spec, config, payloads, run_dir, checked)
    return _launch_local(spec, config, payloads, run_dir, checked, command)


def _secrets_refused(refusals) -> LaunchResult:
    return _refused(f"{len(refusals)} secret finding(s) in what would leave this machine",
                    [r.describe() for r in refusals])


def _check_before_launch(spec, config: LaunchConfig, payloads, run_dir: Path) -> _Checked:
    """The checks of the spec's task: the sample file (execute), the model (generate), the harvest
    and the lessons (surgery), or preflight of the pack (p_pass)."""
    if spec.task == "execute":
        problems, estimate, samples_local = _execute_preflight(spec, config.spec, config.backend)
        return _Checked(samples_local=samples_local, estimate=estimate,
                        refused=_refused("the sample file cannot be executed", problems) if problems else None)
    if spec.task == "generate":
        problems, estimate = _generate_preflight(spec, config.spec, config.backend)
        return _Checked(estimate=estimate, refused=_refused("the model cannot be sampled as specified", problems)
                        if problems else None)
    if spec.task == "surgery":
        problems, lessons = _surgery_preflight(spec, payloads[0].command)
        if problems:
            return _Checked(refused=_refused("the harvest is not ready for training", problems))
        return _Checked(refused=_refused("the hyperparameters break the surgery lessons (override_lessons: true to "
                                         "train anyway, recorded)", lessons) if lessons else None)
    return _pack_preflight(spec, config, payloads, run_dir)


def _pack_preflight(spec, config: LaunchConfig, payloads, run_dir: Path) -> _Checked:
    from ..hub import resolve_pack
    from ..preflight.run import preflight
    from .launch import require_local_pack

    if config.backend == "local":
        require_local_pack(spec, config.spec)
    pack_arg = payloads[0].command[payloads[0].command.index("--pack") + 1]
    pack = resolve_pack(pack_arg)  # a Hub pack is downloaded at its pinned revision and checked here
    report = preflight(pack, config.spec, None if config.dry_run else run_dir / "preflight.json", progress=False)
    refused = None if report.ok else _refused(
        f"preflight is NOT OK for {pack_arg}", [f"{c.status:7s} {c.name}: observed {c.observed}, required "
                                                f"{c.required}  {c.reason}" for c in report.checks
                                                if c.status != "pass"])
    return _Checked(pack=pack, pack_arg=pack_arg, refused=refused)


def _record(spec, config: LaunchConfig, payloads, checked: _Checked, samples_sha: str | None) -> LaunchRecord:
    from ..io import sha256_file

    samples_arg = payloads[0].command[payloads[0].command.index("--samples") + 1] if spec.task == "execute" else None
    return LaunchRecord(run_id=payloads[0].labels["run_id"], backend=config.backend, spec=str(config.spec.resolve()),
                        spec_sha256=sha256_file(config.spec), seeds=[p.seed for p in payloads],
                        payload_sha256={str(p.seed): p.digest() for p in payloads}, pack=checked.pack_arg,
                        samples=samples_arg, samples_sha256=samples_sha, task=spec.task,
                        outputs_repo=spec.outputs.hub_repo if config.backend == "hf" else None)


def _launch_hf(spec, config: LaunchConfig, payloads, run_dir: Path, checked: _Checked) -> LaunchResult:
    """One Hugging Face Job per seed or shard (an execute spec's samples uploaded and pinned first);
    jobs of an earlier launch with the same payload are kept."""
    from ..io import sha256_file
    from .launch import prepare, resolve_secrets, run_hf

    secrets = resolve_secrets(spec.secrets)
    previous = _previous_launch(run_dir)
    samples_sha = sha256_file(checked.samples_local) if checked.samples_local else None
    if spec.task == "execute" and not spec.execute.samples_revision:
        revision = _uploaded_samples(spec, checked.samples_local, samples_sha, previous)
        spec, _text, payloads, refusals = prepare(config.spec, config.run_id, config.backend, revision)
        if refusals:
            return _secrets_refused(refusals)
    run_dir.mkdir(parents=True, exist_ok=True)
    record = run_hf(payloads, _record(spec, config, payloads, checked, samples_sha), run_dir, secrets, previous)
    return LaunchResult(status="started", code=0, run_dir=run_dir, record=record,
                        kept=[seed for seed, job in record.jobs.items() if previous and seed in previous.jobs
                              and previous.jobs[seed].get("job_id") == job.get("job_id")])


def _launch_local(spec, config: LaunchConfig, payloads, run_dir: Path, checked: _Checked,
                  command: list[str] | None) -> LaunchResult:
    """Each seed or shard a subprocess here; then shards merged, or a p_pass run evaluated."""
    from ..io import sha256_file
    from .launch import run_local

    samples_sha = sha256_file(checked.samples_local) if checked.samples_local else None
    run_dir.mkdir(parents=True, exist_ok=True)
    sharded = spec.execute or spec.generate
    record = run_local(payloads, _record(spec, config, payloads, checked, samples_sha), run_dir,
                       parallel=sharded.parallel if sharded else 1)
    failed = [seed for seed, job in record.jobs.items() if job.get("exit_code")]
    result = LaunchResult(status="finished", code=1 if failed else 0, run_dir=run_dir, record=record, failed=failed)
    if not failed and spec.task in ("execute", "generate"):
        from .fetch import merge_shards

        result.merged = merge_shards(spec.task, [Path(p.out_dir) for p in payloads], run_dir, command or [])
    if not failed and spec.task == "p_pass" and spec.gates and config.evaluate:
        gates = _evaluate_run(run_dir, checked.pack, payloads, (config.spec.parent / spec.gates).resolve(), command)
        result.evidence, result.gates = run_dir / "evidence", gates
        result.code = 0 if all(g["status"] == "pass" for g in gates) else 1
    return result


def _describe(result: LaunchResult) -> tuple[list[str], list[str]]:
    """The lines a person reads about a launch: (stdout, stderr)."""
    if result.status == "refused":
        return [], [f"launch refused: {result.refusal}", *(f"  {r}" for r in result.reasons)]
    if result.status == "dry_run":
        return [json.dumps(result.payloads, indent=2)], describe_estimate(result.estimate)
    record, run_dir = result.record, result.run_dir
    if result.status == "started":
        unit = "shard" if record.task in ("execute", "generate") else "seed"
        return [*(f"{unit} {seed}: job {job['job_id']} {job['stage']}" + (" (kept)" if seed in result.kept else "") +
                  f"  {job['url']}" for seed, job in record.jobs.items()),
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
# 129.0 candidates/s with 3 workers, about 64 per core.
CANDIDATES_PER_CORE_S = 64.0
FLAVOR_CORES = {"cpu-basic": 2, "cpu-upgrade": 8, "cpu-performance": 8, "cpu-xl": 16}


def describe_estimate(estimate: list[dict]) -> list[str]:
    lines = []
    for e in estimate:
        price = f"about ${e['price_usd']:.4f}" if e.get("price_usd") is not None else "price: unknown"
        time = (f"about {e['expected_seconds']} s" if e.get("expected_seconds") is not None else
                "time: unknown (set generate.samples_per_second to a rate you measured)")
        lines.append(f"shard {e['shard']}: {e['candidates']} {e.get('unit', 'candidates')}, {time} on "
                     f"{e['flavor']} ({e['basis']}; {price})")
    if estimate:
        total = sum(e["candidates"] for e in estimate)
        times = [e.get("expected_seconds") for e in estimate]
        prices = [e.get("price_usd") for e in estimate]
        lines.append(f"all {len(estimate)} shards: {total} {estimate[0].get('unit', 'candidates')}" +
                     (f", about {max(times)} s wall if they run at once" if None not in times else "") +
                     (f", about ${sum(prices):.4f}" if None not in prices else ""))
    return lines


def _flavor_hardware(flavor: str, backend: str) -> tuple[int, float | None]:
    """(cores, USD per second) of a flavor: from the Jobs hardware list when the Hub is reachable
    (hf backend), else the known core counts and no price."""
    if backend == "hf":
        try:
            from ..hub import api

            for hw in api().list_jobs_hardware():
                if hw.name == flavor:
                    cores = int(str(hw.cpu).split()[0]) if hw.cpu else FLAVOR_CORES.get(flavor, 2)
                    per = {"second": 1, "minute": 60, "hour": 3600}.get(str(hw.unit_label), None)
                    return cores, (hw.unit_cost_usd / per if per and hw.unit_cost_usd is not None else None)
        except Exception:  # noqa: BLE001 - the estimate is advice: an unreachable Hub leaves the price unknown
            pass
    return FLAVOR_CORES.get(flavor, 2), None


def _execute_preflight(spec, spec_path: Path, backend: str = "local") -> tuple[list[str], list[dict], Path]:
    """An execute job's inputs: the benchmark loads (on the hf backend: without a data directory,
    as in the job), the sample file reads (from the Hub at its revision when the spec pins one),
    nothing in it is a credential; and the cost model: candidates, expected wall time and price
    per shard, from the measured throughput and the flavor's cores and price."""
    from ..benchmarks import load_benchmark
    from ..candidates.readers import read_candidates
    from ..execution.shards import shard_of
    from ..secrets.files import scan_paths

    job = spec.execute
    if backend == "hf" and job.samples_repo and job.samples_revision:
        from ..hub import download_file
        from .launch import samples_argument

        samples = download_file(samples_argument(spec, spec_path, backend))
    else:
        samples = (spec_path.parent / job.samples).resolve()
    data_dir = (spec_path.parent / job.data_dir).resolve() if job.data_dir else None
    if not samples.is_file():
        raise InputError(f"no sample file at {samples}", path=str(spec_path), line=spec.line("execute", "samples"),
                         field="execute.samples")
    try:
        bench = load_benchmark(job.benchmark, data_dir)
    except InputError as exc:
        if backend != "hf":
            raise
        raise InputError(f"benchmark {job.benchmark!r} does not load without a data directory, and a Hub job has "
                         f"none ({exc})", path=str(spec_path), line=spec.line("execute", "benchmark"),
                         field="execute.benchmark") from None
    candidates = read_candidates(str(samples), bench, job.samples_format)
    problems = [f"secret: {f.describe()}" for f in scan_paths([samples])[0]]
    counts = [0] * job.shards
    for c in candidates:
        counts[shard_of(c.task_id, job.shards) - 1] += 1
    cores, usd_per_s = _flavor_hardware(spec.flavor, backend)
    rate = CANDIDATES_PER_CORE_S * cores
    estimate = [{"shard": f"{i + 1}/{job.shards}", "candidates": n, "expected_seconds": round(n / rate, 1),
                 "flavor": spec.flavor, "cores": cores,
                 "basis": f"{cores} cores at {CANDIDATES_PER_CORE_S:g} candidates/s per core",
                 "price_usd": round(n / rate * usd_per_s, 6) if usd_per_s is not None else None}
                for i, n in enumerate(counts)]
    if not candidates:
        problems.append(f"no candidates in {samples}")
    return problems, estimate, samples


def _generate_preflight(spec, spec_path: Path, backend: str = "local") -> tuple[list[str], list[dict]]:
    """A generate job's inputs: the model is there (a local directory with config.json; a Hub model
    is named at a revision), the benchmark loads (on the hf backend without a data directory), the
    vllm engine is installed when it would run here; and the estimate: samples per shard, with a
    time and price when the spec gives a measured rate."""
    from ..benchmarks import load_benchmark
    from ..execution.shards import shard_of

    job = spec.generate
    problems = []
    if job.model.startswith("hf://"):
        from ..hub import parse_file_ref, parse_ref

        text = job.model
        ref = parse_file_ref(text)[0] if "/" in text.split("@", 1)[-1] and "@" in text else parse_ref(text)
        if not ref.revision:
            problems.append(f"generate.model {text} names no revision (hf://OWNER/NAME@REVISION)")
    elif not ((spec_path.parent / job.model) / "config.json").is_file():
        raise InputError(f"no model directory at {(spec_path.parent / job.model).resolve()} (no config.json)",
                         path=str(spec_path), line=spec.line("generate", "model"), field="generate.model")
    if job.engine == "vllm" and backend == "local":
        import importlib.util

        if importlib.util.find_spec("vllm") is None:
            problems.append("engine vllm is not installed here: pip install 'codelewm-eval[vllm]' (a GPU machine)")
    data_dir = (spec_path.parent / job.data_dir).resolve() if job.data_dir and backend != "hf" else None
    try:
        bench = load_benchmark(job.benchmark, data_dir)
    except InputError as exc:
        raise InputError(f"benchmark {job.benchmark!r} does not load" + (" without a data directory, and a Hub job "
                         "has none" if backend == "hf" else "") + f" ({exc})", path=str(spec_path),
                         line=spec.line("generate", "benchmark"), field="generate.benchmark") from None
    tasks = list(bench.problems)[:job.limit] if job.limit else list(bench.problems)
    counts = [0] * job.shards
    for task in tasks:
        counts[shard_of(task, job.shards) - 1] += job.n
    cores, usd_per_s = _flavor_hardware(spec.flavor, backend)
    rate = job.samples_per_second
    estimate = []
    for i, n in enumerate(counts):
        seconds = round(n / rate, 1) if rate else None
        estimate.append({"shard": f"{i + 1}/{job.shards}", "candidates": n, "unit": "samples",
                         "expected_seconds": seconds, "flavor": spec.flavor, "cores": cores,
                         "basis": f"{job.engine}, {rate:g} samples/s as measured" if rate else job.engine,
                         "price_usd": round(seconds * usd_per_s, 6) if seconds is not None and usd_per_s else None})
    return problems, estimate


def _previous_launch(run_dir: Path) -> LaunchRecord | None:
    """The record of an earlier launch into this run directory, if it reads."""
    if not (run_dir / "launch.json").is_file():
        return None
    try:
        return LaunchRecord.read(run_dir)
    except InputError:
        return None


def _uploaded_samples(spec, samples: Path, sha: str, previous: LaunchRecord | None) -> str:
    """The commit holding the sample file in execute.samples_repo: the earlier launch's upload of
    the very same file, else a new upload (secret-scanned first)."""
    from ..hub import parse_file_ref, upload_file

    if previous and previous.samples and previous.samples_sha256 == sha and previous.samples.startswith("hf://"):
        return parse_file_ref(previous.samples)[0].revision
    return upload_file(samples, spec.execute.samples_repo, samples.name, f"{spec.name}: samples to execute")


def _surgery_preflight(spec, command: list[str]) -> tuple[list[str], list[str]]:
    """A surgery job's preflight: (problems of the harvest: it verifies, has rows, carries no
    secret; lessons the hyperparameters break, unless the spec overrides them)."""
    from ..hub import is_hub_ref, materialize, parse_ref
    from ..io import default_cache_dir
    from ..manifest import failures, verify
    from ..secrets.files import scan_paths
    from ..surgery.harvest import read_rows
    from ..surgery.sft import SftConfig, lesson_problems

    harvest_arg = command[command.index("--harvest") + 1]
    if is_hub_ref(harvest_arg):
        ref = parse_ref(harvest_arg)
        harvest = materialize(ref, default_cache_dir() / "hub-harvests" / ref.repo_id.replace("/", "--") /
                              (ref.revision or "main"))
    else:
        harvest = Path(harvest_arg)
    problems = [f"manifest: {p.kind} {p.path}: {p.detail}" for p in failures(verify(harvest))]
    if problems:
        return problems, []
    rows = len(read_rows(harvest / "train.jsonl"))
    if not rows:
        problems.append("train.jsonl has no rows")
    knobs = {k: v for k, v in spec.hyperparameters.items() if k in ("rank", "lr", "epochs", "anchor_weight")}
    cfg = SftConfig(base_model=spec.base_model or "-", seed=0, run_id="-", **knobs)
    if cfg.anchor_weight > 0:
        rows += sum(1 for a in read_rows(harvest / "anchors.jsonl") if a.role == "train")
    findings, _, _ = scan_paths([harvest / "train.jsonl", harvest / "anchors.jsonl"], set())
    problems += [f"secret: {f.describe()}" for f in findings]
    lessons = [] if spec.hyperparameters.get("override_lessons") else lesson_problems(cfg, rows)
    return problems, lessons


def _evaluate_run(run_dir: Path, pack: Path, payloads, gates: Path, command: list[str] | None) -> list[dict]:
    """After a local run: the evidence of every seed against the spec's gates, in RUN/evidence."""
    from ..evidence.evaluate import evaluate
    from ..evidence.gates import load_gate_spec

    result = evaluate(pack, [Path(p.out_dir) / "scores.jsonl" for p in payloads], load_gate_spec(gates),
                      run_dir / "evidence", command=command or [])
    return result["gates"]
