"""`codelewm-eval report`: one static page per run, evidence bundle or comparison, checked in a real
browser (headless Chromium from Debian, driven by Selenium; tests/browser.py): no console errors,
the gate table, the charts (a hover shows a reliability bin), the drill-down and every link to an
evidence file. The default run's page is checked by tests/test_run.py through `check_run_report`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from codelewm_eval.cli import main
from codelewm_eval.manifest import verify

from . import browser
from .conftest import ROOT

LADDER = ROOT / "manifests" / "evidence" / "replay-ladder"
LOGREG = ROOT / "manifests" / "evidence" / "logreg-v1"


def _data(index: Path) -> dict:
    html = Path(index).read_text()
    start = html.index('<script id="report-data" type="application/json">') + len(
        '<script id="report-data" type="application/json">')
    return json.loads(html[start:html.index("</script>", start)])


def check_run_report(index: Path, shots: Path) -> None:
    """The default run's page: its data, then (where Chromium is) the page as a person sees it."""
    data = _data(index)
    assert data["kind"] == "run" and data["verification"]["ok"]
    assert {g["name"] for g in data["gates"]["rows"]} == {"p-pass-auc", "p-pass-calibration", "decoy-mutation",
                                                          "selective-execution", "mutant-rerank-lift"}
    # selective execution: the risk-coverage points of every scorer, seed and held-out split, with CIs
    curves = [r for r in data["selective"]["rows"] if r["scorer"] == "p_pass" and r["split"] == "test"]
    assert len(curves) == 2 and all(len(r["points"]) == 4 and r["points"][2]["kept_share_ci"] for r in curves)
    assert data["tasks"] and data["roc"]["curves"] and data["calibration"]["charts"] and data["claims"]["claims"]
    wrong = data["decoys"]["wrong_pairs"]  # the decoy pairs the scorer orders wrongly, each checkable
    assert wrong and all(w["decoy_score"] >= w["original_score"] for w in wrong)
    assert verify(index.parent) == []
    if browser.available() is not None:
        return  # no browser here: the page's data is checked, its rendering is not
    d = browser.driver()
    try:
        browser.open_page(d, index)
        assert browser.console_errors(d) == []
        gates = d.find_elements("css selector", "#gate-table tbody tr")
        assert len(gates) == 5 and all("pass" in g.text or "fail" in g.text or "blocked" in g.text for g in gates)
        browser.draw_chart(d, ".roc")
        browser.draw_chart(d, ".reliability")
        # hovering a reliability bin shows its count, mean predicted and observed pass rate
        text = d.execute_script("""
            const div = document.querySelector('.reliability');
            Plotly.Fx.hover(div, [{curveNumber: 1, pointNumber: 0}]);
            const t = div.querySelector('.hovertext');
            return t ? t.textContent : null;""")
        assert text and "candidates" in text and "mean predicted" in text and "observed pass rate" in text
        # the drill-down: a task's candidates, with their scores, labels and programs
        held_out = [r for r in d.find_elements("css selector", "#task-table tbody tr.task")
                    if r.find_elements("css selector", "td")[2].text == "test"]
        assert held_out, "no held-out task on the first page"
        held_out[0].click()
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(d, 10).until(lambda drv: drv.find_elements("css selector", "#candidate-table tbody tr"))
        rows = d.find_elements("css selector", "#candidate-table tbody tr")
        assert rows and "p_pass seed 42" in d.find_element("id", "candidate-table").text
        assert d.find_elements("css selector", "#wrong-pairs tbody tr")
        assert browser.broken_links(d, index) == []
        d.save_screenshot(str(shots / "default-run-report.png"))
    finally:
        d.quit()


