"""The evidence rules: held-out by problem family, seeds that count, verdicts recomputed, gates on
healthy inputs only, anchors that vanish, honest rerank baselines, intervals that hold their
estimate, and references never cached as failures. Each test fails on the behaviour the issue saw."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict

import numpy as np
import pytest

from codelewm_eval.benchmarks import load_benchmark
from codelewm_eval.benchmarks.family import problem_family
from codelewm_eval.candidates.models import Origin
from codelewm_eval.claims.audit import audit
from codelewm_eval.cli import main
from codelewm_eval.evidence import metrics as M
from codelewm_eval.evidence.compare import compare
from codelewm_eval.evidence.rerank import rerank
from codelewm_eval.execution.results import ExecutionResult
from codelewm_eval.manifest import verify, write_manifest
from codelewm_eval.pack.build import PackConfig, build_pack
from codelewm_eval.pack.read import Pack, read_rows
from codelewm_eval.preflight.run import preflight
from codelewm_eval.surgery.promote import judge_passes

from .test_train import pack as built_pack  # noqa: F401 - the shared fixture

BUCKETS = ["negative", "zero", "small", "medium", "large"]


def _write(path, records, kind="execution-results"):
    with open(path, "w") as fh:
        for rec in records:
            fh.write(rec.model_dump_json() + "\n")
    write_manifest(path, kind, files=[path])
    return path


def _variant_results(tmp_path, data_dir, benchmark, name, tasks, per_task, fmt="evalplus", decoy_of=None):
    """Synthetic labelled candidates for real task ids of one benchmark variant (distinct programs,
    so only the problem family can tie rows of different variants together)."""
    records = []
    for t, tid in enumerate(tasks):
        for i in range(per_task):
            program = f"def {name.replace('-', '_')}_{t}_{i}(x):\n    return x * {t} + {i}\n"
            passed = (t + i) % 3 != 0
            records.append(ExecutionResult(
                benchmark=benchmark, task_id=tid, candidate_id=f"{name}-{t}-{i}", passed=passed,
                status="passed" if passed else "failed", output_magnitude_bucket=BUCKETS[(t * 7 + i) % 5],
                isolation="test", label_provenance="executed here", program=program,
                origin=Origin(model=name, run=name, sample_index=i, format=fmt)))
    return _write(tmp_path / f"{name}.jsonl", records)


def _mbpp_and_humaneval_variants(tmp_path, data_dir):
    """MBPP canonical-like rows, MBPP sanitized, MBPP+ (Mbpp/N), the MultiPL-E pool (mbpp_N_name,
    evaluation only), HumanEval and HumanEval+: the same problems under every name they have."""
    mbpp = load_benchmark("mbpp", data_dir)
    sanitized = load_benchmark("mbpp-sanitized", data_dir)
    plus = load_benchmark("mbpp-plus", data_dir)
    multiple = load_benchmark("mbpp-multiple", data_dir)
    by_number = defaultdict(dict)
    for name, bench in (("mbpp", mbpp), ("mbpp-sanitized", sanitized), ("mbpp-plus", plus),
                        ("mbpp-multiple", multiple)):
        for tid in bench.problems:
            by_number[problem_family(name, tid)][name] = tid
    shared = sorted((f for f, names in by_number.items() if len(names) == 4), key=lambda f: int(f.split("/")[1]))
    chosen = shared[:90]
    assert len(chosen) == 90  # the real data names these 90 problems in all four MBPP variants
    he_tasks = [f"HumanEval/{i}" for i in range(90)]
    return [
        _variant_results(tmp_path, data_dir, "mbpp", "mbpp-canonical", [by_number[f]["mbpp"] for f in chosen], 2),
        _variant_results(tmp_path, data_dir, "mbpp-sanitized", "mbpp-sanitized",
                         [by_number[f]["mbpp-sanitized"] for f in chosen], 2),
        _variant_results(tmp_path, data_dir, "mbpp-plus", "mbpp-plus", [by_number[f]["mbpp-plus"] for f in chosen], 2),
        _variant_results(tmp_path, data_dir, "mbpp-multiple", "mbpp-pool",
                         [by_number[f]["mbpp-multiple"] for f in chosen[:45]], 3, fmt="pool"),
        _variant_results(tmp_path, data_dir, "humaneval", "humaneval", he_tasks, 3),
        _variant_results(tmp_path, data_dir, "humaneval-plus", "humaneval-plus", he_tasks, 2),
    ]


# ------------------------------------------------------------------------------------ families

def test_problem_families_name_one_problem_across_variants():
    assert problem_family("humaneval", "HumanEval/17") == problem_family("humaneval-plus", "HumanEval/17") \
        == "humaneval/17"
    assert {problem_family("mbpp", "3"), problem_family("mbpp-sanitized", "3"), problem_family("mbpp-plus", "Mbpp/3"),
            problem_family("mbpp-multiple", "mbpp_3_is_not_prime"), problem_family("mbpp", "MbppEval/3"),
            problem_family("mbxp", "MBPP/3")} == {"mbpp/3"}
    assert problem_family("livecodebench", "2877") == "livecodebench/2877"
    assert problem_family("mbpp", "30") != problem_family("mbpp", "3")


def test_no_problem_straddles_splits_across_benchmark_variants(tmp_path, data_dir):
    sources = _mbpp_and_humaneval_variants(tmp_path, data_dir)
    pack = tmp_path / "pack"
    stats = build_pack(sources, pack, PackConfig(), data_dir, ["test"])
    rows = read_rows(pack / "rows.jsonl")
    family_of = {(t.benchmark, t.task_id): t.family for t in Pack.read(pack).tasks()}
    splits_of = defaultdict(set)
    by_task = defaultdict(set)
    for r in rows:
        family = family_of[(r.benchmark, r.task_id)]
        assert family == problem_family(r.benchmark, r.task_id)
        splits_of[family].add(r.split)
        by_task[(r.benchmark, r.task_id)].add(r.split)
    assert {f: s for f, s in splits_of.items() if len(s) > 1} == {}
    mbpp = [f for f in splits_of if f.startswith("mbpp/")]
    assert len(mbpp) == 90 and len([f for f in splits_of if f.startswith("humaneval/")]) == 90
    # the pool is evaluation-only, so every MBPP problem it names is held out whole, in every variant
    pooled = {problem_family(r.benchmark, r.task_id) for r in rows if r.benchmark == "mbpp-multiple"}
    assert len(pooled) == 45 and all(splits_of[f] <= {"val", "test"} for f in pooled)
    assert any("train" in splits_of[f] for f in mbpp)
    # families per split are counted for the dataset card
    assert sum(stats["families"].values()) == 180
    assert {c.name: c.status for c in preflight(pack).checks}["family_leak"] == "pass"
    # the old grouping, by (benchmark, task), divides problems between variants on the same rows
    from codelewm_eval.pack import splits as S
    from codelewm_eval.pack.read import read_pack

    facts = read_pack(pack / "rows.jsonl").facts
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(S, "problem_family", lambda benchmark, task_id: f"{benchmark}/{task_id}")
        old = S.assign_splits(facts, S.SplitConfig())
    leaks = S.family_leaks([f._replace(split=x) for f, x in zip(facts, old)])
    assert len([f for f in leaks if f.startswith("mbpp/")]) > 10 and any(f.startswith("humaneval/") for f in leaks)


def test_preflight_fails_a_family_leak_even_in_an_older_pack(tmp_path, data_dir):
    sources = _mbpp_and_humaneval_variants(tmp_path, data_dir)[4:]  # HumanEval and HumanEval+
    pack = tmp_path / "pack"
    build_pack(sources, pack, PackConfig(), data_dir, ["test"])
    rows = [json.loads(line) for line in (pack / "rows.jsonl").read_text().splitlines()]
    # an older builder: grouped by (benchmark, task), rows of schema 1 (prompt inline, no tasks
    # table, no family anywhere); HumanEval+/5 lands elsewhere
    target = next(r for r in rows if r["benchmark"] == "humaneval" and r["task_id"] == "HumanEval/5")["split"]
    other = "train" if target != "train" else "test"
    for r in rows:
        r.update(schema_version=1, prompt="def f():\n")
        if r["benchmark"] == "humaneval-plus" and r["task_id"] == "HumanEval/5":
            r["split"] = other
    (pack / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    for name in ("rows.parquet", "tasks.jsonl", "tasks.parquet"):
        (pack / name).unlink(missing_ok=True)
    write_manifest(pack, "pack", parents=sources)
    checks = {c.name: c for c in preflight(pack).checks}
    assert checks["tasks"].status == "pass" and "schema 1" in checks["tasks"].reason  # an older layout reads
    assert checks["split_leak"].status == "pass"  # no (benchmark, task) is divided...
    assert checks["family_leak"].status == "fail"  # ...but problem humaneval/5 is
    assert "humaneval/5 in" in checks["family_leak"].reason and checks["family_leak"].observed == 1


# --------------------------------------------------------------------------------------- seeds

def test_logreg_seeds_draw_real_randomness(built_pack):
    from codelewm_eval.evidence.scorers import logreg_p_pass

    rows = read_rows(built_pack / "rows.jsonl")
    a, report = logreg_p_pass(rows, 42)
    b, _ = logreg_p_pass(rows, 1729)
    again, _ = logreg_p_pass(rows, 42)
    assert np.array_equal(a, again)  # a seed is reproducible...
    assert not np.allclose(a, b)  # ...and two seeds are two models
    assert "bootstrap of the train problem families" in report["seed_randomness"]


def _seed_copy(scores, seed, dst):
    """The same scores, sealed as another seed's (what a deterministic scorer produces)."""
    shutil.copy(scores, dst)
    manifest = json.loads(scores.with_name(scores.name + ".manifest.json").read_text())
    pack = (scores.parent / manifest["parents"][0]["manifest"]).parent
    write_manifest(dst, "scores", files=[dst], parents=[pack], config={"seed": seed, "run": f"copy-{seed}"})
    return dst


