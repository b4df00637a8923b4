"""Manifests: what an artifact is made of and where it came from, hash by hash.

A manifest lists its files (sha256, bytes), its parent manifests (path and the sha256 of the
parent manifest file itself), the command and config that made it (with a config hash), the
code version and created_at. Two shapes:

* a directory artifact (a pack, a run): ``DIR/manifest.json`` covers every file in DIR, so
  a file that is there but not listed is *unexpected*;
* a file artifact (execution results): ``FILE.manifest.json`` beside it covers FILE and its
  companions (e.g. ``FILE.summary.json``), and nothing else in that directory.

`verify` checks the manifest itself (its schema version, that its config hashes to the recorded
`config_hash`, that a sidecar lists the artifact it sits beside, and, when the caller says what it
expects, its `kind`), then the files, then each parent recursively; it returns every problem,
never just the first.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from . import __version__
from .errors import InputError
from .io import field_path, remember_sha256, sha256_file, write_json_atomic

SCHEMA_VERSION = 1
DIR_MANIFEST = "manifest.json"
SIDECAR_SUFFIX = ".manifest.json"


class FileEntry(BaseModel):
    path: str = Field(description="relative to the manifest's directory")
    sha256: str
    bytes: int


class ParentRef(BaseModel):
    manifest: str = Field(description="path of the parent manifest, relative to this manifest's directory")
    sha256: str = Field(description="sha256 of the parent manifest file when this artifact was made")


class Manifest(BaseModel):
    schema_version: int = SCHEMA_VERSION
    kind: str = Field(description="what the artifact is: execution-results, pack, run, evidence, ...")
    layout: Literal["directory", "sidecar"]
    files: list[FileEntry]
    parents: list[ParentRef] = Field(default_factory=list)
    command: list[str] = Field(default_factory=list)
    config: dict[str, Any] = Field(default_factory=dict)
    config_hash: str
    code_version: dict[str, str]
    created_at: str


class Problem(BaseModel):
    """One thing that does not verify."""

    manifest: str
    kind: Literal["missing", "changed", "unexpected", "parent", "unreadable", "invalid", "absent"] = Field(
        description="absent: a parent that is not on this machine (a large pack or results left behind, or a pack "
                    "downloaded from the Hub without its inputs). It is reported, with its recorded hash, and is not "
                    "a failure: nothing present is trusted without its hash, and nothing absent is claimed to verify")
    path: str
    detail: str


def config_hash(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def code_version() -> dict[str, str]:
    """The package version, the source commit when it is a git checkout, and the executor hash."""
    version = {"codelewm_eval": __version__}
    source = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=5)
        if commit.returncode == 0:
            dirty = subprocess.run(["git", "-C", str(source), "status", "--porcelain", "--untracked-files=no"],
                                   capture_output=True, text=True, timeout=5)
            version["git_commit"] = commit.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.TimeoutExpired):
        pass
    from .versions import EXECUTOR_VERSION

    version["executor"] = EXECUTOR_VERSION
    return version


def manifest_path_for(target: str | os.PathLike) -> Path:
    """The manifest of a directory, a file artifact, or a manifest path itself."""
    target = Path(target)
    if target.is_dir():
        return target / DIR_MANIFEST
    if target.name.endswith(SIDECAR_SUFFIX) or target.name == DIR_MANIFEST:
        return target
    return target.with_name(target.name + SIDECAR_SUFFIX)


def _hidden(path: Path, base: Path) -> bool:
    """Hidden files and anything under a hidden directory (e.g. the `.cache/huggingface` that a
    Hub download leaves in its folder) are not part of an artifact."""
    return any(part.startswith(".") for part in path.relative_to(base).parts)


def _entry(base: Path, path: Path, known: dict[str, tuple[str, int]]) -> FileEntry:
    rel, size = path.relative_to(base).as_posix(), path.stat().st_size
    digest, known_size = known.get(rel, (None, None))
    if digest is None or known_size != size:
        digest = sha256_file(path)
    else:
        remember_sha256(path, digest)  # verified later in this process without reading it again
    return FileEntry(path=rel, sha256=digest, bytes=size)


def write_manifest(target: str | os.PathLike, kind: str, *, files: list[str | os.PathLike] | None = None,
                   parents: list[str | os.PathLike] = (), command: list[str] | None = None,
                   config: dict | None = None, known: dict[str, tuple[str, int]] | None = None) -> Manifest:
    """Write the manifest of a directory (all its files) or of a file artifact (`files`, the
    artifact first). Parents are artifacts, directories or manifest paths; each must exist.
    `known`: (sha256, bytes) by relative path for files the writer hashed as it wrote them."""
    target = Path(target)
    if target.is_dir():
        layout, base, out = "directory", target, target / DIR_MANIFEST
        paths = sorted(p for p in target.rglob("*") if p.is_file() and p != out and not _hidden(p, target))
    else:
        layout, base, out = "sidecar", target.parent, manifest_path_for(target)
        paths = [Path(p) for p in (files or [target])]
    entries = [_entry(base, p, known or {}) for p in paths]
    parent_refs = []
    for parent in parents:
        pm = manifest_path_for(parent)
        if not pm.exists():
            raise InputError("parent has no manifest", path=str(pm))
        parent_refs.append(ParentRef(manifest=os.path.relpath(pm, base), sha256=sha256_file(pm)))
    config = dict(config or {})
    manifest = Manifest(kind=kind, layout=layout, files=entries, parents=parent_refs, command=list(command or []),
                        config=config, config_hash=config_hash(config), code_version=code_version(),
                        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    write_json_atomic(out, manifest.model_dump(mode="json"))
    return manifest


def load_manifest(path: Path) -> Manifest:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Manifest.model_validate(raw)
    except FileNotFoundError:
        raise InputError("manifest not found", path=str(path)) from None
    except (ValueError, ValidationError) as exc:
        first = exc.errors()[0] if isinstance(exc, ValidationError) else None
        field = field_path(first["loc"]) if first else None
        raise InputError(f"not a valid manifest ({first['msg'] if first else exc})", path=str(path), field=field) from None


def require_verified(target: str | os.PathLike, what: str, kind: str | tuple[str, ...] | None = None) -> Path:
    """The target, if it verifies against its manifest (parents included); else an InputError
    naming the first problem. The one "verify or refuse" every stage uses."""
    if not manifest_path_for(target).exists() and Path(target).exists():
        raise InputError(f"{what}: there is no manifest beside it ({manifest_path_for(target).name}), so it is "
                         "not an artifact this toolkit wrote (or its manifest was removed)", path=str(target))
    problems = failures(verify(target, kind=kind))
    if problems:
        p = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InputError(f"{what} does not verify against its manifest ({p.kind} {p.path}: {p.detail}){more}",
                         path=str(target))
    return Path(target)


def failures(problems: list[Problem]) -> list[Problem]:
    """The problems that fail a verification: all but parents that are not present here."""
    return [p for p in problems if p.kind != "absent"]


def _invalid(path: Path, manifest: Manifest, kind: str | tuple[str, ...] | None) -> list[Problem]:
    """What is wrong with the manifest itself, before any file is hashed."""
    out = []

    def bad(detail: str) -> None:
        out.append(Problem(manifest=str(path), kind="invalid", path=path.name, detail=detail))

    if manifest.schema_version != SCHEMA_VERSION:
        bad(f"schema_version {manifest.schema_version}, this version reads {SCHEMA_VERSION}")
    if config_hash(manifest.config) != manifest.config_hash:
        bad("config_hash does not match the recorded config (the config was edited after the artifact was made)")
    if manifest.layout == "sidecar" or path.name.endswith(SIDECAR_SUFFIX):
        artifact = path.name[:-len(SIDECAR_SUFFIX)] if path.name.endswith(SIDECAR_SUFFIX) else None
        if manifest.layout != "sidecar" or artifact is None:
            bad(f"layout {manifest.layout!r} does not match the file name {path.name}")
        elif artifact not in {e.path for e in manifest.files}:
            bad(f"does not list its artifact {artifact} (it lists {', '.join(e.path for e in manifest.files) or 'nothing'})")
    wanted = (kind,) if isinstance(kind, str) else kind
    if wanted and manifest.kind not in wanted:
        bad(f"kind {manifest.kind!r}, expected {' or '.join(map(repr, wanted))}")
    return out


def verify(target: str | os.PathLike, _seen: set[Path] | None = None, *,
           kind: str | tuple[str, ...] | None = None, memo: dict | None = None) -> list[Problem]:
    """Every problem of the manifest itself (schema version, config hash, a sidecar that does
    not list its artifact, a kind other than `kind`), every missing, changed or unexpected file,
    every parent that does not verify, and (kind "absent") every parent that is not on this
    machine; `failures()` keeps what fails. `memo` (path -> problems) lets many verifications in
    one process share the parents they have in common (a pack behind fifty bundles is hashed once)."""
    path = manifest_path_for(target).resolve()
    seen = _seen if _seen is not None else set()
    if path in seen:
        return []
    seen.add(path)
    if memo is not None and kind is None and path in memo:
        return memo[path]
    problems = _verify(path, seen, kind, memo)
    if memo is not None and kind is None:
        memo[path] = problems
    return problems


def _verify(path: Path, seen: set[Path], kind, memo) -> list[Problem]:
    try:
        manifest = load_manifest(path)
    except InputError as exc:
        return [Problem(manifest=str(path), kind="unreadable", path=str(path), detail=str(exc))]
    base = path.parent
    problems: list[Problem] = _invalid(path, manifest, kind)
    listed = set()
    present = [base / e.path for e in manifest.files if (base / e.path).is_file()]
    if sum(e.bytes for e in manifest.files) < 16 << 20:  # small artifacts: a thread pool costs more than it saves
        digests = {path: sha256_file(path) for path in present}
    else:
        with ThreadPoolExecutor(max_workers=max(1, min(4, len(present)))) as pool:  # hashlib runs outside the GIL
            digests = dict(zip(present, pool.map(sha256_file, present)))
    for entry in manifest.files:
        file = base / entry.path
        listed.add(file.resolve())
        if file not in digests:
            problems.append(Problem(manifest=str(path), kind="missing", path=entry.path, detail="listed but absent"))
            continue
        size = file.stat().st_size
        digest = digests[file]
        if digest != entry.sha256 or size != entry.bytes:
            problems.append(Problem(manifest=str(path), kind="changed", path=entry.path,
                                    detail=f"sha256 {digest[:12]} ({size} bytes), manifest says "
                                           f"{entry.sha256[:12]} ({entry.bytes} bytes)"))
    if manifest.layout == "directory":
        for file in sorted(p for p in base.rglob("*") if p.is_file() and not _hidden(p, base)):
            if file.resolve() != path and file.resolve() not in listed:
                problems.append(Problem(manifest=str(path), kind="unexpected", path=file.relative_to(base).as_posix(),
                                        detail="present but not in the manifest"))
    for parent in manifest.parents:
        pm = (base / parent.manifest).resolve()
        if not pm.is_file():
            problems.append(Problem(manifest=str(path), kind="absent", path=parent.manifest,
                                    detail=f"parent not present here (recorded sha256 {parent.sha256[:12]})"))
            continue
        if sha256_file(pm) != parent.sha256:
            problems.append(Problem(manifest=str(path), kind="parent", path=parent.manifest,
                                    detail="parent manifest changed since this artifact was made"))
        inner = verify(pm, seen, memo=memo)
        if failures(inner):
            problems.append(Problem(manifest=str(path), kind="parent", path=parent.manifest,
                                    detail=f"parent does not verify ({len(inner)} problem(s))"))
            problems.extend(inner)
    return problems


# the `manifest verify` stage

from .stage import StageConfig, StageResult  # noqa: E402  (the base of the stage contract, no cycle)


class VerifyConfig(StageConfig):
    target: Path = Field(description="an artifact directory, a file artifact, or a manifest path")

    def command(self) -> list[str]:
        return ["codelewm-eval", "manifest", "verify", str(self.target)]


class VerifyResult(StageResult):
    """Whether an artifact matches its manifest, parents included; `absent_parents` are not failures."""

    schema_version: int = 1
    manifest: str
    ok: bool
    absent_parents: list[Problem]
    problems: list[Problem]

    def text(self) -> str:
        lines = [f"{self.manifest}: {len(self.problems)} problem(s)"] if self.problems else [
            f"{self.manifest}: ok" + (f" ({len(self.absent_parents)} parent(s) not present here)"
                                      if self.absent_parents else "")]
        lines += [f"  {p.kind:10s} {p.path}: {p.detail}  [{p.manifest}]" for p in self.problems + self.absent_parents]
        return "\n".join(lines)

    def exit_code(self) -> int:
        return 0 if self.ok else 1


def verify_stage(config: VerifyConfig, command: list[str] | None = None) -> VerifyResult:
    from .errors import InputError

    path = manifest_path_for(config.target)
    if not path.exists():
        raise InputError("no manifest here (expected manifest.json in a directory, or FILE.manifest.json)",
                         path=str(path))
    everything = verify(config.target)
    problems = failures(everything)
    return VerifyResult(manifest=str(path), ok=not problems, problems=problems,
                        absent_parents=[p for p in everything if p.kind == "absent"])
