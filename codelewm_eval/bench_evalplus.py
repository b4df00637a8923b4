"""`codelewm-eval bench execute --against evalplus`: this executor against EvalPlus's own
`evalplus.evaluate` on HumanEval+ and MBPP+, on the same candidates, one run after the other.

EvalPlus reads the data directory's dataset files through its override variables
(HUMANEVAL_OVERRIDE_PATH, MBPP_OVERRIDE_PATH), narrowed to the sampled tasks (it asks for a
sample of every task it knows), and keeps its ground-truth cache in a temporary directory: no
network. Both executors' expected outputs are computed first, off the clock. A label is a pass of
every base and plus input (EvalPlus: base_status and plus_status both "pass")."""

from __future__ import annotations

import gzip
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pydantic import BaseModel, Field

from .benchmarks import load_benchmark
from .benchmarks.models import Benchmark
from .candidates.models import Candidate
from .candidates.readers import read_candidates
from .errors import EnvironmentProblem, InputError

DAVINCI = Path("samples/humaneval/multiple-e_humaneval-py_code-davinci-002_T0.8_n200.jsonl.gz")
MBPP_POOL = Path("samples/mbpp/mapcoder_pool_mbpp_multi-model-multi-strategy.jsonl.gz")
EVALPLUS_DATASET = {"humaneval-plus": "humaneval", "mbpp-plus": "mbpp"}
OVERRIDE_VARIABLE = {"humaneval-plus": "HUMANEVAL_OVERRIDE_PATH", "mbpp-plus": "MBPP_OVERRIDE_PATH"}
EVALPLUS_VERSION = "0.3.1"


class EvalplusDisagreement(BaseModel):
    candidate_id: str
    task_id: str
    ours: bool
    evalplus: bool
    our_status: str
    our_error: str | None = None


class EvalplusComparison(BaseModel):
    """One benchmark: both executors on the same candidates."""

    benchmark: str
    candidates: int
    tasks: int
    samples: str
    ours_seconds: float
    ours_per_second: float
    ours_passed: int
    evalplus_seconds: float
    evalplus_per_second: float
    evalplus_passed: int
    ratio: float = Field(description="ours / EvalPlus throughput")
    label_agreement: float
    disagreements: list[EvalplusDisagreement]

    def text(self) -> str:
        agree = round(self.label_agreement * self.candidates)
        lines = [f"{self.benchmark}: {self.candidates} candidates over {self.tasks} tasks ({self.samples})",
                 f"  codelewm-eval : {self.ours_per_second:8.1f} cand/s  ({self.ours_seconds}s, {self.ours_passed} passed)",
                 f"  EvalPlus      : {self.evalplus_per_second:8.1f} cand/s  ({self.evalplus_seconds}s, "
                 f"{self.evalplus_passed} passed)",
                 f"  ratio (ours / EvalPlus throughput): {self.ratio}x",
                 f"  label agreement: {agree}/{self.candidates} ({100 * self.label_agreement:.2f}%)"]
        lines += [f"    differs: {d.task_id} {d.candidate_id} ours={d.ours} ({d.our_status}) evalplus={d.evalplus}"
                  for d in self.disagreements[:20]]
        return "\n".join(lines)


