"""`bench execute --against evalplus`: the MBPP+ sample, reading EvalPlus's results back, and the
error where EvalPlus is missing. The full comparison runs where an interpreter with EvalPlus is
named in CODELEWM_EVALPLUS_PYTHON (EvalPlus is an optional extra: CI does not install it)."""

from __future__ import annotations

import json
import os
import sys

import pytest

from codelewm_eval.bench_evalplus import evalplus_labels, sample
from codelewm_eval.candidates.models import Candidate, Origin
from codelewm_eval.cli import main
from codelewm_eval.errors import InputError

from .conftest import DATA_DIR, require_data


def _cand(task: str, i: int) -> Candidate:
    return Candidate(candidate_id=f"{task}-{i}", task_id=task, program="def f():\n    return 1\n",
                     origin=Origin(model="m", run="r", sample_index=i, source_file="x", licence="MIT", format="pool"))


def test_evalplus_results_are_read_in_each_tasks_sample_order(tmp_path):
    cands = [_cand("Mbpp/2", 0), _cand("Mbpp/3", 0), _cand("Mbpp/2", 1)]
    results = {"eval": {"Mbpp/2": [{"base_status": "pass", "plus_status": "pass"},
                                   {"base_status": "pass", "plus_status": "fail"}],
                        "Mbpp/3": [{"base_status": "fail", "plus_status": None}]}}
    path = tmp_path / "samples_eval_results.json"
    path.write_text(json.dumps(results))
    assert evalplus_labels(path, cands) == [True, False, False]
    with pytest.raises(InputError, match="no result for sample 1 of Mbpp/3"):
        evalplus_labels(path, cands + [_cand("Mbpp/3", 1)])


def test_mbpp_pool_is_sampled_on_mbpp_plus_with_its_names_bound():
    require_data("samples", "mbpp", "mapcoder_pool_mbpp_multi-model-multi-strategy.jsonl.gz")
    bench, source, cands = sample("mbpp-plus", DATA_DIR, 2, 0)
    assert source.endswith("mapcoder_pool_mbpp_multi-model-multi-strategy.jsonl.gz")
    assert all(c.task_id in bench.problems for c in cands)
    per_task = {}
    for c in cands:
        per_task[c.task_id] = per_task.get(c.task_id, 0) + 1
    assert max(per_task.values()) == 2 and len(per_task) > 300
    # MultiPL-E lower-cased MBPP's names: MBPP+'s name is bound to the candidate's function
    bound = []
    for c in cands:
        wanted = bench.problems[c.task_id].entry_point
        last = c.program.rstrip().splitlines()[-1]
        if last.startswith(f"{wanted} = "):
            bound.append(last.split(" = ")[1])
            assert bound[-1] != wanted
        assert wanted in c.program  # defined, or bound to the candidate's own name


def test_against_evalplus_names_the_missing_install(tmp_path, capsys):
    code = main(["bench", "execute", "--against", "evalplus", "--data-dir", str(DATA_DIR), "--per-task", "1",
                 "--evalplus-python", sys.executable])
    err = capsys.readouterr().err
    if code == 0:
        pytest.skip("this interpreter has EvalPlus")
    assert code == 2 and "EvalPlus is not importable" in err and "--evalplus-python" in err


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("CODELEWM_EVALPLUS_PYTHON"),
                    reason="set CODELEWM_EVALPLUS_PYTHON to an interpreter with evalplus==0.3.1 to compare with it")
def test_against_evalplus_on_mbpp_plus(capsys):
    require_data("problems", "mbpp", "MbppPlus-v0.2.0.derived.jsonl.gz")
    assert main(["bench", "execute", "--against", "evalplus", "--data-dir", str(DATA_DIR), "--per-task", "1",
                 "--benchmark", "mbpp-plus", "--evalplus-python", os.environ["CODELEWM_EVALPLUS_PYTHON"],
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    (comparison,) = result["evalplus"]
    assert comparison["candidates"] > 300 and comparison["label_agreement"] >= 0.99
