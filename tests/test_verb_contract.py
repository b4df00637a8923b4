"""Every CLI verb is parse -> config -> one stage -> emit(result): the test walks the parser,
runs each verb's config function on its documented example with the stage replaced by a
recorder, and checks the stage's typed config and result; the `--json` of every verb is its
result model, whose JSON Schema is committed in docs/schemas/verbs/."""

from __future__ import annotations

import json
import shlex
import typing

import jsonschema
import pytest

from codelewm_eval.cli import build_parser, main
from codelewm_eval.cli.common import emit, stage_verb
from codelewm_eval.cli.docs import EXAMPLES, _verbs
from codelewm_eval.cli.schemas import result_model
from codelewm_eval.stage import StageConfig, StageResult, load_stage

from .conftest import ROOT

VERBS = _verbs(build_parser())
GENERIC_VERB = stage_verb("x:y")(lambda args: None).__code__  # the one body every verb runs


def test_every_verb_is_one_stage_with_a_typed_config_and_result():
    assert len(VERBS) >= 27
    for verb, parser in VERBS:
        func = parser.get_default("func")
        assert func.__code__ is GENERIC_VERB, f"{verb}: not made by stage_verb (prints or exits its own way)"
        hints = typing.get_type_hints(load_stage(func.stage_path))
        config, result = hints["config"], hints["return"]
        assert issubclass(config, StageConfig) and issubclass(result, StageResult), verb
        assert config.command is not StageConfig.command, f"{verb}: {config.__name__} does not say its command line"
        assert result.payload is StageResult.payload, f"{verb}: --json must print the result model itself"
        assert any("--json" in a.option_strings for a in parser._actions), f"{verb}: no --json"
        assert "schema_version" in result.model_fields, f"{verb}: result without a version"


class _Called(Exception):
    pass


@pytest.mark.parametrize("verb", [v for v, _ in VERBS])
def test_each_verb_builds_its_config_and_calls_its_stage_once(verb, monkeypatch, tmp_path):
    """The documented example parses into the stage's config type, and the stage is called once
    with it and with the command line as given."""
    parser = dict(VERBS)[verb]
    func = parser.get_default("func")
    expected = typing.get_type_hints(load_stage(func.stage_path))["config"]
    calls = []

    def recorder(config, command):
        calls.append((config, command))
        raise _Called

    monkeypatch.setattr("codelewm_eval.stage.load_stage", lambda path: recorder)
    monkeypatch.chdir(tmp_path)
    argv = shlex.split(EXAMPLES[verb])[1:]
    args = build_parser().parse_args(argv)
    args.command = ["codelewm-eval", *argv]
    with pytest.raises(_Called):
        args.func(args)
    assert len(calls) == 1 and type(calls[0][0]) is expected and calls[0][1] == args.command
    config = calls[0][0]
    command = config.command()
    assert command[:1 + len(verb.split())] == ["codelewm-eval", *verb.split()]
    # the config's own command line parses back into the same config
    again = build_parser().parse_args(command[1:])
    again.command = command
    calls.clear()
    with pytest.raises(_Called):
        again.func(again)
    assert calls[0][0].model_dump(exclude={"on_update"}) == config.model_dump(exclude={"on_update"})


def test_committed_verb_schemas_are_the_result_models():
    for verb, parser in VERBS:
        path = ROOT / "docs" / "schemas" / "verbs" / f"{verb.replace(' ', '-')}.schema.json"
        committed = json.loads(path.read_text())
        assert committed == result_model(parser.get_default("func")).model_json_schema(mode="serialization"), verb


def _schema(verb: str) -> dict:
    return json.loads((ROOT / "docs" / "schemas" / "verbs" / f"{verb}.schema.json").read_text())


def test_json_of_real_verbs_validates_against_the_committed_schemas(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("CODELEWM_EVAL_CHECK_SCHEMAS", raising=False)  # validated here, against the files
    secret = tmp_path / "notes.txt"
    from .test_secrets import HF

    secret.write_text(f"token = {HF}\n")
    results = tmp_path / "r.jsonl"
    cases = [
        ("benchmarks", ["benchmarks", "--json"], 0),
        ("secrets-scan", ["secrets", "scan", str(secret), "--json"], 1),
        ("execute", ["execute", "--benchmark", "humaneval", "--limit", "3", "--out", str(results), "--no-progress",
                     "--json"], 0),
        ("manifest-verify", ["manifest", "verify", str(results), "--json"], 0),
        ("compare", ["compare", "--baseline", str(results), "--candidate", str(results), "--json"], 0),
    ]
    for verb, argv, code in cases:
        assert main(argv) == code, verb
        payload = json.loads(capsys.readouterr().out)
        jsonschema.validate(payload, _schema(verb))
    # and a payload that is not the model fails (the check can fail)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"benchmarks": "humaneval"}, _schema("benchmarks"))


@pytest.mark.filterwarnings("ignore::UserWarning")  # the model is built wrong on purpose
def test_emit_refuses_a_payload_off_its_schema(monkeypatch, capsys):
    """Under the suite's check, a result whose JSON left its schema stops the verb."""
    from types import SimpleNamespace

    from codelewm_eval.catalog import CatalogResult

    monkeypatch.setenv("CODELEWM_EVAL_CHECK_SCHEMAS", "1")
    bad = CatalogResult.model_construct(schema_version=1, benchmarks="humaneval", scorers=[])
    with pytest.raises(jsonschema.ValidationError):
        emit(SimpleNamespace(json=True), bad)
    assert capsys.readouterr().out == ""