def evalplus_python(given: str | None) -> str:
    """The interpreter that has EvalPlus: the one given, else this one."""
    python = given or sys.executable
    probe = subprocess.run([python, "-c", "import evalplus.evaluate, evalplus; print(evalplus.__version__)"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        raise EnvironmentProblem(
            f"EvalPlus is not importable by {python}: install it (pip install 'codelewm-eval[evalplus]', or "
            f"evalplus=={EVALPLUS_VERSION} in another environment and pass --evalplus-python PATH)")
    return python


def mbpp_plus_pool(data_dir: Path, plus: Benchmark) -> list[Candidate]:
    """The MapCoder MBPP pool on MBPP+: each MultiPL-E task (`mbpp_3_is_not_prime`) is MBPP+'s
    `Mbpp/3` where MBPP+ has it, and MBPP+'s function name is bound to the candidate's own (the
    pool answered MultiPL-E's rewording, whose names are lower-cased)."""
    multiple = load_benchmark("mbpp-multiple", data_dir)
    out = []
    for cand in read_candidates(str(Path(data_dir) / MBPP_POOL), multiple):
        task = f"Mbpp/{multiple.problems[cand.task_id].metadata['mbpp_task']}"
        problem = plus.problems.get(task)
        if problem is None or not cand.program.strip():
            continue
        own, wanted = multiple.problems[cand.task_id].entry_point, problem.entry_point
        program = cand.program if own == wanted else f"{cand.program.rstrip()}\n\n{wanted} = {own}\n"
        out.append(cand.model_copy(update={"task_id": task, "program": program, "upstream_passed": None,
                                           "upstream_status": None}))
    return out


def sample(benchmark: str, data_dir: Path, per_task: int, seed: int) -> tuple[Benchmark, str, list[Candidate]]:
    """The seeded sample: `per_task` candidates of every task (HumanEval+: code-davinci-002's;
    MBPP+: the MapCoder pool's)."""
    bench = load_benchmark(benchmark, data_dir)
    if benchmark == "humaneval-plus":
        source, cands = str(Path(data_dir) / DAVINCI), read_candidates(str(Path(data_dir) / DAVINCI), bench)
    elif benchmark == "mbpp-plus":
        source, cands = str(Path(data_dir) / MBPP_POOL), mbpp_plus_pool(data_dir, bench)
    else:
        raise InputError(f"--against evalplus runs humaneval-plus and mbpp-plus, not {benchmark}")
    return bench, source, per_task_sample(cands, per_task, random.Random(seed))


def per_task_sample(cands: list[Candidate], per_task: int, rng: random.Random) -> list[Candidate]:
    """`per_task` candidates of every task, drawn with `rng`, in the file's order (the sample of
    both `bench execute --per-task` comparisons)."""
    by_task: dict[str, list[int]] = {}
    for i, c in enumerate(cands):
        by_task.setdefault(c.task_id, []).append(i)
    return [cands[i] for i in sorted(i for ids in by_task.values() for i in rng.sample(ids, min(per_task, len(ids))))]


def dataset_file(bench: Benchmark, tasks: set[str], out: Path) -> Path:
    """The benchmark's own EvalPlus file, narrowed to `tasks` (EvalPlus wants them all sampled)."""
    with gzip.open(bench.source, "rt", encoding="utf-8") as fh, open(out, "w", encoding="utf-8") as dst:
        for line in fh:
            if line.strip() and json.loads(line)["task_id"] in tasks:
                dst.write(line)
    return out


def evalplus_labels(results_file: Path, cands: list[Candidate]) -> list[bool]:
    """Each candidate's label from EvalPlus's eval_results.json: results per task are in the order
    of that task's samples, so the n-th candidate of a task is its n-th result."""
    data = json.loads(results_file.read_text())
    seen: dict[str, int] = {}
    labels = []
    for c in cands:
        k = seen.get(c.task_id, 0)
        seen[c.task_id] = k + 1
        try:
            row = data["eval"][c.task_id][k]
        except (KeyError, IndexError, TypeError):
            raise InputError(f"EvalPlus gave no result for sample {k} of {c.task_id}", path=str(results_file)) from None
        labels.append(row.get("base_status") == "pass" and row.get("plus_status") == "pass")
    return labels


def run_evalplus(python: str, benchmark: str, dataset: Path, programs: list[tuple[str, str]], workdir: Path,
                 name: str, parallel: int) -> tuple[float, Path]:
    """One `evalplus.evaluate` over (task_id, program) samples: its seconds and results file."""
    samples = workdir / f"{name}.jsonl"
    with open(samples, "w", encoding="utf-8") as fh:
        for task, program in programs:
            fh.write(json.dumps({"task_id": task, "solution": program}) + "\n")
    env = dict(os.environ, XDG_CACHE_HOME=str(workdir / "evalplus-cache"), TOKENIZERS_PARALLELISM="false")
    env[OVERRIDE_VARIABLE[benchmark]] = str(dataset)
    cmd = [python, "-m", "evalplus.evaluate", "--dataset", EVALPLUS_DATASET[benchmark], "--samples", str(samples),
           "--parallel", str(parallel), "--i_just_wanna_run"]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=workdir, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise EnvironmentProblem(f"EvalPlus failed ({' '.join(cmd)}): {done.stderr.strip()[-800:]}")
    return seconds, samples.with_name(f"{name}_eval_results.json")


def compare_with_evalplus(benchmark: str, data_dir: Path, per_task: int, seed: int, workers: int | None,
                          python: str, time_ours) -> EvalplusComparison:
    """Both executors on one benchmark's sample; `time_ours(bench, cands, workers)` gives our
    seconds, labels and summary with its reference runs done off the clock."""
    bench, source, cands = sample(benchmark, data_dir, per_task, seed)
    tasks = {c.task_id for c in cands}
    parallel = workers or (os.cpu_count() or 1)
    ours_s, ours, summary = time_ours(bench, cands, workers)
    records = summary.get("records") or []
    with tempfile.TemporaryDirectory(prefix="codelewm-evalplus-") as tmp:
        work = Path(tmp)
        dataset = dataset_file(bench, tasks, work / "dataset.jsonl")
        canonical = [(t, bench.problems[t].canonical_solution or "") for t in sorted(tasks)]
        run_evalplus(python, benchmark, dataset, canonical, work, "warm", parallel)  # its ground truth, off the clock
        theirs_s, results = run_evalplus(python, benchmark, dataset, [(c.task_id, c.program) for c in cands], work,
                                         "samples", parallel)
        theirs = evalplus_labels(results, cands)
    by_id = {r["candidate_id"]: r for r in records}
    return EvalplusComparison(
        benchmark=benchmark, candidates=len(cands), tasks=len(tasks), samples=source,
        ours_seconds=round(ours_s, 2), ours_per_second=round(len(cands) / ours_s, 2), ours_passed=sum(ours),
        evalplus_seconds=round(theirs_s, 2), evalplus_per_second=round(len(cands) / theirs_s, 2),
        evalplus_passed=sum(theirs), ratio=round(theirs_s / ours_s, 2),
        label_agreement=round(sum(a == b for a, b in zip(ours, theirs)) / len(cands), 5),
        disagreements=[EvalplusDisagreement(candidate_id=c.candidate_id, task_id=c.task_id, ours=a, evalplus=b,
                                            our_status=by_id.get(c.candidate_id, {}).get("status", "?"),
                                            our_error=by_id.get(c.candidate_id, {}).get("error"))
                       for c, a, b in zip(cands, ours, theirs) if a != b])
