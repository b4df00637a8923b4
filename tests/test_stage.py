"""The stage contract: each stage's config says the command line that does exactly it, and that
line, parsed by the CLI, asks for the same config; results are typed."""

from __future__ import annotations

from pathlib import Path

from codelewm_eval.cli import build_parser
from codelewm_eval.evidence.compare_stage import CompareConfig, CompareResult
from codelewm_eval.evidence.evaluate_stage import EvaluateConfig, EvaluateResult
from codelewm_eval.evidence.score_stage import ScoreConfig, ScoreResult
from codelewm_eval.execution.stage import ExecuteConfig, ExecuteResult
from codelewm_eval.jobs.stage import LaunchConfig, LaunchResult
from codelewm_eval.pack.build import PackConfig
from codelewm_eval.pack.stage import (
    DecoysConfig,
    DecoysResult,
    PackBuildConfig,
    PackBuildResult,
)
from codelewm_eval.pack.stats import DecoyMinimum
from codelewm_eval.report.build import ReportConfig, ReportResult
from codelewm_eval.stage import StageConfig, StageResult


def test_every_stage_takes_a_config_and_returns_a_result():
    for config, result in ((ExecuteConfig, ExecuteResult), (ScoreConfig, ScoreResult),
                           (CompareConfig, CompareResult), (PackBuildConfig, PackBuildResult),
                           (LaunchConfig, LaunchResult), (EvaluateConfig, EvaluateResult),
                           (DecoysConfig, DecoysResult), (ReportConfig, ReportResult)):
        assert issubclass(config, StageConfig) and issubclass(result, StageResult)
        assert config.command is not StageConfig.command, config


def test_a_pack_build_config_says_the_command_that_asks_for_it():
    pack = PackConfig(seed=7, fractions=(0.6, 0.2, 0.2), evaluation_only=["livecodebench"], reference_decoys=True,
                      same_problem_pairs_per_task=2)
    pack.coverage.decoy_minimums["mutation"] = DecoyMinimum(pairs=10, tasks=5)
    config = PackBuildConfig(results=[Path("a.jsonl"), Path("b.jsonl")], out=Path("p"), pack=pack,
                             data_dir=Path("data"), parquet=False)
    argv = config.command()
    assert argv[:3] == ["codelewm-eval", "pack", "build"]
    args = build_parser().parse_args(argv[1:])
    assert [Path(p) for p in args.results] == config.results  # both files: --results takes them at once
    assert (args.seed, args.fractions, args.evaluation_only, args.decoys, args.same_problem_pairs) == (
        7, (0.6, 0.2, 0.2), ["livecodebench"], True, 2)
    assert "mutation=10/5" in args.decoy_minimum and args.data_dir == "data" and args.no_parquet
    assert PackBuildConfig(results=[Path("a.jsonl")], out=Path("p")).command() == [
        "codelewm-eval", "pack", "build", "--results", "a.jsonl", "--out", "p"] + [
        a for k, v in sorted(PackConfig().coverage.decoy_minimums.items())
        for a in ("--decoy-minimum", f"{k}={v.pairs}/{v.tasks}")]


def test_a_launch_config_says_the_command_that_asks_for_it():
    config = LaunchConfig(spec=Path("jobs/standard.yaml"), backend="hf", run_id="r1", dry_run=True, evaluate=False)
    args = build_parser().parse_args(config.command()[1:])
    assert (args.spec, args.backend, args.run_id, args.dry_run, args.no_evaluate) == (
        "jobs/standard.yaml", "hf", "r1", True, True)
    assert LaunchConfig(spec=Path("j.yaml")).command() == ["codelewm-eval", "jobs", "launch", "j.yaml"]


def test_an_evaluate_config_says_the_command_that_asks_for_it():
    config = EvaluateConfig(pack=Path("p"), scores=[Path("s1.jsonl"), Path("s2.jsonl")], gates=Path("g.yaml"),
                            out=Path("e"), draws=500, plots=False, mutant_sets=True)
    args = build_parser().parse_args(config.command()[1:])
    assert (args.pack, args.scores, args.gates, args.out, args.draws, args.bins, args.no_plots, args.mutant_sets) == (
        "p", ["s1.jsonl", "s2.jsonl"], "g.yaml", "e", 500, 10, True, True)


def test_a_decoys_config_says_the_command_that_asks_for_it():
    config = DecoysConfig(results=Path("r.jsonl"), out=Path("d.jsonl"), per_source=5, data_dir=Path("data"))
    args = build_parser().parse_args(config.command()[1:])
    assert (args.results, args.out, args.per_source, args.data_dir) == ("r.jsonl", "d.jsonl", 5, "data")
