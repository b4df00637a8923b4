"""Pack files: rows.jsonl and rows.parquet hold the same rows, tasks.jsonl and tasks.parquet the
same tasks, readable by pandas and by Hugging Face `datasets` and joined with the README's one
join; the parallel reader gives the same pack and names bad lines exactly."""

from __future__ import annotations

import json

import pytest

from codelewm_eval import io as cio
from codelewm_eval.candidates.models import Origin
from codelewm_eval.cli import main
from codelewm_eval.errors import InputError
from codelewm_eval.manifest import verify, write_manifest
from codelewm_eval.pack.build import PackConfig, build_pack
from codelewm_eval.pack.parquet import _schema, _task_schema
from codelewm_eval.pack.read import read_pack
from codelewm_eval.pack.rows import DecoyLink, PackRow, PackTask
from codelewm_eval.preflight.run import preflight

from .test_pack import two_benchmark_sources
from .test_pack_decoy_pairs import _sources

pa = pytest.importorskip("pyarrow", reason="pyarrow is a test dependency (pip install -e .[test])")


def _rows(pack):
    return [json.loads(line) for line in (pack / "rows.jsonl").read_text().splitlines()]


def test_parquet_schema_is_the_pack_row_model():
    schema = _schema(pa)
    assert schema.names == list(PackRow.model_fields)
    assert [f.name for f in schema.field("origin").type] == list(Origin.model_fields)
    assert [f.name for f in schema.field("decoy").type] == list(DecoyLink.model_fields)
    assert _task_schema(pa).names == list(PackTask.model_fields)


