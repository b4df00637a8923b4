"""`read_artifact(path)`: any sealed artifact, verified against its manifest (parents included),
then read through the models that wrote it. A registry maps each manifest kind to its reader; a
package may register its own (`register_reader`). Files written by a newer codelewm-eval are
refused, older ones migrated on read (`io.read_versioned`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import InputError

READERS: dict[str, Callable[[Path], Any]] = {}


def register_reader(kind: str, reader: Callable[[Path], Any]) -> None:
    READERS[kind] = reader


def _builtin() -> None:
    from .evidence.compare_stage import ComparisonBundle
    from .evidence.evaluate import EvidenceBundle
    from .execution.results import ExecutionResults
    from .pack.read import Pack

    for kind, reader in (("execution-results", ExecutionResults.read), ("decoy-results", ExecutionResults.read),
                         ("pack", Pack.read), ("evidence", EvidenceBundle.read),
                         ("comparison", ComparisonBundle.read)):
        READERS.setdefault(kind, reader)


def read_artifact(path: str | Path) -> Any:
    """The typed artifact at `path` (a directory with manifest.json, or FILE with FILE.manifest.json)."""
    from .manifest import load_manifest, manifest_path_for

    path = Path(path)
    manifest = manifest_path_for(path)
    if not manifest.is_file():
        raise InputError("no manifest here (expected manifest.json in a directory, or FILE.manifest.json)",
                         path=str(manifest))
    _builtin()
    kind = load_manifest(manifest).kind
    if kind not in READERS:
        raise InputError(f"no typed reader for artifacts of kind {kind!r} (readers: {', '.join(sorted(READERS))}); "
                         "`codelewm-eval manifest verify` checks it", path=str(path))
    return READERS[kind](path)
