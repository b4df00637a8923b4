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


def _pack_of(directory: Path, manifest, pack: Path | None) -> tuple[Path | None, str]:
    """The pack a seed trained on: where its manifest's parent points (relative to the seed,
    wherever the run now lives), else the pack given (`--pack`), else RUN/pack (where `jobs fetch`
    puts a Hub pack); whichever is found must be the one recorded (same manifest sha256)."""
    from ..io import sha256_file

    refs = [p for p in manifest.parents]
    if not refs:
        return None, "the run's manifest names no pack parent"
    ref = refs[0]
    places = [(directory / ref.manifest).resolve().parent]
    places += [Path(pack)] if pack else []
    places += [directory.parent / "pack", directory / "pack"]
    for place in places:
        if (place / "manifest.json").is_file() and (place / "rows.jsonl").is_file():
            if sha256_file(place / "manifest.json") == ref.sha256:
                return place, ""
            if pack and place == Path(pack):
                return None, (f"--pack {pack} is not the pack this seed trained on (its manifest's sha256 differs from "
                              f"the recorded {ref.sha256[:12]})")
    return None, (f"its pack ({ref.manifest}, sha256 {ref.sha256[:12]}) is not here: the run was moved without it; "
                  "give it with --pack DIR")


def verify_run(run: Path, seeds: list[int], pack: Path | None = None) -> list[RunCheck]:
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
        if config.get("seed") is not None:
            found[config["seed"]] = directory
        checks += _check_seed(directory, pack, outputs)
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


def _check_seed(directory: Path, pack: Path | None, outputs: dict[str, list]) -> list[RunCheck]:
    """One seed directory: its manifest, then its merged model (surgery) or its scores against its
    pack's val and test rows (whose scores it adds to `outputs`)."""
    everything = verify(directory)
    problems = failures(everything)
    absent = [p for p in everything if p.kind == "absent"]
    checks = [RunCheck(name=f"manifest:{directory.name}", ok=not problems,
                       detail="; ".join(f"{p.kind} {p.path}: {p.detail}" for p in (problems or absent)[:5]))]
    if problems or not (directory / "manifest.json").exists():
        return checks
    manifest = load_manifest(directory / "manifest.json")
    if manifest.kind == "surgery-run":  # a generator: its merged model is what must be there
        merged = directory / "merged"
        ok = (merged / "config.json").exists() and any(merged.glob("*.safetensors"))
        return checks + [RunCheck(name=f"merged:{directory.name}", ok=ok,
                                  detail="merged model (safetensors) present" if ok else "no merged model")]
    seed_pack, why = _pack_of(directory, manifest, pack)
    if seed_pack is None:
        return checks + [RunCheck(name=f"scores:{directory.name}", ok=False, detail=why)]
    if failures(verify(seed_pack)):
        return checks + [RunCheck(name=f"scores:{directory.name}", ok=False,
                                  detail=f"its pack {seed_pack} does not verify against its manifest")]
    wanted = set()
    for line in (seed_pack / "rows.jsonl").open("rb"):
        row = json.loads(line)
        if row["split"] in ("val", "test"):
            wanted.add(row["row_id"])
    got = [json.loads(line) for line in (directory / "scores.jsonl").read_text().splitlines() if line.strip()]
    ids = [f"{s['benchmark']}/{s['task_id']}/{s['candidate_id']}" for s in got]
    outputs[directory.name] = sorted((i, json.dumps(s.get("scores"), sort_keys=True)) for i, s in zip(ids, got))
    missing, extra, repeated = wanted - set(ids), set(ids) - wanted, len(ids) - len(set(ids))
    ok = not missing and not extra and not repeated
    return checks + [RunCheck(name=f"scores:{directory.name}", ok=ok,
                              detail=f"{len(set(ids))} of {len(wanted)} val/test rows scored" +
                                     (f"; {len(missing)} missing, {len(extra)} not val/test rows, {repeated} repeated"
                                      if not ok else ""))]
