"""One way to write a directory artifact: build it in a hidden sibling, seal it, swap it in.

`staged_directory(OUT)` yields an empty hidden directory beside OUT (`.OUT.XXXX.building`). The
caller writes every file and the manifest there. On a normal exit the directory replaces OUT: an
earlier artifact is moved aside first and removed only once the new one is in place, so a crash
at any moment leaves either the old artifact or the new one, never a mix. On an error the staging
directory is removed and OUT is untouched. Leftovers of a killed build (`.OUT.*.building`,
`.OUT.*.old`) are removed by the next build; the CLI holds the output's lock, so none is live.
Manifests record their parents relative to the manifest's directory, and the staging directory
has the same parent as OUT, so the rename keeps them valid.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import InputError
from .io import check_output, current_umask


def clear_leftovers(out_dir: Path) -> None:
    for pattern in (f".{out_dir.name}.*.building", f".{out_dir.name}.*.old"):
        for stale in out_dir.parent.glob(pattern):
            shutil.rmtree(stale, ignore_errors=True)


@contextlib.contextmanager
def staged_directory(out_dir: str | os.PathLike) -> Iterator[Path]:
    out_dir = check_output(out_dir, directory=True, sealed=False)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        clear_leftovers(out_dir)
        work = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".building", dir=out_dir.parent))
        os.chmod(work, 0o777 & ~current_umask())  # mkdtemp makes 0700; the artifact follows the umask
    except OSError as exc:
        raise InputError(f"cannot write here ({exc.strerror or exc})", path=str(out_dir)) from None
    try:
        yield work
        old = None
        try:
            if out_dir.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=out_dir.parent))
                os.replace(out_dir, old / "artifact")
            os.replace(work, out_dir)
        except OSError as exc:
            if old is not None and not out_dir.exists():
                os.replace(old / "artifact", out_dir)  # put the earlier artifact back
            raise InputError(f"cannot write ({exc.strerror or exc})", path=str(out_dir)) from None
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
