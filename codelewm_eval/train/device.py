"""Where torch runs: the device, the precision it can afford, and the one place tensors are put there.

Every torch path (the p_pass LoRA and probe scorers, surgery SFT, the anchor check, generate) asks
`choose_placement()` once and then makes tensors through the placement, so no tensor of a run is
left on another device. The precision follows the device's capability:

* CUDA with native bfloat16 (compute capability 8.0 and later: A10G, L4, L40S, A100, H100, H200):
  float32 weights, bfloat16 autocast;
* older CUDA (T4 and V100, no native bfloat16): float32 weights, float16 autocast with a gradient
  scaler;
* CPU with bfloat16 matrix instructions (AMX or AVX512-BF16, as on Sapphire Rapids): float32
  weights, bfloat16 autocast (2.4x faster MiniLM-L6 forward passes on this project's 2-core
  machine, embeddings within cosine 0.9999 of float32);
* other CPUs: float32 throughout.

`report()` is what a train report records: device, compute dtype, GPU name and capability.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import InputError

Dtype = Literal["auto", "bfloat16", "float16", "float32"]


@dataclass(frozen=True)
class Placement:
    device: str                      # "cuda" or "cpu"
    compute_dtype: str               # what matrix work runs in: bfloat16, float16 or float32
    gpu: str | None = None           # torch.cuda.get_device_name()
    capability: tuple[int, int] | None = None

    @property
    def torch_dtype(self):
        import torch

        return getattr(torch, self.compute_dtype)

    def put(self, batch: Any) -> Any:
        """A tensor, or a mapping of tensors (a tokenizer's batch), on this device."""
        if isinstance(batch, dict) or hasattr(batch, "items"):
            return {key: self.put(value) for key, value in batch.items()}
        return batch.to(self.device, non_blocking=True) if hasattr(batch, "to") else batch

    def tensor(self, data: Any, dtype: str = "float32"):
        """A new tensor made on this device (never on the CPU and moved later by hand)."""
        import torch

        return torch.as_tensor(data, dtype=getattr(torch, dtype), device=self.device)

    def upload(self, array):
        """A host array (numpy or a CPU tensor) on this device without waiting for the device: on
        CUDA through pinned memory with a non-blocking copy (a plain copy synchronizes the stream,
        and the GPU would idle while Python prepares each step)."""
        import numpy as np
        import torch

        host = torch.from_numpy(np.ascontiguousarray(array)) if isinstance(array, np.ndarray) else array
        if self.device == "cuda":
            return host.pin_memory().to(self.device, non_blocking=True)
        return host.to(self.device)

    def autocast(self):
        """Mixed precision for forward passes: bfloat16 or float16 autocast on CUDA; nothing on CPU."""
        import torch

        if self.compute_dtype == "float32":
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device, dtype=self.torch_dtype)

    def scaler(self):
        """A gradient scaler where float16 needs one (enabled only then; a no-op otherwise)."""
        import torch

        return torch.amp.GradScaler(self.device if self.device == "cuda" else "cpu",
                                    enabled=self.compute_dtype == "float16")

    def prepare(self) -> None:
        """Process-wide settings for this device, once per run. On CUDA, PyTorch's cuDNN fused
        attention is switched off (SDPA then takes its memory-efficient kernel): cuDNN builds an
        execution plan for every new input shape, and length-bucketed batches all have shapes of
        their own, so planning cost more than the attention itself (on an H200 the first epoch ran
        at half the speed of the later ones, which reuse the shapes)."""
        if self.device == "cuda":
            import torch

            torch.backends.cuda.enable_cudnn_sdp(False)

    def report(self) -> dict:
        return {"device": self.device, "dtype": self.compute_dtype, "gpu": self.gpu,
                "compute_capability": ".".join(map(str, self.capability)) if self.capability else None}


def native_bf16(torch) -> bool:
    """True where the GPU does bfloat16 in hardware (not by emulation, which torch also reports)."""
    try:
        return bool(torch.cuda.is_bf16_supported(including_emulation=False))
    except TypeError:  # an older torch without the argument
        return torch.cuda.get_device_capability()[0] >= 8


def cpu_bf16() -> bool:
    """True where the CPU multiplies bfloat16 matrices in hardware (AMX or AVX512-BF16)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"amx_bf16", "avx512_bf16"})
    except OSError:
        pass
    return False


def choose_placement(device: str = "auto", dtype: Dtype = "auto") -> Placement:
    """The device (`auto`: CUDA when torch sees one) and its compute dtype (`auto`: by capability)."""
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("device cuda was asked for, but torch sees no CUDA device here", field="device")
    if device not in ("cuda", "cpu"):
        raise InputError(f"unknown device {device!r} (auto, cuda or cpu)", field="device")
    if device == "cpu":
        if dtype == "float16":
            raise InputError("dtype float16 needs a GPU; on the CPU use bfloat16 (where the CPU has it) or float32",
                             field="dtype")
        if dtype == "bfloat16" and not cpu_bf16():
            raise InputError("dtype bfloat16 on the CPU needs AMX or AVX512-BF16, which this CPU lacks: use float32 "
                             "or auto", field="dtype")
        return Placement("cpu", "bfloat16" if dtype == "bfloat16" or (dtype == "auto" and cpu_bf16()) else "float32")
    # cuBLAS is deterministic only with a fixed workspace; it must be set before its first use
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    bf16 = native_bf16(torch)
    if dtype == "auto":
        dtype = "bfloat16" if bf16 else "float16"
    if dtype == "bfloat16" and not bf16:
        raise InputError(f"dtype bfloat16 needs compute capability 8.0 or later; this GPU "
                         f"({torch.cuda.get_device_name()}) is {torch.cuda.get_device_capability()}: "
                         f"use dtype float16 or auto", field="dtype")
    return Placement("cuda", dtype, torch.cuda.get_device_name(), tuple(torch.cuda.get_device_capability()))
