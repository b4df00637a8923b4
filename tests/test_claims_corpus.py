"""The claim audit on a corpus: over-claims paraphrased from the user's reports (every one flagged
on its own line) and honest sentences (every one clean), judged against the BD6 comparisons and
a p_pass / CodeT evidence bundle built here."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from codelewm_eval.claims.audit import audit
from codelewm_eval.claims.markdown import read_units
from codelewm_eval.evidence.evaluate import (DecoysFile, MetricRecord, MetricsFile, RerankFile, SeededDecoys,
                                             SeededRerank, judge_all)
from codelewm_eval.evidence.gates import Gate, GateSpec
from codelewm_eval.io import write_json_atomic
from codelewm_eval.manifest import write_manifest

from .conftest import ROOT

CORPUS = Path(__file__).parent / "claims_corpus"


def _auc(value, lo, hi):
    return {"value": value, "ci": [lo - 0.01, hi + 0.01], "bootstrap_ci": [lo, hi]}


def _scorer_bundle(path: Path) -> None:
    """p_pass (seeds 42, 1729) and CodeT evidence with the shape of the committed bundles."""
    records = []
    for seed in (42, 1729):
        for bench, auc, lo, hi, ece in (("all", 0.794, 0.744, 0.833, 0.151), ("humaneval", 0.868, 0.802, 0.927, 0.073),
                                        ("mbpp-plus", 0.747, 0.695, 0.803, 0.047)):
            records.append(MetricRecord(seed=seed, scorer="p_pass", benchmark=bench, split="test", rows=700,
                                        tasks=70, positives=300, metrics={
                                            "auc": _auc(auc, lo, hi),
                                            "ece": {"value": ece, "ci": [ece - 0.03, ece + 0.04], "mce": 0.32,
                                                    "mce_ci": [0.2, 0.4]}}))
    rerank = []
    for seed in (42, 1729):
        rerank.append(SeededRerank(seed=seed, benchmark="mbpp-multiple", split="test", scorer="p_pass", tasks=200,
                                   headroom_tasks=50, pass_at_1=0.755, ordered=True, no_action=0.730,
                                   random_expected=0.738, lexical=0.795, oracle=0.955, lift=0.025,
                                   lift_ci=(-0.035, 0.090), lift_random=0.017, lift_random_ci=(-0.02, 0.05),
                                   gained=20, lost=15, mcnemar_p=0.533, tied_tasks=0, unscored_candidates=0))
    rerank.append(SeededRerank(seed=7, benchmark="humaneval:codet", split="test", scorer="codet", tasks=23,
                               headroom_tasks=20, pass_at_1=0.522, ordered=True, no_action=0.261,
                               random_expected=0.266, lexical=None, oracle=0.739, lift=0.261, lift_ci=(0.087, 0.435),
                               lift_random=0.256, lift_random_ci=(0.08, 0.43), gained=6, lost=0, mcnemar_p=0.0312,
                               tied_tasks=0, unscored_candidates=0))
    decoys = [SeededDecoys(seed=seed, category="mutation", split="test", scorer="p_pass", pairs=190, scorable=185,
                           tasks=60, accuracy=0.816, accuracy_ci=(0.753, 0.876)) for seed in (42, 1729)]
    metrics = MetricsFile(seeds=[7, 42, 1729], score_health={}, records=records)
    spec = GateSpec(gates=[
        Gate(name="p-pass-auc", metric="auc", benchmarks=["all"], threshold=0.7, ci_lower_above=0.5, seeds=[42, 1729]),
        Gate(name="p-pass-calibration", metric="ece", benchmarks=["all"], comparator="<=", threshold=0.10,
             seeds=[42, 1729]),
        Gate(name="mbpp-rerank-lift", metric="rerank_lift", benchmarks=["mbpp-multiple"], threshold=0.03,
             ci_lower_above=0.0, seeds=[42, 1729]),
        Gate(name="codet-lift", metric="rerank_lift", scorer="codet", benchmarks=["humaneval:codet"],
             threshold=0.03, ci_lower_above=0.0, seeds=[7]),
        Gate(name="decoy-mutation", metric="decoy_accuracy", category="mutation", threshold=0.6, ci_lower_above=0.5,
             seeds=[42, 1729])])
    files = {"metrics.json": metrics, "rerank.json": RerankFile(results=rerank), "decoys.json": DecoysFile(results=decoys)}
    path.mkdir(parents=True)
    for name, model in files.items():
        write_json_atomic(path / name, model.model_dump(mode="json"))
    write_json_atomic(path / "gates.json", judge_all(spec, metrics, files["rerank.json"], files["decoys.json"])
                      .model_dump(mode="json"))
    write_manifest(path, "evidence", config={"gates": spec.model_dump(mode="json")})


def _claim(id, kind, model, benchmarks, requires, evidence, wording, seeds=()):
    return {"id": id, "kind": kind, "scope": {"model": model, "benchmarks": benchmarks, "seeds": list(seeds)},
            "requires": requires, "evidence": [evidence], "wording": wording}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    for name in ("context-bd6", "context-bd6_2", "context-anchors"):
        shutil.copytree(ROOT / "manifests" / "evidence" / name, root / "evidence" / name)
    _scorer_bundle(root / "evidence" / "scorer")
    context = yaml.safe_load((ROOT / "cards" / "context-claims.yaml").read_text())
    ledger = {"schema_version": 1, "evidence": {**{k: f"evidence/{k}" for k in context["evidence"]},
                                                "scorer": "evidence/scorer"},
              "prose": [], "claims": context["claims"] + [
                  _claim("auc", "positive", "p-pass-logreg", ["all"], ["p-pass-auc"], "scorer",
                         "The p_pass scorer separates passing from failing programs.", [42, 1729]),
                  _claim("calibrated", "positive", "p-pass-logreg", ["all"], ["p-pass-calibration"], "scorer",
                         "The p_pass scorer is well calibrated.", [42, 1729]),
                  _claim("mbpp-rerank", "positive", "p-pass-logreg", ["mbpp"], ["mbpp-rerank-lift"], "scorer",
                         "p_pass reranking improves MBPP pass@1.", [42, 1729]),
                  _claim("codet-rerank", "positive", "codet", ["humaneval"], ["codet-lift"], "scorer",
                         "CodeT reranking improves HumanEval pass@1 over the first sample.", [7])]}
    for claim in ledger["claims"]:
        claim["evidence"] = [e for e in claim["evidence"]]
    (root / "cards").mkdir()
    (root / "cards" / "claims.yaml").write_text(yaml.safe_dump(ledger, sort_keys=False))
    return root


def _by_line(report, name):
    out = {}
    for f in report.findings:
        if f.file.endswith(name):
            out.setdefault(f.line, []).append(f)
    return out


def _sentence_lines(path: Path) -> list[int]:
    units, _ = read_units(path)
    return sorted({u.line for u in units if u.kind == "paragraph"})


def test_the_ledger_is_classified_as_the_evidence_says(project):
    report = audit(project, extra=[])
    status = {v.id: v.status for v in report.claims}
    assert status["auc"] == status["codet-rerank"] == status["bd6-mbpp-gain"] == "ALLOWED"
    assert status["calibrated"] == status["mbpp-rerank"] == status["bd6-humaneval-gain"] == "BLOCKED"


def test_every_over_claim_is_flagged_on_its_own_line(project):
    path = CORPUS / "overclaims.md"
    report = audit(project, extra=[path])
    found = _by_line(report, "overclaims.md")
    lines = _sentence_lines(path)
    assert len(lines) >= 40
    text = path.read_text().splitlines()
    missed = [f"{n}: {text[n - 1]}" for n in lines if n not in found]
    assert not missed, "over-claims not flagged:\n" + "\n".join(missed)
    kinds = {f.kind for fs in found.values() for f in fs}
    assert {"number", "change", "multiple", "small_count_multiple", "claim_word", "scope_benchmarks",
            "scope_seeds"} <= kinds


def test_every_honest_sentence_is_clean(project):
    path = CORPUS / "honest.md"
    report = audit(project, extra=[path])
    found = _by_line(report, "honest.md")
    assert len(_sentence_lines(path)) >= 15
    assert not found, "honest sentences flagged:\n" + "\n".join(
        f"{line}: {f.kind}: {f.detail} | {f.text}" for line, fs in sorted(found.items()) for f in fs)


@pytest.mark.parametrize("sentence, kind", [
    # paraphrases of caught over-claims must be caught too
    ("After the first pass, MBPP hit 21/100.", "number"),
    ("HumanEval climbed from 2/164 to 11/164.", "change"),
    ("HumanEval went up by 200 percent, tripling after the surgery.", "small_count_multiple"),
    ("The surgery clearly improves HumanEval.", "claim_word"),
    ("It is not true that nothing improved: HumanEval improved.", "claim_word"),
    ("The surgery works for code generation in general and improves it.", "scope_benchmarks"),
    ("ROC-AUC of the p_pass scorer is 0.91 on the test split.", "number"),
    ("BD6.8D2 held every anchor.", "claim_word"),
    ("HumanEval passes grew 2.5x after BD6 pass-1.", "multiple"),
])
def test_paraphrases_are_caught(project, tmp_path, sentence, kind):
    path = tmp_path / "note.md"
    path.write_text(f"# Results note\n\n{sentence}\n")
    found = _by_line(audit(project, extra=[path]), "note.md")
    assert kind in {f.kind for f in found.get(3, [])}, found


def test_findings_name_the_quantity_and_the_evidence_value(project, tmp_path):
    path = tmp_path / "note.md"
    path.write_text("MBPP reached 19/100 after the first surgery pass.\n")
    (finding,) = [f for f in audit(project, extra=[path]).findings if f.file.endswith("note.md")]
    assert finding.line == 1 and finding.kind == "number"
    assert "19/100" in finding.detail and re.search(r"nearest: .*13", finding.detail)


def test_missing_or_directory_paths_are_exit_2(project, capsys):
    from codelewm_eval.cli import main

    assert main(["claims", "audit", "--root", str(project), "--paths", str(project / "nope.md")]) == 2
    assert "nope.md" in capsys.readouterr().err
    assert main(["claims", "audit", "--root", str(project), "--paths", str(project / "cards")]) == 2
    assert "not a file" in capsys.readouterr().err


@pytest.mark.parametrize("sentence, reason", [
    # a significant drop is no significant gain; the finding names the test and its p
    ("BD6.2 improved MBPP.", "no paired test of that subject shows a significant gain: bd62 on mbpp 13/100 -> "
                             "6/100, a drop, exact McNemar p 0.0391"),
    ("BD6 pass-1 improved HumanEval.", "bd6 on humaneval 2/164 -> 6/164, a gain, exact McNemar p 0.125"),
])
def test_a_finding_names_the_paired_test_it_rests_on(project, tmp_path, sentence, reason):
    path = tmp_path / "note.md"
    path.write_text(f"{sentence}\n")
    (finding,) = [f for f in audit(project, extra=[path]).findings if f.file.endswith("note.md")]
    assert finding.kind == "claim_word" and reason in finding.detail, finding.detail


def _note_findings(project, tmp_path, text: str) -> list:
    """The findings on a one-sentence note audited against the corpus project."""
    path = tmp_path / "note.md"
    path.write_text(f"{text}\n")
    return [f for f in audit(project, extra=[path]).findings if f.file.endswith("note.md")]


@pytest.mark.parametrize("document, flagged", [
    # a benchmark variant is its own subject: HumanEval's 0.868 does not back HumanEval+
    ("On HumanEval+, the p_pass scorer reaches ROC-AUC 0.868.", True),
    ("The p_pass scorer reaches ROC-AUC 0.868 on HumanEval.", False),
    ("p_pass reaches ROC-AUC 0.747 on MBPP.", True),              # 0.747 is MBPP+'s
    ("p_pass reaches ROC-AUC 0.747 on MBPP+.", False),
    ("CodeT reranking improves HumanEval+ pass@1.", True),         # its claim is scoped to HumanEval
    ("HumanEval and HumanEval+ ROC-AUC: 0.868.", False),           # a sentence naming both pools them
    # a label and a colon bind the value, in a list item or a table cell
    ("- p_pass lift over random, seed 42: +0.080", True),
    ("- p_pass lift over random, seed 42: +0.017", False),
    ("- Decoy accuracy, mutation pairs: 0.95", True),
    ("| metric | seed 42 | seed 1729 |\n|---|---|---|\n| ROC-AUC (all) | 0.794 | 0.91 |", True),
    ("| metric | seed 42 | seed 1729 |\n|---|---|---|\n| ROC-AUC (all) | 0.794 | 0.794 |", False),
    # a subject carries into the next sentence's pronoun or "there" within a paragraph
    ("The p_pass scorer was evaluated on HumanEval. It reaches ROC-AUC 0.747 there.", True),
    ("The p_pass scorer was evaluated on HumanEval. It reaches ROC-AUC 0.868 there.", False),
    ("BD6 pass-1 was run on MBPP. There it reached 21/100.", True),
    ("BD6 pass-1 was run on MBPP. There it reached 13/100.", False),
])
def test_subjects_are_exact_bound_and_carried(project, tmp_path, document, flagged):
    found = _note_findings(project, tmp_path, f"# Note\n\n{document}")
    assert bool(found) == flagged, [f"{f.kind}: {f.detail}" for f in found]


@pytest.mark.parametrize("sentence", [
    # the favourable lexicon is a rule by word class, not a list of phrasings: inflections,
    # derivations and members of each class that no corpus sentence holds
    "BD6.2 brought an enhancement to HumanEval pass counts.",
    "BD6 pass-1 outclassed the frozen baseline on HumanEval.",
    "BD6.2 excelled on HumanEval.",
    "BD6 pass-1 posted its strongest HumanEval numbers yet.",
    "The HumanEval performance of BD6.2 was outstanding.",
    "BD6.2 consistently lands more HumanEval passes.",
    "BD6.8D2 met every gate on HumanEval.",
    "The promotion threshold was crossed by BD6.5 on MBPP.",
    "HumanEval passes ticked up under BD6.2.",
    "BD6.2 qualifies for promotion on HumanEval.",
])
def test_favourable_words_outside_any_list_need_a_claim(project, tmp_path, sentence):
    found = _note_findings(project, tmp_path, sentence)
    assert found, sentence


@pytest.mark.parametrize("sentence", [
    "BD6.2 shows no notable gain on HumanEval.",                     # negated
    "The HumanEval results of BD6.2 were not impressive.",           # negated inside the predicate
    "A gate is cleared only if its lower CI bound is above 0.5.",    # a condition
    "The table counts how often the passing row outscores its decoy.",  # an indirect question
    "BD6 pass-1 made a notable improvement on MBPP.",                # backed by an ALLOWED claim
    "The `p-pass-auc` gate was passed on both seeds.",               # a named gate that passed
])
def test_favourable_words_that_claim_nothing_or_are_backed_are_clean(project, tmp_path, sentence):
    found = _note_findings(project, tmp_path, sentence)
    assert not found, [f"{f.kind}: {f.detail}" for f in found]


@pytest.mark.parametrize("sentence, kind", [
    # a quantifier over seeds, benchmarks or passes is checked with or without a claim verb
    ("The CodeT lift is 0.261 on both seeds.", "scope_seeds"),              # CodeT has one seed
    ("The p_pass ROC-AUC is 0.868 on every benchmark.", "scope_benchmarks"),  # HumanEval's only
    ("Decoy accuracy is 0.816 on every benchmark.", "scope_benchmarks"),     # never measured per benchmark
    ("MBPP reached 13/100 in both passes.", "scope_passes"),                 # 2 of the passes
    ("HumanEval moved up in every pass.", "scope_passes"),
    ("The p_pass ECE is under 0.1 on both seeds.", "scope_seeds"),           # pooled 0.151 on both
    ("The rerank lift on HumanEval is 0.261 for both scorers.", "scope_models"),  # CodeT's alone
    ("ROC-AUC is 0.794 for every scorer.", "scope_models"),                  # p_pass is the only one measured
])
def test_quantifiers_are_checked_without_a_claim_verb(project, tmp_path, sentence, kind):
    found = _note_findings(project, tmp_path, sentence)
    assert kind in {f.kind for f in found}, [f"{f.kind}: {f.detail}" for f in found]


@pytest.mark.parametrize("sentence", [
    "The p_pass rerank lift on MBPP is 0.025 on both seeds.",
    "The p_pass ECE is under 0.1 on every benchmark.",          # 0.073 and 0.047, each benchmark measured
    "p_pass reaches ROC-AUC above 0.7 on all benchmarks.",      # 0.868 and 0.747
    "The p_pass ROC-AUC is 0.794 pooled across benchmarks.",
    "The p_pass ROC-AUC is above 0.75 on the pooled test split.",  # a bound the value meets
])
def test_quantifiers_and_bounds_that_hold_are_clean(project, tmp_path, sentence):
    found = _note_findings(project, tmp_path, sentence)
    assert not found, [f"{f.kind}: {f.detail}" for f in found]


@pytest.mark.parametrize("sentence, kind", [
    # multiples in every form, computed from the counts at the precision shown
    ("HumanEval passes grew 2.5-fold after BD6 pass-1.", "multiple"),              # 3.0, not 2.5
    ("MBPP passes after BD6 pass-1 were two and a half times the baseline's.", "multiple"),  # 2.17
    ("HumanEval passes rose by an order of magnitude after BD6 pass-1.", "multiple"),
    ("MBPP passes rose by a factor of 3 after BD6 pass-1.", "multiple"),
    ("HumanEval passes after BD6 pass-1 were three times the baseline's.", "small_count_multiple"),  # p 0.125
    # counts of anchors kept or lost, in any phrasing, against the ladder
    ("BD6.8D2 lost only two anchors.", "number"),                                  # it lost 6
    ("Only one anchor was lost under BD6.5.", "number"),                           # 4
    ("BD6.8D kept 17 of 19 anchors.", "number"),                                   # 15
    ("BD6.8D2 kept all but two anchors.", "number"),
    ("No more than two anchors were lost by BD6.8D.", "number"),
])
def test_multiples_and_anchor_counts_in_any_form(project, tmp_path, sentence, kind):
    found = _note_findings(project, tmp_path, sentence)
    assert kind in {f.kind for f in found}, [f"{f.kind}: {f.detail}" for f in found]


@pytest.mark.parametrize("sentence", [
    "MBPP passes after BD6 pass-1 were twice the baseline's.",      # 2.17, significant, ALLOWED
    "MBPP passes under BD6.2 were cut in half.",                    # 13 -> 6
    "MBPP passes under BD6.2 fell by a factor of two.",
    "HumanEval passes under BD6.8D2 fell by a factor of six.",      # 6 -> 1
    "BD6.8D2 lost six anchors.",
    "BD6.5 lost just 4 of the 19 anchors.",
    "BD6.8D kept all but four anchors.",
    "The new executor is an order of magnitude faster than the reference.",  # no result
])
def test_true_multiples_and_anchor_counts_are_clean(project, tmp_path, sentence):
    found = _note_findings(project, tmp_path, sentence)
    assert not found, [f"{f.kind}: {f.detail}" for f in found]
