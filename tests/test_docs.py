"""The generated reference docs are current: verb pages from --help, formats and JSON Schemas
from the pydantic models (regenerate with `python scripts/gen_docs.py`)."""

from __future__ import annotations

import json

from codelewm_eval.cli.docs import all_files

from .conftest import ROOT


def test_committed_docs_and_schemas_are_current():
    stale = [rel for rel, text in all_files().items()
             if not (ROOT / rel).exists() or (ROOT / rel).read_text() != text]
    assert not stale, f"stale generated docs (run `python scripts/gen_docs.py`): {stale}"


def test_schemas_validate_real_artifacts():
    import jsonschema

    schema = json.loads((ROOT / "docs/schemas/evidence-gates.schema.json").read_text())
    gates = json.loads((ROOT / "manifests/evidence/logreg-v1/gates.json").read_text())
    jsonschema.validate(gates, schema)
    schema = json.loads((ROOT / "docs/schemas/ledger.schema.json").read_text())
    import yaml

    jsonschema.validate(yaml.safe_load((ROOT / "cards/claims.yaml").read_text()), schema)
    gates["gates"][0]["status"] = "maybe"
    try:
        jsonschema.validate(gates, json.loads((ROOT / "docs/schemas/evidence-gates.schema.json").read_text()))
    except jsonschema.ValidationError:
        pass
    else:
        raise AssertionError("a gate status outside pass/fail/blocked must not validate")
