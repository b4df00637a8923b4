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
