"""The claim auditor on the committed evidence: claims allowed, blocked and not recorded; prose
over-claims of each kind caught with file and line; tampered evidence blocks what rests on it;
rendered cards are current, load as Hub cards, and pass the audit by construction."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from codelewm_eval.claims.audit import audit
from codelewm_eval.claims.render import render_cards
from codelewm_eval.cli import main

from .conftest import ROOT

RESULTS = Path("docs/benchmark/p-pass-v1-results.md")
CARD_42 = Path("cards/rendered/p-pass-logreg-seed-42.md")


@pytest.fixture
def project(tmp_path):
    """A copy of the project's ledger, evidence and rendered documents (no README)."""
    for part in ("cards/claims.yaml", "cards/context-claims.yaml", "manifests/evidence", "cards/rendered",
                 "docs/benchmark"):
        src, dst = ROOT / part, tmp_path / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if src.is_dir() else shutil.copy)(src, dst)
    ledger = tmp_path / "cards" / "claims.yaml"
    ledger.write_text(ledger.read_text().replace("- README.md\n", ""))
    return tmp_path


def _verdicts(report):
    return {v.id: v for v in report.claims}


def _auc(benchmark="all", seed=42, root=ROOT):
    """The committed evidence's held-out test AUC (the tests follow the evidence, not a copy of it)."""
    records = json.loads((root / "manifests/evidence/logreg-v1/metrics.json").read_text())["records"]
    return next(r["metrics"]["auc"]["value"] for r in records if r["scorer"] == "p_pass" and r["seed"] == seed
                and r["benchmark"] == benchmark and r["split"] == "test")


def _humaneval_row(root):
    """The card's HumanEval row, and the same row with its AUC moved by 0.01."""
    import re

    text = (root / CARD_42).read_text()
    row = re.search(r"\| humaneval \| \d+ \| \d+ \| (\d\.\d{3}) \|", text)
    moved = row.group(0).replace(row.group(1), f"{float(row.group(1)) + 0.01:.3f}")
    return row.group(0), moved


def _edit(path: Path, old: str, new: str) -> int:
    """Replace the first `old` in the file; return its 1-based line."""
    lines = path.read_text().splitlines(keepends=True)
    for i, line in enumerate(lines):
        if old in line:
            lines[i] = line.replace(old, new, 1)
            path.write_text("".join(lines))
            return i + 1
    raise AssertionError(f"{old!r} not in {path}")


def test_the_committed_project_passes_its_audit(capsys):
    assert main(["claims", "audit", "--root", str(ROOT)]) == 0
    report = audit(ROOT)
    v = _verdicts(report)
    assert v["logreg-p-pass-auc"].status == "ALLOWED" and f"{_auc():.3f}" in v["logreg-p-pass-auc"].text
    assert v["logreg-rerank-humaneval-none"].status == "ALLOWED"  # a negative result that holds
    assert v["codet-rerank-humaneval"].status == "ALLOWED"
    assert v["logreg-calibrated"].status == "BLOCKED"
    assert {r.type for r in v["logreg-calibrated"].reasons} == {"gate_failed"}
    # the LoRA scorer trained on a GPU (jobs/standard-lora.yaml) and the probe on a CPU: their gates decide
    assert v["lora-p-pass-auc"].status == "ALLOWED" and "0.785" in v["lora-p-pass-auc"].text
    assert v["lora-calibrated"].status == v["probe-calibrated"].status == "BLOCKED"
    assert {r.type for r in v["lora-calibrated"].reasons} == {"gate_failed"}
    assert v["probe-p-pass-auc-seed-42"].status == "ALLOWED"  # the negative result: the gate fails on seed 42
    assert v["probe-p-pass-auc-seed-1729"].status == "ALLOWED"
    assert v["p-pass-general-coding"].status == "NOT RECORDED"
    assert all(b.ok for b in report.bundles)
    assert report.lines_read > 100


