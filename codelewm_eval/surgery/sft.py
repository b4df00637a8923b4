"""`surgery train`: a peft LoRA SFT of a causal LM on a harvest, one seed, with the knobs of the
user's reports and their lessons enforced rather than remembered.

The loss is the causal-LM cross-entropy on the completion tokens only (the prompt is context),
weighted per row (`task:MBPP/53=2`, `long=0.5` for targets over 100 tokens, `anchor=1`).
Progress events go to `reports/job_progress.jsonl` (and stderr), as for every job; an adapter
checkpoint is written every K steps; at the end the adapter is saved and merged into the base
(`merge_and_unload`) as a full model directory that `generate` reads. 4-bit loading is used only
when asked, with bitsandbytes and a GPU present.

Lessons (refused with exit 2 unless overridden): more than 2 epochs; rank above 8 or lr above
1e-4 on 300 rows or fewer; anchors in the training rows without `--anchor-weight` being set.
"""

from __future__ import annotations

import math
import random
import shutil
import time
import traceback
from pathlib import Path

from pydantic import BaseModel, Field

from ..errors import InputError
from ..io import sha256_file, write_json_atomic
from ..manifest import require_verified, write_manifest
from ..train.progress import ProgressLog
from .harvest import anchor_name, read_rows


class SftConfig(BaseModel):
    schema_version: int = 1
    base_model: str
    seed: int
    run_id: str
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    lr: float = 1e-4
    epochs: int = 1
    max_length: int = 512
    batch_size: int = 1
    target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "v_proj"])
    checkpoint_every: int = 100
    loss_weights: dict[str, float] = Field(default_factory=dict)
    anchor_weight: float = Field(0.0, description="weight of the anchor rows in training (0: held out)")
    load_4bit: bool = False
    progress_every: int = 10


def check_lessons(cfg: SftConfig, rows: int, allow: bool) -> None:
    problems = []
    if cfg.epochs > 2:
        problems.append(f"{cfg.epochs} epochs: the reports' lesson is 1-2 epochs (epochs 2-3 are where BD6.2 "
                        "regressed)")
    if rows <= 300 and (cfg.rank > 8 or cfg.lr > 1e-4):
        problems.append(f"rank {cfg.rank}, lr {cfg.lr} on {rows} rows: the lesson for ~250 rows is rank <= 8 and "
                        "lr <= 1e-4")
    if problems and not allow:
        raise InputError("; ".join(problems) + ". Pass --override-lessons to train anyway (recorded in the run).")


def row_weight(row, tokens: int, rules: dict[str, float], anchor_weight: float) -> float:
    weight = anchor_weight if row.kind == "anchor" else 1.0
    name = anchor_name(row.benchmark, row.task_id)
    for rule, w in rules.items():
        if rule in (f"task:{name}", f"task:{row.benchmark}/{row.task_id}") or (rule == "long" and tokens > 100) or \
                (rule == "anchor" and row.kind == "anchor"):
            weight *= w
    return weight


def train_sft(harvest: Path, out: Path, cfg: SftConfig, *, allow: bool = False, command: list[str] | None = None,
              echo: bool = True) -> dict:
    harvest, out = Path(harvest), Path(out)
    rows = _rows(harvest, cfg, allow)
    if (out / "manifest.json").exists():
        raise InputError("this run directory already holds a completed run", path=str(out))
    if out.is_dir() and any(out.iterdir()):
        if not (out / "config.json").exists():
            raise InputError("--out is not empty and is not a run directory", path=str(out))
        shutil.rmtree(out)  # an attempt that did not complete: start it over
    out.mkdir(parents=True)
    write_json_atomic(out / "config.json", {**cfg.model_dump(mode="json"), "lessons_overridden": allow})
    log = ProgressLog(out / "reports" / "job_progress.jsonl", cfg.run_id, cfg.seed, echo=echo)
    log.emit("start", task="surgery-sft", base_model=cfg.base_model, rows=len(rows))
    try:
        tokenizer, model, device, trainable = _load(cfg)
        examples = _encode(rows, tokenizer, cfg)
        step, tokens, busy, loss = _train(model, tokenizer, examples, cfg, device, log, out)
        model.save_pretrained(out / "adapter", safe_serialization=True)
        log.emit("checkpoint", step=step, path="adapter/adapter_model.safetensors",
                 sha256=sha256_file(out / "adapter" / "adapter_model.safetensors"))
        model.merge_and_unload().save_pretrained(out / "merged", safe_serialization=True)
        tokenizer.save_pretrained(out / "merged")
        report = {"rows": len(rows), "steps": step, "trainable_parameters": trainable, "device": device,
                  "tokens_per_s": round(tokens / busy, 1) if busy else None, "train_seconds": round(busy, 2),
                  "final_loss": loss}
        write_json_atomic(out / "train_report.json", report)
        log.emit("complete", **report)
        log.close()
        write_manifest(out, "surgery-run", parents=[harvest], command=command or [],
                       config=cfg.model_dump(mode="json"))
        return report
    except BaseException as exc:
        log.emit("failed", error=f"{type(exc).__name__}: {exc}"[:500], traceback=traceback.format_exc()[-2000:])
        log.close()
        raise


