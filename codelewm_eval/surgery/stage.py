"""The stages of the surgery loop: harvest, tiny-model, surgery train and promote (generate's is
in generate.py), each a typed config in and a typed result out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from ..commands import command_line
from ..evidence.planning import BenchmarkPlan
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


class HarvestSizing(BaseModel):
    """Is the harvest big enough? Its rows against the lessons' continuous rule, and its fresh
    failures per benchmark against the net gain a promotion needs."""

    train_rows: int
    lesson_rows: int = Field(description="the rows at which the lessons allow rank 8 and lr 1e-4")
    max_rank: int = Field(description="the LoRA rank the lessons allow on these rows")
    max_lr: float = Field(description="the learning rate the lessons allow on these rows")
    harvested: dict[str, int] = Field(description="fresh failing tasks harvested, per benchmark")
    plan: list[BenchmarkPlan] = Field(description="per benchmark of the results: the least net gain a pass needs "
                                                  "for the exact McNemar test (no task lost)")

    def text(self) -> str:
        lines = [f"sizing: {self.train_rows} training rows; the lessons allow LoRA rank <= {self.max_rank} and lr <= "
                 f"{self.max_lr:.2g} on them (rank 8 and lr 1e-4 from {self.lesson_rows} rows)"]
        for p in self.plan:
            need = ("no gain can be significant" if p.min_gain_no_loss is None else
                    f"a promotable pass gains at least {p.min_gain_no_loss} net")
            lines.append(f"  {p.benchmark}: baseline {p.passes}/{p.n}, {self.harvested.get(p.benchmark, 0)} fresh "
                         f"failures harvested; {need}")
        return "\n".join(lines)


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
    sizing: HarvestSizing | None = None

    def text(self) -> str:
        from .harvest import summary_text

        return summary_text(self.model_dump()) + f" -> {self.out}" + (
            "\n" + self.sizing.text() if self.sizing else "")


def harvest_stage(config: HarvestConfig, command: list[str] | None = None) -> HarvestResult:
    from .harvest import harvest

    summary = harvest(config.results, config.out, config.data_dir, anchors=config.anchors, seed=config.seed,
                      previous=config.previous, command=command or config.command(),
                      anchor_share=config.anchor_share, override_lessons=config.override_lessons)
    return HarvestResult(**summary, out=str(config.out), sizing=_sizing(config, summary["train_rows"]))


def _sizing(config: HarvestConfig, train_rows: int) -> HarvestSizing:
    from collections import Counter

    from ..evidence.compare import read_outcomes
    from ..evidence.planning import baseline_counts, plan
    from .harvest import read_rows
    from .sft import LESSON_ROWS, max_lr, max_rank

    outcomes: dict = {}
    for path in config.results:
        outcomes.update(read_outcomes(path))
    harvested = Counter(r.benchmark for r in read_rows(config.out / "train.jsonl") if r.kind == "failure")
    return HarvestSizing(train_rows=train_rows, lesson_rows=LESSON_ROWS, max_rank=max_rank(train_rows),
                         max_lr=max_lr(train_rows), harvested=dict(harvested), plan=plan(baseline_counts(outcomes)))


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
    candidates: list[Path] = Field(default_factory=list, description="in pass order (with --plan: the earlier "
                                                                     "passes of the lineage)")
    anchors: Path | None = Field(None, description="anchors.txt of the harvest (required unless --plan)")
    targets: list[str] = Field(default_factory=list, description="benchmarks that must improve")
    goals: list[Target] = Field(default_factory=list, description="--target BENCH=PASSES/TASKS")
    alpha: float = 0.05
    plan: bool = Field(False, description="say what the next pass must gain to be promotable, before it runs")
    expect: list[str] = Field(default_factory=list, description="--plan: a hypothesised net gain, BENCH=+G")

    def command(self) -> list[str]:
        argv = command_line(["surgery", "promote"], ("--baseline", self.baseline),
                            ("--candidate", list(self.candidates) or None), ("--anchors", self.anchors),
                            ("--targets", ",".join(self.targets) or None),
                            ("--target", [f"{g.benchmark}={g.passes}/{g.of}" for g in self.goals] or None),
                            ("--alpha", self.alpha), ("--expect", self.expect or None), defaults={"--alpha": 0.05})
        return argv + (["--plan"] if self.plan else [])


class PromoteResult(Promotion, StageResult):
    """Each pass judged against the frozen baseline; exit 0 when the last one is promotable. With
    --plan: what a pass must gain, per target, for the paired test to call it significant."""

    plan: list[BenchmarkPlan] = Field(default_factory=list)
    planned: bool = Field(False, exclude=True)

    def text(self) -> str:
        from ..evidence.planning import plan_text
        from .promote import text

        parts = [text(self)] if self.passes else []
        if self.planned:
            parts.append("plan for the next pass:\n" + plan_text(self.plan) + "".join(
                f"\n  goal {g.benchmark} {g.passes}/{g.of}: " + _goal_need(g, self.plan) for g in self.goals))
        return "\n".join(parts)

    def exit_code(self) -> int:
        if self.planned and not self.passes:
            return 0
        return 0 if self.passes and self.passes[-1].promotable else 1


def _goal_need(goal: Target, plans: list[BenchmarkPlan]) -> str:
    from ..benchmarks.family import family_name

    p = next((p for p in plans if family_name(p.benchmark) == family_name(goal.benchmark)), None)
    if p is None:
        return "not in the baseline"
    need = goal.passes - p.passes
    return (f"{need} net new passes from {p.passes}/{p.n}" + ("" if p.min_gain_no_loss is None else
            f" ({'enough' if need >= p.min_gain_no_loss else 'not enough'} for significance, which needs "
            f"{p.min_gain_no_loss})"))


def promote_stage(config: PromoteConfig, command: list[str] | None = None) -> PromoteResult:
    from ..errors import InputError
    from ..evidence.compare import read_anchors, read_outcomes
    from ..evidence.planning import (
        baseline_counts,
        lineage_loss_rates,
        parse_expect,
        plan,
    )
    from .promote import judge_passes

    if not config.plan and (not config.candidates or config.anchors is None):
        raise InputError("give --candidate and --anchors (or --plan, to size the next pass)", field="--candidate")
    baseline = read_outcomes(config.baseline)
    passes = [(p.stem, read_outcomes(p)) for p in config.candidates]
    anchors = read_anchors(config.anchors) if config.anchors else set()
    promotion = judge_passes((config.baseline.stem, baseline), passes, anchors, config.targets, alpha=config.alpha,
                             goals=config.goals)
    result = PromoteResult(**promotion.model_dump(), planned=config.plan)
    if config.plan:
        comparisons = [v.comparison for v in promotion.passes]
        result.plan = plan(baseline_counts(baseline), config.alpha,
                           lineage_loss_rates(comparisons) if comparisons else None, parse_expect(config.expect))
    return result
