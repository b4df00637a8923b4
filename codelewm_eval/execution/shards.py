"""Sharded execution: `execute --shard i/n` runs the candidates of about 1/n of the tasks (a
task's candidates stay together, so its reference outputs are computed once), on any machine or
job; `execute-merge` joins the shards by their manifests.

A merge refuses shards that do not verify, that were run with different settings (benchmark,
version, data hash, samples, limits, isolation), that repeat or miss a shard number, or that
share a candidate. The merged file is ordered as one unsharded run of a sample file would be
(source line, then sample index), its summary is recomputed from the merged records, and its
manifest's parents are the shards.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from types import SimpleNamespace

from ..errors import InputError
from ..io import atomic_writer, iter_models, write_json_atomic
from ..manifest import (
    load_manifest,
    manifest_path_for,
    require_verified,
    write_manifest,
)
from .results import ExecutionResult

_SHARD = re.compile(r"^(\d+)/(\d+)$")


def parse_shard(text: str) -> tuple[int, int]:
    match = _SHARD.match(text.strip())
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise InputError(f"--shard must be I/N with 1 <= I <= N, got {text!r}", field="--shard")
    return int(match[1]), int(match[2])


def shard_of(task_id: str, n: int) -> int:
    """1..n, from a hash of the task id (stable across machines and Python versions)."""
    return int.from_bytes(hashlib.sha256(task_id.encode()).digest()[:8], "big") % n + 1


def select(candidates: list, shard: tuple[int, int]) -> list:
    i, n = shard
    return [c for c in candidates if shard_of(c.task_id, n) == i]


def _order(r: ExecutionResult) -> tuple:
    o = r.origin
    return (o.source_file or "", o.source_line is None, o.source_line or 0, r.task_id,
            -1 if o.sample_index is None else o.sample_index, r.candidate_id)


def shard_set(paths: list[Path], kind: str, what: str = "run") -> tuple[list[tuple[Path, dict]], int]:
    """The shards of one split, checked: each verifies as `kind`, records its --shard, appears once,
    was made with the same settings (config less the shard) as the first, and all N are there.
    Returns [(path, config without the shard)] and N; an InputError names the shard otherwise."""
    if not paths:
        raise InputError("no shards to merge")
    configs, seen_shards = [], {}
    for path in paths:
        require_verified(path, "the shard", kind=kind)
        config = dict(load_manifest(manifest_path_for(path)).config)
        shard = config.pop("shard", None)
        if not shard:
            raise InputError("not a shard (its manifest records no --shard)", path=str(path))
        if shard in seen_shards:
            raise InputError(f"shard {shard} given twice (also {seen_shards[shard]})", path=str(path))
        seen_shards[shard] = path
        configs.append((path, config))
    first_path, first = configs[0]
    for path, config in configs[1:]:
        # an empty shard ran nothing, so it records no isolation: that is no difference
        diff = sorted(k for k in set(first) | set(config) if first.get(k) != config.get(k)
                      and not (k == "isolation" and None in (first.get(k), config.get(k))))
        if diff:
            raise InputError(f"{what} with other settings than {first_path}: {', '.join(diff)}", path=str(path),
                             field=diff[0])
    counts = {int(s.split("/")[1]) for s in seen_shards}
    if len(counts) != 1:
        raise InputError(f"shards of different splits: {sorted(seen_shards)}")
    n = counts.pop()
    missing = sorted(set(range(1, n + 1)) - {int(s.split("/")[0]) for s in seen_shards})
    if missing:
        raise InputError(f"shard(s) {', '.join(f'{i}/{n}' for i in missing)} missing: a merge needs all {n}")
    return configs, n


def merge(paths: list[Path], out: Path, command: list[str]) -> dict:
    configs, n = shard_set(paths, "execution-results")
    first = configs[0][1]
    records: dict[str, ExecutionResult] = {}
    summaries = []
    for path, _ in configs:
        for line, record in iter_models(path, ExecutionResult, "execution result"):
            if record.candidate_id in records:
                raise InputError(f"candidate {record.candidate_id} is in two shards", path=str(path), line=line,
                                 field="candidate_id")
            records[record.candidate_id] = record
        summary_path = Path(path).with_suffix(".summary.json")
        summaries.append(json.loads(summary_path.read_text()) if summary_path.exists() else {})
    merged = sorted(records.values(), key=_order)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_writer(out) as fh:
        for r in merged:
            fh.write(json.dumps(r.model_dump(mode="json"), sort_keys=True) + "\n")
    from .runner import summarize

    bench = SimpleNamespace(name=first.get("benchmark"), version=first.get("benchmark_version"))
    summary = summarize(bench, merged, {})  # type: ignore[arg-type]
    summary["reference_failures"] = sorted({t for s in summaries for t in s.get("reference_failures", [])})
    summary.update({"out": str(out), "shards": n, "seconds": round(sum(s.get("seconds", 0) for s in summaries), 2),
                    "isolation": merged[0].isolation if merged else None})
    summary_path = out.with_suffix(".summary.json")
    write_json_atomic(summary_path, summary)
    write_manifest(out, "execution-results", files=[out, summary_path], parents=list(paths), command=command,
                   config={**first, "merged_shards": n})
    return summary
