"""MBPP (974; test range 11-510 selectable), MBPP sanitized (427), MBPP+ (v0.2.0 default,
v0.1.0 selectable) and MultiPL-E's MBPP-Python tests (the tests behind the MBPP pool)."""

from __future__ import annotations

import ast
import json
import warnings
from pathlib import Path

from ..errors import InputError
from ..io import iter_jsonl, read_json, require, sha256_file
from .models import Benchmark, Problem, TestSpec

MBPP_LICENCE = "CC-BY-4.0"
MBPP_PLUS_LICENCE = "Apache-2.0"
MULTIPLE_LICENCE = "BSD-3-Clause + MultiPL-E no-ML-training clause (evaluation only)"  # see pack.rows.NO_TRAINING_MARK
MBPP_TEST_RANGE = range(11, 511)


def _mbpp_dir(data_dir: Path | None, name: str) -> Path:
    if data_dir is None:
        raise InputError(f"{name} needs --data-dir (a mirror with problems/mbpp/)")
    return Path(data_dir) / "problems" / "mbpp"


def _called_function(tests: list[str], code: str) -> str | None:
    """The function the asserts exercise: the first called name the solution defines."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MBPP's own code has invalid escape sequences
        try:
            defined = {n.name for n in ast.parse(code).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        except SyntaxError:
            defined = set()
        trees = []
        for test in tests:
            try:
                trees.append(ast.parse(test))
            except SyntaxError:
                continue
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if not defined or node.func.id in defined:
                    return node.func.id
    return None


def _asserts_problem(benchmark: str, task_id: str, text: str, code: str, tests: list[str], setup: str,
                     imports: list[str], source: str, licence: str) -> Problem:
    entry = _called_function(tests, code)
    prompt = f"{text}\nYour code should pass these tests:\n\n" + "\n".join(tests[:3]) + "\n"
    return Problem(
        benchmark=benchmark, task_id=task_id, prompt=prompt, entry_point=entry, canonical_solution=code,
        tests=TestSpec(mode="asserts", entry_point=entry, trusted_setup="\n".join(imports),
                       test_code="\n".join([setup] + tests) if setup else "\n".join(tests)),
        licence=licence, source=source,
    )


def load_mbpp(data_dir: Path | None, split: str = "all") -> Benchmark:
    path = _mbpp_dir(data_dir, "mbpp") / "mbpp.jsonl.gz"
    if split not in ("all", "test"):
        raise InputError(f"unknown MBPP split {split!r} (use 'all' or 'test' for tasks 11-510)")
    problems = {}
    p = str(path)
    for line, row in iter_jsonl(path):
        raw_id = require(row, "task_id", (int, str), path=p, line=line)
        try:
            number = int(raw_id)
        except ValueError:
            raise InputError("expected an integer task id", path=p, line=line, field="task_id") from None
        if split == "test" and number not in MBPP_TEST_RANGE:
            continue
        tests = require(row, "test_list", list, path=p, line=line)
        code = require(row, "code", str, path=p, line=line).replace("\r\n", "\n")
        setup = (row.get("test_setup_code") or "").replace("\r\n", "\n")
        problems[str(number)] = _asserts_problem(
            "mbpp", str(number), require(row, "text", str, path=p, line=line), code, tests, setup, [],
            path.name, MBPP_LICENCE)
    return Benchmark(name="mbpp", version=f"original ({split})", licence=MBPP_LICENCE, source=p,
                     source_sha256=sha256_file(path), problems=problems)


def load_mbpp_sanitized(data_dir: Path | None) -> Benchmark:
    path = _mbpp_dir(data_dir, "mbpp-sanitized") / "sanitized-mbpp.json.gz"
    rows = read_json(path)
    if not isinstance(rows, list):
        raise InputError("expected one JSON list", path=str(path))
    problems = {}
    for index, row in enumerate(rows):
        where = dict(path=str(path), line=None)
        if not isinstance(row, dict):
            raise InputError(f"item {index} is not an object", path=str(path))
        task_id = str(require(row, "task_id", (int, str), **where))
        problems[task_id] = _asserts_problem(
            "mbpp-sanitized", task_id, require(row, "prompt", str, **where), require(row, "code", str, **where),
            require(row, "test_list", list, **where), "", list(row.get("test_imports") or []), path.name, MBPP_LICENCE)
    return Benchmark(name="mbpp-sanitized", version="sanitized", licence=MBPP_LICENCE, source=str(path),
                     source_sha256=sha256_file(path), problems=problems)


# MBPP+ stores inputs as JSON; these tasks' canonical solutions need tuples, sets or complex
# numbers back (the rules EvalPlus applies when it loads MBPP+).
def _tuples(xs):
    return [tuple(x) for x in xs]


def _deep_tuple(x):
    return tuple(_deep_tuple(i) for i in x) if isinstance(x, list) else x


_EACH_ARG_TUPLE = {2, 116, 132, 143, 222, 261, 273, 394, 399, 421, 424, 429, 470, 560, 579, 596, 616, 630, 726, 740, 744, 809}
_EACH_ARG_LIST_OF_TUPLES = {63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780}
_FIRST_ARG_LIST_OF_TUPLES = {75, 413, 444, 753}
_SECOND_ARG_TUPLE = {106, 750}
_FIRST_ARG_TUPLE = {250, 405, 446, 617, 720, 763, 808}
_NESTED_TUPLES = {259, 401, 445}
_ALL_TUPLES = {580, 615, 791}


def mbpp_plus_deserialize(number: int, args: list) -> list:
    """One input (a list of arguments) as the canonical solution expects it."""
    if number in _EACH_ARG_TUPLE:
        return _tuples(args)
    if number in _EACH_ARG_LIST_OF_TUPLES:
        return [_tuples(a) for a in args]
    if number in _FIRST_ARG_LIST_OF_TUPLES:
        return [_tuples(args[0])] + list(args[1:])
    if number in _SECOND_ARG_TUPLE:
        return [args[0], tuple(args[1])] + list(args[2:])
    if number in _FIRST_ARG_TUPLE:
        return [tuple(args[0])] + list(args[1:])
    if number in _NESTED_TUPLES:
        return [tuple(_tuples(a)) for a in args]
    if number == 115:
        return [[set(item) if isinstance(item, list) and item else {} for item in args[0]]]
    if number == 124:
        return [float(args[0]), complex(args[1])]
    if number == 252:
        return [complex(args[0])]
    if number == 278:
        return [tuple(tuple(i) if isinstance(i, list) else i for i in args[0])]
    if number == 307:
        return [tuple(args[0])] + list(args[1:])
    if number == 722:
        return [{k: tuple(v) for k, v in args[0].items()}] + list(args[1:])
    if number in _ALL_TUPLES:
        return list(_deep_tuple(args))
    return args


def load_mbpp_plus(data_dir: Path | None, version: str = "v0.2.0") -> Benchmark:
    files = {"v0.2.0": "MbppPlus-v0.2.0.derived.jsonl.gz", "v0.1.0": "MbppPlus-v0.1.0.evalplus-767efcc.jsonl.gz"}
    if version not in files:
        raise InputError(f"unknown MBPP+ version {version!r} (choose {', '.join(files)})")
    path = _mbpp_dir(data_dir, "mbpp-plus") / files[version]
    p = str(path)
    problems = {}
    for line, row in iter_jsonl(path):
        task_id = require(row, "task_id", str, path=p, line=line)
        number = int(task_id.split("/")[-1])
        entry = require(row, "entry_point", str, path=p, line=line)
        inputs = []
        counts = []
        for field in ("base_input", "plus_input"):
            raw = require(row, field, (str, list, dict), path=p, line=line)
            value = json.loads(raw) if isinstance(raw, str) else raw
            if value == {}:  # Mbpp/793 stores "no plus inputs" as an empty object
                value = []
            if not isinstance(value, list):
                raise InputError("expected a list of argument lists", path=p, line=line, field=field)
            try:
                converted = [mbpp_plus_deserialize(number, a) for a in value]
            except (TypeError, ValueError, IndexError, KeyError, AttributeError) as exc:
                raise InputError(f"cannot rebuild inputs ({exc})", path=p, line=line, field=field) from None
            inputs += converted
            counts.append(len(converted))
        prompt = require(row, "prompt", str, path=p, line=line)
        problems[task_id] = Problem(
            benchmark="mbpp-plus", task_id=task_id, prompt=prompt + (row.get("assertion") or ""), entry_point=entry,
            canonical_solution=require(row, "canonical_solution", str, path=p, line=line),
            tests=TestSpec(mode="io", entry_point=entry, inputs=inputs, base_input_count=counts[0],
                           atol=float(row.get("atol") or 0)),
            licence=MBPP_PLUS_LICENCE, source=path.name,
        )
    return Benchmark(name="mbpp-plus", version=version, licence=MBPP_PLUS_LICENCE, source=p,
                     source_sha256=sha256_file(path), problems=problems)


def load_mbpp_multiple(data_dir: Path | None) -> Benchmark:
    """MultiPL-E's reworded MBPP-Python tasks; task ids are names like ``mbpp_3_is_not_prime``."""
    path = _mbpp_dir(data_dir, "mbpp-multiple") / "multiple-e_mbpp-py_397.mapcoder.jsonl.gz"
    p = str(path)
    problems = {}
    for line, row in iter_jsonl(path):
        name = require(row, "name", str, path=p, line=line)
        prompt = require(row, "prompt", str, path=p, line=line)
        entry = require(row, "entry_point", str, path=p, line=line)
        problems[name] = Problem(
            benchmark="mbpp-multiple", task_id=name, prompt=prompt, entry_point=entry, canonical_solution=None,
            tests=TestSpec(mode="check", entry_point=entry, trusted_setup=prompt,
                           test_code=require(row, "test", str, path=p, line=line), call_check=False),
            licence=MULTIPLE_LICENCE, source=path.name, metadata={"mbpp_task": int(name.split("_")[1])},
        )
    return Benchmark(name="mbpp-multiple", version="MultiPL-E mbpp-py (397)", licence=MULTIPLE_LICENCE, source=p,
                     source_sha256=sha256_file(path), problems=problems,
                     note="evaluation only: the licence forbids use as ML training data")
