"""The kinds of job a spec asks for (its `task`), as registered implementations: each says what
one job is (a seed or a shard), builds its payloads, checks what must hold before anything starts,
and finishes a local run (evidence, or the shards merged). `jobs launch` and `jobs fetch` ask the
kind, never test the task's name; a package adds a kind with `register_job_kind`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..errors import InputError
from . import checks
from .launch import (
    Payload,
    Refusal,
    execute_payloads,
    generate_payloads,
    p_pass_payloads,
    scan_payloads,
    surgery_payloads,
)


@dataclass(frozen=True)
class JobKind:
    name: str
    unit: Literal["seed", "shard"]
    payloads: Callable[..., list[Payload]]  # (spec, spec_path, run_id, backend, samples_revision)
    check: Callable[..., checks.Checked]    # (spec, config, payloads, run_dir)
    finish: Callable[..., None] | None = None  # a local run whose jobs all succeeded: (..., command, result)
    merged: str | None = None  # sharded: the file the shards are joined into, in the run directory
    merge: Callable[[list[Path], Path, list[str]], None] | None = None  # (shards, merged file, command)
    stem: str = "shard"  # sharded: the shards' file names, STEM-I-of-N.jsonl


KINDS: dict[str, JobKind] = {}


def register_job_kind(kind: JobKind) -> JobKind:
    KINDS[kind.name] = kind
    return kind


def merge_shards(kind: JobKind, shards: list[Path], run_dir: Path, command: list[str]) -> Path:
    """Join a sharded run's shards into RUN/<kind.merged>, with every check of the merge."""
    out = run_dir / kind.merged
    kind.merge(shards, out, command)
    return out


def _finish_shards(spec, config, payloads, run_dir: Path, checked, command, result) -> None:
    result.merged = merge_shards(job_kind(spec.task), [Path(p.out_dir) for p in payloads], run_dir, command or [])


for _kind in (JobKind("p_pass", "seed", p_pass_payloads, checks.check_p_pass, checks.finish_p_pass),
              JobKind("surgery", "seed", surgery_payloads, checks.check_surgery),
              JobKind("execute", "shard", execute_payloads, checks.check_execute, _finish_shards,
                      merged="results.jsonl", merge=checks.merge_results),
              JobKind("generate", "shard", generate_payloads, checks.check_generate, _finish_shards,
                      merged="samples.jsonl", merge=checks.merge_samples, stem="samples-shard")):
    register_job_kind(_kind)


def job_kind(name: str) -> JobKind:
    if name not in KINDS:
        raise InputError(f"unknown job task {name!r}; known: {', '.join(KINDS)}", field="task")
    return KINDS[name]


def prepare(spec_path: Path, run_id: str | None = None, backend: str = "local", samples_revision: str | None = None
            ) -> tuple:
    """(spec, its text, the payload of every seed or shard, the secret findings in what would
    leave this machine)."""
    from ..preflight.jobspec import load_job_spec

    spec, text = load_job_spec(spec_path)
    payloads = job_kind(spec.task).payloads(spec, Path(spec_path), run_id or spec.name, backend, samples_revision)
    refusals: list[Refusal] = scan_payloads(payloads, text, Path(spec_path))
    return spec, text, payloads, refusals
