"""The probe p_pass scorer: a neural baseline that fits a CPU.

The frozen encoder (MiniLM-L6 by default) embeds every program of the pack once: mean of the last
hidden states over the program's tokens, L2-normalized. The embeddings are cached on disk by the
pack's rows hash, the encoder's files and `max_length` (`$CODELEWM_CACHE/embeddings/`), so the
second seed costs seconds. The head is a logistic regression fit on one seeded bootstrap of the
train problem families (the same randomness as the logreg scorer: two seeds are two models, and
their spread says how much the probe depends on which problems it saw), its C chosen by val log
loss. The checkpoint holds the head (safetensors) and names the encoder by its hash.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import numpy as np

from ..io import default_cache_dir, sha256_file
from ..pack.rows import PackRow
from .device import Placement, choose_placement
from .lora import default_base_model, pack_rows_key, seed_everything
from .tokens import evaluation_batches, evaluation_token_budget, tokenize

CACHE_VERSION = 1
POOLING = "mean of the last hidden states over the program's tokens, L2-normalized"


def encoder_fingerprint(base: str) -> str:
    """A hash of the encoder's configuration and weights files (a Hub id: the id)."""
    digest = hashlib.sha256()
    path = Path(base)
    files = sorted(p for p in path.glob("*") if p.suffix in (".json", ".safetensors", ".bin", ".txt")) \
        if path.is_dir() else []
    for file in files:
        digest.update(file.name.encode() + sha256_file(file).encode())
    if not files:
        digest.update(base.encode())
    return digest.hexdigest()[:16]


def embed(rows: list[PackRow], base: str, max_length: int, placement: Placement, rows_key: str | None = None,
          log=None, every_s: float = 30.0) -> tuple[np.ndarray, dict]:
    """(embeddings, facts): one float32 row per pack row; read from the cache when the same
    rows, encoder and max_length were embedded before."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    path = None
    if rows_key is not None:
        key = hashlib.sha256(f"{CACHE_VERSION}|{rows_key}|{encoder_fingerprint(base)}|{max_length}|{POOLING}"
                             .encode()).hexdigest()[:32]
        path = default_cache_dir() / "embeddings" / f"{key}.npy"
        if path.is_file():
            try:
                cached = np.load(path)
                if cached.shape[0] == len(rows):
                    return cached, {"embeddings": "cached", "embed_seconds": 0.0}
            except Exception:
                pass  # cut short or edited: embedded again below
    started = time.monotonic()
    from .lora import _attention, fitting_length

    placement.prepare()
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModel.from_pretrained(base, dtype=torch.float32, **_attention(base)).to(placement.device).eval()
    tokens = tokenize([r.program for r in rows], tokenizer, fitting_length(max_length, model.config),
                      cache_key=rows_key)
    out = np.zeros((len(rows), model.config.hidden_size), dtype=np.float32)
    done, last = 0, time.monotonic()
    budget = evaluation_token_budget(placement)
    with torch.inference_mode():
        for chunk in evaluation_batches(list(range(len(rows))), tokens.lengths, budget):
            ids, mask = tokens.collate(chunk)
            batch = {"input_ids": placement.upload(ids), "attention_mask": placement.upload(mask)}
            with placement.autocast():
                hidden = model(**batch).last_hidden_state.float()
            weights = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
            out[chunk] = pooled.cpu().numpy()
            done += len(chunk)
            now = time.monotonic()
            if log is not None and (now - last >= every_s or done == len(rows)):
                last, rate = now, done / max(now - started, 1e-9)
                log.emit("progress", phase="embed", rows_done=done, rows_total=len(rows), rows_per_s=round(rate, 2),
                         eta_s=round((len(rows) - done) / rate, 1))
    seconds = round(time.monotonic() - started, 2)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            np.save(fh, out)
        os.replace(tmp, path)
    return out, {"embeddings": "computed", "embed_seconds": seconds,
                 "embed_rows_per_s": round(len(rows) / seconds, 1) if seconds else None}


def train_probe(rows: list[PackRow], out: Path, config, log, pack: Path | None = None) -> tuple[np.ndarray, dict]:
    """Embed (or read the cache), fit the seeded head, write its checkpoint; p_pass for every row."""
    from safetensors.numpy import save_file

    from ..checkpoints import canonicalize
    from ..evidence.scorers import fit_logistic

    cfg = config.lora
    seed_everything(config.seed)
    placement = choose_placement(cfg.device, cfg.dtype)
    base = cfg.base_model or default_base_model()
    log.emit("placement", **placement.report())
    x, facts = embed(rows, base, cfg.max_length, placement, pack_rows_key(pack), log)

    def on_candidate(k, n, c, val_loss, val_auc):
        log.emit("progress", step=k, max_steps=n, epoch=k, loss=val_loss, lr=None, C=c)
        log.emit("eval", step=k, val_auc=val_auc, val_loss=val_loss, C=c)

    began = time.monotonic()
    model, report = fit_logistic(x, rows, config.seed, on_candidate, grid=(0.3, 1.0, 3.0, 10.0))
    fit_seconds = round(time.monotonic() - began, 2)
    checkpoint = out / "checkpoint" / "model.safetensors"
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    save_file({"coef": model.coef_.astype(np.float32), "intercept": model.intercept_.astype(np.float32)},
              str(checkpoint), metadata={"scorer": "probe", "C": str(report["C"]), "encoder": Path(base).name,
                                         "encoder_sha": encoder_fingerprint(base), "pooling": POOLING,
                                         "max_length": str(cfg.max_length)})
    canonicalize(checkpoint)
    log.emit("checkpoint", path=str(checkpoint.relative_to(out)), sha256=sha256_file(checkpoint))
    p = model.predict_proba(x)[:, 1]
    val = np.array([r.split == "val" for r in rows])
    y = np.array([r.passed for r in rows])
    from sklearn.metrics import roc_auc_score

    report["val_auc"] = float(roc_auc_score(y[val], p[val])) if val.any() and len(set(y[val])) == 2 else None
    report.update({"base_model": base, "encoder_sha": encoder_fingerprint(base), "max_length": cfg.max_length,
                   "features": f"frozen encoder embedding ({POOLING}), {x.shape[1]} dimensions",
                   **placement.report(), **facts, "fit_seconds": fit_seconds})
    return p, report