def test_rendering_is_deterministic_current_and_loads_as_hub_cards(project):
    from huggingface_hub import DatasetCard, ModelCard

    written = render_cards(project)
    for path in written:
        rel = path.relative_to(project)
        assert path.read_text() == (ROOT / rel).read_text(), f"{rel} is not current: run `claims render`"
    card = ModelCard.load(project / CARD_42)
    metrics = {r.dataset_config: r.metric_value for r in card.data.eval_results}
    assert metrics["all"] == round(_auc(), 3) and metrics["humaneval"] == round(_auc("humaneval"), 3)
    data = DatasetCard.load(project / "cards/rendered/codelewm-pack-v1.md").data
    assert data.license == "apache-2.0"
    assert [(c["config_name"], c["data_files"]) for c in data.configs] == [("rows", "rows.parquet"),
                                                                             ("tasks", "tasks.parquet")]
    text = (project / RESULTS).read_text()
    assert "BLOCKED `logreg-calibrated`" in text and "sha256" in text
    assert audit(project).ok  # by construction


def test_a_claim_word_added_to_a_blocked_result_fails_on_its_line(project, capsys):
    line = _edit(project / RESULTS, "| mbpp-multiple | p_pass |", "| mbpp-multiple (p_pass improves it) | p_pass |")
    assert main(["claims", "audit", "--root", str(project)]) == 1
    out = capsys.readouterr().out
    assert f"{RESULTS.as_posix()}:{line}: claim_word: 'improves'" in out


def test_one_changed_number_fails_on_its_line(project):
    line = _edit(project / CARD_42, *_humaneval_row(project))
    found = [(f.file, f.line, f.kind) for f in audit(project).findings]
    # a rendered card must equal the evidence's rendering: the edited line is named
    assert set(found) == {(CARD_42.as_posix(), line, "rendered_edited"), (CARD_42.as_posix(), line, "number")}
    # in hand-written prose, a number that no evidence value rounds to is named too
    notes = project / "docs/benchmark/notes.md"
    shown = f"{_auc():.3f}"
    notes.write_text(f"Held-out ROC-AUC is {shown} pooled.\n\nHeld-out ROC-AUC is {shown}9 pooled.\n")
    assert [(f.line, f.kind) for f in audit(project).findings if f.file.endswith("notes.md")] == [(3, "number")]


def test_both_seeds_where_one_passed_fails(project):
    gates = json.loads((project / "manifests/evidence/logreg-v1/gates.json").read_text())["gates"]
    short = next(g for g in gates if any(v != "pass" for v in g["per_seed"].values()))
    held = [g for g in gates if g["per_seed"] and all(v == "pass" for v in g["per_seed"].values())]
    lines = [f"The `{short['name']}` gate passed on both seeds."] + [f"The `{g['name']}` gate passed on both seeds."
                                                                    for g in held[:1]]
    (project / "notes.md").write_text("# Notes\n\n" + "\n\n".join(lines) + "\n")
    ledger = project / "lora.yaml"
    ledger.write_text("evidence: {logreg: manifests/evidence/logreg-v1}\nprose: [notes.md]\n")
    findings = audit(project, ledger).findings
    assert [(f.file, f.line, f.kind) for f in findings] == [("notes.md", 3, "scope_seeds")]  # the held gate: clean
    assert all(f"{v} on seed {s}" in findings[0].detail for s, v in short["per_seed"].items())


def test_wider_scope_and_multiples_of_small_counts(project):
    path = project / "docs/benchmark/notes.md"
    path.write_text("p_pass reranking improves coding across benchmarks.\n"
                    "MBPP went from 6/100 to 13/100, McNemar p 0.0156.\n"
                    "HumanEval tripled, from 2/164 to 6/164.\n"
                    "The rerank lift was 0.9876 on MBPP.\n")
    ledger = project / "cards/claims.yaml"
    ledger.write_text(ledger.read_text().replace("evidence:\n", "evidence:\n"
                                                 "  bd6: manifests/evidence/context-bd6\n", 1))
    found = {(f.line, f.kind) for f in audit(project).findings if f.file.endswith("notes.md")}
    assert found == {(1, "scope_benchmarks"), (3, "claim_word"), (3, "small_count_multiple"), (4, "number")}


