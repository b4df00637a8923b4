"""What a comparison can detect, before the run (`compare --plan`, `surgery promote --plan`): the
least net gain the exact McNemar test can call significant and the exact power, checked against a
brute-force enumeration, the documented examples and the committed BD6 replay."""

from __future__ import annotations

import itertools
import json
import math

import pytest

import codelewm_eval as ce
from codelewm_eval.cli import main
from codelewm_eval.evidence.metrics import mcnemar_exact
from codelewm_eval.evidence.planning import min_net_gain, plan_benchmark, power

from .conftest import ROOT


def test_the_documented_examples():
    humaneval = plan_benchmark("humaneval", 164, 2)
    assert humaneval.min_gain_no_loss == 6 and humaneval.p_at_min_gain == pytest.approx(0.03125)
    assert mcnemar_exact(0, 4) == pytest.approx(0.125)  # the user's 2/164 -> 6/164: never significant
    mbpp = plan_benchmark("mbpp", 100, 6, expected_gain=7)
    assert mbpp.p_at_expected_gain == pytest.approx(0.015625) and 0 < mbpp.power < 1


@pytest.mark.parametrize("n,passes", [(10, 0), (12, 3), (20, 5), (30, 29), (40, 10)])
def test_the_least_significant_gain_is_least(n, passes):
    for losses in range(0, min(passes, 4) + 1):
        g = min_net_gain(n, passes, 0.05, losses)
        significant = [c - losses for c in range(losses + 1, n - passes + 1) if mcnemar_exact(losses, c) < 0.05]
        assert g == (min(significant) if significant else None)


def _brute_power(n: int, passes: int, gain: float, loss_rate: float, alpha: float) -> float:
    """Every outcome of every task, with its probability: the exact power by enumeration."""
    failures = n - passes
    gain_rate = (gain + loss_rate * passes) / failures
    total = 0.0
    for flips in itertools.product([False, True], repeat=n):
        lost = sum(flips[:passes])
        gained = sum(flips[passes:])
        prob = loss_rate ** lost * (1 - loss_rate) ** (passes - lost) * gain_rate ** gained * \
            (1 - gain_rate) ** (failures - gained)
        if gained > lost and mcnemar_exact(lost, gained) < alpha:
            total += prob
    return total


@pytest.mark.parametrize("n,passes,gain,loss_rate", [(12, 2, 6, 0.0), (12, 3, 5, 0.2), (10, 4, 2.5, 0.5)])
def test_power_is_exact(n, passes, gain, loss_rate):
    assert power(n, passes, gain, 0.05, loss_rate) == pytest.approx(_brute_power(n, passes, gain, loss_rate, 0.05),
                                                                  abs=1e-12)


def test_the_committed_bd6_replay_agrees_with_the_plan():
    """For every pass of the replay and both benchmarks, the comparison is significant exactly when
    its net gain reaches the plan's least significant gain at its losses."""
    seen = 0
    for bundle in ("replay-frozen", "replay-ladder"):
        for comparison in ce.read_artifact(ROOT / "manifests" / "evidence" / bundle).comparisons:
            for d in comparison.benchmarks:
                b, c = len(d.lost), len(d.gained)
                need = min_net_gain(d.n, d.before, 0.05, b)
                significant = c > b and d.mcnemar_p < 0.05
                assert significant == (need is not None and c - b >= need), (comparison.candidate, d.benchmark)
                seen += 1
    assert seen == 10  # pass-1 against the frozen baseline, and four later passes, on HumanEval and MBPP


def _outcomes(path, passing: dict[str, int], n: dict[str, int]):
    with open(path, "w") as fh:
        for bench, total in n.items():
            for i in range(total):
                fh.write(json.dumps({"benchmark": bench, "task_id": f"{bench}/{i}", "passed": i < passing[bench]}) + "\n")
    return path