def test_a_comparison_report_shows_before_after_and_the_anchor_ladder_in_a_browser(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["report", str(LADDER), "--out", str(out)]) == 0
    assert "report (comparison" in capsys.readouterr().out
    data = _data(out / "index.html")
    assert [c["candidate"] for c in data["comparisons"]["rows"]] == ["bd6_2", "bd6_5", "bd6_8d", "bd6_8d2"]
    assert all(g["status"] == "fail" for g in data["gates"]["rows"])  # recomputed: every pass loses anchors
    assert (out / "plotly-basic.min.js").stat().st_size > 1_000_000 and (out / "PLOTLY-LICENSE.txt").exists()
    d = browser.driver()
    try:
        browser.open_page(d, out / "index.html")
        assert browser.console_errors(d) == []
        ladder = d.find_element("id", "anchor-ladder").text
        assert "HumanEval/85" in ladder and "15/19" in ladder and "13/19" in ladder and "LOST" in ladder
        assert d.find_elements("css selector", "#compare-table tbody tr")
        assert browser.broken_links(d, out / "index.html") == []
        d.save_screenshot(str(tmp_path / "comparison-report.png"))
    finally:
        d.quit()


def test_an_evidence_bundle_report_and_bad_outputs(tmp_path, capsys):
    out = tmp_path / "ev"
    assert main(["report", str(LOGREG), "--out", str(out)]) == 0
    data = _data(out / "index.html")
    assert data["kind"] == "evidence" and data["rerank"]["rows"] and data["decoys"]["rows"]
    assert data["gates"]["cite"]["sha256"] and data["provenance"]["files"]
    # a second report replaces the first (atomically); an output that is an input, or anything else, is refused
    assert main(["report", str(LOGREG), "--out", str(out)]) == 0
    for bad, why in ((LOGREG, "would replace"), (LOGREG.parent, "would replace"), (ROOT / "README.md", "is not a directory")):
        capsys.readouterr()
        assert main(["report", str(LOGREG), "--out", str(bad)]) == 2
        assert why in capsys.readouterr().err
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    assert main(["report", str(LOGREG), "--out", str(other)]) == 2 and (other / "keep.txt").exists()
    assert main(["report", str(tmp_path / "nope"), "--out", str(tmp_path / "x")]) == 2
    assert main(["report", str(LOGREG)]) == 2  # a bundle's report needs --out
    # a bundle edited by hand: the page says it does not verify
    edited = tmp_path / "edited"
    shutil.copytree(LOGREG, edited)
    metrics = json.loads((edited / "metrics.json").read_text())
    metrics["records"][0]["rows"] += 1
    (edited / "metrics.json").write_text(json.dumps(metrics))
    capsys.readouterr()
    assert main(["report", str(edited), "--out", str(tmp_path / "e")]) == 1  # written, and said: no success
    err = capsys.readouterr().err
    assert "does not verify" in err and "metrics.json" in err
    assert not _data(tmp_path / "e" / "index.html")["verification"]["ok"]


def test_a_run_edited_by_hand_is_named_or_flagged_and_nothing_is_written(tmp_path, capsys):
    from codelewm_eval.manifest import write_manifest

    run = tmp_path / "run"
    (run / "pack").mkdir(parents=True)
    (run / "run.json").write_text("{}")
    rows = [{"row_id": f"r{i}", "benchmark": "humaneval", "task_id": f"HumanEval/{i // 2}", "candidate_id": f"c{i}",
             "passed": i % 2 == 0, "split": "test", "program": "def f(): pass"} for i in range(6)]
    (run / "pack" / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    write_manifest(run / "pack", "pack")
    (run / "audit.json").write_text("{not json")
    assert main(["report", str(run)]) == 2
    assert "audit.json, line 1: malformed JSON" in capsys.readouterr().err and not (run / "report").exists()
    (run / "audit.json").unlink()
    assert main(["report", str(run)]) == 0  # a run stopped before its evidence: what there is, shown
    assert _data(run / "report" / "index.html")["tasks"][0]["candidates"] == 2
    lines = (run / "pack" / "rows.jsonl").read_text().splitlines()
    lines[3] = lines[3].replace('"passed": false', '"passed": true')  # a label flipped by hand
    (run / "pack" / "rows.jsonl").write_text("\n".join(lines) + "\n")
    assert main(["report", str(run)]) == 1
    verification = _data(run / "report" / "index.html")["verification"]
    assert not verification["ok"] and any("pack: changed rows.jsonl" in p for p in verification["problems"])
    (run / "pack" / "rows.jsonl").write_text("\n".join(lines[:2] + ['{"candidate_id": "c9"}']) + "\n")
    assert main(["report", str(run)]) == 2
    assert "rows.jsonl, line 3, field 'benchmark': missing field" in capsys.readouterr().err
