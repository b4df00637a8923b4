"""The execute stage: a typed config in, execution results with their summary and manifest out.

What `codelewm-eval execute` and `run` both call; the manifest records the command that asked
for this stage (not the command line of whatever composed it).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

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


class ExecuteResult(StageResult):
    out: Path
    summary_path: Path
    summary: dict
    pushed: str | None = Field(None, description="the commit the results were uploaded in (--push-to)")


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
    return ExecuteResult(out=config.out, summary_path=summary_path, summary=summary, pushed=pushed)
