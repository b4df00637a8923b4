"""The Hugging Face Hub at the edges: packs read from a dataset repo at a pinned revision, runs
uploaded from a job and fetched back, Jobs started, inspected and their logs read.

Everything goes through `huggingface_hub` (its endpoint comes from HF_ENDPOINT, its token from
HF_TOKEN or the saved login), so a server on 127.0.0.1 that speaks the same HTTP API stands in
for the Hub in tests.

A Hub reference is written `hf://datasets/OWNER/NAME@REVISION` (a dataset repo) or
`hf://OWNER/NAME@REVISION` (a model repo); the revision is optional but a pack for a job must pin
one. One file of a repo is `hf://datasets/OWNER/NAME@REVISION/PATH/IN/REPO` (a sample file for an
execute job: the revision is required, and has no "/").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

_REF = re.compile(r"^hf://(?:(?P<kind>datasets|models|spaces)/)?(?P<repo>[\w.-]+/[\w.-]+)(?:@(?P<rev>[\w./-]+))?$")


@dataclass(frozen=True)
class HubRef:
    repo_type: str
    repo_id: str
    revision: str | None = None

    def __str__(self) -> str:
        kind = "" if self.repo_type == "model" else f"{self.repo_type}s/"
        return f"hf://{kind}{self.repo_id}" + (f"@{self.revision}" if self.revision else "")


_FILE_REF = re.compile(r"^hf://(?:(?P<kind>datasets|models)/)?(?P<repo>[\w.-]+/[\w.-]+)@(?P<rev>[\w.-]+)/(?P<path>.+)$")


def is_hub_ref(text: str | Path) -> bool:
    return str(text).startswith("hf://")


def parse_ref(text: str) -> HubRef:
    match = _REF.match(text)
    if not match:
        raise InputError(f"not a Hub reference: {text!r} (expected hf://datasets/OWNER/NAME@REVISION)")
    kind = (match["kind"] or "models")[:-1]
    return HubRef(kind, match["repo"], match["rev"])


def parse_file_ref(text: str) -> tuple[HubRef, str]:
    """`hf://datasets/OWNER/NAME@REVISION/PATH` -> (the repo at its revision, PATH)."""
    match = _FILE_REF.match(text)
    if not match or ".." in match["path"].split("/"):
        raise InputError(f"not a Hub file reference: {text!r} (expected hf://datasets/OWNER/NAME@REVISION/PATH)")
    return HubRef((match["kind"] or "models")[:-1], match["repo"], match["rev"]), match["path"]


def file_ref(ref: HubRef, path: str) -> str:
    return f"{ref}/{path}"


def download_file(text: str) -> Path:
    """One file of a repo at its pinned revision, into this machine's cache (kept by revision)."""
    from .io import default_cache_dir

    ref, path = parse_file_ref(text)
    dest = default_cache_dir() / "hub-files" / ref.repo_id.replace("/", "--") / ref.revision
    with _hub_errors(f"downloading {text}"):
        local = api().hf_hub_download(ref.repo_id, path, repo_type=ref.repo_type, revision=ref.revision,
                                      local_dir=str(dest))
    return Path(local)


def upload_file(path: Path, repo_id: str, path_in_repo: str, message: str) -> str:
    """One file into a dataset repo (created private if missing), secret-scanned first; returns the
    commit it made, which is the revision to pin."""
    from .secrets.files import scan_paths

    findings = scan_paths([Path(path)])[0]
    if findings:
        raise InputError(f"upload refused: {len(findings)} secret finding(s): " +
                         "; ".join(f.describe() for f in findings[:5]), path=str(path))
    with _hub_errors(f"uploading {path} to {repo_id}"):
        client = api()
        client.create_repo(repo_id, repo_type="dataset", exist_ok=True, private=True)
        info = client.upload_file(path_or_fileobj=str(path), path_in_repo=path_in_repo, repo_id=repo_id,
                                  repo_type="dataset", commit_message=message)
    return getattr(info, "oid", None) or str(info)


def api():
    """A client for HF_ENDPOINT as it is now (huggingface_hub reads it once, at import)."""
    import os

    from huggingface_hub import HfApi

    return HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None)


def _hub_errors(what: str):
    """Turn the client's HTTP and connection errors into an InputError naming `what`."""
    from contextlib import contextmanager

    @contextmanager
    def wrap():
        from huggingface_hub.errors import HfHubHTTPError

        try:
            yield
        except HfHubHTTPError as exc:
            status = getattr(getattr(exc, "response", None), "status_code", "?")
            raise InputError(f"the Hub refused {what} (HTTP {status}): {str(exc).splitlines()[0]}") from None
        except OSError as exc:  # connection refused, DNS, ...
            raise InputError(f"cannot reach the Hub for {what}: {exc}") from None

    return wrap()


def materialize(ref: HubRef, dest: Path) -> Path:
    """Download a repo at its revision into `dest` (resumable; files already there are kept).
    Processes on one machine that want the same `dest` (the shards of a job) take turns: one
    that found another's half-downloaded folder read it as a model without its config."""
    from filelock import FileLock

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest.parent / f".{dest.name}.lock")), _hub_errors(f"downloading {ref}"):
        path = api().snapshot_download(ref.repo_id, repo_type=ref.repo_type, revision=ref.revision or "main",
                                       local_dir=str(dest))
    return Path(path)


def resolve_pack(pack: str | Path, dest: Path | None = None) -> Path:
    """A local pack directory as is, or a Hub pack downloaded into `dest` (default: this machine's
    cache, one directory per repo and revision)."""
    if not is_hub_ref(pack):
        return Path(pack)
    ref = parse_ref(str(pack))
    if ref.repo_type != "dataset":
        raise InputError(f"a pack lives in a dataset repo: {pack}")
    if dest is None:
        from .io import default_cache_dir

        dest = default_cache_dir() / "hub-packs" / ref.repo_id.replace("/", "--") / (ref.revision or "main")
    return materialize(ref, dest)


def upload_run(folder: Path, repo_id: str, path_in_repo: str, message: str, only: list[str] | None = None) -> str:
    """Upload one seed's run directory (or, with `only`, just those files of it) into a model repo
    (created if missing); returns the commit. Every file is secret-scanned first, as everything
    else that leaves the machine: a finding refuses the upload (nothing is sent)."""
    from .secrets.files import scan_paths

    findings = scan_paths([Path(folder) / name for name in only] if only else [Path(folder)])[0]
    if findings:
        raise InputError(f"upload refused: {len(findings)} secret finding(s): " +
                         "; ".join(f.describe() for f in findings[:5]), path=str(folder))
    with _hub_errors(f"uploading {folder} to {repo_id}"):
        client = api()
        client.create_repo(repo_id, repo_type="model", exist_ok=True, private=True)
        info = client.upload_folder(folder_path=str(folder), repo_id=repo_id, path_in_repo=path_in_repo,
                                    commit_message=message, allow_patterns=only)
    return getattr(info, "oid", None) or str(info)