def _rows(harvest: Path, cfg: SftConfig, allow: bool) -> list:
    require_verified(harvest, "the harvest", kind="surgery-harvest")
    rows = read_rows(harvest / "train.jsonl")
    if cfg.anchor_weight > 0:
        rows += read_rows(harvest / "anchors.jsonl")
    if not rows:
        raise InputError("the harvest has no training rows", path=str(harvest))
    check_lessons(cfg, len(rows), allow)
    return rows


def _load(cfg: SftConfig):
    """(tokenizer, LoRA-wrapped model, device, trainable parameters), seeded."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    random.seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    tokenizer = AutoTokenizer.from_pretrained(cfg.base_model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    kwargs = {}
    if cfg.load_4bit:
        if device != "cuda":
            raise InputError("--load-4bit needs a GPU")
        from transformers import BitsAndBytesConfig  # needs bitsandbytes

        kwargs["quantization_config"] = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=torch.bfloat16)
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(cfg.base_model, dtype=dtype, **kwargs).to(device)
    model = get_peft_model(model, LoraConfig(r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout,
                                             target_modules=cfg.target_modules, task_type="CAUSAL_LM"))
    return tokenizer, model, device, sum(p.numel() for p in model.parameters() if p.requires_grad)


def _encode(rows, tokenizer, cfg: SftConfig) -> list[tuple[list[int], list[int], float]]:
    """(input ids, labels with the prompt masked, row weight) per row, truncated from the left."""
    examples = []
    for row in rows:
        prompt = tokenizer(row.prompt, add_special_tokens=False)["input_ids"]
        target = tokenizer(row.completion, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        ids = (prompt + target)[-cfg.max_length:]
        labels = ([-100] * len(prompt) + target)[-cfg.max_length:]
        examples.append((ids, labels, row_weight(row, len(target), cfg.loss_weights, cfg.anchor_weight)))
    return examples


def _batch_loss(model, tokenizer, batch, device):
    """Weighted mean over rows of each row's mean cross-entropy on its completion tokens; and the
    batch's token count."""
    import torch

    width = max(len(ids) for ids, _, _ in batch)
    ids = torch.tensor([x + [tokenizer.pad_token_id] * (width - len(x)) for x, _, _ in batch], device=device)
    labels = torch.tensor([y + [-100] * (width - len(y)) for _, y, _ in batch], device=device)
    mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x, _, _ in batch], device=device)
    logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1].float()
    target = labels[:, 1:]
    per_token = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), target.reshape(-1),
                                                  ignore_index=-100, reduction="none").view(target.shape)
    counted = (target != -100).float()
    per_row = (per_token * counted).sum(1) / counted.sum(1).clamp(min=1)
    weights = torch.tensor([w for _, _, w in batch], device=device)
    return (per_row * weights).sum() / weights.sum().clamp(min=1e-9), int(mask.sum())


def _train(model, tokenizer, examples, cfg: SftConfig, device: str, log: ProgressLog, out: Path):
    """The epochs: progress events with tokens per second, an adapter checkpoint every K steps.
    Returns (steps, tokens, seconds spent training, final loss)."""
    import torch

    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr)
    max_steps = math.ceil(len(examples) / cfg.batch_size) * cfg.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, 1 - s / max(1, max_steps)))
    step, tokens, busy, began, loss = 0, 0, 0.0, time.monotonic(), None
    model.train()
    for epoch in range(1, cfg.epochs + 1):
        order = list(range(len(examples)))
        random.Random(cfg.seed * 1000 + epoch).shuffle(order)
        for start in range(0, len(order), cfg.batch_size):
            t0 = time.monotonic()
            loss, counted = _batch_loss(model, tokenizer, [examples[i] for i in order[start:start + cfg.batch_size]],
                                        device)
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            step, tokens, busy = step + 1, tokens + counted, busy + time.monotonic() - t0
            if step % cfg.progress_every == 0 or step == max_steps:
                log.emit("progress", step=step, max_steps=max_steps,
                         epoch=round(epoch - 1 + min(start + cfg.batch_size, len(order)) / len(order), 4),
                         loss=float(loss.item()), lr=float(schedule.get_last_lr()[0]),
                         examples_per_s=round(step * cfg.batch_size / busy, 3), tokens_per_s=round(tokens / busy, 1),
                         elapsed_s=round(time.monotonic() - began, 3), eta_s=round(busy / step * (max_steps - step), 3),
                         loss_finite=math.isfinite(float(loss.item())))
            if cfg.checkpoint_every and step % cfg.checkpoint_every == 0 and step != max_steps:
                path = out / "checkpoints" / f"step-{step}"
                model.save_pretrained(path, safe_serialization=True)
                log.emit("checkpoint", step=step, path=str((path / "adapter_model.safetensors").relative_to(out)),
                         sha256=sha256_file(path / "adapter_model.safetensors"))
    return step, tokens, busy, float(loss.item()) if loss is not None else None
