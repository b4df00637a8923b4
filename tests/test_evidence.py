"""Evidence: score files, rerank and decoy gates, declarative gates, and the evaluate bundle."""

from __future__ import annotations

import json

import numpy as np
import pytest

from codelewm_eval.cli import main
from codelewm_eval.errors import InputError
from codelewm_eval.evidence.gates import Gate, Value, judge
from codelewm_eval.evidence.rerank import rerank
from codelewm_eval.evidence.scores import ScoreRow, read_scores, write_scores
from codelewm_eval.manifest import verify
from codelewm_eval.pack.build import PackConfig, build_pack

from .test_pack_decoy_pairs import _sources


def test_score_files_are_matched_by_id_and_bad_values_counted(tmp_path):
    index = {"humaneval/HumanEval/0/a": 0, "humaneval/HumanEval/0/b": 1, "humaneval/HumanEval/1/c": 2,
             "humaneval/HumanEval/1/d": 3}
    splits = ["test"] * 4
    path = tmp_path / "s.jsonl"
    rows = [ScoreRow(benchmark="humaneval", task_id="HumanEval/0", candidate_id="a", split="test",
                     scores={"p_pass": 0.2, "length": -3}),
            ScoreRow(benchmark="humaneval", task_id="HumanEval/0", candidate_id="b", split="test",
                     scores={"p_pass": 1.5}),
            ScoreRow(benchmark="humaneval", task_id="HumanEval/1", candidate_id="c", split="test",
                     scores={"p_pass": float("nan"), "length": None})]
    write_scores(path, rows)
    ss = read_scores(path, index, splits)
    h = ss.health["p_pass"]
    assert (h.scored, h.out_of_range, h.non_finite, h.missing) == (1, 1, 1, 1)
    assert ss.health["length"].scored == 1 and ss.health["length"].missing == 3
    assert np.isnan(ss.values["p_pass"][1]) and ss.values["p_pass"][0] == 0.2
    bad = tmp_path / "bad.jsonl"
    bad.write_text(path.read_text() + json.dumps({"benchmark": "humaneval", "task_id": "HumanEval/9",
                                                  "candidate_id": "z", "split": "test", "scores": {}}) + "\n")
    with pytest.raises(InputError, match="not in the pack") as err:
        read_scores(bad, index, splits)
    assert err.value.line == 4
    with pytest.raises(InputError, match="split"):
        read_scores(path, index, ["val"] * 4)


def test_rerank_counts_ties_expectation_and_mcnemar():
    # 4 tasks of 3 candidates; no_action picks the first (order 0)
    passed = np.array([0, 1, 0,   0, 0, 1,   1, 0, 0,   1, 1, 1], dtype=bool)
    order = np.tile([0.0, -1.0, -2.0], 4)
    score = np.array([.1, .9, .2,  .5, .5, .1,  .1, .8, .3,  .2, .2, .2])
    members = {f"t{k}": list(range(3 * k, 3 * k + 3)) for k in range(4)}
    ids = [str(i) for i in range(12)]
    r = rerank("b", "test", "s", members, passed, score, order, None, ids, draws=200)
    # picks: t0 -> 1 (pass); t1 tie .5/.5 between 3 and 4 (both fail); t2 -> 7 (fail); t3 tie, all pass
    assert r.pass_at_1 == 0.5 and r.no_action == 0.5 and r.tied_tasks == 2 and r.tie_seed == 0
    assert (r.gained, r.lost) == (1, 1) and r.mcnemar_p == 1.0
    assert r.random_expected == pytest.approx(np.mean([1 / 3, 1 / 3, 1 / 3, 1.0]))
    assert r.lift_random == pytest.approx(0.5 - r.random_expected)
    assert r.lift_random_ci[0] <= r.lift_random <= r.lift_random_ci[1]
    assert r.oracle == 1.0 and r.headroom_tasks == 3 and r.saturated is None
    easy = rerank("b", "test", "s", {"t3": [9, 10, 11]}, passed, score, order, None, ids, draws=50)
    assert easy.saturated  # no_action 1.0 and no headroom: nothing to rerank


def _v(seed, value, ci=(0.01, 0.09), n=50, blocked=None, bench="humaneval"):
    return Value(seed=seed, scorer="p_pass", metric="rerank_lift", benchmark=bench, split="test", value=value,
                 ci=ci, n=n, blocked=blocked)


