"""A measured metric as the evidence records it: the value, its interval and how both were
computed (method, bootstrap settings, binning). One model for every metric of metrics.json; a
field a metric does not have is absent from the file (never null), so bundles written before this
model read, and re-write, byte for byte."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_serializer


class Bootstrap(BaseModel):
    """How a bootstrap interval was drawn."""

    resampled: str = Field(description="what was resampled: tasks (rows of one task move together)")
    draws: int
    degenerate_draws: int = Field(0, description="draws in which the metric could not be computed (one class)")


class Measurement(BaseModel):
    """One metric of one slice: `value`, its interval `ci` (by `method` or `ci_method`), and for
    AUC the task-bootstrap interval beside DeLong's; calibration metrics carry their bins."""

    model_config = ConfigDict(extra="forbid")

    value: float | None
    ci: list[float | None] | None = Field(None, description="the interval of `method` (AUC: DeLong) or `ci_method`")
    method: str | None = None
    bootstrap_ci: list[float | None] | None = Field(None, description="AUC: the task-bootstrap percentile interval")
    bootstrap: Bootstrap | None = None
    ci_method: str | None = None
    base_rate: float | None = Field(None, description="PR-AUC: the share of positives (a random scorer's PR-AUC)")
    binning: str | None = Field(None, description="ECE: width (equal-width bins) or mass (equal-mass bins)")
    bins: int | None = None
    edges: list[float] | None = None
    mce: float | None = Field(None, description="the largest bin's calibration error")
    mce_ci: list[float | None] | None = None
    reliability: dict[str, list[float | None]] | None = Field(None, description="per bin: count, mean p, observed")

    @model_serializer(mode="wrap")
    def _present_fields_only(self, handler):
        return {k: v for k, v in handler(self).items() if v is not None}

    def interval(self) -> tuple[float, float] | None:
        """The reported interval: `ci` where there is one, else the bootstrap one."""
        ci = self.ci or self.bootstrap_ci
        return (ci[0], ci[1]) if ci and None not in ci[:2] else None
