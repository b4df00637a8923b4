"""`preflight` says which gates a pack lets any scorer pass, with the margins, before a GPU is
spent: a gate no scorer could pass blocks the launch (`gate_unpassable:<gate>`), one only a
near-perfect scorer could pass warns."""

from __future__ import annotations

import json

import pytest
import yaml

from codelewm_eval.pack.rows import RowFacts
from codelewm_eval.preflight.passability import check_gates, hanley_mcneil_half_width


def _row(i: int, task: str, passed: bool, split: str = "test", bench: str = "humaneval", **decoy) -> RowFacts:
    return RowFacts(row_id=f"{bench}/{task}/{i}", benchmark=bench, task_id=task, passed=passed,
                    output_magnitude_bucket=None, output_length_bucket=None, evaluation_only=False, program_ast=None,
                    licence="MIT", label_provenance="executed", split=split, **decoy)


def _gates(tmp_path, *gates: dict):
    path = tmp_path / "gates.yaml"
    path.write_text(yaml.safe_dump({"schema_version": 1, "gates": list(gates)}))
    return path


def test_hanley_mcneil_is_close_to_delong_where_the_gate_measures():
    """The planning half-width (Hanley-McNeil) against the interval the gate will have (DeLong) on
    binormal scores: never narrower (a plan that errs, errs on the safe side), and within 60%."""
    import numpy as np

    from codelewm_eval.evidence.metrics import delong_interval

    rng = np.random.default_rng(0)
    for positives, negatives, shift in ((50, 50, 1.8), (120, 400, 1.2), (30, 300, 2.5)):
        y = np.r_[np.ones(positives), np.zeros(negatives)].astype(int)
        s = np.r_[rng.normal(shift, 1, positives), rng.normal(0, 1, negatives)]
        auc, low, high = delong_interval(y, s)
        planned, measured = hanley_mcneil_half_width(auc, positives, negatives), (high - low) / 2
        assert measured <= planned <= 1.6 * measured


def test_auc_gates_passable_near_perfect_and_unpassable(tmp_path):
    big = [_row(i, f"t{i // 4}", i % 3 == 0) for i in range(600)]       # 200 positives, 400 negatives
    small = [_row(i, f"t{i}", i < 3) for i in range(12)]                 # 3 positives, 9 negatives
    one_class = [_row(i, f"t{i}", True) for i in range(50)]
    gate = {"name": "auc", "metric": "auc", "benchmarks": ["humaneval"], "threshold": 0.7, "ci_lower_above": 0.5}
    (ok,) = check_gates(_gates(tmp_path, gate), big)
    assert ok.status == "pass" and ok.name == "gate:auc" and ok.numbers["needed"] == 0.7
    # 3 positives: an interval lower bound above 0.8 needs an AUC near 1 (a warning with the number)
    strict = dict(gate, name="strict", ci_lower_above=0.8)
    (near,) = check_gates(_gates(tmp_path, strict), small)
    assert near.status == "warn" and near.numbers["positives"] == 3 and near.numbers["needed"] >= 0.95
    assert "only a near-perfect scorer" in near.reason
    (few,) = check_gates(_gates(tmp_path, dict(gate, name="few", min_n=50)), small)
    assert few.status == "blocked" and few.name == "gate_unpassable:few" and "12 rows, below min_n 50" in few.reason
    (none,) = check_gates(_gates(tmp_path, gate), one_class)
    assert none.status == "blocked" and "no auc can be measured" in none.reason


def test_rerank_lift_is_bounded_by_the_oracle(tmp_path):
    # every task: 1 passing of 4 candidates -> oracle 1, random 0.25: the largest lift is 0.75
    rows = [_row(i, f"t{i // 4}", i % 4 == 0) for i in range(200)]
    gate = {"name": "lift", "metric": "rerank_lift_random", "benchmarks": ["humaneval"], "threshold": 0.5,
            "ci_lower_above": 0.0, "min_n": 20}
    (ok,) = check_gates(_gates(tmp_path, gate), rows)
    assert ok.status == "pass" and ok.numbers["best"] == pytest.approx(0.75)
    (over,) = check_gates(_gates(tmp_path, dict(gate, name="over", threshold=0.8)), rows)
    assert over.status == "blocked" and "oracle's own lift over random is 0.750" in over.reason
    (tight,) = check_gates(_gates(tmp_path, dict(gate, name="tight", threshold=0.74)), rows)
    assert tight.status == "warn"


