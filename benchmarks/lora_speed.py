"""LoRA p_pass scorer speed: training examples/s and scoring rows/s of the MiniLM-L6 encoder, this
project's path against the path it replaced, on the same programs, in one run.

* reference: the previous `train/lora.py` loop: every batch tokenized again (padding to the
  batch's longest row), batches in random order, weights in bfloat16 on a GPU (float32 on the
  CPU), no autocast, `no_grad` scoring in batches of twice the training batch;
* this: programs tokenized once (timed apart: it is once per pack, cached), length-bucketed
  training batches, float32 weights under bfloat16 autocast on a GPU, `inference_mode` scoring
  in batches cut by a token budget sized to the device's memory.

It also checks that batched scores equal one-row-at-a-time scores (within 1e-4 in float32, 2e-2
in bfloat16: the same rows, other batch shapes). Goals on an H200 (issue 26): training at least
4,000 examples/s and scoring at least 15,000 rows/s.

    python benchmarks/lora_speed.py --pack PACK [--device auto|cpu|cuda] [--rows N]
        [--train-steps K] [--max-length 384] [--batch-size 64] [--json OUT]

PACK: any pack (`scripts/real_evidence.sh` builds the real one; `codelewm-eval run` writes
runs/default/pack). The rows are a seeded sample of its train split.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from codelewm_eval.pack.read import read_rows
from codelewm_eval.train.device import Placement, choose_placement
from codelewm_eval.train.lora import _LoraRun, default_base_model
from codelewm_eval.train.run import LoraConfig
from codelewm_eval.train.tokens import tokenize, training_batches

GOALS = {"train_examples_per_s": 4000.0, "score_rows_per_s": 15000.0}  # on an H200


def _sync(placement: Placement) -> None:
    if placement.device == "cuda":
        import torch

        torch.cuda.synchronize()


class Reference:
    """The replaced loop, kept here as the named reference."""

    def __init__(self, rows, cfg: LoraConfig, placement: Placement, seed: int):
        import torch
        from peft import LoraConfig as PeftLora
        from peft import TaskType, get_peft_model
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        torch.manual_seed(seed)
        self.torch, self.rows, self.cfg, self.device = torch, rows, cfg, placement.device
        dtype = torch.bfloat16 if placement.device == "cuda" else torch.float32
        self.tokenizer = AutoTokenizer.from_pretrained(cfg.base_model)
        model = AutoModelForSequenceClassification.from_pretrained(cfg.base_model, num_labels=1, dtype=dtype)
        self.model = get_peft_model(model, PeftLora(task_type=TaskType.SEQ_CLS, r=cfg.rank, lora_alpha=cfg.alpha,
                                                    lora_dropout=cfg.dropout, target_modules=cfg.target_modules))
        self.model.to(self.device)
        self.labels = torch.tensor([float(r.passed) for r in rows])
        self.loss_fn = torch.nn.BCEWithLogitsLoss(reduction="none")
        self.optimizer = torch.optim.AdamW([p for p in self.model.parameters() if p.requires_grad], lr=cfg.lr)

    def encode(self, indexes):
        batch = self.tokenizer([self.rows[i].program for i in indexes], truncation=True,
                               max_length=self.cfg.max_length, padding=True, return_tensors="pt")
        return {k: v.to(self.device) for k, v in batch.items()}

    def train(self, batches) -> None:
        self.model.train()
        for picked in batches:
            logits = self.model(**self.encode(picked)).logits.float().squeeze(-1)
            loss = self.loss_fn(logits, self.labels[picked].to(self.device)).mean()
            loss.backward()
            self.optimizer.step()
            self.optimizer.zero_grad()

    def score(self, indexes) -> None:
        self.model.eval()
        with self.torch.no_grad():
            for start in range(0, len(indexes), self.cfg.batch_size * 2):
                self.model(**self.encode(indexes[start:start + self.cfg.batch_size * 2])).logits.float().cpu()


VARIANTS = {
    "this": "the project's path as shipped",
    "cudnn-attention": "the same with PyTorch's cuDNN fused attention left on (its default)",
    "nondeterministic": "the same without torch.use_deterministic_algorithms",
}


def _timed(fn, warm_part, part, placement) -> float:
    """Seconds of fn(part) after fn(warm_part), the device drained before and after."""
    fn(warm_part)  # warm-up: kernels chosen, memory pools filled
    _sync(placement)
    began = time.perf_counter()
    fn(part)
    _sync(placement)
    return time.perf_counter() - began


def _repeat(batches: list, count: int) -> list:
    return (batches * (1 + count // max(1, len(batches))))[:count]


def measure_this(rows, cfg: LoraConfig, placement: Placement, steps: int, warm: int, variant: str) -> dict:
    """This project's path: tokens once, bucketed training batches, token-budget scoring; and
    batched scores against one row at a time."""
    import torch

    run = _LoraRun(rows, cfg, 42, placement=placement)
    if variant == "cudnn-attention" and placement.device == "cuda":
        torch.backends.cuda.enable_cudnn_sdp(True)
    elif variant == "nondeterministic":
        torch.use_deterministic_algorithms(False)
    everything = list(range(len(rows)))
    began = time.perf_counter()
    run.tokens = tokenize([r.program for r in rows], run.tokenizer, cfg.max_length)
    tokenize_s = time.perf_counter() - began
    batches = _repeat(training_batches(everything, run.tokens.lengths, cfg.batch_size, np.random.default_rng(1)),
                      steps + warm)

    def train(part):
        for picked in part:
            loss = run.train_loss(picked)
            run.scaler.scale(loss).backward()
            run.scaler.step(run.optimizer)
            run.scaler.update()
            run.optimizer.zero_grad(set_to_none=True)

    run.model.train()
    train_s = _timed(train, batches[:warm], batches[warm:], placement)
    scored = {}
    score_s = _timed(lambda part: scored.update(p=run.predict(part)), everything[:512], everything, placement)
    sample = everything[:: max(1, len(rows) // 64)][:64]
    run.model.eval()
    with torch.inference_mode():
        single = np.array([float(run.logits([i])[0]) for i in sample])
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    return {"train_steps": len(batches) - warm, "tokenize_once_s": round(tokenize_s, 3),
            "train_examples_per_s": round(sum(len(b) for b in batches[warm:]) / train_s, 1),
            "score_rows_per_s": round(len(rows) / score_s, 1),
            "batched_vs_single_max_abs_dp": round(float(np.abs(sig(scored["p"][sample]) - sig(single)).max()), 6),
            "tolerance": 1e-4 if placement.compute_dtype == "float32" else 2e-2}


def measure_reference(rows, cfg: LoraConfig, placement: Placement, steps: int, warm: int) -> dict:
    """The replaced path on the same rows: random batches tokenized again each step."""
    ref = Reference(rows, cfg, placement, 42)
    n, everything = len(rows), list(range(len(rows)))
    order = np.random.default_rng(1).permutation(n).tolist()
    batches = _repeat([order[k:k + cfg.batch_size] for k in range(0, n, cfg.batch_size)], steps + warm)
    train_s = _timed(ref.train, batches[:warm], batches[warm:], placement)
    score_s = _timed(ref.score, everything[:512], everything, placement)
    lengths = np.array([min(len(x), cfg.max_length) for x in
                        ref.tokenizer([r.program for r in rows], truncation=True, max_length=cfg.max_length)["input_ids"]])
    return {"mean_tokens": round(float(lengths.mean()), 1),
            "reference_train_examples_per_s": round(sum(len(b) for b in batches[warm:]) / train_s, 1),
            "reference_score_rows_per_s": round(n / score_s, 1)}


def measure(args) -> dict:
    placement = choose_placement(args.device)
    gpu = placement.device == "cuda"
    rows_all = [r for r in read_rows(Path(args.pack) / "rows.jsonl") if r.split == "train" and not r.evaluation_only]
    n = min(args.rows or (8192 if gpu else 128), len(rows_all))
    rows = [rows_all[i] for i in sorted(np.random.default_rng(0).choice(len(rows_all), n, replace=False))]
    steps = args.train_steps or (max(30, 7680 // args.batch_size) if gpu else 3)
    warm = 3 if gpu else 1
    cfg = LoraConfig(base_model=args.base_model or default_base_model(), max_length=args.max_length,
                     batch_size=args.batch_size, epochs=1, progress_every=10**9)
    figures = {"variant": args.variant, "device": placement.device, "dtype": placement.compute_dtype,
               "gpu": placement.gpu, "rows": n, "max_length": cfg.max_length, "batch_size": cfg.batch_size,
               **measure_this(rows, cfg, placement, steps, warm, args.variant)}
    if gpu:
        import torch

        torch.cuda.empty_cache()  # the model left the GPU before the reference loads
    if args.no_reference:
        return figures
    out = {**figures, **measure_reference(rows, cfg, placement, steps, warm)}
    out["train_ratio"] = round(out["train_examples_per_s"] / out["reference_train_examples_per_s"], 2)
    out["score_ratio"] = round(out["score_rows_per_s"] / out["reference_score_rows_per_s"], 2)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pack", default="runs/default/pack")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--rows", type=int, help="programs sampled from the train split (8192 on a GPU, 128 on a CPU)")
    parser.add_argument("--train-steps", type=int, help="timed training steps (7,680 examples' worth, at least 30, on a "
                                                        "GPU; 3 on a CPU)")
    parser.add_argument("--max-length", type=int, default=384)
    parser.add_argument("--batch-size", type=int, default=256, help="default: jobs/standard-lora.yaml's")
    parser.add_argument("--variant", choices=sorted(VARIANTS), default="this",
                        help="; ".join(f"{k}: {v}" for k, v in VARIANTS.items()))
    parser.add_argument("--no-reference", action="store_true", help="measure this path only (for --variant runs)")
    parser.add_argument("--base-model")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    if not (Path(args.pack) / "rows.jsonl").is_file():
        print(f"lora_speed: no pack at {args.pack}: build one (scripts/real_evidence.sh, or `codelewm-eval run`) "
              "and pass --pack", file=sys.stderr)
        return 2
    r = measure(args)
    where = f"{r['gpu']} ({r['device']}, {r['dtype']})" if r["gpu"] else f"CPU ({r['dtype']})"
    print(f"lora_speed on {where}: MiniLM-L6, max_length {r['max_length']}, batch {r['batch_size']}, "
          f"{r['rows']:,} programs of {args.pack}" + (f" (mean {r['mean_tokens']} tokens)" if "mean_tokens" in r else "")
          + (f"; variant {r['variant']}: {VARIANTS[r['variant']]}" if r["variant"] != "this" else ""))
    if args.no_reference:
        print(f"  train {r['train_examples_per_s']:,.1f} examples/s, score {r['score_rows_per_s']:,.1f} rows/s")
        if args.json:
            Path(args.json).write_text(json.dumps(r, indent=2) + "\n")
        return 0
    for what, unit in (("train_examples_per_s", "examples/s"), ("score_rows_per_s", "rows/s")):
        goal = GOALS[what]
        verdict = ("met" if r[what] >= goal else "NOT met") if r["device"] == "cuda" else "a GPU goal (not judged on a CPU)"
        ratio = r["train_ratio" if what.startswith("train") else "score_ratio"]
        print(f"  {what.split('_')[0]:8s} reference {r['reference_' + what]:>10,.1f} {unit:10s} this {r[what]:>10,.1f} "
              f"{unit:10s} {ratio:>6.2f}x   goal {goal:,.0f} on an H200: {verdict}")
    print(f"  tokenize once: {r['tokenize_once_s']:.2f} s for {r['rows']:,} programs (cached per pack afterwards)")
    same = r["batched_vs_single_max_abs_dp"] <= r["tolerance"]
    print(f"  batched vs one row at a time: max |dp| {r['batched_vs_single_max_abs_dp']:.2g} over 64 rows "
          f"(tolerance {r['tolerance']:g}): {'equal' if same else 'DIFFERENT'}")
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=2) + "\n")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