def test_identical_seeds_count_once_and_block_two_seed_gates(tmp_path, built_pack, capsys):
    pack = built_pack
    s42 = tmp_path / "s42.jsonl"
    assert main(["score", "--pack", str(pack), "--out", str(s42), "--seed", "42", "--scorers", "p_pass",
                 "--no-progress"]) == 0
    s1729 = _seed_copy(s42, 1729, tmp_path / "s1729.jsonl")
    gates = tmp_path / "gates.yaml"
    gates.write_text("gates:\n  - {name: auc, metric: auc, benchmarks: [all], threshold: 0.0, seeds: [42, 1729]}\n"
                     "  - {name: auc-42, metric: auc, benchmarks: [all], threshold: 0.0, seeds: [42]}\n")
    out = tmp_path / "ev"
    capsys.readouterr()
    assert main(["evaluate", "--pack", str(pack), "--scores", str(s42), str(s1729), "--gates", str(gates),
                 "--out", str(out), "--draws", "100", "--no-plots"]) == 1
    printed = capsys.readouterr().out
    assert "seed 1729: scores identical to seed 42" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["seeds"] == [42] and metrics["identical_seeds"] == {"1729": 42}
    assert {r["seed"] for r in metrics["records"]} == {42}  # measured once
    g = {x["name"]: x for x in json.loads((out / "gates.json").read_text())["gates"]}
    assert g["auc"]["status"] == "blocked" and g["auc"]["per_seed"] == {"42": "pass", "1729": "blocked"}
    assert [r["type"] for r in g["auc"]["reasons"]] == ["seeds_identical"]
    assert g["auc-42"]["status"] == "pass"


