"""Checks that need a CUDA GPU (skipped without one; `scripts/gpu_check.sh` runs them on one).

They train and score on the GPU with the code's own placement: the LoRA scorer's epoch,
validation (where every GPU run crashed before) and batched scoring, equal within bfloat16
tolerance to one row at a time; the float16 path with its gradient scaler (what a T4 runs);
probe embeddings equal to the CPU's; and the surgery SFT step. The pack: `CODELEWM_GPU_PACK`
(the GPU machine has no ../shared/data), else one built from the real data.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the train extra is not installed")
pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here (scripts/gpu_check.sh runs "
                                                                      "these on one)")

from codelewm_eval.pack.read import read_rows
from codelewm_eval.train.device import Placement, choose_placement
from codelewm_eval.train.progress import ProgressLog
from codelewm_eval.train.run import LoraConfig


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    given = os.environ.get("CODELEWM_GPU_PACK")
    if given:
        pack = Path(given)
    else:
        from codelewm_eval.pack.build import PackConfig, build_pack

        from .conftest import require_data
        from .test_pack_decoy_pairs import _sources

        tmp = tmp_path_factory.mktemp("gpu-pack")
        pack = tmp / "pack"
        build_pack(list(_sources(tmp)), pack, PackConfig(reference_decoys=True), require_data(), ["test"])
    every = read_rows(pack / "rows.jsonl")
    rng = np.random.default_rng(0)
    picked = sorted(rng.choice(len(every), min(3000, len(every)), replace=False))
    return [every[i] for i in picked]


def _tiny_encoder(tmp_path):
    base = os.environ.get("CODELEWM_GPU_BASE")
    if base:
        return base
    from .test_train import _tiny_encoder as tiny

    return str(tiny(tmp_path))


def test_this_gpu_gets_its_best_dtype():
    placement = choose_placement()
    assert placement.device == "cuda" and placement.gpu == torch.cuda.get_device_name()
    major, _ = torch.cuda.get_device_capability()
    assert placement.compute_dtype == ("bfloat16" if major >= 8 else "float16")


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_lora_trains_validates_and_scores_on_the_gpu(tmp_path, rows, dtype):
    from codelewm_eval.train.lora import _LoraRun

    if dtype == "bfloat16" and torch.cuda.get_device_capability()[0] < 8:
        pytest.skip("this GPU has no bfloat16")
    cfg = LoraConfig(base_model=_tiny_encoder(tmp_path), max_length=256, batch_size=32, epochs=2, progress_every=5)
    run = _LoraRun(rows, cfg, 42, placement=choose_placement("cuda", dtype))
    assert run.scaler.is_enabled() == (dtype == "float16")
    assert {p.device.type for p in run.model.parameters()} == {"cuda"}
    log = ProgressLog(tmp_path / "events.jsonl", "gpu", 42, echo=False)
    run.train_epoch(1, log)
    val = [i for i, r in enumerate(rows) if r.split == "val"]
    auc, loss = run.validate(val, log)  # every GPU run crashed here before
    assert loss is not None and np.isfinite(loss)
    held = [i for i, r in enumerate(rows) if r.split in ("val", "test")]
    batched = run.predict(held)
    run.model.eval()
    with torch.inference_mode():
        single = np.array([float(run.logits([i])[0]) for i in held[:48]])
    p = lambda z: 1 / (1 + np.exp(-z))
    assert np.abs(p(batched[:48]) - p(single)).max() < 2e-2


def test_probe_embeddings_on_the_gpu_equal_the_cpus(tmp_path, rows, monkeypatch):
    from codelewm_eval.train.probe import embed

    monkeypatch.setenv("CODELEWM_CACHE", str(tmp_path / "cache"))
    base = _tiny_encoder(tmp_path)
    some = rows[:64]
    gpu, _ = embed(some, base, 256, choose_placement())
    cpu, _ = embed(some, base, 256, Placement("cpu", "float32"))
    assert (gpu * cpu).sum(1).min() > 0.99  # unit vectors: cosine similarity per row


def test_a_surgery_step_on_the_gpu(tmp_path):
    from codelewm_eval.surgery.sft import SftConfig, _batch_loss, _load
    from codelewm_eval.surgery.tiny import make_tiny_model

    tiny = os.environ.get("CODELEWM_GPU_TINY") or str(make_tiny_model(tmp_path / "tiny", None, hidden=32, layers=1,
                                                                      heads=2, vocab_size=1024))
    cfg = SftConfig(base_model=tiny, seed=1, run_id="gpu", rank=4, alpha=8)
    tokenizer, model, placement, _ = _load(cfg)
    assert placement.device == "cuda"
    ids = tokenizer("def add(a, b):\n    return a + b\n")["input_ids"]
    loss, tokens = _batch_loss(model, tokenizer, [(ids, ids, 1.0), (ids[:5], ids[:5], 0.5)], placement)
    loss.backward()
    assert loss.device.type == "cuda" and torch.isfinite(loss) and tokens == len(ids) + 5
