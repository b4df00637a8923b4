"""Rebuild, from the counts and task lists the user's reports state, per-task results shaped like
theirs, and compare them into evidence bundles the claim audit can check those reports against.

This is a reconstruction, not a measurement: which tasks pass is chosen to agree with every count
and every named task in ../shared/context (BD6 pass-1, BD6.2, and the BD6.5 / BD6.8D / BD6.8D2
anchor ladder); tasks the reports do not name are filled in order. The paired tests computed on
it depend only on those counts and lists (McNemar needs the discordant tasks, which the reports
give or imply).

    python scripts/context_evidence.py --out manifests/evidence
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

MBPP = [str(i) for i in range(11, 111)]          # "MBPP n=100 official"
HE = [f"HumanEval/{i}" for i in range(164)]      # "HumanEval n=164 full official"
LCB = [f"lcb_{i}" for i in range(50)]            # "LCB official easy n=50"

# BD6 pass-1: 13/100 MBPP (the 8 BD6.2 later lost, and 5 more), 6/164 HumanEval (the 3 BD6.2 lost, 3 more)
PASS1 = {"mbpp": {"14", "17", "20", "52", "53", "64", "96", "105", "19", "41", "51", "90", "99"},
         "humaneval": {"HumanEval/34", "HumanEval/53", "HumanEval/85", "HumanEval/0", "HumanEval/2", "HumanEval/23"}}
# the frozen baseline: 6/100 and 2/164, all kept by pass-1 ("+7", "+4": nothing lost)
BASELINE = {"mbpp": {"19", "41", "51", "90", "99", "105"}, "humaneval": {"HumanEval/0", "HumanEval/2"}}
# BD6.2: 6/100 (5 of pass-1 kept, 1 new), 8/164 (3 kept, 5 new); lost exactly the tasks the report lists
BD6_2 = {"mbpp": {"19", "41", "51", "90", "99", "93"},
         "humaneval": {"HumanEval/0", "HumanEval/2", "HumanEval/23", "HumanEval/4", "HumanEval/7", "HumanEval/12",
                       "HumanEval/13", "HumanEval/15"}}
ANCHORS = ["MBPP/17", "MBPP/19", "MBPP/20", "MBPP/41", "MBPP/51", "MBPP/52", "MBPP/53", "MBPP/64", "MBPP/90",
           "MBPP/93", "MBPP/96", "MBPP/99", "MBPP/105", "HumanEval/23", "HumanEval/27", "HumanEval/34",
           "HumanEval/45", "HumanEval/53", "HumanEval/85"]
LADDER = {"bd6_5": {"MBPP/53", "HumanEval/34", "HumanEval/45", "HumanEval/85"},
          "bd6_8d": {"HumanEval/27", "HumanEval/34", "HumanEval/45", "HumanEval/85"},
          "bd6_8d2": {"MBPP/53", "HumanEval/23", "HumanEval/27", "HumanEval/34", "HumanEval/45", "HumanEval/85"}}


def write(path: Path, passing: dict[str, set]) -> Path:
    with open(path, "w") as fh:
        for bench, tasks in (("mbpp", MBPP), ("humaneval", HE), ("livecodebench", LCB)):
            for t in tasks:
                fh.write(json.dumps({"benchmark": bench, "task_id": t, "passed": t in passing.get(bench, set())})
                         + "\n")
    return path


def anchors_passing(lost: set) -> dict[str, set]:
    return {"mbpp": {a.split("/")[1] for a in ANCHORS if a.startswith("MBPP") and a not in lost},
            "humaneval": {a for a in ANCHORS if a.startswith("HumanEval") and a not in lost}}


def compare(out: Path, baseline: Path, candidates: list[Path], anchors: Path | None = None) -> None:
    cmd = [sys.executable, "-m", "codelewm_eval.cli", "compare", "--baseline", str(baseline),
           *[a for c in candidates for a in ("--candidate", str(c))], "--out", str(out)]
    if anchors:
        cmd += ["--anchors", str(anchors)]
    code = subprocess.run(cmd, stdout=subprocess.DEVNULL).returncode
    if code not in (0, 1):  # 1: an anchor gate failed, which the ladder is there to show
        raise SystemExit(f"compare failed ({code})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="manifests/evidence")
    out = Path(parser.parse_args().out)
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        base = write(t / "baseline.jsonl", BASELINE)
        pass1 = write(t / "bd6.jsonl", PASS1)
        bd62 = write(t / "bd6_2.jsonl", BD6_2)
        compare(out / "context-bd6", base, [pass1])
        compare(out / "context-bd6_2", pass1, [bd62])
        anchors = t / "anchors.txt"
        anchors.write_text("\n".join(ANCHORS) + "\n")
        full = write(t / "bd6_pass1_anchors.jsonl", anchors_passing(set()))
        ladder = [write(t / f"{name}.jsonl", anchors_passing(lost)) for name, lost in LADDER.items()]
        compare(out / "context-anchors", full, ladder, anchors)
    print(f"wrote {out}/context-bd6, context-bd6_2, context-anchors")


if __name__ == "__main__":
    main()
