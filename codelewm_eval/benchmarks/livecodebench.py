"""LiveCodeBench: statements only (no tests are public here); graded results are ingested
from the upstream harness, never presented as executed here."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..io import iter_jsonl, require, sha256_file
from .models import Benchmark, Problem, TestSpec

LCB_LICENCE = "statements are third-party (LeetCode, AtCoder, Codeforces)"


def load_livecodebench(data_dir: Path | None) -> Benchmark:
    if data_dir is None:
        raise InputError("livecodebench needs --data-dir (a mirror with problems/livecodebench/)")
    path = Path(data_dir) / "problems" / "livecodebench" / "lcb_problems_880_statements_no_tests.jsonl.gz"
    p = str(path)
    problems = {}
    for line, row in iter_jsonl(path):
        qid = str(require(row, "question_id", (str, int), path=p, line=line))
        problems[qid] = Problem(
            benchmark="livecodebench", task_id=qid, prompt=require(row, "question_content", str, path=p, line=line),
            entry_point=None, canonical_solution=None, tests=TestSpec(mode="none"), licence=LCB_LICENCE,
            source=path.name,
            metadata={k: row.get(k) for k in ("question_title", "platform", "contest_id", "contest_date", "difficulty", "starter_code")},
        )
    return Benchmark(name="livecodebench", version="statements 2023-05..2025-01", licence=LCB_LICENCE, source=p,
                     source_sha256=sha256_file(path), problems=problems,
                     note="no tests: labels can only be ingested from the upstream harness")