def test_jobs_verify_fails_identical_seeds(tmp_path, built_pack):
    from codelewm_eval.jobs.verify import verify_run
    from codelewm_eval.train.run import TrainConfig, train

    run = tmp_path / "run"
    for name in ("seed-42", "seed-43"):
        train(built_pack, run / name, TrainConfig(scorer="logreg", seed=42, run_id="r"), echo=False)
    checks = {c.name: c for c in verify_run(run, [42])}
    assert not checks["seeds:distinct"].ok and "identical scores" in checks["seeds:distinct"].detail
    shutil.rmtree(run / "seed-43")
    train(built_pack, run / "seed-1729", TrainConfig(scorer="logreg", seed=1729, run_id="r"), echo=False)
    checks = {c.name: c for c in verify_run(run, [42, 1729])}
    assert checks["seeds:distinct"].ok


# ----------------------------------------------------------------------- verdicts and manifests

def _bundle(tmp_path, pack, gates_text, score_paths):
    gates = tmp_path / "gates.yaml"
    gates.write_text(gates_text)
    out = tmp_path / "evidence"
    main(["evaluate", "--pack", str(pack), "--scores", *map(str, score_paths), "--gates", str(gates),
          "--out", str(out), "--draws", "100", "--no-plots"])
    return out


def test_a_flipped_stored_verdict_is_inconsistent_and_blocks_its_claim(tmp_path, built_pack):
    pack = built_pack
    scores = tmp_path / "s.jsonl"
    assert main(["score", "--pack", str(pack), "--out", str(scores), "--scorers", "p_pass", "--no-progress"]) == 0
    evidence = _bundle(tmp_path, pack, "gates:\n  - {name: calib, metric: ece, benchmarks: [all], comparator: '<=',"
                                       " threshold: 0.0001}\n", [scores])
    gates = json.loads((evidence / "gates.json").read_text())
    assert gates["gates"][0]["status"] == "fail"
    (tmp_path / "cards").mkdir()
    (tmp_path / "cards" / "claims.yaml").write_text(
        "schema_version: 1\nevidence: {run: evidence}\nprose: []\nclaims:\n"
        "  - {id: calibrated, kind: positive, scope: {model: m, benchmarks: [all], seeds: [42]}, requires: [calib],"
        " evidence: [run], wording: The scorer is calibrated.}\n")
    assert {v.id: v.status for v in audit(tmp_path).claims} == {"calibrated": "BLOCKED"}
    # a tired (or dishonest) hand flips the verdict and reseals the bundle: its hash now verifies
    gates["gates"][0]["status"] = "pass"
    gates["gates"][0]["per_seed"] = {k: "pass" for k in gates["gates"][0]["per_seed"]}
    gates["gates"][0]["reasons"] = []
    (evidence / "gates.json").write_text(json.dumps(gates))
    manifest = json.loads((evidence / "manifest.json").read_text())
    write_manifest(evidence, "evidence", parents=[evidence / p["manifest"] for p in manifest["parents"]],
                   config=manifest["config"])
    assert verify(evidence) == []
    report = audit(tmp_path)
    (verdict,) = report.claims
    assert verdict.status == "BLOCKED" and verdict.reasons[0].type == "evidence_inconsistent"
    assert "stored pass, recomputed fail" in verdict.reasons[0].detail
    assert any(f.kind == "evidence_inconsistent" for f in report.findings) and not report.ok


