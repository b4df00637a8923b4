"""Typed benchmark problems: what a task asks, how it is tested, where it came from."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1

TestMode = Literal["check", "asserts", "io", "none"]


class TestSpec(BaseModel):
    """How the trusted tester process checks a candidate.

    * ``check``: ``test_code`` defines ``check(candidate)`` (HumanEval layout); it is called
      with the candidate's ``entry_point`` unless ``call_check`` is false (the test code
      calls it itself, as MultiPL-E's ``test_check()`` does).
    * ``asserts``: ``test_code`` is a list of statements calling the candidate's functions by
      name (MBPP layout).
    * ``io``: the candidate's ``entry_point`` is called on each input; outputs are compared
      outside the sandbox with expected outputs computed from the canonical solution.
    * ``none``: no tests are available here (LiveCodeBench statements).

    ``trusted_setup`` runs in the tester before anything else; names it defines (helpers of
    the prompt such as HumanEval/32's ``poly``) are never replaced by the candidate's.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    mode: TestMode
    entry_point: str | None = None
    trusted_setup: str = ""
    test_code: str = ""
    call_check: bool = False
    inputs: list[Any] = Field(default_factory=list)
    base_input_count: int = 0
    atol: float = 0.0


class Problem(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    schema_version: int = SCHEMA_VERSION
    benchmark: str
    task_id: str
    prompt: str
    entry_point: str | None = None
    canonical_solution: str | None = Field(default=None, description="a complete program, or None")
    tests: TestSpec
    licence: str
    source: str
    metadata: dict[str, Any] = Field(default_factory=dict)


class Benchmark(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str
    version: str
    licence: str
    source: str
    source_sha256: str
    problems: dict[str, Problem]
    note: str = ""

    def __len__(self) -> int:
        return len(self.problems)

    def get(self, task_id: str) -> Problem | None:
        return self.problems.get(task_id)
