"""Job specs (`jobs/*.yaml`): what preflight checks and what the launcher sends."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from ..errors import InputError
from ..io import read_yaml, validated, yaml_line_of
from ..pack.stats import DecoyMinimum
from ..values import PositiveInt, Seed

DEFAULT_DECOY_MINIMUMS = {"mutation": DecoyMinimum(pairs=100, tasks=30)}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(value: str | int | float) -> float:
    """Seconds of a job duration as Hugging Face Jobs reads it: a number of seconds, or a number
    with s, m, h or d."""
    if isinstance(value, (int, float)):
        return float(value)
    number, unit = _DURATION.fullmatch(value.strip()).groups()
    return float(number) * _UNIT_SECONDS[unit]


class PackRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str | None = Field(None, description="a local pack directory (relative to the spec file)")
    hub_repo: str | None = Field(None, description="a Hub dataset repo holding the pack")
    revision: str | None = Field(None, description="the Hub revision (a commit) of that repo")


class Outputs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dir: str = Field("runs/{name}", description="the run directory ({name} is the job name)")
    hub_repo: str | None = Field(None, description="where a Hub job uploads its run")


class ExecuteJob(BaseModel):
    """`task: execute`: one job per shard of a sample file; the shards are merged afterwards."""

    model_config = ConfigDict(extra="forbid")

    benchmark: str
    samples: str = Field(description="a sample file (relative to the spec)")
    samples_format: str = "auto"
    shards: int = Field(1, ge=1, description="jobs; a task's candidates stay in one shard")
    parallel: int = Field(2, ge=1, description="local backend: shards run at once")
    data_dir: str | None = Field(None, description="a benchmark mirror laid out like shared/data (relative to "
                                                   "the spec); local backend only")
    samples_repo: str | None = Field(None, description="hf backend: the dataset repo (OWNER/NAME) of the sample file; "
                                                       "the launch uploads `samples` there unless samples_revision "
                                                       "is set")
    samples_revision: str | None = Field(None, description="hf backend: the commit of samples_repo to read; "
                                                           "`samples` is then the file's path in that repo")
    isolation: Literal["auto", "bwrap", "rlimits", "rlimits-as-root"] = Field(
        "auto", description="the executor's sandbox (`execute --isolation`): a job's container without "
                            "bubblewrap needs rlimits, the container being the outer boundary")


class GenerateJob(BaseModel):
    """`task: generate`: samples from a model, one job per shard of the benchmark's tasks, joined
    afterwards; the surgery loop's re-bench, run where the model fits."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="a model directory (relative to the spec; local backend) or "
                                   "hf://OWNER/NAME@REVISION[/FOLDER]")
    benchmark: str
    engine: Literal["transformers", "vllm"] = "transformers"
    n: int = Field(1, ge=1)
    temperature: float = Field(0.0, ge=0)
    top_p: float = Field(0.95, gt=0, le=1)
    max_new_tokens: int = Field(256, ge=1)
    batch_size: int = Field(8, ge=1)
    seed: Seed = 0
    limit: PositiveInt | None = Field(None, description="only the first N tasks")
    shards: int = Field(1, ge=1)
    parallel: int = Field(1, ge=1, description="local backend: shards run at once")
    data_dir: str | None = Field(None, description="local backend only")
    samples_per_second: float | None = Field(None, gt=0, description="your measured rate (a generate summary's "
                                                                      "samples_per_second): the dry run's time "
                                                                      "estimate")


class JobSpec(BaseModel):
    """A training job: the standard run is two seeds (42 and 1729). Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    name: str
    seeds: list[Seed] = Field(default_factory=list, description="p_pass and surgery: one job per seed")
    task: Literal["p_pass", "surgery", "execute", "generate"] = Field(
        "p_pass", description="p_pass: train a scorer on a pack; surgery: LoRA SFT of a generator on a harvest; "
                              "execute: run a sample file's candidates, one job per shard; generate: sample a "
                              "model on a benchmark, one job per shard")
    execute: ExecuteJob | None = Field(None, description="task execute: what to run and in how many shards")
    generate: GenerateJob | None = Field(None, description="task generate: the model, benchmark, engine, sampling "
                                                           "and shards")
    scorer: Literal["logreg", "lora", "probe"] = "logreg"
    harvest: str | None = Field(None, description="surgery: a harvest directory (relative to the spec) or "
                                                  "hf://datasets/OWNER/NAME@REVISION")
    base_model: str | None = Field(None, description="surgery: the causal LM to tune (a directory or a Hub id)")
    hyperparameters: dict[str, Any] = Field(default_factory=dict, description="lora: rank, alpha, lr, epochs, ...")
    pack: PackRef = Field(default_factory=PackRef)
    gates: str | None = Field(None, description="gate spec YAML for the evidence of this run")
    flavor: str = Field("cpu-basic", description="Hugging Face Jobs hardware flavor")
    timeout: str | int | None = Field(None, description="the job's time limit: seconds, or a number with a unit "
                                                        "s, m, h or d (30m, 1.5h, 2d)")
    image: str | None = Field(None, description="a container image (run_job); without it, a uv script job")
    dependencies: list[str] = Field(default_factory=list, description="uv dependencies of the script job")
    secrets: list[str] = Field(default_factory=list, description="names only, resolved at launch")
    env: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    outputs: Outputs = Field(default_factory=Outputs)
    _line_of: Any = PrivateAttr(default=None)

    @field_validator("timeout")
    @classmethod
    def _a_duration(cls, value):
        if value is None:
            return value
        if isinstance(value, bool) or (isinstance(value, int) and value <= 0):
            raise ValueError(f"{value!r} is not a duration: give seconds (> 0) or a number with s, m, h or d")
        if isinstance(value, str) and not _DURATION.fullmatch(value.strip()):
            raise ValueError(f"{value!r} is not a duration: give seconds, or a number with s, m, h or d (30m, 1.5h)")
        if duration_seconds(value) <= 0:
            raise ValueError(f"{value!r} is not a duration: it must be longer than 0")
        return value

    def line(self, *loc) -> int | None:
        """The spec file's line for a field (for messages), where the spec was read from a file."""
        return self._line_of(loc) if self._line_of else None

    decoy_minimums: dict[str, DecoyMinimum] = Field(
        default_factory=lambda: dict(DEFAULT_DECOY_MINIMUMS),
        description="per decoy category, pairs and distinct tasks required in val and in test")


def load_job_spec(path: Path) -> tuple[JobSpec, str]:
    raw, text = read_yaml(path, "job spec")
    if not isinstance(raw, dict):
        raise InputError("a job spec is a YAML mapping", path=str(path))
    line_of = yaml_line_of(text)
    try:
        spec = validated(JobSpec, raw, path, line_of)
        spec._line_of = line_of
        return spec, text
    except InputError as exc:  # say so when the bad spec also holds a credential
        from ..secrets import scan_text

        found = scan_text(text, where=str(path), entropy=True)
        if not found:
            raise
        also = "; it also holds " + ", ".join(f"a {f.kind} on line {f.line}" for f in found)
        raise InputError(exc.message + also, path=str(path), field=exc.field) from None
