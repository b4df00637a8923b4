"""The pack build stage: a typed config in (results, output, split and coverage settings), the
pack's statistics out. What `codelewm-eval pack build` and `run` both call."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from ..execution.stage import ExecuteResult
from ..stage import StageConfig, StageResult
from .build import PackBlocked, PackConfig, build_pack
from .stats import Blocker


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


class PackCell(BaseModel):
    """One split and benchmark of a pack: rows, tasks, pass rate and the strata the splits keep."""

    split: str
    benchmark: str
    rows: int
    tasks: int
    passed: int
    pass_rate: float
    magnitude_buckets: dict[str, int]
    length_buckets: dict[str, int]
    decoy_pairs: dict[str, int]
    decoy_tasks: dict[str, int]
    licences: dict[str, int]
    label_provenance: dict[str, int]
    evaluation_only_rows: int


class PackBuildResult(StageResult):
    """The pack's statistics, or (ok false, nothing written) the typed blockers that stopped it."""

    schema_version: int = 1
    ok: bool = True
    out: str
    rows: int = 0
    cells: list[PackCell] = Field(default_factory=list)
    families: dict[str, int] = Field(default_factory=dict, description="problem families per split")
    excluded: dict[str, int] = Field(default_factory=dict, description="rows left out, by reason")
    files: list[str] = Field(default_factory=list)
    blockers: list[Blocker] = Field(default_factory=list)

    def text(self) -> str:
        if not self.ok:
            lines = [f"pack not built: {len(self.blockers)} blocker(s)"]
            for b in self.blockers:
                where = "/".join(x for x in (b.benchmark, b.split) if x)
                lines.append(f"  {b.kind:26s} {where:24s} {b.detail}: observed {b.observed}, required {b.required}")
            return "\n".join(lines)
        lines = [f"pack: {self.rows} rows -> {self.out}  (excluded: {self.excluded or 'none'})",
                 f"  {'split':6s} {'benchmark':16s} {'rows':>6s} {'tasks':>5s} {'pass':>6s}  magnitude buckets"]
        for c in self.cells:
            buckets = ", ".join(f"{k} {v}" for k, v in c.magnitude_buckets.items())
            lines.append(f"  {c.split:6s} {c.benchmark:16s} {c.rows:6d} {c.tasks:5d} {c.pass_rate:6.3f}  {buckets}"
                         + ("  [evaluation only]" if c.evaluation_only_rows == c.rows else ""))
        return "\n".join(lines)

    def exit_code(self) -> int:
        return 0 if self.ok else 1


def pack_stage(config: PackBuildConfig, command: list[str] | None = None) -> PackBuildResult:
    """Build the pack; when it cannot carry the gates, nothing is written and the result holds the
    typed blockers (ok false, exit 1)."""
    from ..errors import InputError

    if config.out.exists() and config.out.is_dir() and any(config.out.iterdir()):
        raise InputError("output directory is not empty", path=str(config.out))
    try:
        stats = build_pack(config.results, config.out, config.pack, config.data_dir, command or config.command(),
                           workers=config.workers, parquet=config.parquet, progress=config.progress)
    except PackBlocked as blocked:
        return PackBuildResult(ok=False, out=str(config.out), blockers=blocked.blockers)
    return PackBuildResult(**{**stats, "out": str(config.out)})


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


class DecoyCounts(BaseModel):
    mutants: int
    failing_mutants: int = Field(description="mutants that fail their tests: the decoys")
    equivalent_mutants: int = Field(description="mutants that still pass: left out of the pack")


class DecoysResult(ExecuteResult):
    """The mutants' execution summary, with how many became decoys."""

    decoys: DecoyCounts

    def text(self) -> str:
        d = self.decoys
        return (f"{self.benchmark}: {d.mutants} mutants, {d.failing_mutants} fail (decoys), {d.equivalent_mutants} "
                f"equivalent; wrote {self.out}")


def decoys_stage(config: DecoysConfig, command: list[str] | None = None) -> DecoysResult:
    """Mutation decoys of the passing candidates of one results file, executed."""
    from .decoys import make_decoys

    summary = make_decoys(config.results, config.out, per_source=config.per_source, data_dir=config.data_dir,
                          workers=config.workers, progress=config.progress, command=command or config.command())
    return DecoysResult(**summary)
