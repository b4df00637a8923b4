"""`jobs inspect-checkpoint` on what GPU runs write: bf16/fp16/fp8 safetensors, sharded checkpoints
(every shard, through the index), peft adapters; bad pickles are exit 2; identical weights are
identical bytes."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from codelewm_eval.checkpoints import canonicalize, inspect_checkpoint
from codelewm_eval.cli import main
from codelewm_eval.io import sha256_file


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float8_e4m3fn, torch.float8_e5m2,
                                   torch.float32, torch.int8])
def test_every_dtype_is_read_with_its_non_finite_count(tmp_path, dtype):
    values = torch.tensor([[1.0, 2.0], [3.0, float("nan")]])
    tensor = values.to(dtype) if dtype.is_floating_point else torch.tensor([[1, 2], [3, 4]], dtype=dtype)
    path = tmp_path / "model.safetensors"
    save_file({"w": tensor, "b": torch.ones(3, dtype=tensor.dtype)}, str(path))
    report = inspect_checkpoint(path)
    w = next(t for t in report.tensors if t.name == "w")
    assert w.dtype == str(dtype).replace("torch.", "") and w.shape == [2, 2]
    assert w.non_finite == (1 if dtype.is_floating_point else 0)
    assert w.l2_norm == pytest.approx((1 + 4 + 9 + (0 if dtype.is_floating_point else 16)) ** 0.5, rel=0.02)
    assert report.parameters == 7


def _sharded(tmp_path, nan_in_second: bool):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    first = {"layer.0.weight": torch.ones(4, 4, dtype=torch.bfloat16)}
    second = {"layer.1.weight": torch.full((4, 4), float("nan") if nan_in_second else 2.0, dtype=torch.bfloat16)}
    save_file(first, str(folder / "model-00001-of-00002.safetensors"))
    save_file(second, str(folder / "model-00002-of-00002.safetensors"))
    weight_map = {**{k: "model-00001-of-00002.safetensors" for k in first},
                  **{k: "model-00002-of-00002.safetensors" for k in second}}
    (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    return folder


def test_every_shard_of_a_sharded_checkpoint_is_read(tmp_path, capsys):
    folder = _sharded(tmp_path, nan_in_second=True)
    assert main(["jobs", "inspect-checkpoint", str(folder)]) == 1  # the NaN lives in shard 2
    out = capsys.readouterr().out
    assert "2 file(s)" in out and "NON-FINITE 16" in out and "layer.1.weight" in out
    (folder / "model-00002-of-00002.safetensors").unlink()
    assert main(["jobs", "inspect-checkpoint", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "model-00002-of-00002.safetensors" in err and "missing" in err and "Traceback" not in err


def test_a_peft_adapter_is_checked_against_its_config(tmp_path, capsys):
    folder = tmp_path / "adapter"
    folder.mkdir()
    save_file({"base_model.model.q.lora_A.weight": torch.randn(8, 32),
               "base_model.model.q.lora_B.weight": torch.zeros(32, 8)}, str(folder / "adapter_model.safetensors"))
    (folder / "adapter_config.json").write_text(json.dumps({"r": 8, "lora_alpha": 16, "peft_type": "LORA"}))
    assert main(["jobs", "inspect-checkpoint", str(folder)]) == 0
    assert "peft adapter" in capsys.readouterr().out
    (folder / "adapter_config.json").write_text(json.dumps({"r": 4, "lora_alpha": 16, "peft_type": "LORA"}))
    assert main(["jobs", "inspect-checkpoint", str(folder)]) == 1
    assert "rank 8, adapter_config.json says r=4" in capsys.readouterr().out


@pytest.mark.parametrize("payload", [b"\x80\x04\x95 not a pickle at all", b"", b"PK\x03\x04 broken zip"])
def test_a_bad_pickle_is_exit_2_with_a_message(tmp_path, capsys, payload):
    bad = tmp_path / "pytorch_model.bin"
    bad.write_bytes(payload)
    assert main(["jobs", "inspect-checkpoint", str(bad), "--allow-pickle"]) == 2
    err = capsys.readouterr().err
    assert "pytorch_model.bin" in err and "Traceback" not in err


def test_a_hostile_pickle_is_never_executed(tmp_path, capsys):
    import os
    import pickle

    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "model.pt"
    path.write_bytes(pickle.dumps({"w": Exploit()}))
    assert main(["jobs", "inspect-checkpoint", str(path), "--allow-pickle"]) == 2
    assert not marker.exists()


def test_identical_weights_give_identical_bytes(tmp_path):
    from safetensors.numpy import save_file as save_numpy
    import numpy as np

    digests = set()
    for i in range(6):
        path = tmp_path / f"{i}.safetensors"
        save_numpy({"coef": np.ones((1, 4), np.float32), "intercept": np.zeros(1, np.float32)}, str(path),
                   metadata={"scorer": "logreg", "C": "1.0", "features": "hashed 1-2 grams", "seed": "42"})
        canonicalize(path)
        digests.add(sha256_file(path))
    assert len(digests) == 1
    report = inspect_checkpoint(tmp_path / "0.safetensors")
    assert report.metadata["C"] == "1.0" and {t.name for t in report.tensors} == {"coef", "intercept"}
