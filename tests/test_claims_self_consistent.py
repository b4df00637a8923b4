"""What the project writes audits clean, whatever the evidence says: every gate kind (AUC,
calibration, rerank lift, decoy accuracy, paired McNemar, anchors) in every state (pass, fail,
blocked by a missing seed, not evaluable, seeds identical, evidence inconsistent, anchor lost,
anchor missing), for every bundle kind (scorer evidence, comparison), through every writer
(`claims render`: model, dataset and results cards; `compare --out`'s own Markdown; `report`).
The audit may flag the evidence (an inconsistent verdict is a finding about gates.json), never
the project's own prose."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from codelewm_eval.claims.audit import audit
from codelewm_eval.cli import main
from codelewm_eval.evidence.evaluate import (
    DecoysFile,
    MetricRecord,
    MetricsFile,
    RerankFile,
    SeededDecoys,
    SeededRerank,
    judge_all,
)
from codelewm_eval.evidence.gates import Gate, GateSpec
from codelewm_eval.io import write_json_atomic
from codelewm_eval.manifest import write_manifest

from .conftest import ROOT

SEEDS = (42, 1729)
SCORER_GATES = [
    Gate(name="auc-pass", metric="auc", benchmarks=["all"], threshold=0.7, ci_lower_above=0.5, seeds=[42, 1729]),
    Gate(name="auc-plus-fail", metric="auc", benchmarks=["humaneval-plus"], threshold=0.9, seeds=[42, 1729]),
    Gate(name="ece-fail", metric="ece", benchmarks=["all"], comparator="<=", threshold=0.10, seeds=[42, 1729]),
    Gate(name="auc-seed-missing", metric="auc", benchmarks=["all"], threshold=0.7, seeds=[42, 99]),
    Gate(name="auc-not-evaluable", metric="auc", benchmarks=["livecodebench"], threshold=0.7, seeds=[42, 1729]),
    Gate(name="lift-fail", metric="rerank_lift", benchmarks=["mbpp-multiple"], threshold=0.03, ci_lower_above=0.0,
         seeds=[42, 1729]),
    Gate(name="lift-pass", metric="rerank_lift", scorer="codet", benchmarks=["humaneval:codet"], threshold=0.03,
         ci_lower_above=0.0, seeds=[7]),
    Gate(name="decoy-pass", metric="decoy_accuracy", category="mutation", threshold=0.6, ci_lower_above=0.5,
         seeds=[42, 1729]),
]


def _metric(value, lo, hi):
    return {"value": value, "ci": [lo - 0.01, hi + 0.01], "bootstrap_ci": [lo, hi]}


def _scorer_files(seeds, identical=None):
    records = []
    for seed in seeds:
        for bench, auc, ece in (("all", 0.794, 0.151), ("humaneval", 0.868, 0.073), ("humaneval-plus", 0.812, 0.09),
                                ("mbpp-plus", 0.747, 0.047)):
            records.append(MetricRecord(seed=seed, scorer="p_pass", benchmark=bench, split="test", rows=700, tasks=70,
                                        positives=300, metrics={
                                            "auc": _metric(auc, auc - 0.05, auc + 0.04),
                                            "ece": {"value": ece, "ci": [ece - 0.03, ece + 0.04], "mce": 0.32,
                                                    "mce_ci": [0.2, 0.4]},
                                            "brier": {"value": 0.18}}))
        records.append(MetricRecord(seed=seed, scorer="p_pass", benchmark="livecodebench", split="test", rows=50,
                                    tasks=50, positives=0, not_evaluable={"auc": "one class: no passing candidate"}))
    rerank = [SeededRerank(seed=seed, benchmark="mbpp-multiple", split="test", scorer="p_pass", tasks=200,
                           headroom_tasks=50, pass_at_1=0.755, ordered=True, no_action=0.730, random_expected=0.738,
                           lexical=0.795, oracle=0.955, lift=0.025, lift_ci=(-0.035, 0.090), lift_random=0.017,
                           lift_random_ci=(-0.02, 0.05), gained=20, lost=15, mcnemar_p=0.533, tied_tasks=0,
                           unscored_candidates=0) for seed in seeds]
    rerank.append(SeededRerank(seed=7, benchmark="humaneval:codet", split="test", scorer="codet", tasks=23,
                               headroom_tasks=20, pass_at_1=0.522, ordered=True, no_action=0.261,
                               random_expected=0.266, lexical=None, oracle=0.739, lift=0.261, lift_ci=(0.087, 0.435),
                               lift_random=0.256, lift_random_ci=(0.08, 0.43), gained=6, lost=0, mcnemar_p=0.0312,
                               tied_tasks=0, unscored_candidates=0))
    decoys = [SeededDecoys(seed=seed, category="mutation", split="test", scorer="p_pass", pairs=190, scorable=185,
                           tasks=60, accuracy=0.816, accuracy_ci=(0.753, 0.876)) for seed in seeds]
    metrics = MetricsFile(seeds=[7, *seeds], identical_seeds=identical or {}, score_health={}, records=records)
    return metrics, RerankFile(results=rerank), DecoysFile(results=decoys)


def _scorer_bundle(path: Path, seeds=SEEDS, identical=None, inconsistent=False) -> None:
    metrics, rerank, decoys = _scorer_files(seeds, identical)
    spec = GateSpec(gates=SCORER_GATES)
    gates = judge_all(spec, metrics, rerank, decoys).model_dump(mode="json")
    if inconsistent:  # a verdict edited by hand that its own measurements contradict, resealed
        for g in gates["gates"]:
            if g["name"] == "ece-fail":
                g["status"], g["reasons"] = "pass", []
                g["per_seed"] = {k: "pass" for k in g["per_seed"]}
    path.mkdir(parents=True)
    for name, model in (("metrics.json", metrics), ("rerank.json", rerank), ("decoys.json", decoys)):
        write_json_atomic(path / name, model.model_dump(mode="json"))
    write_json_atomic(path / "gates.json", gates)
    write_manifest(path, "evidence", config={"gates": spec.model_dump(mode="json")})


MBPP = [str(i) for i in range(11, 111)]
HE = [f"HumanEval/{i}" for i in range(164)]
LCB = [f"lcb_{i}" for i in range(50)]
ANCHORS = ["MBPP/11", "MBPP/12", "MBPP/13", "HumanEval/0", "HumanEval/1"]


def _results(path: Path, passing: dict[str, set], drop: set[str] = frozenset()) -> Path:
    with open(path, "w") as fh:
        for bench, tasks in (("mbpp", MBPP), ("humaneval", HE), ("livecodebench", LCB)):
            for t in tasks:
                if t in drop:
                    continue
                fh.write(json.dumps({"benchmark": bench, "task_id": t, "passed": t in passing.get(bench, set()),
                                     "mode": "B"}) + "\n")
    return path


def _comparison_bundles(root: Path) -> dict[str, str]:
    """A significant gain (mbpp), a gain that is not significant (humaneval), no change
    (livecodebench), a drop, an anchor lost and an anchor missing; every paired and anchor gate state."""
    work = root / "results"
    work.mkdir()
    base = _results(work / "base.jsonl", {"mbpp": set(MBPP[:6]), "humaneval": set(HE[:6])})
    gain = _results(work / "gain.jsonl", {"mbpp": set(MBPP[:13]), "humaneval": set(HE[:8])})
    drop = _results(work / "drop.jsonl", {"mbpp": set(MBPP[1:4]), "humaneval": set(HE[1:6])})
    gone = _results(work / "gone.jsonl", {"mbpp": set(MBPP[:13]), "humaneval": set(HE[:6])}, drop={"HumanEval/1"})
    anchors = work / "anchors.txt"
    anchors.write_text("\n".join(ANCHORS) + "\n")
    out = {}
    for name, candidates in (("cmp-gain", [gain]), ("cmp-ladder", [gain, drop, gone])):
        bundle = root / "evidence" / name
        argv = ["compare", "--baseline", str(base), "--anchors", str(anchors), "--out", str(bundle)]
        for c in candidates:
            argv += ["--candidate", str(c)]
        assert main(argv) in (0, 1)  # 1: an anchor gate failed, as intended
        out[name] = f"evidence/{name}"
    return out


def _claim(id, kind, model, benchmarks, requires, evidence, wording, seeds=()):
    return {"id": id, "kind": kind, "scope": {"model": model, "benchmarks": benchmarks, "seeds": list(seeds)},
            "requires": requires, "evidence": [evidence], "wording": wording}


def _claims_for(bundle: str, gates: list[dict]) -> list[dict]:
    """One positive claim per gate in the words a researcher would use, and a negative one."""
    words = {"auc": "The p_pass scorer separates passing from failing programs on {b}.",
             "ece": "The p_pass scorer is well calibrated on {b}.",
             "rerank_lift": "Reranking by the scorer improves pass@1 on {b}.",
             "decoy_accuracy": "The scorer ranks the original above its mutant.",
             "mcnemar_p": "The candidate improves {b} pass counts significantly.",
             "anchors_kept": "The candidate kept every anchor."}
    out = []
    for g in gates:
        bench = g["name"].split(":")[-1] if g["metric"] == "mcnemar_p" else "all"
        text = words.get(g["metric"], "The gate {b} holds.").format(b=bench if bench != "all" else "every benchmark")
        out.append(_claim(f"{bundle}-{g['name'].replace(':', '-')}", "positive", "p-pass" if "cmp" not in bundle
                          else g["name"].split(":")[0], [bench], [g["name"]], bundle, text))
    out.append(_claim(f"{bundle}-negative", "negative", "p-pass", ["all"], [gates[0]["name"]], bundle,
                      "No broad gain is claimed from this evidence."))
    return out


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("selfconsistent")
    _scorer_bundle(root / "evidence" / "scorer")
    _scorer_bundle(root / "evidence" / "twin", seeds=(42,), identical={"1729": 42})
    _scorer_bundle(root / "evidence" / "tampered", inconsistent=True)
    evidence = {"scorer": "evidence/scorer", "twin": "evidence/twin", "tampered": "evidence/tampered",
                **_comparison_bundles(root)}
    claims, cards = [], []
    for name, rel in evidence.items():
        gates = json.loads((root / rel / "gates.json").read_text())["gates"]
        claims += _claims_for(name, gates)
        if name == "tampered":  # nothing renders from it; its BLOCKED claims show on another card
            cards.append({"kind": "results", "name": "tampered-claims", "evidence": "scorer",
                          "claims": [c["id"] for c in claims if c["id"].startswith("tampered-")],
                          "title": "Claims resting on an edited verdict", "summary": "Claims and their verdicts."})
            continue
        cards.append({"kind": "results", "name": f"{name}-results", "evidence": name,
                      "title": f"Results of {name}", "summary": "What the evidence bundle measured."})
        if not name.startswith("cmp"):
            cards.append({"kind": "model", "name": f"{name}-model", "evidence": name, "seeds": [42, 1729],
                          "title": "A p_pass scorer", "summary": "A scorer of candidate programs."})
            cards.append({"kind": "dataset", "name": f"{name}-pack", "evidence": name, "title": "A pack",
                          "summary": "Candidate programs with their pass/fail labels."})
    ledger = {"schema_version": 1, "evidence": evidence, "claims": claims, "cards": cards,
              "prose": ["README.md", "cards/**/*.md", "docs/benchmark/**/*.md"]}
    (root / "cards").mkdir()
    (root / "cards" / "claims.yaml").write_text(yaml.safe_dump(ledger, sort_keys=False))
    shutil.copytree(ROOT / "cards" / "templates", root / "cards" / "templates")
    assert main(["claims", "render", "--root", str(root)]) in (0, 1)
    extra = []
    for name, rel in evidence.items():
        out = root / "reports" / name
        # the report of the bundle whose verdict was edited is written, and exits 1 saying so
        assert main(["report", str(root / rel), "--out", str(out)]) == (1 if name == "tampered" else 0)
        extra.append(out / "index.html")
        if (root / rel / "compare.md").exists():
            extra.append(root / rel / "compare.md")
    return root, extra


def test_every_gate_state_is_rendered(rendered):
    root, _ = rendered
    states = set()
    for gates in root.glob("evidence/*/gates.json"):
        for g in json.loads(gates.read_text())["gates"]:
            states.add(g["status"])
            states |= {r["type"] for r in g["reasons"]}
    assert {"pass", "fail", "blocked", "seed_missing", "not_evaluable", "seeds_identical", "threshold",
            "anchor_lost", "anchor_missing"} <= states, states
    documents = sorted(p.name for p in root.glob("cards/rendered/**/*.md")) + sorted(
        p.name for p in root.glob("docs/benchmark/*.md"))
    assert len(documents) >= 10, documents
    text = "\n".join(p.read_text() for p in root.rglob("*.md") if "templates" not in p.parts)
    assert "required a gain with McNemar p < 0.05" in text and "anchor_missing" in text
    for word in ("BLOCKED", "fail", "seed_missing", "not_evaluable", "seeds_identical", "anchor"):
        assert word in text


def test_what_the_project_writes_audits_clean(rendered):
    root, extra = rendered
    report = audit(root, extra=extra)
    prose = [f for f in report.findings if not f.file.endswith(("gates.json", "manifest.json"))]
    assert report.lines_read > 300
    assert not prose, "\n".join(f"{f.file}:{f.line}: {f.kind}: {f.detail} | {f.text}" for f in prose)
    # the hand-edited verdict is caught, and only as evidence
    assert any(f.kind == "evidence_inconsistent" and "tampered" in f.file for f in report.findings)
