"""`jobs verify` and `jobs inspect-checkpoint`."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from ..errors import InputError
from ..manifest import failures, load_manifest, verify
from .status import seed_dirs

class RunCheck(BaseModel):
    name: str
    ok: bool
    detail: str = ""


def verify_run(run: Path, seeds: list[int]) -> list[RunCheck]:
    """Manifests verify (files, sha256, parents); every required seed is there; each seed's
    scores cover exactly the val and test rows of the pack its manifest names; and no two seeds'
    scores are identical (two seeds are two pieces of evidence only if they differ)."""
    if not Path(run).is_dir():
        raise InputError("no such run directory", path=str(run))
    directories = seed_dirs(run)
    if not directories:
        raise InputError("no seed runs here (no config.json or reports/job_progress.jsonl): run `codelewm-eval jobs "
                         "launch` or `train` first, or `jobs fetch` a Hub run", path=str(run))
    checks: list[RunCheck] = []
    found: dict[int, Path] = {}
    outputs: dict[str, list] = {}  # seed directory -> its scores, sorted by row
    for directory in directories:
        config = json.loads((directory / "config.json").read_text()) if (directory / "config.json").exists() else {}
        seed = config.get("seed")
        everything = verify(directory)
        problems = failures(everything)
        absent = [p for p in everything if p.kind == "absent"]
        checks.append(RunCheck(name=f"manifest:{directory.name}", ok=not problems,
                               detail="; ".join(f"{p.kind} {p.path}: {p.detail}" for p in (problems or absent)[:5])))
        if seed is not None:
            found[seed] = directory
        if problems or not (directory / "manifest.json").exists():
            continue
        manifest = load_manifest(directory / "manifest.json")
        if manifest.kind == "surgery-run":  # a generator: its merged model is what must be there
            merged = directory / "merged"
            ok = (merged / "config.json").exists() and any(merged.glob("*.safetensors"))
            checks.append(RunCheck(name=f"merged:{directory.name}", ok=ok,
                                   detail="merged model (safetensors) present" if ok else "no merged model"))
            continue
        pack = next(((directory / p.manifest).resolve().parent for p in manifest.parents), None)
        if pack is None or not (pack / "rows.jsonl").exists():
            checks.append(RunCheck(name=f"scores:{directory.name}", ok=False, detail="no pack parent"))
            continue
        wanted = set()
        for line in (pack / "rows.jsonl").open("rb"):
            row = json.loads(line)
            if row["split"] in ("val", "test"):
                wanted.add(row["row_id"])
        got = [json.loads(line) for line in (directory / "scores.jsonl").read_text().splitlines() if line.strip()]
        ids = [f"{s['benchmark']}/{s['task_id']}/{s['candidate_id']}" for s in got]
        outputs[directory.name] = sorted((i, json.dumps(s.get("scores"), sort_keys=True)) for i, s in zip(ids, got))
        missing, extra, repeated = wanted - set(ids), set(ids) - wanted, len(ids) - len(set(ids))
        ok = not missing and not extra and not repeated
        checks.append(RunCheck(name=f"scores:{directory.name}", ok=ok,
                               detail=f"{len(set(ids))} of {len(wanted)} val/test rows scored" +
                                      (f"; {len(missing)} missing, {len(extra)} not val/test rows, {repeated} repeated"
                                       if not ok else "")))
    for seed in seeds:
        checks.append(RunCheck(name=f"seed:{seed}", ok=seed in found,
                               detail=str(found.get(seed, "no run directory with this seed"))))
    names = sorted(outputs)
    twins = [(a, b) for i, a in enumerate(names) for b in names[i + 1:] if outputs[a] == outputs[b]]
    if len(names) > 1:
        checks.append(RunCheck(name="seeds:distinct", ok=not twins,
                               detail="; ".join(f"{a} and {b} wrote identical scores: one model, not two seeds"
                                                for a, b in twins) or f"{len(names)} seeds, all scores differ"))
    return checks