def test_manifests_must_list_their_artifact_and_hash_their_config(tmp_path):
    data = tmp_path / "r.jsonl"
    data.write_text("{}\n")
    other = tmp_path / "other.txt"
    other.write_text("x")
    write_manifest(data, "execution-results", files=[other], config={"a": 1})
    assert [p.kind for p in verify(data)] == ["invalid"]
    assert "does not list its artifact r.jsonl" in verify(data)[0].detail
    write_manifest(data, "execution-results", files=[data], config={"a": 1})
    assert verify(data) == []
    assert "kind 'execution-results', expected 'pack'" in verify(data, kind="pack")[0].detail
    sidecar = data.with_name("r.jsonl.manifest.json")
    manifest = json.loads(sidecar.read_text())
    manifest["config"]["a"] = 2  # edited after the fact
    sidecar.write_text(json.dumps(manifest))
    assert "config_hash does not match" in verify(data)[0].detail
    manifest["config"]["a"], manifest["schema_version"] = 1, 99
    sidecar.write_text(json.dumps(manifest))
    assert "schema_version 99" in verify(data)[0].detail


# -------------------------------------------------------------------------------- score health

def test_unhealthy_scores_block_the_gate_and_strings_are_bad_input(tmp_path, built_pack, capsys):
    pack = built_pack
    scores = tmp_path / "s.jsonl"
    assert main(["score", "--pack", str(pack), "--out", str(scores), "--scorers", "p_pass", "--no-progress"]) == 0
    lines = scores.read_text().splitlines()
    test_rows = [i for i, line in enumerate(lines) if json.loads(line)["split"] == "test"]
    bad = [json.loads(line) for line in lines]
    bad[test_rows[0]]["scores"]["p_pass"] = None
    bad[test_rows[1]]["scores"]["p_pass"] = 1.7
    broken = tmp_path / "broken.jsonl"
    broken.write_text("".join(json.dumps(r) + "\n" for r in bad).replace("1.7", "1.7", 1))
    write_manifest(broken, "scores", files=[broken], parents=[pack], config={"seed": 42})
    evidence = _bundle(tmp_path, pack, "gates:\n  - {name: auc, metric: auc, benchmarks: [all], threshold: 0.0}\n"
                                       "  - {name: auc-val, metric: auc, benchmarks: [all], splits: [val],"
                                       " threshold: 0.0}\n", [broken])
    g = {x["name"]: x for x in json.loads((evidence / "gates.json").read_text())["gates"]}
    assert g["auc"]["status"] == "blocked"
    (reason,) = g["auc"]["reasons"]
    assert reason["type"] == "score_health" and reason["observed"] == "missing 1, out_of_range 1"
    assert g["auc-val"]["status"] == "pass"  # the val rows are all healthy
    as_string = tmp_path / "string.jsonl"
    rows = [json.loads(line) for line in lines]
    rows[3]["scores"]["p_pass"] = "0.7"
    as_string.write_text("".join(json.dumps(r) + "\n" for r in rows))
    write_manifest(as_string, "scores", files=[as_string], parents=[pack], config={"seed": 42})
    capsys.readouterr()
    assert main(["evaluate", "--pack", str(pack), "--scores", str(as_string), "--out", str(tmp_path / "e2")]) == 2
    err = capsys.readouterr().err
    assert "string.jsonl" in err and "line 4" in err and "scores.p_pass" in err
    assert not (tmp_path / "e2").exists()


