"""Where torch runs: every tensor of a training step and of validation on the model's device, the
dtype chosen by the GPU's capability, tokens computed once per pack, and batched scores equal to
one-row-at-a-time scores.

No GPU is needed: PyTorch's `meta` device stands in for the accelerator. It refuses any operation
that mixes it with CPU tensors exactly as CUDA does ("Tensor on device cpu is not on the expected
device meta!"), so a tensor built on the host and used beside the model's tensors fails here the
way it failed on the H200 (`validate` built its loss inputs on the CPU while the loss's pos_weight
lived on cuda:0: both seeds of every GPU run crashed at the first validation)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the train extra is not installed")

from codelewm_eval.errors import InputError
from codelewm_eval.pack.read import read_rows
from codelewm_eval.train import device as device_module
from codelewm_eval.train.device import Placement, choose_placement
from codelewm_eval.train.progress import ProgressLog
from codelewm_eval.train.run import LoraConfig
from codelewm_eval.train.tokens import evaluation_batches, tokenize, training_batches

from .test_train import _tiny_encoder, pack  # noqa: F401  (pack is a fixture)

ACCELERATOR = Placement("meta", "float32")  # a device that refuses to be mixed with the CPU


def _run(tmp_path, pack, placement, **overrides):
    from codelewm_eval.train.lora import _LoraRun

    cfg = LoraConfig(base_model=str(_tiny_encoder(tmp_path)), max_length=32, batch_size=16, epochs=2, rank=4,
                     max_train_rows=64, progress_every=10**6, **overrides)
    rows = read_rows(pack / "rows.jsonl")
    return _LoraRun(rows, cfg, 42, placement=placement), rows


def test_a_training_epoch_and_the_validation_loss_stay_on_the_models_device(tmp_path, pack, monkeypatch):
    # transformers re-kernelizes a model at train()/eval() where the `kernels` package is installed,
    # and that refuses the meta device: nothing of ours, so it is switched off for this check
    import transformers.modeling_utils

    monkeypatch.setattr(transformers.modeling_utils.PreTrainedModel, "use_kernels",
                        property(lambda self: False, lambda self, value: None))
    # transformers' mask helper asks whether the mask is all ones (data, which meta tensors lack):
    # it answers "no", and the mask is built as it is on any device
    import transformers.masking_utils

    monkeypatch.setattr(transformers.masking_utils, "_ignore_bidirectional_mask_sdpa", lambda *a, **k: False)
    run, rows = _run(tmp_path, pack, ACCELERATOR)
    assert {p.device.type for p in run.model.parameters()} == {"meta"}
    log = ProgressLog(tmp_path / "events.jsonl", "device-check", 42, echo=False)
    run.train_epoch(1, log)  # forward, class-weighted loss, backward, optimizer and schedule steps
    val = [i for i, r in enumerate(rows) if r.split == "val"]
    assert run.logits(val[:5]).device.type == "meta"
    host_logits = np.zeros(len(val), dtype=np.float32)  # what predict hands back: numbers on the host
    assert run.validation_loss(val, host_logits).device.type == "meta"
    # the expression `validate` used before (its inputs built on the CPU) is refused on this device
    with pytest.raises(RuntimeError, match="device"):
        run.loss_fn(torch.tensor(host_logits), torch.tensor([float(rows[i].passed) for i in val]))


def test_the_dtype_follows_the_gpus_capability(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *_: "Tesla T4")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *_: (7, 5))
    monkeypatch.setattr(device_module, "native_bf16", lambda _torch: False)
    t4 = choose_placement()
    assert (t4.device, t4.compute_dtype, t4.gpu) == ("cuda", "float16", "Tesla T4")
    assert t4.report()["compute_capability"] == "7.5"
    with pytest.raises(InputError, match="bfloat16 needs compute capability 8.0"):
        choose_placement(dtype="bfloat16")
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *_: "NVIDIA H200")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda *_: (9, 0))
    monkeypatch.setattr(device_module, "native_bf16", lambda _torch: True)
    assert choose_placement().compute_dtype == "bfloat16"
    assert choose_placement(dtype="float32").compute_dtype == "float32"
    monkeypatch.setattr(device_module, "cpu_bf16", lambda: False)
    assert choose_placement("cpu") == Placement("cpu", "float32")
    monkeypatch.setattr(device_module, "cpu_bf16", lambda: True)  # AMX: bfloat16 autocast on the CPU too
    assert choose_placement("cpu") == Placement("cpu", "bfloat16")
    assert choose_placement("cpu", "float32") == Placement("cpu", "float32")


def test_float16_gets_a_gradient_scaler_and_cpu_none():
    assert Placement("cpu", "float32").scaler().is_enabled() is False
    assert Placement("cpu", "float16").scaler().is_enabled() is True


def test_no_gpu_asked_for_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(InputError, match="no CUDA device"):
        choose_placement("cuda")
    with pytest.raises(InputError, match="needs a GPU"):
        choose_placement("cpu", "float16")
    monkeypatch.setattr(device_module, "cpu_bf16", lambda: False)
    with pytest.raises(InputError, match="lacks"):
        choose_placement("cpu", "bfloat16")


class _CountingTokenizer:
    name_or_path = "counting"
    pad_token_id = 0

    def __init__(self):
        self.calls = 0

    def __call__(self, texts, **_):
        self.calls += 1
        return {"input_ids": [[101] + [len(w) for w in t.split()][:6] + [102] for t in texts]}


def test_tokens_are_computed_once_and_a_damaged_cache_is_recomputed(tmp_path, monkeypatch):
    monkeypatch.setenv("CODELEWM_CACHE", str(tmp_path / "cache"))
    tokenizer = _CountingTokenizer()
    texts = ["def f(x):\n    return x", "a bb ccc dddd eeeee ffffff ggggggg", ""]
    first = tokenize(texts, tokenizer, 8, cache_key="pack-rows:abc")
    again = tokenize(texts, tokenizer, 8, cache_key="pack-rows:abc")
    assert tokenizer.calls == 1 and np.array_equal(first.ids, again.ids) and list(again.lengths) == [6, 8, 2]
    tokenize(texts, tokenizer, 16, cache_key="pack-rows:abc")  # another max_length: another entry
    assert tokenizer.calls == 2
    for cached in (tmp_path / "cache" / "tokens").glob("*.npz"):
        cached.write_bytes(cached.read_bytes()[:40])  # cut short, as by a kill
    assert list(tokenize(texts, tokenizer, 8, cache_key="pack-rows:abc").lengths) == [6, 8, 2]
    assert tokenizer.calls == 3


def test_batches_cover_every_row_once_with_little_padding():
    lengths = np.array([3, 50, 7, 49, 8, 51, 2, 48] * 30)
    rows = list(range(len(lengths)))
    epoch = training_batches(rows, lengths, 8, np.random.default_rng(1))
    assert sorted(i for b in epoch for i in b) == rows
    assert epoch != training_batches(rows, lengths, 8, np.random.default_rng(2))  # the seed orders them
    padded = sum(len(b) * max(lengths[i] for i in b) for b in epoch)
    assert padded < 1.25 * lengths.sum()  # length buckets: a random batching pads to ~1.9x here
    budget = list(evaluation_batches(rows, lengths, max_tokens=256))
    assert sorted(i for b in budget for i in b) == rows
    assert all(len(b) * (-(-max(lengths[i] for i in b) // 8) * 8) <= 256 for b in budget)


def test_batched_scores_equal_one_row_at_a_time(tmp_path, pack):
    run, rows = _run(tmp_path, pack, Placement("cpu", "float32"))
    held = [i for i, r in enumerate(rows) if r.split in ("val", "test")][:60]
    batched = run.predict(held)
    run.model.eval()
    with torch.inference_mode():
        single = np.array([float(run.logits([i])[0]) for i in held])
    assert np.abs(batched - single).max() < 1e-4