def test_a_ledger_claim_worded_wider_than_its_scope_is_blocked(project):
    ledger = project / "cards/claims.yaml"
    text = ledger.read_text()
    text = text.replace("Best-of-n reranking of the MBPP pool with the logistic-regression p_pass improves pass@1",
                        "Best-of-n reranking with the logistic-regression p_pass improves coding pass@1")
    text = text.replace("each seed fits its own bootstrap of the train problem families.", "on both seeds.")
    text = text.replace("seeds:\n    - 42\n    - 1729\n  requires:\n  - p-pass-auc\n  evidence:\n  - logreg",
                        "seeds:\n    - 42\n  requires:\n  - p-pass-auc\n  evidence:\n  - logreg", 1)
    ledger.write_text(text)
    v = _verdicts(audit(project))
    assert ("wording", "benchmark scope") in {(r.type, r.subject) for r in v["logreg-rerank-mbpp"].reasons}
    assert ("wording", "seed scope") in {(r.type, r.subject) for r in v["logreg-p-pass-auc"].reasons}


def test_tampered_evidence_blocks_every_claim_on_it(project, capsys):
    metrics = project / "manifests/evidence/logreg-v1/metrics.json"
    metrics.write_text(metrics.read_text().replace("0.79", "0.89", 1))
    report = audit(project)
    v = _verdicts(report)
    on_logreg = [c for c in ("logreg-p-pass-auc", "logreg-decoy-mutation", "logreg-calibrated", "logreg-rerank-mbpp",
                             "logreg-rerank-humaneval-none")]
    assert all(v[c].status == "BLOCKED" and v[c].reasons[0].type == "evidence_changed" for c in on_logreg)
    assert v["codet-rerank-humaneval"].status == "ALLOWED"
    kinds = {(f.file, f.kind) for f in report.findings}
    assert ("manifests/evidence/logreg-v1/manifest.json", "evidence_changed") in kinds
    # the cards that state those claims no longer pass: their wording is no longer allowed
    assert (RESULTS.as_posix(), "claim_word") in kinds or (RESULTS.as_posix(), "number") in kinds
    assert main(["claims", "render", "--root", str(project)]) == 2
    assert "does not verify" in capsys.readouterr().err


def test_missing_evidence_seed_and_contradicted_negative(project):
    import yaml

    ledger = project / "cards/claims.yaml"
    data = yaml.safe_load(ledger.read_text())
    data["evidence"]["codet"] = "manifests/evidence/nowhere"
    data["claims"] += [
        {"id": "extra-seed", "kind": "diagnostic", "scope": {"seeds": [42, 7]}, "requires": ["p-pass-auc"],
         "evidence": ["logreg"], "wording": "an AUC"},
        {"id": "wrong-negative", "kind": "negative", "scope": {"seeds": [42, 1729]}, "requires": ["p-pass-auc"],
         "evidence": ["logreg"], "wording": "p_pass does not separate passing programs"}]
    ledger.write_text(yaml.safe_dump(data, sort_keys=False))
    v = _verdicts(audit(project))
    assert v["codet-rerank-humaneval"].reasons[0].type == "evidence_missing"
    assert {r.type for r in v["extra-seed"].reasons} == {"seed_missing"}
    assert [r.type for r in v["wrong-negative"].reasons] == ["contradicted"]


def test_a_bad_ledger_is_exit_2_naming_the_line(project, capsys):
    ledger = project / "cards/claims.yaml"
    lines = ledger.read_text().splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if "id: logreg-calibrated" in line)
    ledger.write_text("".join(lines).replace("id: logreg-calibrated\n  kind: positive",
                                             "id: logreg-calibrated\n  kind: hopeful"))
    assert main(["claims", "audit", "--root", str(project)]) == 2
    err = capsys.readouterr().err
    assert f"line {at + 1}" in err and "kind" in err


