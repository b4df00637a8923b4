"""Checkpoints: written deterministically, inspected without executing code.

`canonicalize(path)` rewrites a safetensors header with its keys (metadata included) sorted, so
identical weights and metadata give identical bytes and hashes: the Rust writer orders metadata
as a hash map does, differently from run to run.

`inspect_checkpoint(path)` reads a safetensors file, a directory holding one, every shard of a
sharded checkpoint (`*.safetensors.index.json`, or several shards without an index) or a peft
adapter (`adapter_model.safetensors` with `adapter_config.json`), tensor by tensor through torch,
so every dtype safetensors supports is read (fp32/16, bf16, fp8 e4m3/e5m2, integers, bool):
shape, dtype, non-finite count and L2 norm per tensor. A pickle checkpoint is refused unless
`allow_pickle`, and is then read with torch's weights-only loader; one that cannot be read is an
InputError (exit 2), never a traceback.
"""

from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path

from pydantic import BaseModel, Field

from .errors import InputError

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")


def canonicalize(path: str | os.PathLike) -> None:
    """Sort a safetensors header's keys in place (tensor offsets are relative to the data, so they
    stay valid); the header is padded with spaces to 8 bytes, as the format's writers do."""
    path = Path(path)
    with open(path, "r+b") as fh:
        (size,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(size))
        data = fh.read()
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    tmp = path.with_name(f".{path.name}.canonical")
    with open(tmp, "wb") as fh:
        fh.write(struct.pack("<Q", len(text)) + text + data)
    os.replace(tmp, path)


class TensorInfo(BaseModel):
    name: str
    dtype: str
    shape: list[int]
    non_finite: int
    l2_norm: float
    file: str = Field("", description="the shard that holds it")


class CheckpointReport(BaseModel):
    schema_version: int = 1
    path: str
    format: str
    files: list[str] = Field(default_factory=list, description="every file read (all shards)")
    tensors: list[TensorInfo]
    parameters: int
    non_finite_total: int
    metadata: dict[str, str] = Field(default_factory=dict)
    adapter_config: dict | None = None
    problems: list[str] = Field(default_factory=list, description="an adapter whose tensors disagree with its config")


def _stats(name: str, tensor, file: str) -> TensorInfo:
    import torch

    dtype = str(tensor.dtype).replace("torch.", "")
    values = tensor.to(torch.float32)  # every dtype converts; fp8 and bf16 exactly
    finite = torch.isfinite(values)
    norm = torch.linalg.vector_norm(torch.where(finite, values, 0.0), dtype=torch.float64)
    return TensorInfo(name=name, dtype=dtype, shape=list(tensor.shape), non_finite=int((~finite).sum()),
                      l2_norm=float(norm), file=file)


def _shards(path: Path) -> tuple[list[Path], str]:
    """The files of the checkpoint at `path`, and its format."""
    if path.is_file():
        if path.name.endswith(".safetensors.index.json"):
            return _indexed(path), "safetensors (sharded)"
        return [path], "pickle (weights_only)" if path.suffix in PICKLE_SUFFIXES else "safetensors"
    if not path.is_dir():
        raise InputError("no such checkpoint file or directory", path=str(path))
    indexes = sorted(path.glob("*.safetensors.index.json"))
    if indexes:
        return _indexed(indexes[0]), "safetensors (sharded)"
    files = sorted(path.glob("*.safetensors"))
    if files:
        return files, "safetensors" if len(files) == 1 else "safetensors (sharded, no index)"
    pickles = sorted(p for p in path.iterdir() if p.suffix in PICKLE_SUFFIXES)
    if pickles:
        return pickles, "pickle (weights_only)"
    raise InputError("no checkpoint file in this directory", path=str(path))


def _indexed(index: Path) -> list[Path]:
    try:
        weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        names = sorted(set(weight_map.values()))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"not a safetensors index (no weight_map: {exc})", path=str(index)) from None
    files = [index.parent / name for name in names]
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise InputError(f"shard(s) named by the index are missing: {', '.join(missing)}", path=str(index))
    return files


def _read_safetensors(file: Path, tensors: list[TensorInfo]) -> dict[str, str]:
    from safetensors import safe_open

    try:
        with safe_open(str(file), framework="pt") as f:
            for key in sorted(f.keys()):
                tensors.append(_stats(key, f.get_tensor(key), file.name))
            return f.metadata() or {}
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - safetensors and torch raise their own error types
        raise InputError(f"not a readable safetensors file ({exc})", path=str(file)) from None


def _read_pickle(file: Path, tensors: list[TensorInfo]) -> None:
    import pickle

    import torch

    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError, AttributeError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"not a loadable weights-only checkpoint ({first[:300]})", path=str(file)) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise InputError(f"holds a {type(state).__name__}, not a mapping of tensors", path=str(file))
    for key in sorted(state):
        if isinstance(state[key], torch.Tensor):
            tensors.append(_stats(str(key), state[key], file.name))


def _adapter_problems(config: dict, tensors: list[TensorInfo]) -> list[str]:
    """A LoRA adapter's A matrices have `r` rows and its B matrices `r` columns."""
    rank = config.get("r")
    problems = []
    lora = [t for t in tensors if ".lora_A." in t.name or ".lora_B." in t.name]
    if not lora:
        return ["adapter_config.json beside it, but no lora_A / lora_B tensors"]
    for t in lora:
        got = t.shape[0] if ".lora_A." in t.name else t.shape[-1]
        if rank is not None and len(t.shape) == 2 and got != rank:
            problems.append(f"{t.name}: rank {got}, adapter_config.json says r={rank}")
    return problems


def inspect_checkpoint(path: str | os.PathLike, allow_pickle: bool = False) -> CheckpointReport:
    path = Path(path)
    files, fmt = _shards(path)
    if fmt.startswith("pickle") and not allow_pickle:
        raise InputError("a pickle-based checkpoint can run code when loaded; refusing it (convert it to "
                         "safetensors, or pass --allow-pickle to load it with torch's weights_only loader)",
                         path=str(files[0]))
    tensors: list[TensorInfo] = []
    metadata: dict[str, str] = {}
    for file in files:
        if fmt.startswith("pickle"):
            _read_pickle(file, tensors)
        else:
            metadata.update(_read_safetensors(file, tensors))
    where = files[0].parent
    adapter = None
    if (where / "adapter_config.json").is_file():
        try:
            adapter = json.loads((where / "adapter_config.json").read_text(encoding="utf-8"))
        except ValueError as exc:
            raise InputError(f"malformed JSON ({exc})", path=str(where / "adapter_config.json")) from None
        fmt = f"{fmt}, peft adapter"
    total = sum(math.prod(t.shape) for t in tensors)
    return CheckpointReport(path=str(path), format=fmt, files=[str(f) for f in files], tensors=tensors,
                            parameters=total, non_finite_total=sum(t.non_finite for t in tensors), metadata=metadata,
                            adapter_config=adapter, problems=_adapter_problems(adapter, tensors) if adapter else [])
