from __future__ import annotations

import os
from pathlib import Path

import pytest

from codelewm_eval.benchmarks.models import Problem, TestSpec
from codelewm_eval.execution.jobs import Budget, build_job, judge
from codelewm_eval.sandbox.pool import Limits, SandboxPool

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("CODELEWM_EVAL_CHECK_SCHEMAS", "1")  # every --json a test prints is checked against its schema
DATA_DIR = Path(os.environ.get("CODELEWM_DATA_DIR", ROOT.parent / "shared" / "data"))


def require_data(*parts: str) -> Path:
    path = DATA_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real benchmark data not found at {path} (set CODELEWM_DATA_DIR)")
    return path


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return require_data()


@pytest.fixture(scope="session")
def pool():
    with SandboxPool(workers=2, limits=Limits()) as p:
        yield p


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("CODELEWM_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def check_problem(test_code: str, entry: str = "f", setup: str = "", call_check: bool = True) -> Problem:
    return Problem(benchmark="unit", task_id="unit/0", prompt=setup, entry_point=entry, canonical_solution=None,
                   tests=TestSpec(mode="check", entry_point=entry, trusted_setup=setup, test_code=test_code,
                                  call_check=call_check),
                   licence="MIT", source="tests")


def run_program(pool: SandboxPool, problem: Problem, program: str, wall_s: float = 2.0, expected=None, **limits):
    header, tests = build_job(problem, program, Budget(wall_s, None, "test"), Limits(**limits))
    raw = pool.run(header, tests)
    return judge(problem, raw, expected), raw