def test_decoy_accuracy_needs_pairs(tmp_path):
    originals = [_row(i, f"t{i}", True) for i in range(10)]
    decoys = [_row(100 + i, f"t{i}", False, decoy_category="mutation", decoy_shadows=f"humaneval/t{i}/{i}")
              for i in range(10)]
    gate = {"name": "decoys", "metric": "decoy_accuracy", "category": "mutation", "threshold": 0.8,
            "ci_lower_above": 0.5, "min_n": 30}
    (few,) = check_gates(_gates(tmp_path, gate), originals + decoys)
    assert few.status == "blocked" and "10 decoy pairs, below min_n 30" in few.reason
    (ok,) = check_gates(_gates(tmp_path, dict(gate, min_n=5)), originals + decoys)
    assert ok.status == "pass" and ok.numbers["pairs"] == 10


@pytest.mark.slow
def test_preflight_on_the_real_pack_names_passable_gates_and_blocks_a_tiny_test_split(tmp_path, data_dir, capsys):
    from codelewm_eval.cli import main
    from codelewm_eval.pack.build import PackConfig, build_pack

    from .test_pack_decoy_pairs import _sources

    pack = tmp_path / "pack"
    build_pack(list(_sources(tmp_path)), pack, PackConfig(reference_decoys=True), data_dir, ["test"])
    _gates(tmp_path, {"name": "p-pass-auc", "metric": "auc", "benchmarks": ["all"], "threshold": 0.7,
                      "ci_lower_above": 0.5},
           {"name": "decoy-same-code", "metric": "decoy_accuracy", "category": "same_code_different_input",
            "threshold": 0.6, "min_n": 10})
    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump({"name": "t", "pack": {"path": "pack"}, "seeds": [42, 1729], "timeout": "1h",
                                   "gates": "gates.yaml"}))
    main(["preflight", "--pack", str(pack), "--job", str(job), "--report", str(tmp_path / "p.json"), "--json"])
    checks = {c["name"]: c for c in json.loads(capsys.readouterr().out)["checks"]}
    assert checks["gate:p-pass-auc"]["status"] == "pass" and checks["gate:p-pass-auc"]["numbers"]["needed"] >= 0.7
    assert checks["gate:decoy-same-code"]["status"] == "pass"
    # a gate the test split cannot carry: more decoy pairs than the test split holds
    pairs = int(checks["gate:decoy-same-code"]["numbers"]["pairs"])
    _gates(tmp_path, {"name": "decoys-1000", "metric": "decoy_accuracy", "category": "same_code_different_input",
                      "threshold": 0.6, "min_n": 1000})
    assert main(["preflight", "--pack", str(pack), "--job", str(job), "--report", str(tmp_path / "q.json")]) == 1
    out = capsys.readouterr().out
    assert "gate_unpassable:decoys-1000" in out and f"{pairs} decoy pairs, below min_n 1000" in out


def test_selective_gates_against_the_oracles_share(tmp_path):
    """With 68% passing, executing half keeps at most 74% of the passes: a 0.7 gate is within a
    hair of the oracle (warn), a 0.8 gate is beyond it (blocked), 0.55 is plainly passable."""
    rows = [_row(i, f"t{i // 5}", i % 25 < 17) for i in range(500)]  # 68% passing
    gate = {"name": "sel", "metric": "selective_kept_share", "benchmarks": ["all"], "coverage": 0.5,
            "threshold": 0.55, "ci_lower_above": 0.5}
    (ok,) = check_gates(_gates(tmp_path, gate), rows)
    assert ok.status == "pass" and ok.numbers["best"] == pytest.approx(250 / 340, abs=1e-4)
    (near,) = check_gates(_gates(tmp_path, dict(gate, threshold=0.7)), rows)
    assert near.status == "warn" and "only a near-oracle scorer" in near.reason
    (over,) = check_gates(_gates(tmp_path, dict(gate, threshold=0.8)), rows)
    assert over.status == "blocked" and "keeps at most 0.735" in over.reason


def test_a_lift_gate_needs_room_for_its_interval(tmp_path):
    """Few tasks: the oracle's lift clears the threshold, but not the threshold plus the width
    its interval will have above the bound."""
    rows = [_row(i, f"t{i // 4}", i % 8 == 0) for i in range(40)]  # 10 tasks, half with a pass
    gate = {"name": "lift", "metric": "rerank_lift_random", "benchmarks": ["humaneval"], "threshold": 0.03,
            "ci_lower_above": 0.3}
    (blocked,) = check_gates(_gates(tmp_path, gate), rows)
    assert blocked.status == "blocked" and blocked.numbers["needed"] > blocked.numbers["best"]
