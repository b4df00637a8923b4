"""`jobs launch`: preflight, then one payload per seed, secret-scanned before anything leaves.

A payload is what a backend needs to start one seed: the command (`codelewm-eval train ...`),
env, secret names, flavor, timeout, image or uv dependencies, labels (run id and seed). Every
string that would leave the machine is scanned: env values, the command and its arguments, the
script text, the spec, and the files to upload. Any finding, or a token-like variable (HF_TOKEN,
*_API_KEY, *_TOKEN, *_SECRET, ...) given a plain value instead of being named in `secrets`,
refuses the launch (exit 1) with redacted findings, before any request.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import warnings
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_serializer

from ..errors import InputError
from ..io import write_json_atomic
from ..log import get as _get_logger
from ..preflight.jobspec import JobSpec
from ..secrets import Finding, scan_text

_log = _get_logger(__name__)

SCHEMA_VERSION = 1
TOKEN_LIKE = re.compile(r"(^HF_TOKEN$|TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY)", re.I)
_FLAGS = {"base_model": "--base-model", "rank": "--rank", "alpha": "--alpha", "lr": "--lr", "epochs": "--epochs",
          "max_length": "--max-length", "batch_size": "--batch-size", "max_train_rows": "--max-train-rows",
          "device": "--device", "dtype": "--dtype"}
_SURGERY_FLAGS = {"rank": "--rank", "alpha": "--alpha", "lr": "--lr", "epochs": "--epochs",
                  "max_length": "--max-length", "batch_size": "--batch-size", "target_modules": "--target-modules",
                  "checkpoint_every": "--checkpoint-every", "anchor_weight": "--anchor-weight",
                  "device": "--device", "dtype": "--dtype", "isolation": "--isolation"}
_SURGERY_SWITCHES = {"override_lessons": "--override-lessons", "load_4bit": "--load-4bit",
                     "merge_anyway": "--merge-anyway"}


class Payload(BaseModel):
    seed: int
    name: str
    command: list[str] = Field(description="the `codelewm-eval train ...` command of this seed")
    job_command: list[str] = Field(description="exactly what the job runs: the command, or `uv run --with DEP ... "
                                               "COMMAND` for a uv job (no image)")
    image: str | None = None
    dependencies: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    secrets: list[str] = Field(default_factory=list, description="names; values are resolved by the backend")
    flavor: str
    timeout: str | int | None
    labels: dict[str, str]
    out_dir: str

    def digest(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


Refusal = Finding  # why a launch was refused: one finding format everywhere (redacted: where, line, kind, digest)


def pack_argument(spec: JobSpec, spec_path: Path, backend: str) -> str:
    """What `train --pack` gets: the local pack, or the Hub pack at its pinned revision."""
    hub = spec.pack.hub_repo and f"hf://datasets/{spec.pack.hub_repo}" + (
        f"@{spec.pack.revision}" if spec.pack.revision else "")
    if backend == "hf":
        if not spec.pack.hub_repo or not spec.pack.revision:
            raise InputError("a Hub job cannot read a pack on this machine: upload the pack to a dataset repo and "
                             "set pack.hub_repo and pack.revision (the commit to train on)", path=str(spec_path),
                             line=spec.line("pack"), field="pack")
        return hub
    if spec.pack.path:
        return str((spec_path.parent / spec.pack.path).resolve())
    if hub:
        return hub
    raise InputError("the spec names no pack (pack.path or pack.hub_repo)", path=str(spec_path), field="pack")


def require_local_pack(spec: JobSpec, spec_path: Path) -> None:
    """A local pack the spec names must be there (said with the spec's line, before any work)."""
    if not spec.pack.path:
        return
    path = (spec_path.parent / spec.pack.path).resolve()
    if not (path / "rows.jsonl").is_file():
        raise InputError(f"no pack at {path}" + (" (a directory without rows.jsonl)" if path.is_dir() else "") +
                         "; build it with `codelewm-eval pack build`, or fix pack.path (relative to the spec)",
                         path=str(spec_path), line=spec.line("pack", "path"), field="pack.path")


def harvest_argument(spec: JobSpec, spec_path: Path, backend: str) -> str:
    if not spec.harvest or not spec.base_model:
        raise InputError("a surgery job names its harvest and base_model", path=str(spec_path),
                         line=spec.line("harvest"), field="harvest")
    if spec.harvest.startswith("hf://"):
        return spec.harvest
    if backend == "hf":
        raise InputError("a Hub job cannot read a harvest on this machine: upload it to a dataset repo and set "
                         "harvest: hf://datasets/OWNER/NAME@REVISION", path=str(spec_path),
                         line=spec.line("harvest"), field="harvest")
    return str((spec_path.parent / spec.harvest).resolve())


def _p_pass_command(spec: JobSpec, spec_path: Path, backend: str, seed: int, out: str, run_id: str) -> list[str]:
    command = ["codelewm-eval", "train", "--pack", pack_argument(spec, spec_path, backend), "--seed", str(seed),
               "--scorer", spec.scorer, "--out", out, "--run-id", run_id]
    return _with_hyperparameters(command, spec, spec_path, _FLAGS, {})


def _surgery_command(spec: JobSpec, spec_path: Path, backend: str, seed: int, out: str, run_id: str) -> list[str]:
    command = ["codelewm-eval", "surgery", "train", "--harvest", harvest_argument(spec, spec_path, backend),
               "--base-model", spec.base_model, "--seed", str(seed), "--out", out, "--run-id", run_id]
    return _with_hyperparameters(command, spec, spec_path, _SURGERY_FLAGS, _SURGERY_SWITCHES)


def _with_hyperparameters(command: list[str], spec: JobSpec, spec_path: Path, flags: dict, switches: dict
                          ) -> list[str]:
    """The spec's hyperparameters as the flags of the seed's command (an unknown one is refused)."""
    unknown = sorted(set(spec.hyperparameters) - set(flags) - set(switches) - {"loss_weights"})
    if unknown:
        raise InputError(f"unknown hyperparameter(s) {unknown}; known: {', '.join(sorted(flags))}", path=str(spec_path),
                         line=spec.line("hyperparameters", unknown[0]), field=f"hyperparameters.{unknown[0]}")
    for key, value in spec.hyperparameters.items():
        if key == "loss_weights":
            for rule, weight in value.items():
                command += ["--loss-weight", f"{rule}={weight}"]
        elif key in switches:
            command += [switches[key]] if value else []
        else:
            command += [flags[key], ",".join(value) if isinstance(value, list) else str(value)]
    return command


UPLOAD_PENDING = "UPLOAD"  # a dry run's stand-in for the commit the launch's upload of the samples will make


def samples_argument(spec: JobSpec, spec_path: Path, backend: str, revision: str | None = None) -> str:
    """What `execute --samples` gets: the local file, or on the hf backend the file on the Hub at
    its pinned revision (the spec's, else the commit of the launch's own upload)."""
    job = spec.execute
    if backend != "hf":
        return str((spec_path.parent / job.samples).resolve())
    if not job.samples_repo:
        raise InputError("a Hub job cannot read a sample file on this machine: set execute.samples_repo (a dataset "
                         "repo the launch uploads the file to, or that holds it at execute.samples_revision)",
                         path=str(spec_path), line=spec.line("execute"), field="execute.samples_repo")
    if job.samples_revision:
        return f"hf://datasets/{job.samples_repo}@{job.samples_revision}/{job.samples.lstrip('/')}"
    return f"hf://datasets/{job.samples_repo}@{revision or UPLOAD_PENDING}/{Path(job.samples).name}"


def _shard_payloads(spec: JobSpec, run_id: str, backend: str, shards: int, deps: list[str], stem: str,
                    command_of) -> list[Payload]:
    """One payload per shard I of N (`seed` holds I): `command_of(I, OUT)` is the stage's command;
    on the hf backend each shard pushes its output to outputs.hub_repo/RUN_ID/ and runs as a uv
    job with `deps` unless the spec names an image."""
    hub = backend == "hf"
    payloads = []
    for i in range(1, shards + 1):
        out = f"{stem}-{i}-of-{shards}.jsonl"
        command = command_of(i, out)
        if hub:
            command += ["--push-to", spec.outputs.hub_repo, "--push-path", run_id]
        job_command = command if spec.image or not hub else ["uv", "run", *[a for d in deps for a in ("--with", d)],
                                                             *command]
        payloads.append(Payload(seed=i, name=f"{spec.name}-shard-{i}-of-{shards}", command=command,
                                job_command=job_command, image=spec.image,
                                dependencies=deps if hub and not spec.image else [], env=dict(spec.env),
                                secrets=list(spec.secrets), flavor=spec.flavor, timeout=spec.timeout,
                                labels={**spec.labels, "run_id": run_id, "shard": f"{i}/{shards}"}, out_dir=out))
    return payloads


def _require_outputs_repo(spec: JobSpec, spec_path: Path, what: str) -> None:
    if not spec.outputs.hub_repo:
        raise InputError(f"a Hub job's {what} are lost unless uploaded: set outputs.hub_repo (a model repo)",
                         path=str(spec_path), line=spec.line("outputs"), field="outputs.hub_repo")


def _execute_payloads(spec: JobSpec, spec_path: Path, run_id: str, backend: str, out_root: str,
                      samples_revision: str | None = None) -> list[Payload]:
    """One `execute --shard I/N` per shard; `seed` holds the shard number I. On the hf backend each
    shard reads the samples from the Hub and pushes its results to outputs.hub_repo/RUN_ID/."""
    job = spec.execute
    if job is None:
        raise InputError("a task: execute spec needs an `execute:` section (benchmark, samples, shards)",
                         path=str(spec_path), line=spec.line("task"), field="execute")
    if backend == "hf":
        if job.data_dir:
            raise InputError("a Hub job cannot read benchmark data on this machine: drop execute.data_dir (the job "
                             "uses the benchmark that ships with the package)", path=str(spec_path),
                             line=spec.line("execute", "data_dir"), field="execute.data_dir")
        _require_outputs_repo(spec, spec_path, "results")
        out_root = f"runs/{run_id}"  # inside the job
    samples = samples_argument(spec, spec_path, backend, samples_revision)

    def command_of(i: int, out: str) -> list[str]:
        command = ["codelewm-eval", "execute", "--benchmark", job.benchmark, "--samples", samples, "--samples-format",
                   job.samples_format, "--shard", f"{i}/{job.shards}", "--out", out, "--no-progress"]
        if job.data_dir:
            command += ["--data-dir", str((spec_path.parent / job.data_dir).resolve())]
        if job.isolation != "auto":
            command += ["--isolation", job.isolation]
        return command

    return _shard_payloads(spec, run_id, backend, job.shards, spec.dependencies or ["codelewm-eval"],
                           f"{out_root}/shard", command_of)


def _generate_payloads(spec: JobSpec, spec_path: Path, run_id: str, backend: str, out_root: str) -> list[Payload]:
    """One `generate --shard I/N` per shard; `seed` holds the shard number I. On the hf backend the
    model is read from the Hub at its revision and each shard pushes its samples."""
    job = spec.generate
    if job is None:
        raise InputError("a task: generate spec needs a `generate:` section (model, benchmark, ...)",
                         path=str(spec_path), line=spec.line("task"), field="generate")
    hub = backend == "hf"
    model = job.model
    if hub:
        if not model.startswith("hf://"):
            raise InputError("a Hub job cannot read a model on this machine: push it to a model repo and set "
                             "generate.model: hf://OWNER/NAME@REVISION[/FOLDER]", path=str(spec_path),
                             line=spec.line("generate", "model"), field="generate.model")
        if job.data_dir:
            raise InputError("a Hub job cannot read benchmark data on this machine: drop generate.data_dir",
                             path=str(spec_path), line=spec.line("generate", "data_dir"), field="generate.data_dir")
        _require_outputs_repo(spec, spec_path, "samples")
        out_root = f"runs/{run_id}"
    elif not model.startswith("hf://"):
        model = str((spec_path.parent / model).resolve())

    def command_of(i: int, out: str) -> list[str]:
        command = ["codelewm-eval", "generate", "--model", model, "--benchmark", job.benchmark, "--engine", job.engine,
                   "--n", str(job.n), "--temperature", str(job.temperature), "--top-p", str(job.top_p),
                   "--max-new-tokens", str(job.max_new_tokens), "--batch-size", str(job.batch_size),
                   "--seed", str(job.seed), "--shard", f"{i}/{job.shards}", "--out", out, "--no-progress"]
        if job.limit:
            command += ["--limit", str(job.limit)]
        if job.data_dir:
            command += ["--data-dir", str((spec_path.parent / job.data_dir).resolve())]
        return command

    deps = spec.dependencies or [f"codelewm-eval[{'vllm' if job.engine == 'vllm' else 'train'}]"]
    return _shard_payloads(spec, run_id, backend, job.shards, deps, f"{out_root}/samples-shard", command_of)


def _local_out_root(spec: JobSpec, spec_path: Path) -> str:
    out_root = spec.outputs.dir.format(name=spec.name)
    return str((spec_path.parent / out_root).resolve()) if not os.path.isabs(out_root) else out_root


def execute_payloads(spec: JobSpec, spec_path: Path, run_id: str, backend: str = "local",
                     samples_revision: str | None = None) -> list[Payload]:
    return _execute_payloads(spec, spec_path, run_id, backend, _local_out_root(spec, spec_path), samples_revision)


def generate_payloads(spec: JobSpec, spec_path: Path, run_id: str, backend: str = "local",
                      samples_revision: str | None = None) -> list[Payload]:
    return _generate_payloads(spec, spec_path, run_id, backend, _local_out_root(spec, spec_path))


def p_pass_payloads(spec: JobSpec, spec_path: Path, run_id: str, backend: str = "local",
                    samples_revision: str | None = None) -> list[Payload]:
    """One `train` per seed."""
    _require_seeds(spec, spec_path)
    pack_argument(spec, spec_path, backend)  # fails early when the spec's pack cannot reach the backend
    return _seed_payloads(spec, spec_path, run_id, backend, _p_pass_command)


def surgery_payloads(spec: JobSpec, spec_path: Path, run_id: str, backend: str = "local",
                     samples_revision: str | None = None) -> list[Payload]:
    """One `surgery train` per seed."""
    return _seed_payloads(spec, spec_path, run_id, backend, _surgery_command)


def _require_seeds(spec: JobSpec, spec_path: Path) -> None:
    if not spec.seeds:
        raise InputError(f"a {spec.task} job names its seeds (the standard run: [42, 1729])", path=str(spec_path),
                         line=spec.line("seeds"), field="seeds")


def _seed_payloads(spec: JobSpec, spec_path: Path, run_id: str, backend: str, command_of) -> list[Payload]:
    """One payload per seed: `command_of(spec, spec_path, backend, seed, out, run_id)` is its command; on
    the hf backend each seed pushes its run to outputs.hub_repo when it ends."""
    _require_seeds(spec, spec_path)
    if backend == "hf":
        _require_outputs_repo(spec, spec_path, "outputs")
        out_root = f"runs/{run_id}"  # inside the job; uploaded to outputs.hub_repo when each seed ends
    else:
        out_root = _local_out_root(spec, spec_path)
    payloads = []
    for seed in spec.seeds:
        out = f"{out_root}/seed-{seed}"
        command = command_of(spec, spec_path, backend, seed, out, run_id)
        if backend == "hf":
            command += ["--push-to", spec.outputs.hub_repo]
        deps = spec.dependencies or ["codelewm-eval[train]"]
        job_command = command if spec.image else ["uv", "run", *[a for d in deps for a in ("--with", d)], *command]
        payloads.append(Payload(seed=seed, name=f"{spec.name}-seed-{seed}", command=command, job_command=job_command,
                                image=spec.image, dependencies=[] if spec.image else deps, env=dict(spec.env),
                                secrets=list(spec.secrets), flavor=spec.flavor, timeout=spec.timeout,
                                labels={**spec.labels, "run_id": run_id, "seed": str(seed)}, out_dir=out))
    return payloads


def _names_file(arg: str) -> bool:
    """An argument that names a path on this machine: it exists, or it holds a "/" and one of
    its directories (other than the root) exists, as an output directory about to be made does."""
    if not arg or arg.startswith("-") or "\n" in arg or len(arg) > 4096:
        return False
    try:
        path = Path(arg)
        if path.exists():
            return True
        return "/" in arg and any(parent.is_dir() for parent in path.parents if str(parent) not in ("/", "."))
    except (OSError, ValueError):
        return False


def scan_payloads(payloads: list[Payload], spec_text: str, spec_path: Path, uploads: list[Path] = ()) -> list[Refusal]:
    """Everything that would leave the machine, scanned in payload mode (patterns and entropy)."""
    refusals: list[Refusal] = []

    def scan(where: str, text: str) -> None:
        refusals.extend(scan_text(text, where=where, entropy=True))

    scan(str(spec_path), spec_text)
    for p in payloads:
        for key, value in p.env.items():
            if TOKEN_LIKE.search(key) and value.strip():
                refusals.append(Refusal(where=f"seed {p.seed} env {key}", kind="token-like variable passed as plain "
                                        "env: name it in `secrets` instead",
                                        digest=hashlib.sha256(value.encode()).hexdigest()[:12]))
            scan(f"seed {p.seed} env {key}", value)
        # arguments that name files (the pack, the run directory: `mktemp` names are random on purpose)
        # are read by the pattern detectors only; every other argument by patterns and entropy
        files = [a if _names_file(a) else "" for a in p.job_command]
        others = ["" if a else arg for a, arg in zip(files, p.job_command)]
        scan(f"seed {p.seed} command", "\n".join(others))
        refusals.extend(scan_text("\n".join(files), where=f"seed {p.seed} command"))
        for dep in p.dependencies:
            scan(f"seed {p.seed} dependencies", dep)
        for name in p.secrets:
            if not re.fullmatch(r"[A-Z_][A-Z0-9_]*", name):
                refusals.append(Refusal(where=f"seed {p.seed} secrets", kind="a secret must be a NAME, not a value",
                                        digest=hashlib.sha256(name.encode()).hexdigest()[:12]))
    for path in uploads:
        scan(str(path), Path(path).read_text(encoding="utf-8", errors="replace"))
    # one refusal per (where, line, kind, digest)
    unique = {(r.where, r.line, r.kind, r.digest): r for r in refusals}
    return list(unique.values())


class JobEntry(BaseModel):
    """One seed's (or shard's) job in launch.json: where it ran and how it ended or stands."""

    backend: Literal["local", "hf"]
    out_dir: str | None = None
    exit_code: int | str | None = Field(None, description="local: the process's exit code, or 'stopped with the "
                                                          "launcher'; none while it runs")
    resumed: bool | None = Field(None, description="local: complete and verified earlier, not run again")
    job_id: str | None = Field(None, description="hf: the Hugging Face Job")
    namespace: str | None = None
    url: str | None = None
    stage: str | None = Field(None, description="hf: the job's stage when the launcher last saw it")

    @model_serializer(mode="wrap")
    def _present_fields_only(self, handler):
        return {k: v for k, v in handler(self).items() if v is not None}


class LaunchRecord(BaseModel):
    schema_version: int = SCHEMA_VERSION
    run_id: str
    backend: str
    spec: str
    spec_sha256: str
    seeds: list[int]
    payload_sha256: dict[str, str]
    endpoint: str | None = Field(None, description="hf: the Hub endpoint the jobs were sent to")
    outputs_repo: str | None = Field(None, description="hf: the model repo each seed uploads its run into")
    pack: str | None = Field(None, description="the pack the seeds train on (a path or a Hub reference)")
    task: str = Field("p_pass", description="the spec's task: p_pass, surgery, execute or generate")
    samples: str | None = Field(None, description="execute: the sample file (a path or a Hub file reference)")
    samples_sha256: str | None = Field(None, description="execute: the sample file's hash (a relaunch reuses an "
                                                         "upload of the same file)")
    jobs: dict[str, JobEntry] = Field(default_factory=dict, description="seed (or shard) -> its job")

    @classmethod
    def read(cls, run_dir: str | os.PathLike) -> "LaunchRecord":
        """`RUN/launch.json`, validated (an InputError naming the file and field otherwise)."""
        from ..io import read_json, validated

        path = Path(run_dir) / "launch.json"
        if not path.is_file():
            raise InputError("no launch.json here: not a launched run", path=str(run_dir))
        return validated(cls, read_json(path), path)


def _done(p: Payload) -> bool:
    """A seed's run directory, or an execute shard's results file, that is complete and verifies."""
    from ..manifest import failures, manifest_path_for, verify

    target = Path(p.out_dir)
    manifest = manifest_path_for(target) if target.suffix == ".jsonl" else target / "manifest.json"
    return manifest.exists() and not failures(verify(target))


def run_local(payloads: list[Payload], record: LaunchRecord, run_dir: Path, parallel: int = 1) -> LaunchRecord:
    """Each seed as a subprocess of this machine (its events go to its own progress file and,
    behind the prefix, to this process's stderr)."""

    from .processes import run_seed

    exe = [sys.executable, "-m", "codelewm_eval.cli"]
    for p in payloads:  # a seed still running (an earlier launcher's, or a `train` by hand) is not touched
        holder = seed_lock_holder(Path(p.out_dir))
        if holder:
            raise InputError(f"seed {p.seed} is still running (pid {holder}); wait for it to end or stop it, then "
                             "launch again", path=p.out_dir)
    import threading
    from concurrent.futures import ThreadPoolExecutor

    lock = threading.Lock()

    def save() -> None:
        with lock:
            write_json_atomic(run_dir / "launch.json", record.model_dump(mode="json"))

    def one(p: Payload) -> None:
        if _done(p):  # resumable: a verified seed (or shard) is not redone
            what = f"shard {p.labels['shard']}" if "shard" in p.labels else f"seed {p.seed}"
            _log.info("%s: complete and verified, not run again (%s)", what, p.out_dir)
            record.jobs[str(p.seed)] = JobEntry(backend="local", exit_code=0, out_dir=p.out_dir, resumed=True)
            save()
            return
        record.jobs[str(p.seed)] = JobEntry(backend="local", out_dir=p.out_dir)
        save()
        try:
            code = run_seed(exe + p.command[1:], {**os.environ, **p.env}, _stdout_fd())
        except BaseException:
            record.jobs[str(p.seed)].exit_code = "stopped with the launcher"
            save()
            raise
        record.jobs[str(p.seed)].exit_code = code
        save()

    if parallel <= 1:
        for p in payloads:
            one(p)
        return record
    from .processes import stop_all

    pool = ThreadPoolExecutor(max_workers=parallel)  # each thread waits on its own process
    try:
        for future in [pool.submit(one, p) for p in payloads]:
            future.result()
    except BaseException:  # Ctrl-C or SIGTERM arrive in this thread: stop what the others wait on
        pool.shutdown(wait=False, cancel_futures=True)
        stop_all()
        raise
    pool.shutdown()
    return record


def seed_lock_holder(out_dir: Path) -> str | None:
    """The pid holding a seed directory's output lock (`.seed-N.lock`, taken by `train`), if any."""
    import fcntl

    lock = out_dir.parent / f".{out_dir.name}.lock"
    try:
        fd = os.open(lock, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
    finally:
        os.close(fd)
    return None


def _stdout_fd() -> int | None:
    """Where a seed's own output goes: this process's stdout as it stands now (`run` points it
    at stderr so its summary is alone on stdout), else inherited."""
    try:
        return sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def resolve_secrets(names: list[str]) -> dict[str, str]:
    """Secret values for a Hub job, from this machine's environment (HF_TOKEN: also the saved
    login). They go to the Jobs API as secrets and nowhere else: not into launch.json, not into
    env, not into any output."""
    values, missing = {}, []
    for name in names:
        value = os.environ.get(name)
        if not value and name == "HF_TOKEN":
            from huggingface_hub import get_token

            value = get_token()
        if value:
            values[name] = value
        else:
            missing.append(name)
    if missing:
        raise InputError(f"secret(s) {', '.join(missing)} named in the spec are not set in this environment; "
                         "export them (or `hf auth login` for HF_TOKEN) before launching", field="secrets")
    return values


LIVE_OR_DONE = ("SCHEDULING", "RUNNING", "COMPLETED")


def run_hf(payloads: list[Payload], record: LaunchRecord, run_dir: Path, secrets: dict[str, str],
           previous: LaunchRecord | None = None) -> LaunchRecord:
    """One Hugging Face Job per seed (or shard): `run_job` with the spec's image, else `run_uv_job`.
    The launch record is rewritten after each job, so a failure part-way says which started.

    Launched again into the same run (`previous`), a seed or shard whose job, with the very same
    payload, is scheduled, running or completed is kept; only the others (failed, canceled, never
    started, or changed) start again."""
    from ..hub import _hub_errors, api

    client = api()
    record.endpoint = client.endpoint
    for p in payloads:
        what = f"shard {p.labels['shard']}" if "shard" in p.labels else f"seed {p.seed}"
        kept = _still_good(client, previous, p)
        if kept is not None:
            record.jobs[str(p.seed)] = kept
            _log.info("%s: job %s is %s with the same payload; not started again", what, kept.job_id, kept.stage)
            continue
        common = dict(env=p.env or None, secrets={k: secrets[k] for k in p.secrets} or None, flavor=p.flavor,
                      timeout=p.timeout, labels=p.labels, name=p.name)
        with _hub_errors(f"starting the job of {what}"), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # run_uv_job is marked experimental
            if p.image:
                job = client.run_job(image=p.image, command=p.command, **common)
            else:
                job = client.run_uv_job(p.command[0], script_args=p.command[1:], dependencies=p.dependencies,
                                        **common)
        record.jobs[str(p.seed)] = JobEntry(backend="hf", job_id=job.id, namespace=job.owner.name, url=job.url,
                                            stage=str(getattr(job.status.stage, "value", job.status.stage)),
                                            out_dir=p.out_dir)
        write_json_atomic(run_dir / "launch.json", record.model_dump(mode="json"))
    write_json_atomic(run_dir / "launch.json", record.model_dump(mode="json"))
    return record


def _still_good(client, previous: LaunchRecord | None, p: Payload) -> JobEntry | None:
    """The previous launch's job of this payload, if it is the same payload and not lost."""
    if previous is None or previous.backend != "hf" or previous.payload_sha256.get(str(p.seed)) != p.digest():
        return None
    job = previous.jobs.get(str(p.seed))
    if not job or not job.job_id:
        return None
    from ..hub import _hub_errors

    with _hub_errors(f"inspecting job {job.job_id}"):
        info = client.inspect_job(job_id=job.job_id, namespace=job.namespace)
    stage = str(getattr(info.status.stage, "value", info.status.stage))
    return job.model_copy(update={"stage": stage}) if stage in LIVE_OR_DONE else None
