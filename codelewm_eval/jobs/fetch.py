"""`jobs fetch`: bring a Hub run's outputs (every seed, and its pack) back into its run directory."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..hub import _hub_errors, api, is_hub_ref, materialize, parse_ref
from .kinds import job_kind, merge_shards
from .launch import LaunchRecord


def fetch_run(run_dir: Path) -> list[str]:
    """Download a Hub run (launch.json with backend hf) into its run directory: each seed's
    uploaded outputs into seed-N/, the pack at its pinned revision into pack/; for an execute run,
    every shard's results into RUN_ID/, merged into results.jsonl (`execute-merge`)."""
    record = LaunchRecord.read(run_dir)
    if record.backend != "hf" or not record.outputs_repo:
        raise InputError("this run was not launched on Hugging Face Jobs (nothing to fetch)",
                         path=str(Path(run_dir) / "launch.json"))
    if job_kind(record.task).unit == "shard" or record.samples:
        return _fetch_shards(record, Path(run_dir))
    fetched = []
    if record.pack and is_hub_ref(record.pack):
        materialize(parse_ref(record.pack), Path(run_dir) / "pack")
        fetched.append("pack")
    patterns = [f"seed-{seed}/**" for seed in record.seeds]
    with _hub_errors(f"downloading {record.outputs_repo}"):
        api().snapshot_download(record.outputs_repo, repo_type="model", local_dir=str(run_dir),
                                allow_patterns=patterns)
    fetched += [f"seed-{seed}" for seed in record.seeds if (Path(run_dir) / f"seed-{seed}").is_dir()]
    return fetched


def _fetch_shards(record: LaunchRecord, run_dir: Path) -> list[str]:
    """Every shard's uploaded results (execute) or samples (generate), then one merge; a shard
    without them is named with what to do (its job's stage is in `jobs status`; launching again
    starts only the missing ones)."""
    n = len(record.seeds)
    kind = job_kind(record.task)
    stem = kind.stem
    with _hub_errors(f"downloading {record.outputs_repo}"):
        api().snapshot_download(record.outputs_repo, repo_type="model", local_dir=str(run_dir),
                                allow_patterns=[f"{record.run_id}/{stem}-*-of-{n}.*"])
    shards = [run_dir / record.run_id / f"{stem}-{i}-of-{n}.jsonl" for i in record.seeds]
    missing = [f"{i}/{n}" for i, path in zip(record.seeds, shards) if not path.is_file()]
    if missing:
        raise InputError(f"shard(s) {', '.join(missing)} have no results in {record.outputs_repo} (see `codelewm-eval "
                         f"jobs status {run_dir}`); launch the same spec again: only the shards without results "
                         "start again", path=str(run_dir))
    out = merge_shards(kind, shards, run_dir, ["codelewm-eval", "jobs", "fetch", str(run_dir)])
    return [f"shard {i}/{n}" for i in record.seeds] + [f"merged -> {out}"]