def _readme_join() -> str:
    """The README's join, as the README shows it (so the documented code is the tested code)."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = re.search(r"<!-- the pack join -->\n```python\n(.*?)```", readme, re.S)
    assert block, "README.md lost its pack join example"
    return block.group(1)


def test_the_readme_join_gives_every_row_its_task_prompt_and_family(tmp_path, data_dir, monkeypatch):
    pytest.importorskip("datasets")
    from codelewm_eval.benchmarks import load_benchmark
    from codelewm_eval.benchmarks.family import problem_family

    pack = tmp_path / "pack"
    build_pack(list(_sources(tmp_path)), pack, PackConfig(reference_decoys=True), data_dir, ["test"])
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.chdir(tmp_path)  # the README's paths are PACK/...
    (tmp_path / "PACK").symlink_to(pack)
    scope: dict = {}
    exec(compile(_readme_join(), "README.md", "exec"), scope)  # noqa: S102 - our own README's example
    rows, frame, ds = _rows(pack), scope["frame"], scope["ds"]
    prompts = {(b, t): p.prompt for b in ("humaneval", "humaneval-plus") for t, p in load_benchmark(b, data_dir).problems.items()}
    for name, table in (("pandas", frame), ("datasets", ds.to_pandas())):
        assert table["row_id"].tolist() == [r["row_id"] for r in rows], name  # every row, in order
        for _, r in table.iterrows():
            key = (r["benchmark"], r["task_id"])
            assert r["prompt"] == prompts[key] and r["family"] == problem_family(*key), name


def test_jsonl_and_parquet_agree_and_load_in_pandas_and_datasets(tmp_path, data_dir, monkeypatch):
    import pandas as pd

    pack = tmp_path / "pack"
    build_pack(list(_sources(tmp_path)), pack, PackConfig(reference_decoys=True), data_dir, ["test"])
    assert verify(pack) == []  # rows.parquet is listed in the manifest like every other file
    rows = _rows(pack)
    frame = pd.read_parquet(pack / "rows.parquet")
    assert list(frame.columns) == list(PackRow.model_fields)
    import pyarrow.parquet as pq

    assert pq.read_table(pack / "rows.parquet").to_pylist() == rows  # every field of every row
    tasks = pd.read_parquet(pack / "tasks.parquet")
    assert tasks.to_dict("records") == pd.read_json(pack / "tasks.jsonl", lines=True).to_dict("records")
    assert frame["row_id"].tolist() == [r["row_id"] for r in rows]
    assert frame["split"].tolist() == [r["split"] for r in rows]
    decoys = frame[frame["decoy"].notna()]
    assert len(decoys) == sum(1 for r in rows if r["decoy"]) > 0
    assert decoys.iloc[0]["decoy"]["shadows_row_id"] in set(frame["row_id"])
    assert pd.read_json(pack / "rows.jsonl", lines=True)["passed"].tolist() == [r["passed"] for r in rows]

    datasets = pytest.importorskip("datasets")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    cache = str(tmp_path / "hf-cache")
    from_parquet = datasets.load_dataset("parquet", data_files=str(pack / "rows.parquet"), split="train", cache_dir=cache)
    from_jsonl = datasets.load_dataset("json", data_files=str(pack / "rows.jsonl"), split="train", cache_dir=cache)
    assert from_parquet.num_rows == from_jsonl.num_rows == len(rows)
    assert from_parquet[0]["row_id"] == from_jsonl[0]["row_id"] == rows[0]["row_id"]
    assert from_parquet.filter(lambda r: r["split"] == "test").num_rows == sum(r["split"] == "test" for r in rows)


def test_no_parquet_flag(tmp_path, data_dir):
    he, mm = two_benchmark_sources(tmp_path)
    out = tmp_path / "pack"
    assert main(["pack", "build", "--results", str(he), str(mm), "--out", str(out), "--no-parquet",
                 "--no-progress", "--data-dir", str(data_dir)]) == 0
    assert not (out / "rows.parquet").exists() and (out / "rows.jsonl").exists()


def test_parallel_reading_gives_the_same_pack_and_exact_error_lines(tmp_path, data_dir, monkeypatch):
    sources = list(_sources(tmp_path))
    one = tmp_path / "one"
    build_pack(sources, one, PackConfig(reference_decoys=True), data_dir, ["test"], workers=1)
    monkeypatch.setattr(cio, "PARALLEL_MIN_BYTES", 1)  # every file in ranges, across 2 processes
    two = tmp_path / "two"
    build_pack(sources, two, PackConfig(reference_decoys=True), data_dir, ["test"], workers=2)
    assert (one / "rows.jsonl").read_bytes() == (two / "rows.jsonl").read_bytes()
    assert read_pack(two / "rows.jsonl", workers=2).facts == read_pack(one / "rows.jsonl", workers=1).facts
    assert preflight(two, workers=2).model_dump()["checks"] == preflight(one, workers=1).model_dump()["checks"]
    # a token planted in the Parquet copy of a pack read in parallel is found
    import pyarrow.parquet as pq

    token = "hf_" + "Zx9" * 12
    table = pq.read_table(two / "rows.parquet")
    programs = table.column("program").to_pylist()
    programs[-1] += f"\n# {token}\n"
    pq.write_table(table.set_column(table.schema.get_field_index("program"), "program", pa.array(programs)),
                   two / "rows.parquet")
    secrets = next(c for c in preflight(two, workers=2).checks if c.name == "secrets:pack")
    assert secrets.status == "fail" and "rows.parquet" in secrets.reason and token not in secrets.reason

    # a bad line deep in the second half is reported by its line in the whole file
    bad = tmp_path / "bad.jsonl"
    lines = sources[0].read_text().splitlines()
    lines[600] = lines[600].replace('"passed":true', '"passed":"maybe"').replace('"passed":false', '"passed":"maybe"')
    bad.write_text("\n".join(lines) + "\n")
    write_manifest(bad, "execution-results", files=[bad])
    with pytest.raises(InputError) as err:
        build_pack([bad], tmp_path / "three", PackConfig(), data_dir, ["test"], workers=2)
    assert err.value.line == 601 and err.value.field == "passed" and str(bad) in str(err.value)
    assert not (tmp_path / "three").exists() and not list(tmp_path.glob(".three.*"))
    rows = (one / "rows.jsonl").read_text().splitlines()
    rows[700] = rows[700].replace('"split":"', '"split":"holdout-', 1)
    (tmp_path / "rows.jsonl").write_text("\n".join(rows) + "\n")
    with pytest.raises(InputError) as err:
        read_pack(tmp_path / "rows.jsonl", workers=2)
    assert err.value.line == 701 and err.value.field == "split"


def test_the_arrow_and_pydantic_readers_build_and_check_the_same_pack(tmp_path, data_dir, monkeypatch):
    """Arrow reads the blocks it reads as pydantic would; a pack built and checked without it is
    byte for byte the same, facts, checks and findings included."""

    sources = list(_sources(tmp_path))
    fast = tmp_path / "fast"
    build_pack(sources, fast, PackConfig(reference_decoys=True), data_dir, ["test"])
    fast_read, fast_checks = read_pack(fast / "rows.jsonl"), preflight(fast).model_dump()["checks"]
    import codelewm_eval.pack.build as B
    import codelewm_eval.pack.read as R

    monkeypatch.setattr(B, "has_arrow", lambda: False)
    monkeypatch.setattr(R, "has_arrow", lambda: False)
    slow = tmp_path / "slow"
    build_pack(sources, slow, PackConfig(reference_decoys=True), data_dir, ["test"])
    for name in ("rows.jsonl", "tasks.jsonl"):
        assert (fast / name).read_bytes() == (slow / name).read_bytes(), name
    stats = [json.loads((p / "stats.json").read_text()) for p in (fast, slow)]
    assert stats[0].pop("files") == ["rows.jsonl", "tasks.jsonl", "rows.parquet", "tasks.parquet"]
    assert stats[1].pop("files") == ["rows.jsonl", "tasks.jsonl"]  # no Arrow, no Parquet
    assert stats[0] == stats[1]
    assert read_pack(slow / "rows.jsonl").facts == fast_read.facts
    assert preflight(slow).model_dump()["checks"] == fast_checks
