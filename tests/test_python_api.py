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
    code = _blocks("python")[0]
    assert len(code.strip().splitlines()) <= 25
    exec(compile(code, "docs/python-api.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "{'auc': 'pass'} {}" in printed  # the gate passes, and the two seeds differ
    assert "['decoys:val:mutation', 'decoys:test:mutation']" in printed  # the default minimum is 30 tasks


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", (ROOT / "docs" / "python-api.md").read_text(), re.S)


def _install_plugin(tmp_path, monkeypatch) -> None:
    """The documented plugin, installed as a package is: its module and a dist-info whose
    entry_points.txt holds the documented entry points, on sys.path."""
    import tomllib

    from codelewm_eval import benchmarks as B
    from codelewm_eval.evidence import scorers as S

    (toml,) = _blocks("toml")
    module = next(b for b in _blocks("python") if "BenchmarkEntry" in b)
    site = tmp_path / "site"
    (site / "my_codelewm_plugin-1.0.dist-info").mkdir(parents=True)
    (site / "my_codelewm_plugin.py").write_text(module)
    points = tomllib.loads(toml)["project"]["entry-points"]
    (site / "my_codelewm_plugin-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: my-codelewm-plugin\nVersion: 1.0\n")
    (site / "my_codelewm_plugin-1.0.dist-info" / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{name} = {target}\n" for name, target in names.items()) + "\n"
        for group, names in points.items()))
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(S, "_REGISTRY", dict(S._REGISTRY))  # the registrations do not outlive the test
    monkeypatch.setattr(B, "_REGISTRY", dict(B._REGISTRY))


def test_the_documented_plugin_adds_a_scorer_a_benchmark_and_a_gate(tmp_path, data_dir, monkeypatch, capsys):
    import json

    import yaml

    from codelewm_eval.cli import main
    from codelewm_eval.pack.build import PackConfig, build_pack

    from .test_pack_decoy_pairs import _sources

    _install_plugin(tmp_path, monkeypatch)
    assert main(["benchmarks", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert "toy-add" in {b["name"] for b in listed["benchmarks"]}
    assert "short_first" in {s["name"] for s in listed["scorers"]}
    # the benchmark: its canonical solutions pass their tests in the sandbox
    assert main(["execute", "--benchmark", "toy-add", "--out", str(tmp_path / "toy.jsonl"), "--no-progress",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["passed"] == 3
    # the scorer scores a pack, and the documented gate judges it
    pack = tmp_path / "pack"
    build_pack(list(_sources(tmp_path)), pack, PackConfig(), data_dir, ["test"])
    scores = tmp_path / "s.jsonl"
    assert main(["score", "--pack", str(pack), "--out", str(scores), "--scorers", "short_first,oracle",
                 "--no-progress"]) == 0
    assert set(json.loads(scores.read_text().splitlines()[0])["scores"]) == {"short_first", "oracle"}
    (gate_yaml,) = _blocks("yaml")
    (tmp_path / "gates.yaml").write_text(gate_yaml)
    main(["evaluate", "--pack", str(pack), "--scores", str(scores), "--gates", str(tmp_path / "gates.yaml"),
          "--out", str(tmp_path / "ev"), "--draws", "50", "--no-plots"])
    (gate,) = ce.read_artifact(tmp_path / "ev").gates.gates
    assert gate.name == "short-first-auc" and gate.status in ("pass", "fail")  # measured, not blocked
    assert yaml.safe_load(gate_yaml)["gates"][0]["scorer"] == "short_first"
    assert main(["score", "--pack", str(pack), "--out", str(tmp_path / "t.jsonl"), "--scorers", "nope"]) == 2


def test_read_artifact_opens_each_kind_and_refuses_newer_versions(tmp_path, monkeypatch):
    import json

    from codelewm_eval.errors import InputError
    from codelewm_eval.evidence.compare_stage import ComparisonFile
    from codelewm_eval.io import MIGRATIONS, read_versioned
    from codelewm_eval.manifest import write_manifest

    results = tmp_path / "r.jsonl"
    ce.execute_stage(ce.ExecuteConfig(benchmark="humaneval", out=results, limit=2, progress=False))
    assert isinstance(ce.read_artifact(results), ce.ExecutionResults)
    assert len(ce.read_artifact(results).results) == 2
    ce.compare_stage(ce.CompareConfig(baseline=results, candidates=[results], out=tmp_path / "cmp"))
    compared = ce.read_artifact(tmp_path / "cmp")
    assert isinstance(compared, ce.ComparisonBundle) and compared.comparisons[0].benchmarks[0].n == 2
    with pytest.raises(InputError, match="no manifest here"):
        ce.read_artifact(tmp_path / "nothing")
    # a file of a newer schema is refused, naming it; an older one goes through its migration
    newer = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    newer["schema_version"] = 9
    (tmp_path / "cmp" / "compare.json").write_text(json.dumps(newer))
    write_manifest(tmp_path / "cmp", "comparison")
    with pytest.raises(InputError, match="newer codelewm-eval") as refused:
        ce.read_artifact(tmp_path / "cmp")
    assert "compare.json" in str(refused.value)
    older = {"schema_version": 0, "pairs": newer["comparisons"]}
    (tmp_path / "old.json").write_text(json.dumps(older))
    with pytest.raises(InputError):  # no migration from 0 registered: read as is, and invalid
        read_versioned(ComparisonFile, tmp_path / "old.json")
    monkeypatch.setitem(MIGRATIONS, ("ComparisonFile", 0), lambda raw: {"comparisons": raw["pairs"]})
    assert read_versioned(ComparisonFile, tmp_path / "old.json").comparisons[0].benchmarks[0].n == 2


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
