"""The score stage: a pack in, a score file with its manifest out (what `codelewm-eval score` calls).

Every named scorer must be registered (`codelewm_eval.evidence.scorers`); the pack must verify.
The manifest's parent is the pack and it records the command that asked for the scores.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from ..commands import command_line
from ..errors import InputError
from ..log import get as get_logger
from ..manifest import require_verified, write_manifest
from ..stage import StageConfig, StageResult
from ..values import Seed

CODET_TESTS = "samples/humaneval/codet_HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_test_case.jsonl.gz"
DEFAULT_SCORERS = ("no_action", "length", "lexical", "oracle", "p_pass")

log = get_logger(__name__)


class ScoreConfig(StageConfig):
    pack: Path
    out: Path
    scorers: list[str] = Field(default_factory=lambda: list(DEFAULT_SCORERS))
    seed: Seed = 42
    run: str | None = Field(None, description="run name recorded in the manifest (default builtin-seed-SEED)")
    codet_tests: Path | None = Field(None, description="CodeT's generated tests (default: in data_dir)")
    data_dir: Path | None = None
    workers: int | None = None
    progress: bool = True

    def command(self) -> list[str]:
        return command_line(["score"], ("--pack", self.pack), ("--out", self.out), ("--scorers", ",".join(self.scorers)),
                            ("--seed", self.seed), ("--run", self.run), ("--codet-tests", self.codet_tests),
                            ("--data-dir", self.data_dir), ("--workers", self.workers))


class ScoreSummaryLine(BaseModel):
    split: str
    scorer: str
    rows: int
    scored: int
    auc: float | None


class ScoreResult(StageResult):
    schema_version: int = 1
    out: Path
    rows: int
    scorers: list[str]
    fit: dict = Field(description="per scorer, what fitting it chose (p_pass: C and val log loss)")
    summary: list[ScoreSummaryLine]

    def text(self) -> str:
        p_pass = self.fit.get("p_pass")
        lines = [f"scored {self.rows} rows with {', '.join(self.scorers)} -> {self.out}" +
                 (f"  (p_pass: C={p_pass['C']}, val log loss {p_pass['val_log_loss']})" if p_pass else "")]
        for line in self.summary:
            auc = "AUC not evaluable" if line.auc is None else f"AUC {line.auc:.3f}"
            lines.append(f"  {line.split:4s} {line.scorer:9s} {line.scored:>7d}/{line.rows} rows scored, {auc}")
        return "\n".join(lines)


def _codet_tests(config: ScoreConfig) -> dict:
    from ..benchmarks import load_benchmark
    from .codet import load_generated_tests

    path = config.codet_tests or (config.data_dir / CODET_TESTS if config.data_dir else None)
    if path is None or not Path(path).exists():
        raise InputError("the codet scorer needs --codet-tests FILE (CodeT's generated test cases)",
                         path=str(path) if path else None)
    bench = load_benchmark("humaneval", config.data_dir)
    return load_generated_tests(Path(path), {t: p.entry_point for t, p in bench.problems.items()})


def score_stage(config: ScoreConfig, command: list[str] | None = None) -> ScoreResult:
    from ..pack.read import read_rows
    from .scorers import score_rows, score_summary, scorers
    from .scores import ScoreRow, write_scores

    pack = config.pack
    require_verified(pack, "the pack", kind="pack")
    known = scorers()
    unknown = sorted(set(config.scorers) - set(known))
    if not config.scorers:
        raise InputError(f"no scorer named; registered: {', '.join(known)}", field="--scorers")
    if unknown:
        raise InputError(f"unknown scorer(s) {', '.join(unknown)}; registered: {', '.join(known)}", field="--scorers")
    rows = read_rows(pack / "rows.jsonl")
    codet_tests = _codet_tests(config) if "codet" in config.scorers else None
    started, last = time.monotonic(), [0.0]

    def progress(name, done, total):
        now = time.monotonic()
        if done is None:
            log.info("score [%6.1fs] %s ...", now - started, name)
        elif done == total or now - last[0] >= 10:
            last[0] = now
            log.info("score [%6.1fs] %s: %d/%d candidates run", now - started, name, done, total)

    try:
        scores, fit = score_rows(rows, config.scorers, seed=config.seed, codet_tests=codet_tests,
                                 workers=config.workers, progress=progress if config.progress else None)
    except InputError as exc:  # the pack cannot fit a scorer (one class in train, ...): name the pack
        if exc.path:
            raise
        raise InputError(exc.message, path=str(pack), field=exc.field) from None
    write_scores(config.out, [
        ScoreRow(benchmark=r.benchmark, task_id=r.task_id, candidate_id=r.candidate_id, split=r.split,
                 scores={n: (float(scores[n][i]) if np.isfinite(scores[n][i]) else None) for n in config.scorers})
        for i, r in enumerate(rows)])
    write_manifest(config.out, "scores", files=[config.out], parents=[pack], command=command or config.command(),
                   config={"scorers": config.scorers, "seed": config.seed,
                           "run": config.run or f"builtin-seed-{config.seed}", "fit": fit})
    return ScoreResult(scorers=config.scorers, out=config.out, rows=len(rows), fit=fit,
                       summary=[ScoreSummaryLine(**line) for line in score_summary(rows, scores)])