# ------------------------------------------------------------------------------------- anchors

def test_an_anchor_that_vanishes_is_not_kept():
    base = {("mbpp", "53"): True, ("mbpp", "54"): True, ("humaneval", "HumanEval/2"): False}
    after = {("mbpp", "54"): True, ("humaneval", "HumanEval/2"): True}  # MBPP/53 is gone
    c = compare(base, after, {"MBPP/53", "MBPP/54", "HumanEval/85"}, names=("base", "pass1"), draws=50)
    assert c.anchor_gate == "fail" and c.anchors_lost == []
    assert c.anchors_missing == ["HumanEval/85 (absent from base and pass1)", "MBPP/53 (absent from pass1)"]
    promotion = judge_passes(("base", base), [("pass1", after)], {"MBPP/53", "MBPP/54"}, [], draws=50)
    (verdict,) = promotion.passes
    assert not verdict.promotable and any("anchor_missing" in r and "MBPP/53" in r for r in verdict.reasons)


# ------------------------------------------------------------------------------ rerank baselines

def test_unordered_pools_have_no_no_action_and_ties_are_seeded_draws():
    rng = np.random.default_rng(0)
    n_tasks, per = 60, 5
    passed = rng.random(n_tasks * per) < 0.4
    members = {f"t{k:02d}": list(range(per * k, per * k + per)) for k in range(n_tasks)}
    flat = np.zeros(n_tasks * per)  # a scorer that ties everywhere
    ids = [f"id{i}" for i in range(n_tasks * per)]
    picks = [rerank("b", "test", "flat", members, passed, flat, None, None, ids, draws=50, tie_seed=s, ordered=False)
             for s in range(40)]
    first = picks[0]
    assert first.ordered is False and first.no_action is None and first.lift is None and first.mcnemar_p is None
    assert first.tied_tasks == n_tasks and first.tie_seed == 0
    # a tie-everywhere scorer earns the random expectation on average, not what an id order gives
    assert np.mean([p.pass_at_1 for p in picks]) == pytest.approx(first.random_expected, abs=0.03)
    assert len({p.pass_at_1 for p in picks}) > 1
    by_id_order = np.mean([passed[min(m, key=lambda i: ids[i])] for m in members.values()])
    assert first.random_expected == pytest.approx(np.mean([passed[m].mean() for m in members.values()]))
    assert isinstance(by_id_order, float)
    oracle = rerank("b", "test", "oracle", members, passed, passed.astype(float), None, None, ids, draws=200,
                    ordered=False)
    assert oracle.lift_random == pytest.approx(oracle.oracle - oracle.random_expected)
    assert oracle.lift_random_ci[0] > 0


