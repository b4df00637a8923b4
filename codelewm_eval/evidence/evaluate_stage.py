"""The evaluate stage: a typed config in (pack, score files, gate spec), the evidence bundle's
verdicts out. What `codelewm-eval evaluate` and `run` both call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from ..stage import StageConfig, StageResult


class EvaluateConfig(StageConfig):
    pack: Path
    scores: list[Path]
    out: Path
    gates: Path | None = Field(None, description="the gate spec YAML")
    draws: int = 2000
    bins: int = 10
    plots: bool = True
    tie_seed: int = 0
    mutant_sets: bool = False

    def command(self) -> list[str]:
        """The `evaluate` command line that does exactly this (--scores takes every file at once)."""
        argv = ["codelewm-eval", "evaluate", "--pack", str(self.pack), "--scores", *map(str, self.scores)]
        argv += ["--gates", str(self.gates)] if self.gates else []
        argv += ["--out", str(self.out)]
        argv += ["--draws", str(self.draws)] if self.draws != 2000 else []
        argv += ["--bins", str(self.bins)] if self.bins != 10 else []
        argv += [] if self.plots else ["--no-plots"]
        argv += ["--tie-seed", str(self.tie_seed)] if self.tie_seed else []
        argv += ["--mutant-sets"] if self.mutant_sets else []
        return argv


class EvaluateResult(StageResult):
    out: Path
    ok: bool = Field(description="every gate passed")
    gates: list[dict]
    health: dict[str, Any]
    identical_seeds: dict[Any, Any]
    records: int
    reranks: list[dict]
    decoys: list[dict]
    metrics: list[dict]

    def payload(self) -> dict:
        return {"gates": self.gates, "ok": self.ok, "health": self.health,
                "identical_seeds": {str(k): v for k, v in self.identical_seeds.items()}}


def evaluate_stage(config: EvaluateConfig, command: list[str] | None = None) -> EvaluateResult:
    from .evaluate import evaluate
    from .gates import load_gate_spec

    spec = load_gate_spec(config.gates) if config.gates else None
    result = evaluate(config.pack, config.scores, spec, config.out, draws=config.draws, n_bins=config.bins,
                      command=command or config.command(), plots=config.plots, tie_seed=config.tie_seed,
                      mutant_sets=config.mutant_sets)
    return EvaluateResult(out=config.out, **result)
