"""The stages that read a training run after launch: `jobs status`, `jobs fetch`, `jobs verify`,
and `jobs inspect-checkpoint`; each a typed config in and a typed result out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import ConfigDict, Field

from ..checkpoints import CheckpointReport
from ..commands import command_line
from ..stage import StageConfig, StageResult
from .status import SeedStatus
from .verify import RunCheck


class StatusConfig(StageConfig):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    runs: list[str] = Field(min_length=1, description="run directories or Hugging Face job ids")
    stall_after: float = 600.0
    watch: float | None = Field(None, description="refresh every S seconds until every seed has ended")
    on_update: Callable | None = Field(None, exclude=True)  # each refresh but the last, as `--watch` prints it

    def command(self) -> list[str]:
        return command_line(["jobs", "status", *self.runs], ("--watch", self.watch),
                            ("--stall-after", self.stall_after), defaults={"--stall-after": 600.0})


class StatusResult(StageResult):
    """Per seed: stage, step, loss, val AUC, ETA and flags (stalled, diverged, failed)."""

    schema_version: int = 1
    seeds: list[SeedStatus]

    def text(self) -> str:
        lines = [f"{'run':32s} {'seed':>5s} {'stage':11s} {'step':>11s} {'loss':>8s} {'val AUC':>7s} {'ETA':>7s} "
                 f"{'last event':>10s}  flags"]
        for s in self.seeds:
            step = f"{s.step}/{s.max_steps}" if s.step is not None else "-"
            loss = f"{s.last_loss:.4f}" if isinstance(s.last_loss, float) else "-"
            auc = f"{s.val_auc:.3f}" if isinstance(s.val_auc, float) else "-"
            eta = f"{s.eta_s:.0f}s" if isinstance(s.eta_s, (int, float)) else "-"
            age = f"{s.last_event_age_s:.0f}s ago" if s.last_event_age_s is not None else "-"
            lines.append(f"{Path(s.run).name[:32]:32s} {str(s.seed):>5s} {s.stage:11s} {step:>11s} {loss:>8s} "
                         f"{auc:>7s} {eta:>7s} {age:>10s}  {','.join(s.flags) or '-'}"
                         + (f"  {s.error}" if s.error else "")
                         + (f"  ({s.phase})" if s.phase and s.phase != "train" and s.stage == "running" else "")
                         + (f"  job {s.job_id} {s.job_stage}" if s.job_id else ""))
        return "\n".join(lines)

    def exit_code(self) -> int:
        return 1 if any(s.flags for s in self.seeds) else 0


def status_stage(config: StatusConfig, command: list[str] | None = None) -> StatusResult:
    import time

    from .status import status_of

    while True:
        result = StatusResult(seeds=[s for run in config.runs for s in status_of(Path(run), config.stall_after)])
        if not config.watch or all(s.stage in ("complete", "failed") for s in result.seeds):
            return result
        if config.on_update:
            config.on_update(result)
        time.sleep(config.watch)


class FetchConfig(StageConfig):
    run: Path

    def command(self) -> list[str]:
        return ["codelewm-eval", "jobs", "fetch", str(self.run)]


class FetchResult(StageResult):
    schema_version: int = 1
    run: str
    fetched: list[str] = Field(description="what was downloaded into the run: seed directories, shards, the pack")

    def text(self) -> str:
        return f"fetched {', '.join(self.fetched)} into {self.run}"


def fetch_stage(config: FetchConfig, command: list[str] | None = None) -> FetchResult:
    from .fetch import fetch_run

    return FetchResult(run=str(config.run), fetched=fetch_run(config.run))


class RunVerifyConfig(StageConfig):
    run: Path
    seeds: list[int] = Field(default_factory=lambda: [42, 1729], description="the seeds that must be there")
    pack: Path | None = Field(None, description="the pack, where the run was moved without it")

    def command(self) -> list[str]:
        return command_line(["jobs", "verify", str(self.run)], ("--seeds", ",".join(map(str, self.seeds))),
                            ("--pack", self.pack), defaults={"--seeds": "42,1729"})


class RunVerifyResult(StageResult):
    schema_version: int = 1
    ok: bool
    checks: list[RunCheck]

    def text(self) -> str:
        return "\n".join(f"  {'ok  ' if c.ok else 'FAIL'} {c.name:28s} {c.detail}" for c in self.checks)

    def exit_code(self) -> int:
        return 0 if self.ok else 1


def run_verify_stage(config: RunVerifyConfig, command: list[str] | None = None) -> RunVerifyResult:
    from .verify import verify_run

    checks = verify_run(config.run, config.seeds, config.pack)
    return RunVerifyResult(ok=all(c.ok for c in checks), checks=checks)


class InspectConfig(StageConfig):
    path: Path
    allow_pickle: bool = False

    def command(self) -> list[str]:
        return ["codelewm-eval", "jobs", "inspect-checkpoint", str(self.path)] + (
            ["--allow-pickle"] if self.allow_pickle else [])


class InspectResult(CheckpointReport, StageResult):
    """A checkpoint's tensors, shapes, dtypes, non-finite counts and norms."""

    def text(self) -> str:
        lines = [f"{self.path} ({self.format}): {len(self.files)} file(s), {len(self.tensors)} tensors, "
                 f"{self.parameters:,} parameters, {self.non_finite_total} non-finite"]
        for t in self.tensors:
            lines.append(f"  {t.name:60s} {t.dtype:8s} {str(t.shape):16s} norm {t.l2_norm:.4g}"
                         + (f"  NON-FINITE {t.non_finite}" if t.non_finite else ""))
        if self.adapter_config:
            keys = ("r", "lora_alpha", "lora_dropout", "target_modules", "base_model_name_or_path")
            lines.append("  adapter: " + ", ".join(f"{k}={self.adapter_config.get(k)}" for k in keys))
        lines += [f"  PROBLEM {problem}" for problem in self.problems]
        return "\n".join(lines)

    def exit_code(self) -> int:
        return 1 if self.non_finite_total or self.problems else 0


def inspect_stage(config: InspectConfig, command: list[str] | None = None) -> InspectResult:
    from ..checkpoints import inspect_checkpoint

    return InspectResult(**inspect_checkpoint(config.path, allow_pickle=config.allow_pickle).model_dump())
