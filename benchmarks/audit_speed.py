"""How long `claims audit` takes on 200 Markdown files against 50 evidence bundles (target: 5 s).

The bundles are copies of the committed evidence (evaluation bundles and before/after
comparisons, each verified, its gates recomputed); the prose is this repository's README and
results documents plus the claim corpus of the tests, 200 files in all. Prints the time, the
target, and where the time went (bundles loaded and verified, prose read).

    python benchmarks/audit_speed.py
"""

from __future__ import annotations

import itertools
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_S = 5.0


def build(work: Path) -> None:
    sources = sorted(p for p in (ROOT / "manifests" / "evidence").iterdir() if (p / "manifest.json").exists())
    evidence = {}
    for i, src in zip(range(50), itertools.cycle(sources)):
        name = f"{src.name}-{i:02d}"
        shutil.copytree(src, work / "evidence" / name)
        evidence[name] = f"evidence/{name}"
    prose = [ROOT / "README.md", *sorted((ROOT / "docs" / "benchmark").glob("*.md")),
             *sorted((ROOT / "cards" / "rendered").glob("*.md")), *sorted((ROOT / "tests" / "claims_corpus").glob("*.md"))]
    (work / "notes").mkdir()
    for i, src in zip(range(200), itertools.cycle(prose)):
        shutil.copy(src, work / "notes" / f"{i:03d}-{src.name}")
    context = yaml.safe_load((ROOT / "cards" / "context-claims.yaml").read_text())
    (work / "cards").mkdir()
    (work / "cards" / "claims.yaml").write_text(yaml.safe_dump(
        {"schema_version": 1, "evidence": evidence, "prose": ["notes/*.md"],
         "claims": [{**c, "evidence": [f"{e}-{i:02d}" for e in c["evidence"] for i in range(50)
                                       if f"{e}-{i:02d}" in evidence][:1],
                     "values": {k: {**v, "from": next(n for n in evidence if n.startswith(v["from"] + "-"))}
                                for k, v in (c.get("values") or {}).items()}}
                    for c in context["claims"]]}, sort_keys=False))


def main() -> int:
    from codelewm_eval.claims import audit as A

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        build(work)
        timings = {}
        original = A.load_bundles

        def timed_load(*args, **kwargs):
            began = time.perf_counter()
            out = original(*args, **kwargs)
            timings["bundles"] = time.perf_counter() - began
            return out

        A.load_bundles = timed_load
        began = time.perf_counter()
        report = A.audit(work)
        total = time.perf_counter() - began
        A.load_bundles = original
    files, bundles = len(report.prose_files), len(report.bundles)
    print(f"claims audit: {files} Markdown files, {bundles} bundles, {report.lines_read} sentences, "
          f"{len(report.findings)} findings: {total:.2f} s (target {TARGET_S:.0f} s: "
          f"{'met' if total <= TARGET_S else 'MISSED'}, {total / TARGET_S:.2f} of it)")
    print(f"profile: bundles loaded, verified and gates recomputed {timings.get('bundles', 0):.2f} s; prose read, "
          f"checked and rendered documents compared {total - timings.get('bundles', 0):.2f} s")
    return 0 if total <= TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