def test_github_format_annotates_and_writes_the_step_summary(project, tmp_path, monkeypatch, capsys):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    line = _edit(project / CARD_42, *_humaneval_row(project))
    assert main(["claims", "audit", "--root", str(project), "--format", "github"]) == 1
    out = capsys.readouterr().out
    assert f"::error file={CARD_42.as_posix()},line={line},title=claims audit: number::" in out
    assert "Claims audit: FAILED" in summary.read_text()
    assert main(["claims", "audit", "--root", str(project), "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["findings"][0]["line"] == line


def test_the_users_reports_audited_against_rebuilt_evidence(capsys):
    context = ROOT.parent / "shared" / "context"
    if not context.is_dir():
        pytest.skip(f"the user's reports are not at {context}")
    report = audit(ROOT, ROOT / "cards/context-claims.yaml", sorted(context.glob("*.txt")))
    v = _verdicts(report)
    assert v["bd6-mbpp-gain"].status == "ALLOWED" and "p 0.0156" in v["bd6-mbpp-gain"].text
    assert v["bd6-humaneval-gain"].status == "BLOCKED"  # 2 -> 6 of 164: McNemar p 0.125
    found = {(Path(f.file).name, f.line, f.kind) for f in report.findings}
    bd6 = "000_1f99470980a5cbe5.txt"
    assert (bd6, 17, "claim_word") in found  # "MBPP doubled."
    assert (bd6, 17, "small_count_multiple") in found  # "HumanEval tripled.": not significant
    assert any(k == "scope_seeds" for _, _, k in found)  # "passed both seeds", with no gate evidence


def test_the_not_a_claim_mark_skips_a_line_and_is_counted(project):
    (project / "docs/benchmark/notes.md").write_text(
        "The sandbox is 56x faster than the reference loop. <!-- audit: not-a-claim -->\n"
        "Mark a line with `<!-- audit: not-a-claim -->`; this one improves nothing.\n")
    report = audit(project)
    found = [(f.line, f.kind) for f in report.findings if f.file.endswith("notes.md")]
    assert found == [(2, "claim_word")] and report.lines_marked_not_a_claim == 1


def test_an_architecture_name_is_not_a_multiple():
    from codelewm_eval.claims.quantities import extract

    assert [q.kind for q in extract("Hyperscan runs on x86-64 Linux and on x86_64 wheels.")] == []
    assert [(q.kind, q.values) for q in extract("The scan got x2 faster, then 3x faster")] == [("multiple", (2.0,)),
                                                                                            ("multiple", (3.0,))]


def test_a_comparison_whose_paired_gates_fail_renders_what_audits_clean(tmp_path):
    """A rendered gate row states what the gate required ("required a gain with McNemar p <
    0.05"): a requirement is a condition, never a result, so the renderer's own words audit clean
    (they did not: the p 0.05 was read as a p value and 'gain' as a claim, on every project holding a
    comparison whose paired gate failed)."""
    import yaml

    shutil.copytree(ROOT / "manifests" / "evidence", tmp_path / "manifests" / "evidence")
    shutil.copytree(ROOT / "cards" / "templates", tmp_path / "cards" / "templates")
    ledger = yaml.safe_load((ROOT / "cards" / "context-claims.yaml").read_text())
    ledger["prose"] = ["docs/benchmark/**/*.md"]
    ledger["cards"] = [{"kind": "results", "name": "bd6-results", "evidence": "context-bd6",
                        "claims": [c["id"] for c in ledger["claims"]], "title": "BD6 pass-1 against the baseline",
                        "summary": "The paired comparison of the first surgery pass."}]
    (tmp_path / "cards" / "claims.yaml").write_text(yaml.safe_dump(ledger, sort_keys=False))
    assert main(["claims", "render", "--root", str(tmp_path)]) == 0
    rendered = (tmp_path / "docs" / "benchmark" / "bd6-results.md").read_text()
    assert "required a gain with McNemar p < 0.05" in rendered and "| fail |" in rendered
    report = audit(tmp_path)
    assert report.findings == [], [f"{f.line}: {f.kind}: {f.detail}" for f in report.findings]
