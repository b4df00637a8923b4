"""The executor's version: a hash of the code that runs inside the sandbox (how values cross it
decides the expected outputs and the labels). Read from the files, not imported, so that the
manifest writer at the base does not import the execution layer."""

from __future__ import annotations

import hashlib
from pathlib import Path

INSIDE = Path(__file__).resolve().parent / "sandbox" / "inside"


def _executor_version() -> str:
    h = hashlib.sha256()
    for path in sorted(INSIDE.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


EXECUTOR_VERSION = _executor_version()
