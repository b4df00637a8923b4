"""The part of a job spec preflight needs (the job launcher extends it)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import InputError
from ..pack.stats import DecoyMinimum


DEFAULT_DECOY_MINIMUMS = {"mutation": DecoyMinimum(pairs=100, tasks=30)}


class JobSpec(BaseModel):
    model_config = ConfigDict(extra="allow")

    schema_version: int = 1
    name: str
    seeds: list[int]
    timeout: str | int | None = None
    secrets: list[str] = Field(default_factory=list, description="names only, resolved at launch")
    env: dict[str, str] = Field(default_factory=dict)
    decoy_minimums: dict[str, DecoyMinimum] = Field(
        default_factory=lambda: dict(DEFAULT_DECOY_MINIMUMS),
        description="per decoy category, pairs and distinct tasks required in val and in test")


def load_job_spec(path: Path) -> tuple[JobSpec, str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
        raw = yaml.safe_load(text)
    except FileNotFoundError:
        raise InputError("job spec not found", path=str(path)) from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise InputError(f"malformed YAML ({getattr(exc, 'problem', exc)})", path=str(path),
                         line=None if line is None else line + 1) from None
    if not isinstance(raw, dict):
        raise InputError("a job spec is a YAML mapping", path=str(path))
    try:
        return JobSpec.model_validate(raw), text
    except ValidationError as exc:
        err = exc.errors()[0]
        raise InputError(err["msg"], path=str(path), field=".".join(str(x) for x in err["loc"])) from None
