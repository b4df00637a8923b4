"""File edges: reading JSON Lines (plain or gzip) with line numbers, and atomic writes."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

from .errors import InputError


def open_text(path: str | os.PathLike):
    path = Path(path)
    try:
        if path.suffix == ".gz":
            return gzip.open(path, "rt", encoding="utf-8")
        return open(path, "r", encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", path=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror or exc})", path=str(path)) from None


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict]]:
    """Yield (line_number, object) for each non-blank line; malformed lines are InputErrors."""
    with open_text(path) as fh:
        try:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InputError(f"malformed JSON ({exc.msg} at column {exc.colno})", path=str(path), line=number) from None
                if not isinstance(obj, dict):
                    raise InputError("expected a JSON object", path=str(path), line=number)
                yield number, obj
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read file ({exc})", path=str(path)) from None


def read_models(path: str | os.PathLike, model, what: str) -> list:
    """Every line of a JSONL file as `model`; a bad line is an InputError naming file and line."""
    out = []
    for line, rec in iter_jsonl(path):
        try:
            out.append(model.model_validate(rec))
        except Exception as exc:  # noqa: BLE001 - pydantic's ValidationError, summarized
            raise InputError(f"not {what} ({str(exc).splitlines()[0]})", path=str(path), line=line) from None
    return out


def read_json(path: str | os.PathLike) -> Any:
    with open_text(path) as fh:
        try:
            return json.load(fh)
        except json.JSONDecodeError as exc:
            raise InputError(f"malformed JSON ({exc.msg})", path=str(path), line=exc.lineno) from None
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read file ({exc})", path=str(path)) from None


def require(obj: dict, field: str, kind: type | tuple, *, path: str, line: int | None):
    if field not in obj:
        raise InputError("missing field", path=path, line=line, field=field)
    value = obj[field]
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise InputError(f"expected {names}, got {type(value).__name__}", path=path, line=line, field=field)
    return value


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike, mode: str = "w"):
    """Write to a temporary file beside `path` and rename it into place only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    with atomic_writer(path) as fh:
        json.dump(obj, fh, indent=2, sort_keys=True)
        fh.write("\n")


def sha256_file(path: str | os.PathLike) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
