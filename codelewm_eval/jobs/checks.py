"""What each kind of job checks before it launches (the pack's preflight, a surgery harvest and
its lessons, an execute job's sample file, a generate job's model), the estimate of its shards,
and what follows when its local jobs have finished (evidence, or the shards merged)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from ..errors import InputError


class Checked(BaseModel):
    """What the checks before a launch found: the pack (p_pass), the sample file (execute), the
    estimate per shard; or why the launch is refused (`refusal`, with its `reasons`)."""

    pack: Path | None = None
    pack_arg: str | None = None
    samples_local: Path | None = None
    samples_arg: str | None = None
    estimate: list[dict] = Field(default_factory=list)
    refusal: str | None = None
    reasons: list[str] = Field(default_factory=list)


def check_p_pass(spec, config, payloads, run_dir: Path) -> Checked:
    """Preflight of the pack (a Hub pack downloaded at its pinned revision and checked here)."""
    from ..hub import resolve_pack
    from ..preflight.run import preflight
    from .launch import require_local_pack

    if config.backend == "local":
        require_local_pack(spec, config.spec)
    pack_arg = payloads[0].command[payloads[0].command.index("--pack") + 1]
    pack = resolve_pack(pack_arg)  # a Hub pack is downloaded at its pinned revision and checked here
    report = preflight(pack, config.spec, None if config.dry_run else run_dir / "preflight.json", progress=False)
    if report.ok:
        return Checked(pack=pack, pack_arg=pack_arg)
    return Checked(pack=pack, pack_arg=pack_arg, refusal=f"preflight is NOT OK for {pack_arg}",
                   reasons=[f"{c.status:7s} {c.name}: observed {c.observed}, required {c.required}  {c.reason}"
                            for c in report.checks if c.status != "pass"])




def check_surgery(spec, config, payloads, run_dir: Path) -> Checked:
    problems, lessons = _surgery_preflight(spec, payloads[0].command)
    if problems:
        return Checked(refusal="the harvest is not ready for training", reasons=problems)
    if lessons:
        return Checked(refusal="the hyperparameters break the surgery lessons (override_lessons: true to train "
                               "anyway, recorded)", reasons=lessons)
    return Checked()


def check_execute(spec, config, payloads, run_dir: Path) -> Checked:
    problems, estimate, samples_local = _execute_preflight(spec, config.spec, config.backend)
    samples_arg = payloads[0].command[payloads[0].command.index("--samples") + 1]
    return Checked(samples_local=samples_local, samples_arg=samples_arg, estimate=estimate,
                   refusal="the sample file cannot be executed" if problems else None, reasons=problems)


def check_generate(spec, config, payloads, run_dir: Path) -> Checked:
    problems, estimate = _generate_preflight(spec, config.spec, config.backend)
    return Checked(estimate=estimate, refusal="the model cannot be sampled as specified" if problems else None,
                   reasons=problems)


def finish_p_pass(spec, config, payloads, run_dir: Path, checked: Checked, command, result) -> None:
    """The evidence of every seed against the spec's gates, in RUN/evidence (unless not asked)."""
    if not spec.gates or not config.evaluate:
        return
    gates = _evaluate_run(run_dir, checked.pack, payloads, (config.spec.parent / spec.gates).resolve(), command)
    result.evidence, result.gates = run_dir / "evidence", gates
    result.code = 0 if all(g["status"] == "pass" for g in gates) else 1


def merge_results(shards: list[Path], out: Path, command: list[str]) -> None:
    """An execute run's shards joined, with every check of `execute-merge`."""
    from ..execution.shards import merge

    merge(shards, out, ["codelewm-eval", "execute-merge", *map(str, shards), "--out", str(out)])


def merge_samples(shards: list[Path], out: Path, command: list[str]) -> None:
    """A generate run's sample shards joined (each task once, in benchmark order)."""
    from ..surgery.generate import merge_samples as merge

    merge(shards, out, command)


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
