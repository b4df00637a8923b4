"""`jobs status`: per seed, where a run stands, from its structured events alone.

A run directory holds one directory per seed (each a `train` run) or is itself one. Each seed's
stage comes from its `reports/job_progress.jsonl` (or events recovered from job logs): step /
max_steps, last loss, val AUC, ETA, age of the last event, and flags: stalled (no event for
`stall_after` seconds while running), diverged (a non-finite loss), failed. A torn last line and
unknown events are tolerated (and counted).
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from ..errors import InputError
from ..train.progress import read_events

if TYPE_CHECKING:
    from .launch import JobEntry

PROGRESS = Path("reports") / "job_progress.jsonl"


class SeedStatus(BaseModel):
    run: str
    seed: int | None
    stage: str = Field(description="not_started | running | complete | failed")
    phase: str | None = Field(None, description="train, or 'validate|score ROWS_DONE/ROWS_TOTAL'")
    step: int | None = None
    max_steps: int | None = None
    last_loss: float | None = None
    val_auc: float | None = None
    eta_s: float | None = None
    last_event_age_s: float | None = None
    flags: list[str] = Field(default_factory=list, description="stalled, diverged, failed")
    job_id: str | None = Field(None, description="hf: the Hugging Face Job of this seed")
    job_stage: str | None = Field(None, description="hf: the job's stage (inspect_job): SCHEDULING, RUNNING, "
                                                    "COMPLETED, ERROR, CANCELED, DELETED")
    error: str | None = None
    skipped_lines: int = 0


def seed_dirs(run: Path) -> list[Path]:
    run = Path(run)
    if (run / PROGRESS).exists() or (run / "config.json").exists():
        return [run]
    return sorted(p for p in run.iterdir() if p.is_dir() and ((p / PROGRESS).exists() or (p / "config.json").exists()))


def summarize(events: list[dict], run: str, skipped: int = 0, stall_after: float = 600.0,
              now: datetime | None = None) -> SeedStatus:
    now = now or datetime.now(timezone.utc)
    status = SeedStatus(run=run, seed=events[0]["seed"] if events else None, stage="not_started",
                        skipped_lines=skipped)
    for e in events:
        kind = e.get("event")
        if kind == "start":
            status.stage = "running"
        elif kind == "progress" and e.get("phase"):  # validating or scoring held-out rows
            done, total = e.get("rows_done"), e.get("rows_total")
            status.phase = f"{e['phase']} {done}/{total}" if done is not None and total else str(e["phase"])
            status.eta_s = _finite(e.get("eta_s"))
        elif kind == "progress":
            status.phase = "train"
            status.step, status.max_steps, status.eta_s = e.get("step"), e.get("max_steps"), _finite(e.get("eta_s"))
            loss = _number(e.get("loss"))
            status.last_loss = loss if loss is not None and math.isfinite(loss) else None
            if loss is None or e.get("loss_finite") is False or not math.isfinite(loss):
                if "diverged" not in status.flags:  # a missing, non-numeric ("nan" as a string) or infinite loss
                    status.flags.append("diverged")
        elif kind == "eval":
            auc = _number(e.get("val_auc"))
            status.val_auc = auc if auc is not None and math.isfinite(auc) else None
        elif kind == "complete":
            status.stage, status.eta_s = "complete", 0.0
        elif kind == "failed":
            status.stage, status.error = "failed", (str(e.get("error") or "").strip() or "no reason recorded")
            status.flags.append("failed")
    if events:
        try:
            last = datetime.fromisoformat(events[-1]["time"])
            status.last_event_age_s = round((now - last).total_seconds(), 1)
        except (KeyError, ValueError):
            pass
    if status.stage == "running" and status.last_event_age_s is not None and status.last_event_age_s > stall_after:
        status.flags.append("stalled")
    return status


_JOB_ID = re.compile(r"^[0-9a-f]{24}$")


def status_of(run: Path | str, stall_after: float = 600.0) -> list[SeedStatus]:
    """A run directory (local seeds, or a launch.json of Hub jobs), or a bare Hugging Face job id."""
    run_path = Path(run)
    if not run_path.exists() and _JOB_ID.match(str(run)):
        return [job_status(str(run), None, None, stall_after)]
    if not run_path.exists():
        raise InputError("no such run directory (nor a 24-hex job id)", path=str(run))
    if (run_path / "launch.json").exists():
        from .launch import LaunchRecord

        launch = LaunchRecord.read(run_path)
        if any(str(job.out_dir or "").endswith(".jsonl") for job in launch.jobs.values()):
            shard_status = _hf_shard_status if launch.backend == "hf" else _shard_status
            return [shard_status(int(seed), job) for seed, job in sorted(launch.jobs.items(), key=lambda kv: int(kv[0]))]
        if launch.backend == "hf":
            return [job_status(job.job_id, job.namespace, str(run_path / f"seed-{seed}"), stall_after)
                    for seed, job in sorted(launch.jobs.items(), key=lambda kv: int(kv[0]))]
    directories = seed_dirs(run)
    if not directories:
        raise InputError("no seed runs here yet (no config.json or reports/job_progress.jsonl)", path=str(run))
    from ..process_record import alive

    exits = _launcher_exits(run_path)
    out = []
    for directory in directories:
        path = directory / PROGRESS
        events, skipped = read_events(path) if path.exists() else ([], 0)
        status = summarize(events, str(directory), skipped, stall_after)
        if status.stage == "running" and alive(directory) is False:  # gone without a last word: killed
            code = exits.get(directory.resolve())
            status.stage, status.error = "failed", "the process is gone without a complete or failed event (" + (
                f"exit code {code}" if isinstance(code, int) else "killed") + ")"
            status.flags = [f for f in status.flags if f != "stalled"] + ["failed"]
        out.append(status)
    return out


def _shard_status(shard: int, job: JobEntry) -> SeedStatus:
    """An execute shard: complete once its results verify; running while its launcher has no
    exit code for it (with the records done so far); failed on a non-zero exit."""
    from ..manifest import failures, manifest_path_for, verify

    out = Path(job.out_dir)
    status = SeedStatus(run=str(out), seed=shard, stage="not_started")
    code = job.exit_code
    partial = out.with_name(out.name + ".partial")
    if manifest_path_for(out).exists() and not failures(verify(out)):
        status.stage = "complete"
    elif code not in (None, 0):
        status.stage, status.error = "failed", f"exit code {code}"
        status.flags.append("failed")
    elif partial.exists():
        generating = out.name.startswith("samples-shard")
        with open(partial, "rb") as fh:
            done = max(0, sum(1 for _ in fh) - (0 if generating else 1))  # execute's first line is the run key
        status.stage = "running"
        status.phase = f"generate {done} samples done" if generating else f"execute {done} candidates done"
    return status


def _hf_shard_status(shard: int, job: JobEntry) -> SeedStatus:
    """An execute shard on Hugging Face Jobs: the job's stage (inspect_job); complete only once its
    logs show the results uploaded (`execute --push-to` says so last)."""
    from ..hub import _hub_errors, api

    client = api()
    with _hub_errors(f"inspecting job {job.job_id}"):
        info = client.inspect_job(job_id=job.job_id, namespace=job.namespace)
        stage = str(getattr(info.status.stage, "value", info.status.stage))
        logs = list(client.fetch_job_logs(job_id=job.job_id, namespace=job.namespace, follow=False)) \
            if stage not in ("SCHEDULING",) else []
    status = SeedStatus(run=job.out_dir or "", seed=shard, stage="running", job_id=job.job_id,
                        job_stage=stage, phase="execute")
    uploaded = any("uploaded " in line for line in logs)  # execute and generate --push-to say so last
    if stage == "SCHEDULING":
        status.stage = "scheduling"
    elif stage == "COMPLETED" and uploaded:
        status.stage = "complete"
    elif stage in ("COMPLETED", "ERROR", "CANCELED", "DELETED"):
        tail = next((line for line in reversed(logs) if line.strip()), "")
        status.stage = "failed"
        status.error = (f"job {stage.lower()}" + (f": {info.status.message}" if info.status.message else "") +
                        ("" if stage != "COMPLETED" else " without uploading its results") +
                        (f"; last log line: {tail[:200]}" if tail else ""))
        status.flags.append("failed")
    return status


def _launcher_exits(run_path: Path) -> dict[Path, object]:
    """Seed directory -> the exit code its local launcher recorded (launch.json), if any."""
    if not (run_path / "launch.json").exists():
        return {}
    from .launch import LaunchRecord

    try:
        record = LaunchRecord.read(run_path)
    except InputError:
        return {}
    return {Path(job.out_dir).resolve(): job.exit_code for job in record.jobs.values() if job.out_dir}


def job_status(job_id: str, namespace: str | None, run: str | None, stall_after: float = 600.0) -> SeedStatus:
    """One Hugging Face Job: its stage from `inspect_job`, its progress from the events recovered
    from `fetch_job_logs` (the lines behind the CODELEWM_EVENT prefix)."""
    from ..hub import _hub_errors, api

    client = api()
    with _hub_errors(f"inspecting job {job_id}"):
        job = client.inspect_job(job_id=job_id, namespace=namespace)
        logs = "\n".join(client.fetch_job_logs(job_id=job_id, namespace=namespace, follow=False))
    events, skipped = read_events(logs, from_logs=True)
    stage = str(getattr(job.status.stage, "value", job.status.stage))
    status = summarize(events, run or f"job:{job_id}", skipped, stall_after)
    status.job_id, status.job_stage = job_id, stage
    if stage in ("ERROR", "CANCELED", "DELETED") and status.stage != "failed":
        status.stage = "failed"
        status.error = status.error or f"job {stage.lower()}" + (f": {job.status.message}" if job.status.message
                                                                   else "")
        status.flags.append("failed")
    elif stage == "COMPLETED" and status.stage != "complete":
        # the job ended without a complete event: whatever it did, the run did not finish
        status.stage, status.error = "failed", status.error or "job completed without a complete event"
        status.flags.append("failed")
    elif stage == "SCHEDULING":
        status.stage = "scheduling"
    if status.stage in ("complete", "failed") and "stalled" in status.flags:
        status.flags.remove("stalled")
    return status


def _number(value) -> float | None:
    """A JSON number, or a number written as a string ("nan", "1e-3"); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _finite(value) -> float | None:
    number = _number(value)
    return number if number is not None and math.isfinite(number) else None
