"""Job specs (`jobs/*.yaml`): what preflight checks and what the launcher sends."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import InputError
from ..io import read_yaml, validated
from ..pack.stats import DecoyMinimum


DEFAULT_DECOY_MINIMUMS = {"mutation": DecoyMinimum(pairs=100, tasks=30)}


class PackRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str | None = Field(None, description="a local pack directory (relative to the spec file)")
    hub_repo: str | None = Field(None, description="a Hub dataset repo holding the pack")
    revision: str | None = Field(None, description="the Hub revision (a commit) of that repo")


class Outputs(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dir: str = Field("runs/{name}", description="the run directory ({name} is the job name)")
    hub_repo: str | None = Field(None, description="where a Hub job uploads its run")


class JobSpec(BaseModel):
    """A training job: the standard run is two seeds (42 and 1729). Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = 1
    name: str
    seeds: list[int]
    task: Literal["p_pass", "surgery"] = Field("p_pass", description="p_pass: train a scorer on a pack; surgery: "
                                                                    "LoRA SFT of a generator on a harvest")
    scorer: Literal["logreg", "lora"] = "logreg"
    harvest: str | None = Field(None, description="surgery: a harvest directory (relative to the spec) or "
                                                  "hf://datasets/OWNER/NAME@REVISION")
    base_model: str | None = Field(None, description="surgery: the causal LM to tune (a directory or a Hub id)")
    hyperparameters: dict[str, Any] = Field(default_factory=dict, description="lora: rank, alpha, lr, epochs, ...")
    pack: PackRef = Field(default_factory=PackRef)
    gates: str | None = Field(None, description="gate spec YAML for the evidence of this run")
    flavor: str = Field("cpu-basic", description="Hugging Face Jobs hardware flavor")
    timeout: str | int | None = None
    image: str | None = Field(None, description="a container image (run_job); without it, a uv script job")
    dependencies: list[str] = Field(default_factory=list, description="uv dependencies of the script job")
    secrets: list[str] = Field(default_factory=list, description="names only, resolved at launch")
    env: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    outputs: Outputs = Field(default_factory=Outputs)
    decoy_minimums: dict[str, DecoyMinimum] = Field(
        default_factory=lambda: dict(DEFAULT_DECOY_MINIMUMS),
        description="per decoy category, pairs and distinct tasks required in val and in test")


def load_job_spec(path: Path) -> tuple[JobSpec, str]:
    raw, text = read_yaml(path, "job spec")
    if not isinstance(raw, dict):
        raise InputError("a job spec is a YAML mapping", path=str(path))
    try:
        return validated(JobSpec, raw, path), text
    except InputError as exc:  # say so when the bad spec also holds a credential
        from ..secrets import scan_text

        found = scan_text(text, where=str(path), entropy=True)
        if not found:
            raise
        also = "; it also holds " + ", ".join(f"a {f.kind} on line {f.line}" for f in found)
        raise InputError(exc.message + also, path=str(path), field=exc.field) from None
