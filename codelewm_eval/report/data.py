"""What a report shows, collected from a run directory, an evidence bundle or a comparison bundle.

Pure reading: bundles are verified and their gate verdicts recomputed (`claims.evidence`), never
read from gates.json; every section carries the files (path and sha256) its numbers come from.
Candidates are summarized per task for the page and written in chunks for the drill-down, so a
run of 100,000 candidates opens as fast as a small one.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from ..errors import InputError
from ..io import sha256_file

CHUNK_TASKS = 100        # tasks per drill-down chunk file
ROC_POINTS = 200         # an ROC curve is thinned to at most this many points


def source_kind(source: Path) -> str:
    source = Path(source)
    if (source / "run.json").is_file():
        return "run"
    if (source / "compare.json").is_file():
        return "comparison"
    if (source / "metrics.json").is_file():
        return "evidence"
    raise InputError("not a run directory (run.json), an evidence bundle (metrics.json) or a comparison bundle "
                     "(compare.json)", path=str(source))


def _cite(path: Path, out: Path) -> dict:
    path = Path(path)
    return {"file": path.name, "href": _rel(path, out), "sha256": sha256_file(path)[:12] if path.is_file() else None}


def _rel(path: Path, out: Path) -> str:
    import os

    return os.path.relpath(Path(path).resolve(), Path(out).resolve()).replace(os.sep, "/")


def collect(source: Path, out: Path) -> tuple[dict, dict[int, list]]:
    """(the page's data, drill-down chunks: chunk number -> [task, [candidates]])."""
    from ..claims.evidence import load_bundle

    source, out = Path(source), Path(out)
    kind = source_kind(source)
    evidence = source / "evidence" if kind == "run" else source
    name = source.resolve().name
    if kind == "run":
        launched = sorted(source.glob("runs/*/launch.json"))
        name = launched[0].parent.name if launched else name
    data: dict = {"kind": kind, "source": str(source), "title": f"{kind}: {name}", "sections": {}}
    chunks: dict[int, list] = {}
    if (evidence / "manifest.json").is_file():
        bundle = load_bundle(evidence.name, evidence)
        data["verification"] = {"ok": bundle.ok, "problems": [f"{p.kind} {p.path}: {p.detail}" for p in bundle.problems],
                                "inconsistent": bundle.inconsistent,
                                "absent_parents": [p.path for p in bundle.absent]}
        data["gates"] = _gates(bundle, evidence, out)
        data["provenance"] = _provenance(evidence, out)
        if kind != "comparison":
            data["calibration"] = _calibration(bundle, evidence, out)
            data["selective"] = _rows(bundle, "coverage.json", evidence, out)
            data["rerank"] = _rows(bundle, "rerank.json", evidence, out)
            data["decoys"] = _rows(bundle, "decoys.json", evidence, out)
        else:
            data["comparisons"] = {"rows": bundle.files["compare.json"]["comparisons"],
                                   "cite": _cite(evidence / "compare.json", out)}
    if kind == "run":
        data["claims"] = _claims(source / "audit.json", out)
        pack = source / "pack"
        scores = sorted(source.glob("runs/*/seed-*/scores.jsonl"))
        if (pack / "rows.jsonl").is_file():
            from ..manifest import failures, verify

            problems = [f"pack: {p.kind} {p.path}: {p.detail}" for p in failures(verify(pack))]
            if problems:  # the page still shows it, and says it does not verify
                verification = data.setdefault("verification", {"ok": True, "problems": [], "inconsistent": [],
                                                                 "absent_parents": []})
                verification["ok"] = False
                verification["problems"] += problems
            data["roc"], data["tasks"], chunks, wrong = _candidates(pack / "rows.jsonl", scores, out)
            if data.get("decoys"):
                data["decoys"]["wrong_pairs"] = wrong
    return data, chunks


def _gates(bundle, evidence: Path, out: Path) -> dict:
    rows = []
    for g in bundle.files.get("gates.json", {}).get("gates", []):
        rows.append({"name": g.get("name"), "metric": g.get("metric"), "status": g.get("status"),
                     "per_seed": g.get("per_seed") or {},
                     "reasons": [_reason(r) for r in g.get("reasons") or []],
                     "observed": [{k: o.get(k) for k in ("benchmark", "scorer", "seed", "split", "value", "ci", "n")}
                                  for o in g.get("observed") or [] if isinstance(o, dict)]})
    return {"rows": rows, "cite": _cite(evidence / "gates.json", out), "recomputed": True}


def _reason(r) -> str:
    """A typed gate reason in words: `anchor_lost: HumanEval/34 (observed lost; required kept)`."""
    if isinstance(r, str):
        return r
    if not isinstance(r, dict):
        return str(r)
    head = ": ".join(str(r[k]) for k in ("type", "subject") if r.get(k) is not None)
    tail = "; ".join(f"{k} {r[k]}" for k in ("observed", "required", "detail") if r.get(k) is not None)
    return f"{head} ({tail})" if tail else head or json.dumps(r)


def _calibration(bundle, evidence: Path, out: Path) -> dict:
    from ..evidence.evaluate import Measured

    charts = []
    for r in (bundle.measured or Measured()).records():
        ece, auc = r.metrics.get("ece"), r.metrics.get("auc")
        if ece is None or ece.reliability is None:
            continue
        charts.append({"scorer": r.scorer, "seed": r.seed, "split": r.split, "benchmark": r.benchmark, "rows": r.rows,
                       "tasks": r.tasks, "ece": ece.value, "ece_ci": ece.ci, "auc": auc.value if auc else None,
                       "auc_ci": (auc.bootstrap_ci or auc.ci) if auc else None, "bins": ece.reliability,
                       "edges": ece.edges})
    return {"charts": charts, "cite": _cite(evidence / "metrics.json", out)}


def _rows(bundle, name: str, evidence: Path, out: Path) -> dict:
    return {"rows": bundle.files.get(name, {}).get("results", []), "cite": _cite(evidence / name, out)}


def _claims(audit: Path, out: Path) -> dict | None:
    if not audit.is_file():
        return None
    from ..io import read_json

    report = read_json(audit)
    if not isinstance(report, dict) or not isinstance(report.get("claims"), list):
        raise InputError("not an audit report (no list of claims)", path=str(audit), field="claims")
    return {"claims": [{k: c.get(k) for k in ("id", "kind", "status", "text", "reasons")} for c in report["claims"]
                       if isinstance(c, dict)],
            "findings": [f for f in report.get("findings") or [] if isinstance(f, dict)], "ok": report.get("ok"),
            "cite": _cite(audit, out)}


def _lines(path: Path):
    """(line number, JSON object) of a JSONL file; a line edited into something else is an
    InputError naming the file, the line and the field."""
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise InputError(f"malformed JSON ({exc})", path=str(path), line=number) from None
            if not isinstance(row, dict) or "candidate_id" not in row:
                raise InputError("not a row with a candidate_id", path=str(path), line=number,
                                 field="candidate_id")
            yield number, row


def _provenance(evidence: Path, out: Path) -> dict:
    """The bundle's files (linked, with their hashes) and its manifests' parents, as edges."""
    from ..manifest import load_manifest

    manifest = load_manifest(evidence / "manifest.json")
    files = [{"path": f.path, "sha256": f.sha256[:12], "bytes": f.bytes,
              "href": _rel(evidence / f.path, out)} for f in manifest.files]
    nodes, edges, seen = [], [], set()

    def walk(path: Path, name: str, depth: int) -> None:
        key = str(path.resolve())
        if key in seen or depth > 6:
            return
        seen.add(key)
        try:
            m = load_manifest(path)
        except (InputError, OSError, ValueError):
            nodes.append({"id": key, "label": name, "kind": "absent (known by hash only)"})
            return
        nodes.append({"id": key, "label": name, "kind": m.kind, "href": _rel(path, out)})
        for parent in m.parents:
            parent_path = (path.parent / parent.manifest).resolve()
            edges.append({"from": key, "to": str(parent_path), "sha256": parent.sha256[:12]})
            walk(parent_path, Path(parent.manifest).parent.name + "/" + Path(parent.manifest).name, depth + 1)

    walk(evidence / "manifest.json", "evidence/manifest.json", 0)
    return {"files": files, "nodes": nodes, "edges": edges}


def _candidates(rows_path: Path, score_files: list[Path], out: Path):
    """ROC points per seed and split, the per-task index, and the drill-down chunks."""
    scores, seeds = _p_pass_scores(score_files)
    by_task: dict[tuple[str, str], list] = defaultdict(list)
    labels: dict[tuple[str, str], list] = defaultdict(list)  # (seed, split) -> [(score, label)]
    row_candidate: dict[str, str] = {}
    decoys: list[tuple[str, str, str, str]] = []  # (category, task, decoy candidate, original row id)
    for number, r in _lines(rows_path):
        for field in ("benchmark", "task_id", "passed"):
            if field not in r:
                raise InputError("missing field", path=str(rows_path), line=number, field=field)
        row_candidate[r.get("row_id", "")] = r["candidate_id"]
        if isinstance(r.get("decoy"), dict) and r["decoy"].get("shadows_row_id"):
            decoys.append((r["decoy"].get("category", "?"), r["task_id"], r["candidate_id"],
                           r["decoy"]["shadows_row_id"]))
        s = scores.get(r["candidate_id"], {})
        by_task[(r["benchmark"], r["task_id"])].append(
            {"id": r["candidate_id"], "passed": r["passed"], "status": r.get("status"), "split": r.get("split"),
             "decoy": bool(r.get("decoy")), "scores": s, "program": r.get("program", "")[:4000]})
        for seed, value in s.items():
            labels[(seed, r.get("split"))].append((value, bool(r["passed"])))
    tasks, chunks = [], {}
    for i, ((bench, task), cands) in enumerate(sorted(by_task.items())):
        chunk = i // CHUNK_TASKS
        tasks.append({"benchmark": bench, "task": task, "candidates": len(cands),
                      "passed": sum(c["passed"] for c in cands), "split": cands[0]["split"], "chunk": chunk,
                      "index": i})
        chunks.setdefault(chunk, []).append([i, cands])
    wrong = _wrong_decoys(decoys, row_candidate, scores, seeds)
    return {"curves": _roc_curves(labels), "seeds": seeds}, tasks, chunks, wrong[:2000]


def _p_pass_scores(score_files: list[Path]) -> tuple[dict[str, dict[str, float]], list[str]]:
    """candidate_id -> seed -> p_pass, and the seeds (from the seed-N directory names)."""
    scores: dict[str, dict[str, float]] = defaultdict(dict)
    seeds = []
    for path in score_files:
        seed = path.parent.name.removeprefix("seed-")
        seeds.append(seed)
        for number, r in _lines(path):
            value = (r.get("scores") or {}).get("p_pass") if isinstance(r.get("scores"), dict) else None
            if value is not None:
                if not isinstance(value, (int, float)) or isinstance(value, bool):
                    raise InputError("not a number", path=str(path), line=number, field="scores.p_pass")
                scores[r["candidate_id"]][seed] = float(value)
    return scores, seeds


def _roc_curves(labels: dict[tuple[str, str], list]) -> list[dict]:
    """ROC points (at most ROC_POINTS) and AUC per seed and split that holds both classes."""
    import numpy as np
    from sklearn.metrics import roc_auc_score, roc_curve

    roc = []
    for (seed, split), pairs in sorted(labels.items(), key=lambda kv: (str(kv[0][0]), str(kv[0][1]))):
        y = np.array([p[1] for p in pairs])
        x = np.array([p[0] for p in pairs])
        if y.all() or not y.any():
            continue
        fpr, tpr, _ = roc_curve(y, x)
        keep = np.unique(np.linspace(0, len(fpr) - 1, min(len(fpr), ROC_POINTS)).astype(int))
        roc.append({"seed": seed, "split": split, "fpr": fpr[keep].round(4).tolist(), "tpr": tpr[keep].round(4).tolist(),
                    "auc": round(float(roc_auc_score(y, x)), 4), "n": len(y)})
    return roc


def _wrong_decoys(decoys: list, row_candidate: dict, scores: dict, seeds: list[str]) -> list[dict]:
    """Decoy pairs the scorer orders wrongly: the decoy scored at or above its original."""
    wrong = []
    for category, task, decoy, original_row in decoys:
        original = row_candidate.get(original_row)
        for seed in seeds:
            d, o = scores.get(decoy, {}).get(seed), scores.get(original, {}).get(seed)
            if d is not None and o is not None and d >= o:
                wrong.append({"category": category, "seed": seed, "task": task, "original": original,
                              "decoy": decoy, "original_score": round(o, 4), "decoy_score": round(d, 4)})
    wrong.sort(key=lambda w: (w["category"], str(w["seed"]), -(w["decoy_score"] - w["original_score"])))
    return wrong
