"""The evaluate stage: a typed config in (pack, score files, gate spec), the evidence bundle's
verdicts out. What `codelewm-eval evaluate` and `run` both call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field

from ..stage import StageConfig, StageResult
from .gates import GateResult


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
    schema_version: int = 1
    out: Path
    ok: bool = Field(description="every gate passed")
    gates: list[GateResult]
    health: dict[str, Any]
    identical_seeds: dict[str, Any] = Field(description="a seed whose scores equal an earlier seed's: that seed")
    records: int
    reranks: list[dict] = Field(exclude=True)  # in the bundle (rerank.json); the text summary reads them
    decoys: list[dict] = Field(exclude=True)
    metrics: list[dict] = Field(exclude=True)

    def text(self) -> str:
        return f"evidence -> {self.out}\n" + evaluation_summary(self)

    def exit_code(self) -> int:
        return 0 if self.ok else 1


def _f(x, spec=".3f") -> str:
    return "-" if x is None else format(x, spec)


def _ci(ci, spec="+.3f") -> str:
    return "-" if not ci else f"[{_f(ci[0], spec)}, {_f(ci[1], spec)}]"


def evaluation_summary(result: EvaluateResult) -> str:
    """Every scorer's pooled AUC per split, every rerank slice per split (lift over random, and
    over no_action where the source has an order), identical seeds, and every gate."""
    out = []
    for seed, twin in result.identical_seeds.items():
        out.append(f"  seed {seed}: scores identical to seed {twin}; counted once (gates that require it: blocked)")
    for r in result.metrics:
        if r["benchmark"] == "all":
            auc = r["metrics"].get("auc")
            value = f"AUC {_f(auc['value'])} {_ci(auc.get('bootstrap_ci'), '.3f')}" if auc else \
                f"AUC not evaluable ({r['not_evaluable'].get('auc', '')})"
            ece = r["metrics"].get("ece")
            health = f"  score health: {r['score_health']}" if r.get("score_health") else ""
            out.append(f"  {r['split']:4s} seed {r['seed']} {r['scorer']:9s} all benchmarks  {r['rows']:>6d} rows  "
                       f"{value}" + (f"  ECE {_f(ece['value'])}" if ece else "") + health)
    for r in result.reranks:
        over = (f"vs no_action {_f(r['no_action'])}: lift {_f(r['lift'], '+.3f')} {_ci(r['lift_ci'])} McNemar p "
                f"{_f(r['mcnemar_p'], '.3g')}" if r["ordered"] else "no sample order (no_action not evaluable)")
        out.append(f"  {r['split']:4s} seed {r['seed']} {r['scorer']:9s} rerank {r['benchmark']}: pass@1 "
                   f"{_f(r['pass_at_1'])} vs random {_f(r['random_expected'])}: lift {_f(r['lift_random'], '+.3f')} "
                   f"{_ci(r['lift_random_ci'])}; {over}; ties {r['tied_tasks']}/{r['tasks']} (seed {r['tie_seed']})"
                   + (f"  SATURATED ({r['saturated']})" if r["saturated"] else ""))
    by_cell: dict = {}
    for d in result.decoys:
        by_cell.setdefault((d["split"], d["seed"], d["category"]), []).append(d)
    for (split, seed, category), found in by_cell.items():
        parts = [f"{d['scorer']} {_f(d['accuracy'])} {_ci(d['accuracy_ci'], '.3f')}" for d in found]
        out.append(f"  {split:4s} seed {seed} decoys {category} ({max(d['pairs'] for d in found)} pairs), accuracy: "
                   + ", ".join(parts))
    for g in result.gates:
        why = "; ".join(f"{x.type}: {x.subject} (observed {x.observed}, required {x.required})" for x in g.reasons[:3])
        out.append(f"  gate {g.status:7s} {g.name}" + (f"  {why}" if why else ""))
    return "\n".join(out)




def evaluate_stage(config: EvaluateConfig, command: list[str] | None = None) -> EvaluateResult:
    from .evaluate import evaluate
    from .gates import load_gate_spec

    spec = load_gate_spec(config.gates) if config.gates else None
    result = evaluate(config.pack, config.scores, spec, config.out, draws=config.draws, n_bins=config.bins,
                      command=command or config.command(), plots=config.plots, tie_seed=config.tie_seed,
                      mutant_sets=config.mutant_sets)
    result["identical_seeds"] = {str(k): v for k, v in result["identical_seeds"].items()}
    return EvaluateResult(out=config.out, **result)
