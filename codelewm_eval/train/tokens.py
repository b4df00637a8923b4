"""Programs tokenized once per run, and the batches the encoder scorers feed the device.

Tokenizing every batch again cost the LoRA scorer most of its GPU time. Here a pack's programs
are tokenized once, in one call of the fast tokenizer, and cached on disk by the pack's rows
hash, the tokenizer's files and `max_length` (`$CODELEWM_CACHE/tokens/`), so the second seed
and the scoring pass read them back in a fraction of a second. Batches are length-bucketed:
training batches hold rows of similar length (chunks of 64 batches sorted by length, their order
shuffled by the seed), evaluation batches are cut by a token budget over rows sorted by length,
so almost no compute goes to padding.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io import default_cache_dir, sha256_file

CACHE_VERSION = 1
PAD_MULTIPLE = 8          # padded widths are multiples of 8 (tensor-core friendly shapes)
BUCKET_BATCHES = 64       # training batches sorted together by length before their order is shuffled


@dataclass
class Tokens:
    """Token ids of each row, stored flat: row i is ids[offsets[i]:offsets[i + 1]]."""

    ids: np.ndarray
    offsets: np.ndarray
    pad_id: int

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def row(self, i: int) -> np.ndarray:
        return self.ids[self.offsets[i]:self.offsets[i + 1]]

    def collate(self, rows) -> tuple[np.ndarray, np.ndarray]:
        """(input_ids, attention_mask) of some rows, right-padded to a multiple of PAD_MULTIPLE."""
        lengths = self.lengths[rows]
        width = int(-(-int(lengths.max()) // PAD_MULTIPLE) * PAD_MULTIPLE)
        ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for k, i in enumerate(rows):
            n = lengths[k]
            ids[k, :n] = self.row(i)
            mask[k, :n] = 1
        return ids, mask


def tokenizer_fingerprint(model_dir: str) -> str:
    """A hash of the tokenizer's own files (a Hub id without a local directory: the id itself)."""
    digest = hashlib.sha256()
    path = Path(model_dir)
    names = ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json", "merges.txt")
    found = [path / name for name in names if (path / name).is_file()]
    for file in found:
        digest.update(file.name.encode() + sha256_file(file).encode())
    if not found:
        digest.update(str(model_dir).encode())
    return digest.hexdigest()[:16]


def tokenize(texts: list[str], tokenizer, max_length: int, *, cache_key: str | None = None,
             cache_dir: Path | None = None) -> Tokens:
    """Token ids of every text, truncated to max_length; cached under `cache_key` when given
    (the caller names what the texts are: a pack's rows hash; the tokenizer and max_length are
    added to the key here)."""
    path = None
    if cache_key is not None:
        key = hashlib.sha256(f"{CACHE_VERSION}|{cache_key}|{tokenizer.name_or_path and tokenizer_fingerprint(tokenizer.name_or_path)}|{max_length}".encode()).hexdigest()[:32]
        path = (cache_dir or default_cache_dir()) / "tokens" / f"{key}.npz"
        if path.is_file():
            try:
                with np.load(path) as data:
                    tokens = Tokens(data["ids"], data["offsets"], int(data["pad_id"]))
                if len(tokens) == len(texts):
                    return tokens
            except Exception:
                pass  # a cache file cut short or edited: tokenized again below
    encoded = tokenizer(texts, truncation=True, max_length=max_length, add_special_tokens=True,
                        return_attention_mask=False, return_token_type_ids=False)["input_ids"]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    ids = np.fromiter((t for e in encoded for t in e), dtype=np.int32, count=int(offsets[-1]))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    tokens = Tokens(ids, offsets, int(pad))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, ids=ids, offsets=offsets, pad_id=np.int64(pad))
        os.replace(tmp, path)
    return tokens


def training_batches(rows: list[int], lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[list[int]]:
    """One epoch's batches: rows shuffled, sorted by length within chunks of BUCKET_BATCHES
    batches, cut into batches, and the batches' order shuffled (all by `rng`)."""
    order = [rows[k] for k in rng.permutation(len(rows))]
    chunk = batch_size * BUCKET_BATCHES
    batches = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start:start + chunk], key=lambda i: lengths[i])
        batches += [part[k:k + batch_size] for k in range(0, len(part), batch_size)]
    return [batches[k] for k in rng.permutation(len(batches))]


def evaluation_batches(rows: list[int], lengths: np.ndarray, max_tokens: int, max_rows: int = 1024) -> Iterator[list[int]]:
    """Rows sorted by length and cut into batches of at most `max_tokens` padded tokens (and
    `max_rows` rows): the largest batches the memory budget allows, with little padding."""
    order = sorted(rows, key=lambda i: lengths[i])
    batch: list[int] = []
    for i in order:
        width = -(-int(lengths[i]) // PAD_MULTIPLE) * PAD_MULTIPLE
        if batch and ((len(batch) + 1) * width > max_tokens or len(batch) >= max_rows):
            yield batch
            batch = []
        batch.append(i)
    if batch:
        yield batch


def evaluation_token_budget(placement) -> int:
    """Padded tokens per evaluation batch: about 1/64 of the GPU's free memory at 8 KB a token
    (activations of a small encoder under autocast, with room to spare); 16k on the CPU."""
    if placement.device != "cuda":
        return 16_384
    import torch

    free, _total = torch.cuda.mem_get_info()
    return int(min(1 << 20, max(16_384, free // 64 // 8192)))
