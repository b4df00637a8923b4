"""`jobs verify` and `jobs inspect-checkpoint`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from ..errors import InputError
from ..manifest import failures, load_manifest, verify
from .status import seed_dirs

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")


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


class TensorInfo(BaseModel):
    name: str
    dtype: str
    shape: list[int]
    non_finite: int
    l2_norm: float


class CheckpointReport(BaseModel):
    path: str
    format: str
    tensors: list[TensorInfo]
    parameters: int
    non_finite_total: int
    metadata: dict[str, str] = Field(default_factory=dict)
    adapter_config: dict | None = None


def inspect_checkpoint(path: Path, allow_pickle: bool = False) -> CheckpointReport:
    path = Path(path)
    if path.is_dir():
        candidates = sorted(path.glob("*.safetensors")) or sorted(p for p in path.iterdir() if p.suffix in PICKLE_SUFFIXES)
        if not candidates:
            raise InputError("no checkpoint file in this directory", path=str(path))
        path = candidates[0]
    if path.suffix in PICKLE_SUFFIXES:
        if not allow_pickle:
            raise InputError("a pickle-based checkpoint can run code when loaded; refusing it (convert it to "
                             "safetensors, or pass --allow-pickle to load it with torch's weights_only loader)",
                             path=str(path))
        import torch

        state = torch.load(path, map_location="cpu", weights_only=True)
        arrays = {k: v.float().numpy() for k, v in state.items()}
        dtypes = {k: str(v.dtype).replace("torch.", "") for k, v in state.items()}
        metadata, fmt = {}, "pickle (weights_only)"
    else:
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="numpy") as f:
                metadata = f.metadata() or {}
                arrays = {k: f.get_tensor(k) for k in f.keys()}
        except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types
            raise InputError(f"not a readable safetensors file ({exc})", path=str(path)) from None
        dtypes = {k: str(v.dtype) for k, v in arrays.items()}
        fmt = "safetensors"
    tensors = []
    for name in sorted(arrays):
        a = np.asarray(arrays[name], dtype=np.float64)
        finite = np.isfinite(a)
        tensors.append(TensorInfo(name=name, dtype=dtypes[name], shape=list(a.shape), non_finite=int((~finite).sum()),
                                  l2_norm=float(np.sqrt((np.where(finite, a, 0.0) ** 2).sum()))))
    adapter = path.parent / "adapter_config.json"
    return CheckpointReport(path=str(path), format=fmt, tensors=tensors, parameters=sum(int(np.prod(t.shape)) for t in tensors),
                            non_finite_total=sum(t.non_finite for t in tensors), metadata=metadata,
                            adapter_config=json.loads(adapter.read_text()) if adapter.exists() else None)
