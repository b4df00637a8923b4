"""The check before merging: the adapter, still unmerged, runs on the held-out anchors (greedy
completions, executed through the same sandbox as every candidate). Any anchor lost aborts the
merge (the BD6.2 lesson: "run a quick smoke on the BD6-pass-1 wins. If any of them now fail,
abort the merge")."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pydantic import BaseModel, Field

from ..benchmarks import load_benchmark
from ..candidates.models import Candidate, Origin
from .generate import continues_function, cut
from .harvest import anchor_name


class AnchorCheck(BaseModel):
    held_out: list[str] = Field(default_factory=list, description="the anchors checked")
    kept: list[str] = Field(default_factory=list)
    lost: list[str] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.lost


def check_anchors(model, tokenizer, rows: list, data_dir: Path | None, placement, max_new_tokens: int = 256,
                  workers: int | None = None, isolation: str = "auto") -> AnchorCheck:
    """Greedy completions of the held-out anchors' prompts by `model` (the adapter in place), executed."""
    import torch

    from ..execution.runner import execute

    result = AnchorCheck(held_out=[anchor_name(r.benchmark, r.task_id) for r in rows])
    if not rows:
        return result
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    side, tokenizer.padding_side = tokenizer.padding_side, "left"
    was_training = model.training
    model.eval()
    programs = []
    try:
        for row in rows:
            enc = placement.put(tokenizer([row.prompt], return_tensors="pt"))
            with torch.inference_mode(), placement.autocast():
                out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                     pad_token_id=tokenizer.pad_token_id)
            text = tokenizer.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)
            continues = continues_function(row.prompt)
            completion = cut(text, continues)
            programs.append(row.prompt + completion if continues else completion)
    finally:
        tokenizer.padding_side = side
        if was_training:
            model.train()
    by_benchmark: dict[str, list[tuple[object, str]]] = {}
    for row, program in zip(rows, programs):
        by_benchmark.setdefault(row.benchmark, []).append((row, program))
    with tempfile.TemporaryDirectory(prefix="anchor-check-") as tmp:
        for name, items in by_benchmark.items():
            bench = load_benchmark(name, data_dir)
            candidates = [Candidate(candidate_id=f"anchor-{i}", task_id=row.task_id, program=program,
                                    origin=Origin(format="anchor-check", model="adapter before merge"))
                          for i, (row, program) in enumerate(items)]
            out = Path(tmp) / f"{name}.jsonl"
            execute(bench, candidates, out, workers=workers, isolation=isolation, progress=False)
            import json

            passed = [json.loads(line)["passed"] for line in out.read_text().splitlines()]
            for (row, _), ok in zip(items, passed):
                (result.kept if ok else result.lost).append(anchor_name(row.benchmark, row.task_id))
    return result
