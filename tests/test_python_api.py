"""The Python API example of docs/python-api.md runs as written, and the package exports what it
says it does."""

from __future__ import annotations

import re

import pytest

import codelewm_eval as ce

from .conftest import ROOT


def test_every_exported_name_resolves():
    assert set(ce.__all__) >= {"execute_stage", "build_pack", "run_preflight", "train_seed", "evaluate", "audit",
                               "Runner"}
    import codelewm_eval.preflight.run  # noqa: F401 - a subpackage import must not shadow a stage
    import codelewm_eval.train.run  # noqa: F401

    for name in ce.__all__:
        value = getattr(ce, name)
        assert value is not None and not (callable(value) is False and name[0].islower() and name != "__version__")
    with pytest.raises(AttributeError):
        ce.no_such_stage  # noqa: B018


@pytest.mark.slow
def test_the_documented_default_run_in_python(capsys):
    text = (ROOT / "docs" / "python-api.md").read_text()
    (code,) = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(code.strip().splitlines()) <= 25
    exec(compile(code, "docs/python-api.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "{'auc': 'pass'} {}" in printed  # the gate passes, and the two seeds differ
    assert "['decoys:val:mutation', 'decoys:test:mutation']" in printed  # the default minimum is 30 tasks


def test_a_scorer_from_another_package_is_registered_and_used(tmp_path, data_dir, monkeypatch, capsys):
    import json

    import numpy as np

    from codelewm_eval.cli import main
    from codelewm_eval.evidence import scorers as S
    from codelewm_eval.pack.build import PackConfig, build_pack

    from .test_pack_decoy_pairs import _sources

    class Point:  # what importlib.metadata gives for an entry point of the codelewm_eval.scorers group
        name = "short_first"

        def load(self):
            return S.Scorer("short_first", lambda rows, **_: (np.array([-len(r.program) for r in rows], float),
                                                              {"rule": "shorter first"}),
                            description="a user's scorer from their own package")

    monkeypatch.setattr("importlib.metadata.entry_points", lambda group: [Point()] if group == S.ENTRY_POINTS else [])
    monkeypatch.setattr(S, "_REGISTRY", dict(S._REGISTRY))  # the registration does not outlive the test
    pack = tmp_path / "pack"
    build_pack(list(_sources(tmp_path)), pack, PackConfig(), data_dir, ["test"])
    out = tmp_path / "s.jsonl"
    assert main(["score", "--pack", str(pack), "--out", str(out), "--scorers", "short_first,oracle",
                 "--no-progress"]) == 0
    row = json.loads(out.read_text().splitlines()[0])
    assert set(row["scores"]) == {"short_first", "oracle"}
    assert main(["benchmarks"]) == 0
    assert "short_first" in capsys.readouterr().out
    assert main(["score", "--pack", str(pack), "--out", str(tmp_path / "t.jsonl"), "--scorers", "nope"]) == 2


def test_a_benchmark_from_another_package_is_registered_and_executed(tmp_path, monkeypatch, capsys):
    import json

    from codelewm_eval import benchmarks as B
    from codelewm_eval.cli import main

    def load(data_dir, **_):
        problem = B.Problem(benchmark="mini", task_id="mini/0", prompt="", entry_point="add",
                            canonical_solution="def add(a, b):\n    return a + b\n", licence="MIT", source="test",
                            tests=B.TestSpec(mode="check", entry_point="add", call_check=True,
                                             test_code="def check(f):\n    assert f(2, 3) == 5\n"))
        return B.Benchmark(name="mini", version="1", licence="MIT", source="test", source_sha256="0" * 64,
                           problems={"mini/0": problem})

    class Point:
        name = "mini"

        def load(self):
            return B.BenchmarkEntry("mini", load, "a user's one-problem benchmark", "MIT")

    monkeypatch.setattr("importlib.metadata.entry_points", lambda group: [Point()] if group == B.ENTRY_POINTS else [])
    monkeypatch.setattr(B, "_REGISTRY", dict(B._REGISTRY))
    out = tmp_path / "r.jsonl"
    assert main(["execute", "--benchmark", "mini", "--out", str(out), "--no-progress"]) == 0
    assert json.loads(out.read_text())["passed"] is True
    assert main(["benchmarks"]) == 0 and "a user's one-problem benchmark" in capsys.readouterr().out


def test_an_evidence_bundle_reads_back_as_its_models_and_refuses_tampering(tmp_path, data_dir):
    from codelewm_eval.errors import InputError
    from codelewm_eval.pack.build import PackConfig, build_pack

    from .test_pack_decoy_pairs import _sources

    pack = tmp_path / "pack"
    build_pack(list(_sources(tmp_path)), pack, PackConfig(reference_decoys=True), data_dir, ["test"])
    from codelewm_eval.cli import main

    assert main(["score", "--pack", str(pack), "--out", str(tmp_path / "s.jsonl"), "--scorers", "oracle,p_pass",
                 "--no-progress"]) == 0
    result = ce.evaluate(pack, [tmp_path / "s.jsonl"], None, tmp_path / "ev", draws=50, plots=False)
    bundle = ce.EvidenceBundle.read(tmp_path / "ev")
    assert isinstance(bundle.metrics, ce.MetricsFile) and len(bundle.metrics.records) == result["records"]
    assert bundle.pack_stats["rows"] == sum(1 for _ in (pack / "rows.jsonl").open())
    (tmp_path / "ev" / "gates.json").write_text('{"gates": [], "ok": true}\n')
    with pytest.raises(InputError, match="does not verify"):
        ce.EvidenceBundle.read(tmp_path / "ev")


def test_each_stage_config_gives_the_command_that_does_the_same():
    from pathlib import Path

    from codelewm_eval.cli import build_parser

    parser = build_parser()
    score = ce.ScoreConfig(pack=Path("p"), out=Path("s.jsonl"), scorers=["length", "p_pass"], seed=7, workers=3)
    args = parser.parse_args(score.command()[1:])
    assert (args.pack, args.out, args.scorers, args.seed, args.workers, args.run) == \
        ("p", "s.jsonl", "length,p_pass", 7, 3, None)
    compare = ce.CompareConfig(baseline=Path("a.jsonl"), candidates=[Path("b.jsonl"), Path("c.jsonl")], draws=50)
    args = parser.parse_args(compare.command()[1:])
    assert (args.baseline, args.candidate, args.draws, args.out) == ("a.jsonl", ["b.jsonl", "c.jsonl"], 50, None)
    execute = ce.ExecuteConfig(benchmark="humaneval", out=Path("r.jsonl"), shard="2/4")
    argv = execute.command()
    assert "--samples-format" not in argv  # its default is left out
    args = parser.parse_args(argv[1:])
    assert (args.benchmark, args.out, args.shard, args.samples) == ("humaneval", "r.jsonl", "2/4", None)
