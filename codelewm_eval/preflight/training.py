"""What a p_pass job's training settings can deliver on its hardware and pack, said before launch.

Two warnings (they do not block a launch; `preflight` prints them and `--json` has them):

* `job:train_subset`: the spec trains on a subset of the train split (`max_train_rows`) too small
  for the gates it names: fewer than a quarter of the eligible train rows, or fewer than 5,000
  while leaving out more than a tenth of them.
  (The gates judge a scorer; one trained on a tenth of the pack is not the scorer they judge.)
* `job:dtype`: the hardware flavor cannot run the compute dtype the spec asks for (bfloat16 needs
  compute capability 8.0: a T4 has 7.5), or the LoRA scorer would train on a CPU flavor for more
  than half an hour (at the 10 examples/s measured on 2 cores at 256 tokens in bfloat16).

The flavor table covers Hugging Face Jobs' GPU families by name; an unknown flavor is said to be
unknown, not guessed.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..pack.rows import RowFacts
from .checks import Check
from .jobspec import JobSpec

# flavor prefix -> (GPU, compute capability); cpu-* flavors have none
FLAVOR_GPUS: dict[str, tuple[str, tuple[int, int]]] = {
    "t4": ("NVIDIA T4", (7, 5)), "v100": ("NVIDIA V100", (7, 0)), "a10g": ("NVIDIA A10G", (8, 6)),
    "l4": ("NVIDIA L4", (8, 9)), "l40s": ("NVIDIA L40S", (8, 9)), "a100": ("NVIDIA A100", (8, 0)),
    "h100": ("NVIDIA H100", (9, 0)), "h200": ("NVIDIA H200", (9, 0)),
}
MIN_TRAIN_SHARE = 0.25
MIN_TRAIN_ROWS = 5000
CPU_EXAMPLES_PER_S = 10.0  # the LoRA scorer on 2 CPU cores, 256 tokens, bfloat16 autocast (7.8 in float32): measured
CPU_MINUTES = 30


def flavor_gpu(flavor: str) -> tuple[str, tuple[int, int]] | None | str:
    """(GPU, capability) of a Jobs flavor; None for a CPU flavor; "unknown" when not in the table."""
    name = flavor.lower()
    if name.startswith("cpu"):
        return None
    for prefix in sorted(FLAVOR_GPUS, key=len, reverse=True):
        if name.startswith(prefix):
            return FLAVOR_GPUS[prefix]
    return "unknown"


def check_training(spec: JobSpec, rows: Sequence[RowFacts]) -> list[Check]:
    if spec.task != "p_pass":
        return []
    return [_train_subset(spec, rows), _dtype(spec, rows)]


def _eligible(rows: Sequence[RowFacts]) -> int:
    return sum(1 for r in rows if r.split == "train" and not r.evaluation_only)


def _train_subset(spec: JobSpec, rows: Sequence[RowFacts]) -> Check:
    eligible = _eligible(rows)
    limit = spec.hyperparameters.get("max_train_rows") if spec.scorer == "lora" else None
    used = min(limit, eligible) if isinstance(limit, int) else eligible
    # a quarter of the train rows at least, and 5,000 unless the subset keeps 90% of a smaller pack
    small = bool(spec.gates) and used < eligible and (
        used < MIN_TRAIN_SHARE * eligible or (used < MIN_TRAIN_ROWS and used < 0.9 * eligible))
    reason = (f"trains on {used:,} of {eligible:,} train rows ({used / max(eligible, 1):.0%}): too few for the gates "
              f"of {spec.gates}, which judge a scorer trained on the pack; drop max_train_rows, or keep this spec "
              f"for smoke runs") if small else ""
    return Check(name="job:train_subset", status="warn" if small else "pass", observed=used,
                 required=f"a quarter of the {eligible:,} train rows, and {MIN_TRAIN_ROWS:,} unless 90% of them",
                 reason=reason)


def _dtype(spec: JobSpec, rows: Sequence[RowFacts]) -> Check:
    asked = str(spec.hyperparameters.get("dtype", "auto"))
    gpu = flavor_gpu(spec.flavor)
    name = "job:dtype"
    if spec.scorer == "logreg":
        return Check(name=name, status="pass", observed=f"{spec.flavor}: logreg runs on the CPU")
    if gpu == "unknown":
        return Check(name=name, status="pass", observed=f"{spec.flavor}: not in the flavor table; dtype {asked} "
                                                         "is decided on the machine")
    if gpu is None:
        rows_used = min(spec.hyperparameters.get("max_train_rows") or 10**12, _eligible(rows))
        if asked not in ("auto", "float32"):
            return Check(name=name, status="warn", observed=f"{spec.flavor}: CPU", required="auto or float32",
                         reason=f"dtype {asked} on a CPU flavor: float16 needs a GPU, and bfloat16 runs only where the "
                                f"CPU has AMX or AVX512-BF16, so the scorer may fail at start")
        epochs = int(spec.hyperparameters.get("epochs", 2))
        minutes = rows_used * epochs / CPU_EXAMPLES_PER_S / 60
        slow = spec.scorer == "lora" and minutes > CPU_MINUTES
        return Check(name=name, status="warn" if slow else "pass",
                     observed=f"{spec.flavor}: CPU (bfloat16 where it has AMX or AVX512-BF16, else float32)",
                     reason=(f"the LoRA scorer on {rows_used:,} train rows x {epochs} epochs on a CPU flavor trains for "
                             f"about {minutes:,.0f} minutes per seed (about {CPU_EXAMPLES_PER_S:g} examples/s on 2 "
                             f"cores): use a GPU flavor (l4x1, a10g-small) or the probe scorer") if slow else "")
    card, capability = gpu
    bf16 = capability >= (8, 0)
    chosen = {"auto": "bfloat16" if bf16 else "float16 autocast with a gradient scaler"}.get(asked, asked)
    if asked == "bfloat16" and not bf16:
        return Check(name=name, status="warn", observed=f"{spec.flavor}: {card}, compute capability "
                     f"{capability[0]}.{capability[1]}", required="8.0 for bfloat16",
                     reason=f"the {card} has no bfloat16: the job would fail at start; use dtype auto (float16 "
                            f"with a gradient scaler there) or a flavor with an A10G, L4, L40S, A100 or H100")
    return Check(name=name, status="pass", observed=f"{spec.flavor}: {card} ({capability[0]}.{capability[1]}), {chosen}")
