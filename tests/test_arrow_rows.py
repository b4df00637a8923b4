"""The Arrow fast path accepts a block only when pydantic accepts every line with the same values."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

pa = pytest.importorskip("pyarrow", reason="pyarrow is a test dependency (pip install -e .[test])")

from codelewm_eval.arrow_rows import iter_blocks, read_block
from codelewm_eval.execution.results import ExecutionResult
from codelewm_eval.pack.rows import PackRow

RESULT = {"schema_version": 1, "benchmark": "humaneval", "task_id": "HumanEval/0", "candidate_id": "c1", "passed": True,
          "status": "passed", "error": None, "wall_time_s": 0.01, "peak_memory_mb": 9.0,
          "output_magnitude_bucket": "small", "output_length_bucket": None, "base_passed": None, "time_budget_s": 1,
          "time_budget_basis": "x", "attempts": 1, "isolation": "bwrap", "label_provenance": "executed here",
          "program": "def f():\n    return 1\n", "program_ast": None,
          "origin": {"model": "m", "run": None, "sample_index": 3, "source_file": None, "source_line": None,
                     "licence": None, "format": "pool"}, "upstream_passed": None, "upstream_status": None}
ROW = {"schema_version": 2, "row_id": "humaneval/HumanEval/0/c1", "benchmark": "humaneval", "task_id": "HumanEval/0",
       "candidate_id": "c1", "program": "x = 1\n", "program_ast": "ast:1", "passed": False, "status": "failed",
       "output_magnitude_bucket": None, "output_length_bucket": "short", "origin": RESULT["origin"],
       "licence": "MIT", "label_provenance": "executed here (bwrap)", "evaluation_only": False,
       "decoy": {"category": "mutation", "pair_id": "p", "shadows_row_id": "humaneval/HumanEval/0/c0"}, "split": "val"}


def _variants(base: dict) -> list[str]:
    """The base line and edits of it that pydantic accepts, refuses, or reads differently."""
    out = [json.dumps(base)]
    for key in base:
        edited = dict(base)
        edited.pop(key)
        out.append(json.dumps(edited))  # missing: a default, or an error
        for value in (None, 1, 1.5, True, "x", [1], {"a": 1}, "passed", "train", "holdout"):
            edited = dict(base)
            edited[key] = value
            out.append(json.dumps(edited))
    nested = json.loads(out[0])
    nested["origin"] = {"format": None}
    out.append(json.dumps(nested))
    nested["origin"] = {"format": "pool", "sample_index": "3"}
    out.append(json.dumps(nested))
    nested["origin"] = {"format": "pool", "extra": 1}
    out.append(json.dumps(nested))
    out += [out[0] + " " + out[0], "", "[1]", out[0].replace('"c1"', '"c\\ud800"'), out[0][:-1] + ', "x": 1}']
    if "decoy" in base:
        for decoy in ({"category": "mutation"}, {"category": "m", "pair_id": "p", "shadows_row_id": None}):
            edited = dict(base)
            edited["decoy"] = decoy
            out.append(json.dumps(edited))
    return out


@pytest.mark.parametrize("model, base", [(ExecutionResult, RESULT), (PackRow, ROW)])
def test_the_fast_path_accepts_only_what_pydantic_accepts_with_the_same_values(model, base):
    accepted = refused = 0
    for line in _variants(base):
        try:
            expected = model.model_validate_json(line).model_dump(mode="json")
        except ValidationError:
            expected = None
        table = read_block((line + "\n").encode(), model)
        if table is None:
            refused += 1
            continue
        accepted += 1
        assert expected is not None, line  # never accept a line pydantic refuses
        assert table.to_pylist() == [expected], line  # and never read it differently
    assert accepted > 10 and refused > 10
    # a block accepts all its lines at once, or hands the block to pydantic
    good = "".join(v + "\n" for v in _variants(base)[:1] * 5)
    assert read_block(good.encode(), model).num_rows == 5
    assert read_block((good + json.dumps({**base, "passed": "maybe"}) + "\n").encode(), model) is None


def test_blocks_are_whole_lines_with_their_first_line_number(tmp_path):
    path = tmp_path / "x.jsonl"
    lines = [f'{{"n": {i}, "pad": "{"y" * (i % 50)}"}}\n' for i in range(2000)]
    path.write_text("".join(lines))
    size = path.stat().st_size
    blocks = list(iter_blocks(str(path), 0, size, size=700))
    assert b"".join(b for _, b in blocks) == path.read_bytes()
    assert all(b.endswith(b"\n") for _, b in blocks)
    assert [first for first, _ in blocks] == [1 + sum(b.count(b"\n") for _, b in blocks[:k]) for k in range(len(blocks))]