def test_gates_pass_fail_and_blocked_with_typed_reasons():
    gate = Gate(name="lift", metric="rerank_lift", benchmarks=["humaneval"], threshold=0.03, ci_lower_above=0.0,
                min_n=20, seeds=[42, 1729])
    assert judge(gate, [_v(42, 0.05), _v(1729, 0.04)], [42, 1729]).status == "pass"
    failed = judge(gate, [_v(42, 0.05), _v(1729, 0.04, ci=(-0.01, 0.08))], [42, 1729])
    assert failed.status == "fail" and [r.type for r in failed.reasons] == ["ci_bound"]
    one_seed = judge(gate, [_v(42, 0.05)], [42])
    assert one_seed.status == "blocked" and one_seed.reasons[0].type == "seed_missing"
    small = judge(gate, [_v(42, 0.05, n=5), _v(1729, 0.05)], [42, 1729])
    assert small.status == "blocked" and small.reasons[0].model_dump() == {
        "type": "below_min_n", "subject": "seed 42 p_pass humaneval/test", "observed": 5, "required": 20}
    saturated = judge(gate, [_v(42, 0.0, blocked="saturated: no_action pass@1 0.900 >= 0.85"), _v(1729, 0.05)],
                      [42, 1729])
    assert saturated.status == "blocked" and saturated.reasons[0].type == "saturated"
    per_source = [_v(42, 0.05, bench="humaneval:codet"), _v(42, 0.01, bench="humaneval:pool")]
    assert judge(gate.model_copy(update={"seeds": "all"}), per_source, [42]).status == "fail"
    missing = judge(gate.model_copy(update={"benchmarks": ["mbpp-plus"], "seeds": "all"}), per_source, [42])
    assert missing.status == "blocked" and missing.reasons[0].type == "evidence_missing"


def test_score_and_evaluate_write_a_verified_evidence_bundle(tmp_path, data_dir, capsys):
    pack = tmp_path / "pack"
    build_pack(list(_sources(tmp_path)), pack, PackConfig(reference_decoys=True), data_dir, ["test"])
    scores = tmp_path / "scores.jsonl"
    assert main(["score", "--pack", str(pack), "--out", str(scores), "--seed", "42"]) == 0
    assert verify(scores) == []  # its parent, the pack, included
    gates = tmp_path / "gates.yaml"
    gates.write_text("gates:\n"
                     "  - {name: auc, metric: auc, benchmarks: [all], threshold: 0.0}\n"
                     "  - {name: oracle-lift, metric: rerank_lift, scorer: oracle, benchmarks: [humaneval],"
                     " threshold: 0.0}\n"
                     "  - {name: two-seeds, metric: auc, benchmarks: [all], threshold: 0.0, seeds: [42, 1729]}\n")
    out = tmp_path / "evidence"
    code = main(["evaluate", "--pack", str(pack), "--scores", str(scores), "--gates", str(gates), "--out", str(out),
                 "--draws", "200"])
    assert code == 1  # gates blocked: seed 1729 has no scores; the rerank slice is saturated
    assert verify(out) == []
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["parents"]) == 2
    gates_out = {g["name"]: g for g in json.loads((out / "gates.json").read_text())["gates"]}
    assert {k: g["status"] for k, g in gates_out.items()} == {"auc": "pass", "oracle-lift": "blocked",
                                                             "two-seeds": "blocked"}
    # sample 0 passes every task here: no_action is at the ceiling, so the lift gate is blocked as
    # saturated, not failed with a zero lift
    assert {r["type"] for r in gates_out["oracle-lift"]["reasons"]} == {"saturated"}
    records = json.loads((out / "metrics.json").read_text())["records"]
    p_all = next(r for r in records if r["scorer"] == "p_pass" and r["benchmark"] == "all" and r["split"] == "test")
    auc = p_all["metrics"]["auc"]
    assert auc["ci"][0] <= auc["value"] <= auc["ci"][1] and auc["bootstrap"]["resampled"] == "tasks"
    assert {"ece", "ece_mass", "brier", "brier_skill", "pr_auc"} <= set(p_all["metrics"])
    assert p_all["metrics"]["ece_mass"]["binning"] == "mass" and p_all["metrics"]["ece"]["bins"] == 10
    # the oracle is one class per value: its calibration is not computed (not a probability), AUC is 1
    oracle = next(r for r in records if r["scorer"] == "oracle" and r["benchmark"] == "all" and r["split"] == "test")
    assert oracle["metrics"]["auc"]["value"] == 1.0
    assert sorted(p.name for p in (out / "plots").iterdir()) == [
        "reliability_seed-42_test.png", "reliability_seed-42_val.png", "roc_seed-42_test.png", "roc_seed-42_val.png"]
    decoys = json.loads((out / "decoys.json").read_text())["results"]
    assert {d["category"] for d in decoys} == {"same_code_different_input", "same_problem_different_submission"}
    same_code = next(d for d in decoys if d["category"] == "same_code_different_input" and d["scorer"] == "p_pass")
    assert same_code["accuracy"] == 0.5  # one program, one p_pass: every pair ties
    # evaluating again into the same bundle replaces it whole, with no left-over files
    (out / "plots" / "reliability_seed-42_val.png").unlink()
    assert main(["evaluate", "--pack", str(pack), "--scores", str(scores), "--out", str(out), "--draws", "50",
                 "--no-plots"]) == 0
    assert verify(out) == [] and not (out / "plots").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".evidence")]
    # a tampered score file is refused
    scores.write_text(scores.read_text().replace('"oracle":1.0', '"oracle":0.0', 1))
    assert main(["evaluate", "--pack", str(pack), "--scores", str(scores), "--out", str(tmp_path / "e2")]) == 2
