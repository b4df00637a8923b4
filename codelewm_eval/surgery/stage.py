"""The stages of the surgery loop: harvest, tiny-model, surgery train and promote (generate's is
in generate.py), each a typed config in and a typed result out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ..commands import command_line
from ..stage import StageConfig, StageResult
from .promote import Promotion, Target
from .sft import SftConfig


class HarvestConfig(StageConfig):
    results: list[Path] = Field(min_length=1)
    out: Path
    data_dir: Path | None = None
    anchors: int = 20
    seed: int = 42
    previous: list[Path] = Field(default_factory=list, description="the parent harvest(s)")
    anchor_share: float = 0.15
    override_lessons: bool = False

    def command(self) -> list[str]:
        argv = command_line(["surgery", "harvest"], ("--results", self.results[0]), ("--out", self.out),
                            ("--anchors", self.anchors), ("--seed", self.seed), ("--anchor-share", self.anchor_share),
                            ("--data-dir", self.data_dir), defaults={"--anchors": 20, "--seed": 42,
                                                                     "--anchor-share": 0.15})
        argv[5:5] = map(str, self.results[1:])  # --results takes every file at once
        return argv + (["--previous", *map(str, self.previous)] if self.previous else []) + (
            ["--override-lessons"] if self.override_lessons else [])


class HarvestResult(StageResult):
    """The harvest's summary.json: what was harvested, what was left out and why, the lineage."""

    schema_version: int = 1
    tasks: int
    failing: int
    passing: int
    no_reference: int
    licence_forbids_training: int
    already_harvested: int
    not_evaluable: int
    train_rows: int
    anchors: int
    anchors_trained: int
    anchors_held_out: int
    anchor_share: float
    benchmarks: list[str]
    lineage: dict[str, Any]
    lessons_overridden: list[str] = Field(default_factory=list)
    out: str | None = None

    def text(self) -> str:
        from .harvest import summary_text

        return summary_text(self.model_dump()) + f" -> {self.out}"


def harvest_stage(config: HarvestConfig, command: list[str] | None = None) -> HarvestResult:
    from .harvest import harvest

    summary = harvest(config.results, config.out, config.data_dir, anchors=config.anchors, seed=config.seed,
                      previous=config.previous, command=command or config.command(),
                      anchor_share=config.anchor_share, override_lessons=config.override_lessons)
    return HarvestResult(**summary, out=str(config.out))


class TinyConfig(StageConfig):
    out: Path
    data_dir: Path | None = None
    seed: int = 0

    def command(self) -> list[str]:
        return command_line(["surgery", "tiny-model"], ("--out", self.out), ("--data-dir", self.data_dir),
                            ("--seed", self.seed), defaults={"--seed": 0})


class TinyResult(StageResult):
    schema_version: int = 1
    path: str = Field(description="the model directory (config, weights and tokenizer)")

    def text(self) -> str:
        return f"tiny random causal LM and tokenizer -> {self.path}"


def tiny_stage(config: TinyConfig, command: list[str] | None = None) -> TinyResult:
    from .tiny import make_tiny_model

    return TinyResult(path=str(make_tiny_model(config.out, config.data_dir, seed=config.seed)))


class SurgeryTrainConfig(StageConfig):
    harvest: str = Field(description="a harvest directory, or hf://datasets/OWNER/NAME@REVISION")
    out: Path
    sft: SftConfig
    override_lessons: bool = False
    push_to: str | None = None
    echo: bool = True

    def command(self) -> list[str]:
        s, d = self.sft, SftConfig(base_model=self.sft.base_model, seed=self.sft.seed, run_id=self.sft.run_id)
        options = [(f"--{name.replace('_', '-')}", getattr(s, name)) for name in
                   ("rank", "alpha", "lr", "epochs", "max_length", "batch_size", "checkpoint_every", "anchor_weight",
                    "data_dir", "device", "dtype", "isolation") if getattr(s, name) != getattr(d, name)]
        if s.target_modules != d.target_modules:
            options.append(("--target-modules", ",".join(s.target_modules)))
        options.append(("--loss-weight", [f"{k}={v:g}" for k, v in s.loss_weights.items()] or None))
        flags = [f for f, on in (("--load-4bit", s.load_4bit), ("--merge-anyway", s.merge_anyway),
                                 ("--override-lessons", self.override_lessons)) if on]
        return command_line(["surgery", "train"], ("--harvest", self.harvest), ("--base-model", s.base_model),
                            ("--seed", s.seed), ("--out", self.out),
                            ("--run-id", s.run_id if s.run_id != self.out.name else None), *options,
                            ("--push-to", self.push_to)) + flags


