"""The execute stage: a typed config in, execution results with their summary and manifest out.

What `codelewm-eval execute` and `run` both call; the manifest records the command that asked
for this stage (not the command line of whatever composed it).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from ..commands import command_line
from ..errors import InputError
from ..io import write_json_atomic
from ..manifest import write_manifest
from ..stage import StageConfig, StageResult


class ExecuteConfig(StageConfig):
    benchmark: str
    out: Path
    samples: str | None = Field(None, description="a sample file, or one on the Hub (hf://datasets/OWNER/NAME@"
                                                  "REVISION/PATH); none: the benchmark's canonical solutions")
    samples_format: str = "auto"
    data_dir: Path | None = None
    model: str | None = None
    mbpp_split: str = "all"
    mbpp_plus_version: str = "v0.2.0"
    workers: int | None = None
    memory_mb: int = 2048
    max_output_bytes: int = 1 << 20
    isolation: str = "auto"
    cache_dir: Path | None = None
    limit: int | None = None
    shard: str | None = Field(None, description="I/N: run only shard I of N (tasks split by a hash of their id)")
    push_to: str | None = Field(None, description="a model repo: upload the results, summary and manifest there")
    push_path: str = Field("", description="the folder of the repo they go into")
    progress: bool = True

    def command(self) -> list[str]:
        """The `execute` command line that does exactly this."""
        return command_line(["execute"], ("--benchmark", self.benchmark), ("--out", self.out),
                            ("--samples", self.samples), ("--samples-format", self.samples_format),
                            ("--data-dir", self.data_dir), ("--model", self.model), ("--limit", self.limit),
                            ("--shard", self.shard), ("--workers", self.workers),
                            ("--isolation", self.isolation), ("--push-to", self.push_to),
                            ("--push-path", self.push_path),
                            defaults={"--samples-format": "auto", "--isolation": "auto", "--push-path": ""})


class UpstreamAgreement(BaseModel):
    labelled: int
    agree: int
    rate: float
    passed_here_failed_upstream: int
    failed_here_passed_upstream: int


class ExecuteResult(StageResult):
    """An execution's summary (`OUT.summary.json`), as `execute` and `execute-merge` print it."""

    schema_version: int = 1
    benchmark: str | None
    benchmark_version: str | None
    candidates: int
    tasks: int
    passed: int
    status_counts: dict[str, int]
    pass_at_k: dict[str, float] = Field(default_factory=dict)
    not_evaluable_tasks: list[str] = Field(default_factory=list)
    reference_failures: list[str] = Field(default_factory=list)
    upstream_agreement: UpstreamAgreement | None = None
    out: str
    seconds: float = 0.0
    candidates_per_second: float | None = None
    resumed_records: int = 0
    isolation: str | None = None
    shards: int | None = Field(None, description="execute-merge: how many shards were joined")
    pushed: str | None = Field(None, description="the commit the results were uploaded in (--push-to)")

    def text(self) -> str:
        lines = [f"{self.benchmark} ({self.benchmark_version}): {self.passed}/{self.candidates} candidates passed "
                 f"over {self.tasks} tasks",
                 "  statuses: " + ", ".join(f"{k} {v}" for k, v in self.status_counts.items())]
        if self.pass_at_k:
            lines.append("  " + ", ".join(f"{k} {100 * v:.2f}" for k, v in self.pass_at_k.items()))
        if a := self.upstream_agreement:
            lines.append(f"  agreement with upstream labels: {a.agree}/{a.labelled} ({100 * a.rate:.2f}%); passed "
                         f"here only {a.passed_here_failed_upstream}, passed upstream only "
                         f"{a.failed_here_passed_upstream}")
        if self.reference_failures:
            lines.append(f"  canonical solutions that fail their own tests: {', '.join(self.reference_failures)}")
        lines.append(f"  {self.seconds}s" + (f", {self.candidates_per_second} candidates/s"
                                              if self.candidates_per_second else "")
                     + (f", {self.resumed_records} resumed" if self.resumed_records else ""))
        lines += [f"  isolation: {self.isolation}", f"  wrote {self.out}"]
        if self.pushed:
            lines.append(f"  uploaded to the Hub ({self.pushed})")
        return "\n".join(lines)


def execute_stage(config: ExecuteConfig, command: list[str] | None = None) -> ExecuteResult:
    from ..benchmarks import load_benchmark
    from ..candidates.readers import read_candidates
    from ..sandbox.pool import Limits
    from .runner import execute

    bench = load_benchmark(config.benchmark, config.data_dir, mbpp_split=config.mbpp_split,
                           mbpp_plus_version=config.mbpp_plus_version)
    fmt, source = ("canonical", None) if config.samples is None else (config.samples_format, config.samples)
    local = source
    if source is not None and source.startswith("hf://"):
        from ..hub import download_file

        local = str(download_file(source))  # the manifest names the Hub file at its revision
    candidates = read_candidates(local, bench, fmt, model=config.model)
    if config.limit:
        candidates = candidates[: config.limit]
    if config.shard:
        from .shards import parse_shard, select

        candidates = select(candidates, parse_shard(config.shard))
    if not candidates and not config.shard:  # a shard may be empty (a fan-out wider than the tasks): an empty result
        raise InputError("no candidates to execute", path=str(source) if source else None)
    limits = Limits(memory_mb=config.memory_mb, output_bytes=config.max_output_bytes)
    summary = execute(bench, candidates, config.out, workers=config.workers, cache_dir=config.cache_dir, limits=limits,
                      isolation=config.isolation, progress=config.progress)
    summary_path = config.out.with_suffix(".summary.json")
    write_json_atomic(summary_path, summary)
    write_manifest(config.out, "execution-results", files=[config.out, summary_path],
                   command=command or config.command(),
                   config={"benchmark": bench.name, "benchmark_version": bench.version,
                           "benchmark_sha256": bench.source_sha256, "samples": str(source) if source else "canonical",
                           "samples_format": fmt, "memory_mb": config.memory_mb,
                           "max_output_bytes": config.max_output_bytes, "isolation": summary.get("isolation"),
                           **({"shard": config.shard.strip(), "limit": config.limit} if config.shard else {})})
    pushed = None
    if config.push_to:
        from ..hub import upload_run
        from ..manifest import manifest_path_for

        files = [config.out.name, summary_path.name, manifest_path_for(config.out).name]
        pushed = upload_run(config.out.parent, config.push_to, config.push_path, f"execute {config.out.name}"
                            + (f" (shard {config.shard})" if config.shard else ""), only=files)
    return ExecuteResult(**{**summary, "pushed": pushed})


class MergeConfig(StageConfig):
    shards: list[Path] = Field(min_length=1)
    out: Path

    def command(self) -> list[str]:
        return ["codelewm-eval", "execute-merge", *map(str, self.shards), "--out", str(self.out)]


def merge_stage(config: MergeConfig, command: list[str] | None = None) -> ExecuteResult:
    """Join the result files of `execute --shard I/N` into one (verified, complete, disjoint)."""
    from .shards import merge

    return ExecuteResult(**merge(config.shards, config.out, command or config.command()))
