"""The train stage: one seed of a p_pass scorer on a pack (what `codelewm-eval train` and every
p_pass job run), a typed config in and the training report out."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from ..commands import command_line
from ..errors import InputError
from ..stage import StageConfig, StageResult
from .run import LoraConfig, TrainConfig

# the `train` flags of LoraConfig's fields (the others keep their defaults on the command line)
LORA_FLAGS = {"base_model": "--base-model", "rank": "--rank", "alpha": "--alpha", "lr": "--lr", "epochs": "--epochs",
              "max_length": "--max-length", "batch_size": "--batch-size", "max_train_rows": "--max-train-rows",
              "device": "--device", "dtype": "--dtype"}


class TrainSeedConfig(StageConfig):
    pack: str = Field(description="a pack directory, or hf://datasets/OWNER/NAME@REVISION (downloaded beside out)")
    out: Path = Field(description="the run directory of this seed")
    train: TrainConfig
    push_to: str | None = Field(None, description="then upload the run into this model repo as seed-N/")
    echo: bool = Field(True, description="progress events on stderr")

    def command(self) -> list[str]:
        t, defaults = self.train, LoraConfig()
        lora = [(flag, getattr(t.lora, name)) for name, flag in LORA_FLAGS.items()
                if getattr(t.lora, name) != getattr(defaults, name)]
        weights = [f"{rule}={weight:g}" for rule, weight in t.lora.loss_weights.items()]
        return command_line(["train"], ("--pack", self.pack), ("--seed", t.seed), ("--scorer", t.scorer),
                            ("--out", self.out), ("--run-id", t.run_id if t.run_id != self.out.name else None),
                            *lora, ("--loss-weight", weights or None), ("--push-to", self.push_to))


class TrainResult(StageResult):
    """What one seed's training did (train_report.json), and where it went."""

    schema_version: int = 1
    scorer: str
    seed: int
    run_id: str
    out: str
    val_auc: float | None = None
    report: dict = Field(description="the scorer's train_report.json (what fitting chose, rows, timings)")
    pushed: str | None = Field(None, description="the commit the run was uploaded in (push_to)")

    def text(self) -> str:
        return f"trained {self.scorer} seed {self.seed}: val AUC {self.val_auc} -> {self.out}"

    def messages(self) -> list[str]:
        return [f"uploaded seed {self.seed} ({self.pushed})"] if self.pushed else []


def train_stage(config: TrainSeedConfig, command: list[str] | None = None) -> TrainResult:
    from ..hub import resolve_pack, upload_run
    from .run import train

    t = config.train
    # a Hub pack lands beside the seed directories, so the run's parent path holds after a fetch
    pack = resolve_pack(config.pack, config.out.parent / "pack")
    try:
        report = train(pack, config.out, t, command=command or config.command(), echo=config.echo)
    except InputError as exc:  # the pack cannot train this scorer (one class in train, ...): name the pack
        if exc.path:
            raise
        raise InputError(exc.message, path=config.pack, field=exc.field) from None
    pushed = upload_run(config.out, config.push_to, f"seed-{t.seed}", f"{t.run_id}: seed {t.seed}") \
        if config.push_to else None
    return TrainResult(scorer=t.scorer, seed=t.seed, run_id=t.run_id, out=str(config.out),
                       val_auc=report.get("val_auc"), report=report, pushed=pushed)
