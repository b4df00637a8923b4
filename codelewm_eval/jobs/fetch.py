"""`jobs fetch`: bring a Hub run's outputs (every seed, and its pack) back into its run directory."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..hub import _hub_errors, api, is_hub_ref, materialize, parse_ref
from .launch import LaunchRecord


def fetch_run(run_dir: Path) -> list[str]:
    """Download a Hub run (launch.json with backend hf) into its run directory: each seed's
    uploaded outputs into seed-N/, the pack at its pinned revision into pack/."""
    record = LaunchRecord.read(run_dir)
    if record.backend != "hf" or not record.outputs_repo:
        raise InputError("this run was not launched on Hugging Face Jobs (nothing to fetch)",
                         path=str(Path(run_dir) / "launch.json"))
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