def test_pool_rerank_gate_on_no_action_is_not_evaluable(tmp_path, data_dir):
    he = [ExecutionResult(benchmark="humaneval", task_id=f"HumanEval/{t}", candidate_id=f"p-{t}-{i}",
                          passed=(t + i) % 3 == 0, status="passed" if (t + i) % 3 == 0 else "failed",
                          output_magnitude_bucket=BUCKETS[(t + i) % 5], isolation="test",
                          label_provenance="executed here", program=f"def g{t}_{i}():\n    return {i}\n",
                          origin=Origin(model="m", run=f"r{i}", sample_index=0, format="pool"))
          for t in range(120) for i in range(4)]
    pack = tmp_path / "pack"
    build_pack([_write(tmp_path / "pool.jsonl", he)], pack, PackConfig(), data_dir, ["test"])
    scores = tmp_path / "s.jsonl"
    assert main(["score", "--pack", str(pack), "--out", str(scores), "--scorers", "no_action,oracle",
                 "--no-progress"]) == 0
    evidence = _bundle(tmp_path, pack, "gates:\n  - {name: over-first, metric: rerank_lift, scorer: oracle,"
                                       " benchmarks: [humaneval], threshold: 0.0}\n"
                                       "  - {name: over-random, metric: rerank_lift_random, scorer: oracle,"
                                       " benchmarks: [humaneval], threshold: 0.03, ci_lower_above: 0.0}\n", [scores])
    g = {x["name"]: x for x in json.loads((evidence / "gates.json").read_text())["gates"]}
    assert g["over-first"]["status"] == "blocked" and g["over-first"]["reasons"][0]["type"] == "not_evaluable"
    assert "no sample order" in g["over-first"]["reasons"][0]["observed"]
    assert g["over-random"]["status"] == "pass"
    results = json.loads((evidence / "rerank.json").read_text())["results"]
    assert all(r["ordered"] is False and r["no_action"] is None for r in results)


# ------------------------------------------------------------------------------------ intervals

