"""Semantic decoys: single-point mutants, executed here, aligned with the row they shadow."""

from __future__ import annotations

import ast
import json

from codelewm_eval.benchmarks import load_benchmark
from codelewm_eval.candidates.readers import canonical_candidates
from codelewm_eval.execution.runner import execute
from codelewm_eval.manifest import verify, write_manifest
from codelewm_eval.pack.build import PackConfig, build_pack
from codelewm_eval.pack.decoys import make_decoys
from codelewm_eval.pack.mutants import OPERATORS, mutants


def _same_shape_but_different(a: str, b: str) -> bool:
    """Same statement structure (a single-point change keeps it) but a different AST."""
    ta, tb = ast.parse(a), ast.parse(b)
    shape = [type(n).__name__ for n in ast.walk(ta) if isinstance(n, ast.stmt)]
    return shape == [type(n).__name__ for n in ast.walk(tb) if isinstance(n, ast.stmt)] and ast.dump(ta) != ast.dump(tb)


def test_mutants_are_distinct_single_changes_and_deterministic():
    program = ("def f(xs, n):\n    total = 0\n    for i in range(1, n):\n        if xs[i] > 0 and not xs[i] == 3:\n"
               "            total += xs[i] * 2\n    return max(total, xs[0:n])\n")
    ms = mutants(program, k=20, seed="t")
    assert len(ms) >= 8 and len({m for _, m in ms}) == len(ms)
    assert {op for op, _ in ms} >= {"compare_flip", "bool_swap", "const_shift", "not_drop", "range_bound",
                                    "slice_bound", "swap_args", "return_value"}
    assert all(_same_shape_but_different(program, m) for _, m in ms)
    assert ms == mutants(program, k=20, seed="t")
    assert set(op for op, _ in ms) <= set(OPERATORS)
    assert mutants("def f(:\n", 3) == []


def test_failing_mutants_become_aligned_decoys_in_the_same_split(tmp_path, data_dir):
    bench = load_benchmark("humaneval")
    tasks = list(bench.problems)[:40]
    canon = tmp_path / "canon.jsonl"
    execute(bench, [c for c in canonical_candidates(bench) if c.task_id in tasks], canon, progress=False)
    write_manifest(canon, "execution-results", files=[canon])
    decoys = tmp_path / "decoys.jsonl"
    summary = make_decoys(canon, decoys, per_source=2, progress=False)
    assert verify(decoys) == []  # with the canonical results as verified parent
    d = summary["decoys"]
    assert d["mutants"] >= 60 and d["failing_mutants"] > d["equivalent_mutants"] > 0
    # a pack of canonicals + decoys: every decoy beside its source row, never a passing one
    config = PackConfig(fractions=(0.5, 0.25, 0.25))
    config.coverage.min_tasks_per_split = 3
    config.coverage.min_bucket_tasks = 100
    build_pack([canon, decoys], tmp_path / "pack", config, data_dir, ["test"])
    rows = [json.loads(line) for line in (tmp_path / "pack" / "rows.jsonl").read_text().splitlines()]
    by_id = {r["row_id"]: r for r in rows}
    pairs = [r for r in rows if r["decoy"]]
    assert len(pairs) == d["failing_mutants"]
    for r in pairs:
        source = by_id[r["decoy"]["shadows_row_id"]]
        assert source["passed"] and not r["passed"] and source["split"] == r["split"]
        assert r["task_id"] == source["task_id"] and r["origin"]["run"].startswith("mutation:")
    stats = json.loads((tmp_path / "pack" / "stats.json").read_text())
    assert stats["excluded"]["equivalent_mutant"] == d["equivalent_mutants"]
    assert sum(c["decoy_pairs"].get("mutation", 0) for c in stats["cells"]) == len(pairs)