class Merge(BaseModel):
    status: str = Field(description="merged, aborted (an anchor lost), or merged despite lost anchors")
    reason: str | None = None
    lost: list[str] = Field(default_factory=list)


class SurgeryTrainResult(StageResult):
    """One seed's LoRA SFT (train_report.json): steps, loss, speed, the anchor check and the merge."""

    model_config = {"extra": "allow"}  # the placement's own fields (gpu, device, dtype, ...)

    schema_version: int = 1
    seed: int
    out: str
    rows: int
    steps: int
    final_loss: float | None = None
    tokens_per_s: float | None = None
    gpu: str | None = None
    device: str | None = None
    dtype: str | None = None
    anchor_check: dict[str, Any]
    merge: Merge
    pushed: str | None = None

    def text(self) -> str:
        check, merge, out = self.anchor_check, self.merge, Path(self.out)
        return (f"surgery seed {self.seed}: {self.steps} steps, final loss {self.final_loss:.4f}, {self.tokens_per_s} "
                f"tokens/s on {self.gpu or self.device} ({self.dtype}); held-out anchors {len(check['kept'])}/"
                f"{len(check['held_out'])} kept before merging" +
                (f"; MERGE ABORTED: lost {', '.join(merge.lost)} (adapter kept in {out / 'adapter'}; --merge-anyway "
                 "to merge regardless)" if merge.status == "aborted" else f"; {merge.status} -> {out / 'merged'}"))

    def messages(self) -> list[str]:
        return [f"uploaded ({self.pushed})"] if self.pushed else []

    def exit_code(self) -> int:
        return 1 if self.merge.status == "aborted" else 0


def surgery_train_stage(config: SurgeryTrainConfig, command: list[str] | None = None) -> SurgeryTrainResult:
    from ..hub import is_hub_ref, materialize, parse_ref, upload_run
    from .sft import train_sft

    s = config.sft
    harvest = materialize(parse_ref(config.harvest), config.out.parent / "harvest") if is_hub_ref(config.harvest) \
        else Path(config.harvest)
    report = train_sft(harvest, config.out, s, allow=config.override_lessons, command=command or config.command(),
                       echo=config.echo)
    pushed = upload_run(config.out, config.push_to, f"seed-{s.seed}", f"{s.run_id}: seed {s.seed}") \
        if config.push_to else None
    return SurgeryTrainResult(**report, seed=s.seed, out=str(config.out), pushed=pushed)


class PromoteConfig(StageConfig):
    baseline: Path
    candidates: list[Path] = Field(min_length=1, description="in pass order")
    anchors: Path
    targets: list[str] = Field(default_factory=list, description="benchmarks that must improve")
    goals: list[Target] = Field(default_factory=list, description="--target BENCH=PASSES/TASKS")
    alpha: float = 0.05

    def command(self) -> list[str]:
        return command_line(["surgery", "promote"], ("--baseline", self.baseline),
                            ("--candidate", list(self.candidates)), ("--anchors", self.anchors),
                            ("--targets", ",".join(self.targets) or None),
                            ("--target", [f"{g.benchmark}={g.passes}/{g.of}" for g in self.goals] or None),
                            ("--alpha", self.alpha), defaults={"--alpha": 0.05})


class PromoteResult(Promotion, StageResult):
    """Each pass judged against the frozen baseline; exit 0 when the last one is promotable."""

    def text(self) -> str:
        from .promote import text

        return text(self)

    def exit_code(self) -> int:
        return 0 if self.passes and self.passes[-1].promotable else 1


def promote_stage(config: PromoteConfig, command: list[str] | None = None) -> PromoteResult:
    from ..evidence.compare import read_anchors, read_outcomes
    from .promote import judge_passes

    passes = [(p.stem, read_outcomes(p)) for p in config.candidates]
    promotion = judge_passes((config.baseline.stem, read_outcomes(config.baseline)), passes,
                             read_anchors(config.anchors), config.targets, alpha=config.alpha, goals=config.goals)
    return PromoteResult(**promotion.model_dump())