def test_compare_and_promote_plan_from_files(tmp_path, capsys):
    n = {"humaneval": 164, "mbpp": 100}
    base = _outcomes(tmp_path / "base.jsonl", {"humaneval": 2, "mbpp": 6}, n)
    assert main(["compare", "--plan", "--baseline", str(base), "--expect", "mbpp=+7", "--json"]) == 0
    planned = {p["benchmark"]: p for p in json.loads(capsys.readouterr().out)["plan"]}
    assert planned["humaneval"]["min_gain_no_loss"] == 6 and planned["mbpp"]["expected_gain"] == 7
    # an earlier pass that lost 1 of 2 HumanEval passes: the lineage's loss rate raises what is needed
    with open(tmp_path / "pass1.jsonl", "w") as fh:
        for bench, total in n.items():
            for i in range(total):
                passed = (i == 0 or 10 <= i < 14) if bench == "humaneval" else i < 6
                fh.write(json.dumps({"benchmark": bench, "task_id": f"{bench}/{i}", "passed": passed}) + "\n")
    assert main(["compare", "--plan", "--baseline", str(base), "--candidate", str(tmp_path / "pass1.jsonl"),
                 "--json"]) == 0
    humaneval = {p["benchmark"]: p for p in json.loads(capsys.readouterr().out)["plan"]}["humaneval"]
    assert humaneval["loss_rate"] == 0.5 and humaneval["expected_losses"] == 1
    assert humaneval["min_gain_with_losses"] == min_net_gain(164, 2, 0.05, 1) > humaneval["min_gain_no_loss"]
    assert main(["surgery", "promote", "--plan", "--baseline", str(base), "--target", "mbpp=25/100"]) == 0
    text = capsys.readouterr().out
    assert "goal mbpp 25/100: 19 net new passes from 6/100 (enough for significance, which needs 6)" in text
    # bad plans: exit 2, naming the option
    assert main(["compare", "--plan", "--passes", "humaneval=2-164"]) == 2
    assert main(["compare", "--plan", "--passes", "mbpp=6/100", "--expect", "mbpp=+95"]) == 2
    assert "only 94 failing tasks" in capsys.readouterr().err
    assert main(["compare", "--plan", "--passes", "mbpp=6/100", "--expect", "humaneval=+3"]) == 2
    assert main(["surgery", "promote", "--baseline", str(base)]) == 2  # judging needs candidates and anchors


def test_the_planning_page_shows_the_current_output(capsys):
    page = (ROOT / "docs" / "planning.md").read_text()
    assert main(["compare", "--plan", "--passes", "humaneval=2/164", "--passes", "mbpp=6/100", "--expect",
                 "humaneval=+4", "--expect", "mbpp=+7"]) == 0
    out = capsys.readouterr().out.strip()
    assert out in page, "docs/planning.md is stale: paste the output of its command"
    assert "0.125" in out and "0.0156" in out and not math.isnan(float(out.split("power to detect it ")[1][:5]))


def test_a_planned_comparison_bundle_backs_sentences_about_its_plan(tmp_path, capsys):
    """compare --plan --out: the plan is in compare.json, read as typed facts by the audit."""
    n = {"humaneval": 164, "mbpp": 100}
    base = _outcomes(tmp_path / "base.jsonl", {"humaneval": 2, "mbpp": 6}, n)
    after = _outcomes(tmp_path / "after.jsonl", {"humaneval": 6, "mbpp": 13}, n)
    out = tmp_path / "cmp"
    assert main(["compare", "--baseline", str(base), "--candidate", str(after), "--plan", "--expect", "mbpp=+7",
                 "--out", str(out)]) == 0
    bundle = ce.read_artifact(out)
    assert bundle.comparisons and json.loads((out / "compare.json").read_text())["plan"][0]["min_gain_no_loss"] == 6
    from codelewm_eval.claims.evidence import load_bundle
    from codelewm_eval.claims.facts import bundle_facts

    loaded = load_bundle("plan", out)
    facts, _ = bundle_facts("plan", loaded.files, loaded.measured)
    assert any(f.quantity == "count" and f.value == 6 and f.benchmark == "humaneval" for f in facts)
    assert any(f.quantity == "rate" and abs(f.value - 0.709) < 0.001 for f in facts)
