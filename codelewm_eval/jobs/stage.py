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

from pydantic import Field

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


def launch_stage(config: LaunchConfig, command: list[str] | None = None) -> LaunchResult:
    """Secret scan, then the checks of the spec's kind of job (preflight of the pack, of a surgery
    harvest, ...), then one job per seed or shard on the backend; the launch is refused (exit code 1,
    nothing started) unless both pass, whoever calls it. A local run that completes is finished by
    its kind (evidence against the spec's gates, or the shards merged)."""
    from .kinds import job_kind, prepare

    spec, _text, payloads, refusals = prepare(config.spec, config.run_id, config.backend)
    if refusals:  # before anything else: no request, no download, no subprocess
        return _secrets_refused(refusals)
    run_dir = Path(spec.outputs.dir.format(name=spec.name))
    run_dir = run_dir if run_dir.is_absolute() else (config.spec.parent / run_dir).resolve()
    checked = job_kind(spec.task).check(spec, config, payloads, run_dir)
    if checked.refusal:
        return _refused(checked.refusal, checked.reasons)
    if config.dry_run:
        return LaunchResult(status="dry_run", code=0, run_dir=run_dir, estimate=checked.estimate,
                            payloads=[p.model_dump(mode="json") for p in payloads])
    return BACKENDS[config.backend](spec, config, payloads, run_dir, checked, command)


def _secrets_refused(refusals) -> LaunchResult:
    return _refused(f"{len(refusals)} secret finding(s) in what would leave this machine",
                    [r.describe() for r in refusals])


def _record(spec, config: LaunchConfig, payloads, checked, samples_sha: str | None) -> LaunchRecord:
    from ..io import sha256_file

    return LaunchRecord(run_id=payloads[0].labels["run_id"], backend=config.backend, spec=str(config.spec.resolve()),
                        spec_sha256=sha256_file(config.spec), seeds=[p.seed for p in payloads],
                        payload_sha256={str(p.seed): p.digest() for p in payloads}, pack=checked.pack_arg,
                        samples=checked.samples_arg, samples_sha256=samples_sha, task=spec.task,
                        outputs_repo=spec.outputs.hub_repo if config.backend == "hf" else None)


def _launch_hf(spec, config: LaunchConfig, payloads, run_dir: Path, checked, command) -> LaunchResult:
    """One Hugging Face Job per seed or shard (a sample file uploaded and pinned first, unless the
    spec pins one); jobs of an earlier launch with the same payload are kept."""
    from ..io import sha256_file
    from .kinds import prepare
    from .launch import resolve_secrets, run_hf

    secrets = resolve_secrets(spec.secrets)
    previous = _previous_launch(run_dir)
    samples_sha = sha256_file(checked.samples_local) if checked.samples_local else None
    if checked.samples_local and not spec.execute.samples_revision:
        revision = _uploaded_samples(spec, checked.samples_local, samples_sha, previous)
        spec, _text, payloads, refusals = prepare(config.spec, config.run_id, config.backend, revision)
        if refusals:
            return _secrets_refused(refusals)
        checked = checked.model_copy(update={"samples_arg": payloads[0].command[
            payloads[0].command.index("--samples") + 1]})
    run_dir.mkdir(parents=True, exist_ok=True)
    record = run_hf(payloads, _record(spec, config, payloads, checked, samples_sha), run_dir, secrets, previous)
    return LaunchResult(status="started", code=0, run_dir=run_dir, record=record,
                        kept=[seed for seed, job in record.jobs.items() if previous and seed in previous.jobs
                              and previous.jobs[seed].job_id == job.job_id])


def _launch_local(spec, config: LaunchConfig, payloads, run_dir: Path, checked, command) -> LaunchResult:
    """Each seed or shard a subprocess here; then the kind finishes the run (evidence, or merged)."""
    from ..io import sha256_file
    from .kinds import job_kind
    from .launch import run_local

    samples_sha = sha256_file(checked.samples_local) if checked.samples_local else None
    run_dir.mkdir(parents=True, exist_ok=True)
    sharded = spec.execute or spec.generate
    record = run_local(payloads, _record(spec, config, payloads, checked, samples_sha), run_dir,
                       parallel=sharded.parallel if sharded else 1)
    failed = [seed for seed, job in record.jobs.items() if job.exit_code]
    result = LaunchResult(status="finished", code=1 if failed else 0, run_dir=run_dir, record=record, failed=failed)
    kind = job_kind(spec.task)
    if not failed and kind.finish:
        kind.finish(spec, config, payloads, run_dir, checked, command, result)
    return result


# the backends a launch runs on, by name (`jobs launch --backend`)
BACKENDS = {"local": _launch_local, "hf": _launch_hf}


def _describe(result: LaunchResult) -> tuple[list[str], list[str]]:
    """The lines a person reads about a launch: (stdout, stderr)."""
    if result.status == "refused":
        return [], [f"launch refused: {result.refusal}", *(f"  {r}" for r in result.reasons)]
    if result.status == "dry_run":
        from .checks import describe_estimate

        return [json.dumps(result.payloads, indent=2)], describe_estimate(result.estimate)
    record, run_dir = result.record, result.run_dir
    if result.status == "started":
        from .kinds import job_kind

        unit = job_kind(record.task).unit
        return [*(f"{unit} {seed}: job {job.job_id} {job.stage}" + (" (kept)" if seed in result.kept else "") +
                  f"  {job.url}" for seed, job in record.jobs.items()),
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
