"""Fuzzing every reader at the edge: generated malformed inputs (bytes, JSON of the wrong shape,
YAML configs and specs with wrong types and values) must end in exit 2 or an InputError naming the
file, never a traceback; generated valid inputs must round-trip. A fixed number of examples in CI
(CODELEWM_FUZZ_EXAMPLES raises it: `CODELEWM_FUZZ_EXAMPLES=2000 pytest tests/test_fuzz.py`)."""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codelewm_eval.cli import main
from codelewm_eval.errors import InputError

EXAMPLES = int(os.environ.get("CODELEWM_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**80, max_value=2**80),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12))
JSONISH = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                        st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                       max_leaves=12)


def _cli(argv: list[str]) -> tuple[int, str]:
    err, out = StringIO(), StringIO()
    with redirect_stderr(err), redirect_stdout(out):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse
            code = exc.code
    return code, err.getvalue()


def _assert_clean_refusal(code: int, err: str, path: Path) -> None:
    assert "Traceback" not in err, err
    assert code in (0, 1, 2), (code, err)
    if code == 2:
        assert str(path) in err or path.name in err, err


def _yaml_file(path: Path, data) -> Path | None:
    """The data written as YAML (None: it has no YAML form, such as a lone surrogate)."""
    try:
        path.write_text(yaml.safe_dump(data, allow_unicode=True))
    except (yaml.YAMLError, UnicodeEncodeError):
        return None
    return path


def _outcome_row():
    """A compare input row: the right shape with any field bent out of it."""
    good = {"benchmark": "mbpp", "task_id": "11", "passed": True}
    return st.one_of(
        st.fixed_dictionaries({k: st.one_of(st.just(v), JSONISH) for k, v in good.items()}),
        st.dictionaries(st.sampled_from(["benchmark", "task_id", "passed", "origin", "x"]), JSONISH, max_size=4))


@FUZZ
@given(st.lists(st.one_of(_outcome_row().map(lambda r: json.dumps(r, allow_nan=True).encode()),
                          st.binary(max_size=40)), min_size=1, max_size=5))
def test_compare_inputs_never_end_in_a_traceback(lines):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "outcomes.jsonl"
        path.write_bytes(b"\n".join(lines) + b"\n")
        code, err = _cli(["compare", "--baseline", str(path), "--candidate", str(path)])
        _assert_clean_refusal(code, err, path)


@FUZZ
@given(st.dictionaries(st.sampled_from(["name", "sources", "seeds", "scorer", "gates", "hyperparameters",
                                        "decoy_minimums", "mutant_sets", "schema_version", "unknown"]),
                       JSONISH, max_size=6),
       st.lists(st.dictionaries(st.sampled_from(["name", "benchmark", "limit", "decoys", "samples"]), JSONISH,
                                max_size=5), max_size=2))
def test_run_configs_are_refused_with_the_file_named(config, sources):
    from codelewm_eval.pipeline import load_config

    config = {**config, "sources": sources} if sources else config
    with tempfile.TemporaryDirectory() as tmp:
        path = _yaml_file(Path(tmp) / "run.yaml", config)
        if path is None:
            return
        try:
            loaded = load_config(path)
        except InputError as exc:
            assert str(path) in str(exc)
            return
        # accepted: every value obeys the edge rules
        assert all(0 <= s <= 2**32 - 1 and type(s) is int for s in loaded.seeds)
        assert all(src.limit is None or src.limit >= 1 for src in loaded.sources)


@FUZZ
@given(st.dictionaries(st.sampled_from(["name", "task", "backend", "seeds", "pack", "scorer", "hardware",
                                        "hyperparameters", "env", "secrets", "timeout", "execute", "limit",
                                        "flavor", "image"]), JSONISH, max_size=7))
def test_job_specs_are_refused_with_the_file_named(spec):
    with tempfile.TemporaryDirectory() as tmp:
        path = _yaml_file(Path(tmp) / "job.yaml", spec)
        if path is None:
            return
        code, err = _cli(["jobs", "launch", str(path), "--dry-run"])
        _assert_clean_refusal(code, err, path)


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(["utf-8", "utf-16", "utf-16-le", "utf-8-sig", "latin-1"]),
       st.text(max_size=80))
def test_prose_and_secret_readers_take_any_bytes(noise, encoding, text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "notes.md"
        try:
            path.write_bytes(noise + text.encode(encoding, errors="replace"))
        except LookupError:
            return
        code, err = _cli(["secrets", "scan", str(path)])
        _assert_clean_refusal(code, err, path)
        root = Path(__file__).resolve().parent.parent
        code, err = _cli(["claims", "audit", "--root", str(root), "--ledger", str(root / "cards" / "context-claims.yaml"),
                          "--paths", str(path)])
        _assert_clean_refusal(code, err, path)


@FUZZ
@given(st.lists(st.sampled_from(["--seed", "--fractions", "--evaluation-only", "--decoy-minimum",
                                 "--same-problem-pairs", "--workers"]), min_size=1, max_size=3),
       st.lists(st.text(min_size=1, max_size=12).filter(lambda s: not s.startswith("-")), min_size=3, max_size=3))
def test_pack_build_flags_are_refused_before_any_work(flags, values):
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "r.jsonl"
        results.write_text("")
        argv = ["pack", "build", "--results", str(results), "--out", str(Path(tmp) / "pack")]
        for flag, value in zip(flags, values):
            argv += [flag, value]
        code, err = _cli(argv)
        assert "Traceback" not in err and code in (1, 2), (code, err)
        assert not (Path(tmp) / "pack").exists()


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["mbpp", "humaneval", "livecodebench"]),
                          st.integers(min_value=0, max_value=30), st.booleans()), min_size=1, max_size=20))
def test_valid_outcomes_round_trip(rows):
    from codelewm_eval.evidence.compare import read_outcomes

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "o.jsonl"
        path.write_text("".join(json.dumps({"benchmark": b, "task_id": str(t), "passed": p}) + "\n"
                                for b, t, p in rows))
        first: dict = {}
        for b, t, p in rows:
            first.setdefault((b, str(t)), p)
        assert read_outcomes(path) == first


@FUZZ
@given(st.lists(st.integers(min_value=0, max_value=2**32 - 1), min_size=1, max_size=3, unique=True),
       st.integers(min_value=1, max_value=10_000))
def test_valid_run_configs_round_trip(seeds, limit):
    from codelewm_eval.pipeline import RunConfig, load_config

    config = RunConfig(sources=[{"name": "he", "benchmark": "humaneval", "limit": limit}], seeds=seeds, gates=[])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.yaml"
        path.write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
        assert load_config(path) == config
