"""How fast a large run's report opens: a synthetic run of 100,000 candidates (5,000 tasks x 20,
with p_pass scores for two seeds) beside a committed evidence bundle, its report written by
`codelewm-eval report`, then opened in headless Chromium (Debian's chromium + chromium-driver,
through Selenium) until every section has rendered, and a task's drill-down opened.

    python benchmarks/report_open_speed.py [--candidates 100000]

Target: the page renders within 2 s. Prints the figures against the target and where the time went.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_S = 2.0


def synthetic_run(root: Path, candidates: int, per_task: int = 20) -> Path:
    run = root / "run"
    (run / "pack").mkdir(parents=True)
    (run / "run.json").write_text("{}")
    shutil.copytree(ROOT / "manifests" / "evidence" / "logreg-v1", run / "evidence")
    rng = random.Random(0)
    program = "def f(x):\n    return sorted(x)[::-1]\n" * 4
    seeds = {s: open(run / "runs" / "synthetic" / f"seed-{s}" / "scores.jsonl", "w") if
             (run / "runs" / "synthetic" / f"seed-{s}").mkdir(parents=True) is None else None for s in (42, 1729)}
    with open(run / "pack" / "rows.jsonl", "w") as rows:
        for i in range(candidates):
            task = f"Task/{i // per_task}"
            passed = rng.random() < 0.35
            split = ("train", "val", "test")[(i // per_task) % 3]
            rows.write(json.dumps({"benchmark": "synthetic", "task_id": task, "candidate_id": f"c{i}",
                                   "passed": passed, "status": "passed" if passed else "failed", "split": split,
                                   "decoy": None, "program": program}) + "\n")
            if split != "train":
                for seed, fh in seeds.items():
                    score = min(1, max(0, rng.gauss(0.6 if passed else 0.35, 0.2)))
                    fh.write(json.dumps({"candidate_id": f"c{i}", "scores": {"p_pass": score}}) + "\n")
    for fh in seeds.values():
        fh.close()
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--candidates", type=int, default=100_000)
    args = parser.parse_args()
    from codelewm_eval.report.build import build_report
    from tests import browser

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run = synthetic_run(Path(tmp), args.candidates)
        made = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = build_report(run, run / "report")
        built = time.perf_counter() - t0
        size = (run / "report" / "index.html").stat().st_size
        chunks = sum(p.stat().st_size for p in (run / "report" / "data").iterdir())
        why = browser.available()
        if why:
            print(f"report of {args.candidates:,} candidates written in {built:.1f} s; cannot open it: {why}")
            return
        d = browser.driver()
        try:
            d.get("about:blank")  # the browser's own start-up is not the page's
            driver_s = browser.open_page(d, result.index)
            # the page's own clock, from the start of navigation: when every section had rendered,
            # and when the browser fired `load`
            opened = int(d.execute_script("return document.body.dataset.readyAt")) / 1000
            load = d.execute_script("return performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000
            browser.draw_chart(d, ".reliability")
            first_chart = int(d.execute_script("return document.body.dataset.chartsAt || 0")) / 1000
            t0 = time.perf_counter()
            d.execute_script("document.querySelector('#task-table tbody tr.task').click()")
            from selenium.webdriver.support.ui import WebDriverWait

            WebDriverWait(d, 10).until(lambda drv: drv.find_elements("css selector", "#candidate-table tbody tr"))
            drill = time.perf_counter() - t0
            errors = browser.console_errors(d)
        finally:
            d.quit()
    print(f"{args.candidates:,} candidates over {result.tasks:,} tasks: index.html {size / 1e6:.2f} MB, "
          f"{result.chunks} drill-down chunks ({chunks / 1e6:.1f} MB, loaded on demand)")
    print(f"page rendered {opened:.2f} s after navigation began (target {TARGET_S:.1f} s: "
          f"{'MET' if opened <= TARGET_S else 'NOT MET'}); load event {load:.2f} s; charts drawn by {first_chart:.2f} s "
          f"(plotly.js loads after the tables); a task's drill-down in {drill:.2f} s; console errors: {len(errors)}")
    print(f"profile: synthetic run {made:.1f} s, report written {built:.1f} s, page {opened:.2f} s, charts "
          f"{max(0.0, first_chart - opened):.2f} s more, drill-down {drill:.2f} s; WebDriver's own round trip to a "
          f"ready page {driver_s:.2f} s")


if __name__ == "__main__":
    main()