def test_ece_intervals_contain_their_estimate():
    rng = np.random.default_rng(6)
    tasks = np.repeat(np.arange(60), 3)
    p = rng.random(tasks.size)
    y = (rng.random(tasks.size) < p).astype(float)  # calibrated: the plug-in ECE is small, draws sit above it
    bins = M.calibration_bins(p, 10)
    point = M.ece(y, p, bins)
    draws, _ = M.bootstrap_calibration(M.TaskBootstrap(tasks, draws=400, seed=0), y, p, bins)
    plain_low, _, _ = M.interval(draws)
    assert plain_low > point  # the bug: a percentile interval that excludes its own estimate
    low, high, _ = M.interval(draws, point=point)
    assert low == point and high > point


# ---------------------------------------------------------------------------------- references

def test_failed_references_are_retried_and_never_cached(tmp_path, monkeypatch):
    from codelewm_eval.benchmarks.models import Problem, TestSpec
    from codelewm_eval.execution import reference as R

    problem = Problem(benchmark="unit", task_id="unit/0", prompt="", entry_point="f",
                      canonical_solution="def f():\n    return 1\n", licence="test", source="test",
                      tests=TestSpec(mode="check", entry_point="f", test_code="def check(c):\n    assert c() == 1\n",
                                     call_check=True))

    class Answer:
        def __init__(self, status):
            self.tester = {"status": status, "test_seconds": 0.01, "error": "timeout" if status != "passed" else None}

    class FlakyPool:
        size = 1

        def __init__(self, statuses):
            self.statuses, self.walls = list(statuses), []

        def run(self, header, tests):
            self.walls.append(header["limits"]["wall_s"])
            return Answer(self.statuses.pop(0))

    from codelewm_eval.sandbox.pool import Limits

    pool = FlakyPool(["timeout", "passed"])
    ref = R.run_reference(pool, problem, Limits())
    assert ref.ok and ref.attempts == 2 and pool.walls[1] == pytest.approx(pool.walls[0] * R.RETRY_FACTOR, rel=0.2)

    class Bench:
        name, source_sha256, problems = "unit", "0" * 64, {"unit/0": problem}

    pool = FlakyPool(["timeout", "timeout"])
    out = R.ensure_references(pool, Bench, ["unit/0"], tmp_path, Limits())
    assert not out["unit/0"].ok
    cache = R.ReferenceCache(tmp_path, Bench)
    assert cache.get(problem) is None  # the failure was not cached: the next run computes it again
    pool = FlakyPool(["passed"])
    assert R.ensure_references(pool, Bench, ["unit/0"], tmp_path, Limits())["unit/0"].ok
    assert R.ReferenceCache(tmp_path, Bench).get(problem).ok
    # a failure written by an older version is dropped on load
    path = R.ReferenceCache(tmp_path, Bench).path
    raw = json.loads(path.read_text())
    raw["unit/0"]["ok"] = False
    path.write_text(json.dumps(raw))
    assert R.ReferenceCache(tmp_path, Bench).get(problem) is None


# ------------------------------------------------------------------------------ what is printed

def test_score_and_evaluate_name_the_split_and_cover_every_scorer(tmp_path, built_pack, capsys):
    pack = built_pack
    scores = tmp_path / "s.jsonl"
    capsys.readouterr()
    assert main(["score", "--pack", str(pack), "--out", str(scores)]) == 0
    captured = capsys.readouterr()
    for name in ("no_action", "length", "lexical", "oracle", "p_pass"):
        assert f"{name} ..." in captured.err  # progress as each scorer starts
        assert any(line.split()[:2] == ["val", name] for line in captured.out.splitlines())
        assert any(line.split()[:2] == ["test", name] for line in captured.out.splitlines())
    out = tmp_path / "ev"
    main(["evaluate", "--pack", str(pack), "--scores", str(scores), "--out", str(out), "--draws", "50",
          "--no-plots"])
    lines = [line for line in capsys.readouterr().out.splitlines()[1:] if not line.strip().startswith("gate")]
    assert lines and all(line.split()[0] in ("val", "test") for line in lines)
    for name in ("no_action", "length", "lexical", "oracle", "p_pass"):
        assert any(f" {name} " in line and "rerank" in line for line in lines)
