"""The pack build stage: a typed config in (results, output, split and coverage settings), the
pack's statistics out. What `codelewm-eval pack build` and `run` both call."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from ..stage import StageConfig, StageResult
from .build import PackConfig, build_pack


class PackBuildConfig(StageConfig):
    results: list[Path]
    out: Path
    pack: PackConfig = Field(default_factory=PackConfig)
    data_dir: Path | None = None
    workers: int | None = None
    parquet: bool = True
    progress: bool = False

    def command(self) -> list[str]:
        """The `pack build` command line that does exactly this (--results takes every file at once)."""
        p = self.pack
        argv = ["codelewm-eval", "pack", "build", "--results", *map(str, self.results), "--out", str(self.out)]
        if p.seed != 42:
            argv += ["--seed", str(p.seed)]
        if tuple(p.fractions) != (0.70, 0.15, 0.15):
            argv += ["--fractions", ",".join(f"{f:g}" for f in p.fractions)]
        if p.evaluation_only:
            argv += ["--evaluation-only", *p.evaluation_only]
        if p.reference_decoys:
            argv.append("--decoys")
        for category, need in sorted(p.coverage.decoy_minimums.items()):
            argv += ["--decoy-minimum", f"{category}={need.pairs}/{need.tasks}"]
        if p.same_problem_pairs_per_task != 3:
            argv += ["--same-problem-pairs", str(p.same_problem_pairs_per_task)]
        if self.data_dir:
            argv += ["--data-dir", str(self.data_dir)]
        if not self.parquet:
            argv.append("--no-parquet")
        return argv


class PackBuildResult(StageResult):
    out: Path
    rows: int
    stats: dict = Field(description="rows, tasks and pass rates per split and benchmark, what was excluded")

    def payload(self) -> dict:
        return self.stats


def pack_stage(config: PackBuildConfig, command: list[str] | None = None) -> PackBuildResult:
    """Build the pack (PackBlocked, a CheckFailed, when it cannot carry the gates)."""
    stats = build_pack(config.results, config.out, config.pack, config.data_dir, command or config.command(),
                       workers=config.workers, parquet=config.parquet, progress=config.progress)
    return PackBuildResult(out=config.out, rows=stats["rows"], stats=stats)


class DecoysConfig(StageConfig):
    results: Path
    out: Path
    per_source: int = 3
    data_dir: Path | None = None
    workers: int | None = None
    progress: bool = True

    def command(self) -> list[str]:
        """The `decoys` command line that does exactly this."""
        from ..commands import command_line

        return command_line(["decoys"], ("--results", self.results), ("--out", self.out),
                            ("--per-source", self.per_source), ("--data-dir", self.data_dir),
                            ("--workers", self.workers), defaults={"--per-source": 3})


class DecoysResult(StageResult):
    out: Path
    summary: dict = Field(description="the benchmark, mutants made, failing (decoys) and equivalent ones")

    def payload(self) -> dict:
        return self.summary


def decoys_stage(config: DecoysConfig, command: list[str] | None = None) -> DecoysResult:
    """Mutation decoys of the passing candidates of one results file, executed."""
    from .decoys import make_decoys

    summary = make_decoys(config.results, config.out, per_source=config.per_source, data_dir=config.data_dir,
                          workers=config.workers, progress=config.progress, command=command or config.command())
    return DecoysResult(out=config.out, summary=summary)
