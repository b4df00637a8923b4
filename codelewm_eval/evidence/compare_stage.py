"""The compare stage: per-task outcomes before and after, in; tables, JSON and (optionally) an
evidence bundle out (what `codelewm-eval compare` calls).

The bundle (`out`) holds compare.json, compare.md and gates.json (per candidate: a paired gate
per benchmark, a gain with McNemar p < 0.05, and the anchor gate), sealed by a manifest whose
parents are the inputs that have manifests; it is written through the staged-artifact helper.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, model_serializer

from ..artifact import staged_directory
from ..commands import command_line
from ..errors import InputError
from ..io import atomic_writer, write_json_atomic
from ..manifest import manifest_path_for, require_verified, write_manifest
from ..stage import StageConfig, StageResult
from .compare import (
    Comparison,
    compare,
    comparison_gates,
    markdown,
    read_anchors,
    read_outcomes,
)
from .planning import (
    BenchmarkPlan,
    baseline_counts,
    lineage_loss_rates,
    parse_expect,
    parse_passes,
    plan,
    plan_text,
)


class CompareConfig(StageConfig):
    baseline: Path | None = Field(None, description="per-task outcomes before (--plan may give --passes instead)")
    candidates: list[Path] = Field(default_factory=list, description="later passes (with --plan: earlier passes "
                                                                     "of the lineage, for their loss rate)")
    anchors: Path | None = None
    draws: int = 2000
    out_md: Path | None = None
    out_json: Path | None = None
    out: Path | None = Field(None, description="an evidence bundle for claims to rest on")
    plan: bool = Field(False, description="also say what a comparison on this baseline can detect")
    passes: list[str] = Field(default_factory=list, description="--plan without a baseline file: BENCH=PASSES/N")
    expect: list[str] = Field(default_factory=list, description="--plan: a hypothesised net gain, BENCH=+G")
    alpha: float = 0.05

    def command(self) -> list[str]:
        argv = command_line(["compare"], ("--baseline", self.baseline), ("--candidate", list(self.candidates) or None),
                            ("--anchors", self.anchors), ("--draws", self.draws), ("--out-md", self.out_md),
                            ("--out-json", self.out_json), ("--out", self.out), ("--passes", self.passes or None),
                            ("--expect", self.expect or None), ("--alpha", self.alpha),
                            defaults={"--alpha": 0.05})
        return argv + (["--plan"] if self.plan else [])


class CompareResult(StageResult):
    """What compare.json holds and `compare --json` prints: the comparisons."""

    schema_version: int = 1
    comparisons: list[Comparison]
    plan: list[BenchmarkPlan] = Field(default_factory=list, description="--plan: per benchmark, the least net "
                                                                        "gain that can be significant, and power")
    markdown: str = Field(exclude=True)  # compare.md, and what `compare` prints without --json
    gates: list[dict] = Field(exclude=True)  # gates.json of the bundle
    anchor_failed: bool = Field(exclude=True, description="some candidate loses an anchor task")

    @model_serializer(mode="wrap")
    def _plan_when_planned(self, handler):
        data = handler(self)  # compare.json of a comparison without --plan stays as it was
        if not data.get("plan"):
            data.pop("plan", None)
        return data

    def text(self) -> str:
        return "\n\n".join(x for x in (plan_text(self.plan) if self.plan else "", self.markdown) if x)

    def exit_code(self) -> int:
        return 1 if self.anchor_failed else 0


def compare_stage(config: CompareConfig, command: list[str] | None = None) -> CompareResult:
    if config.plan and config.baseline is None:
        return _plan_only(config)
    if config.baseline is None or not (config.candidates or config.plan):
        raise InputError("give --baseline and at least one --candidate (or --plan, with --baseline or --passes)",
                         field="--candidate")
    if config.passes and not config.plan:
        raise InputError("--passes is for --plan", field="--passes")
    anchors = read_anchors(config.anchors) if config.anchors else None
    paths = [config.baseline, *config.candidates]
    outcomes: dict[str, dict] = {}
    for path in paths:
        if manifest_path_for(path).exists():  # sealed: a tampered file is refused, as pack build refuses it
            require_verified(path, "the results")
        outcomes[path.stem if path.stem not in outcomes else str(path)] = read_outcomes(path)
    names = list(outcomes)
    for name, path in zip(names[1:], paths[1:]):
        if not set(outcomes[names[0]]) & set(outcomes[name]):
            raise InputError(f"no task in common with the baseline {paths[0]}: nothing to compare (benchmark and "
                             "task_id must match)", path=str(path))
    comparisons = [compare(outcomes[names[0]], outcomes[n], anchors, names=(names[0], n), draws=config.draws)
                   for n in names[1:]]
    planned = []
    if config.plan:
        counts = baseline_counts(outcomes[names[0]])
        counts.update(parse_passes(config.passes))
        planned = plan(counts, config.alpha, lineage_loss_rates(comparisons) if comparisons else None,
                       parse_expect(config.expect))
    result = CompareResult(comparisons=comparisons, plan=planned,
                           markdown=markdown(comparisons, anchors, outcomes) if comparisons else "",
                           gates=comparison_gates(comparisons),
                           anchor_failed=any(c.anchor_gate == "fail" for c in comparisons))
    if config.out_md:
        with atomic_writer(config.out_md) as fh:
            fh.write(result.markdown)
    if config.out_json:
        write_json_atomic(config.out_json, result.payload())
    if config.out:
        with staged_directory(config.out) as work:
            write_json_atomic(work / "compare.json", result.payload())
            write_json_atomic(work / "gates.json", {"schema_version": 1, "gates": result.gates})
            with atomic_writer(work / "compare.md") as fh:
                fh.write(result.markdown)
            write_manifest(work, "comparison", parents=[p for p in paths if manifest_path_for(p).exists()],
                           command=command or config.command(),
                           config={"baseline": str(config.baseline), "candidates": [str(p) for p in config.candidates]})
    return result


def _plan_only(config: CompareConfig) -> CompareResult:
    """`compare --plan --passes BENCH=PASSES/N ...`: the plan, from counts alone."""
    if not config.passes:
        raise InputError("--plan needs the baseline: --baseline FILE, or --passes BENCH=PASSES/N", field="--passes")
    if config.candidates:
        raise InputError("--candidate needs --baseline (the passes it is compared with)", field="--candidate")
    planned = plan(parse_passes(config.passes), config.alpha, None, parse_expect(config.expect))
    return CompareResult(comparisons=[], plan=planned, markdown="", gates=[], anchor_failed=False)


class ComparisonFile(BaseModel):
    """`compare.json` of a comparison bundle."""

    schema_version: int = 1
    comparisons: list[Comparison]


class ComparisonBundle(BaseModel):
    """A comparison bundle read back through its models, after its manifest verifies."""

    path: Path
    comparisons: list[Comparison]
    gates: list[dict] = Field(description="gates.json: the paired gate per benchmark and the anchor gate")
    markdown: str

    @classmethod
    def read(cls, path: Path) -> ComparisonBundle:
        from ..io import read_json, read_versioned

        path = Path(require_verified(path, "the comparison bundle", kind="comparison"))
        return cls(path=path, comparisons=read_versioned(ComparisonFile, path / "compare.json").comparisons,
                   gates=read_json(path / "gates.json").get("gates", []),
                   markdown=(path / "compare.md").read_text(encoding="utf-8"))
