"""File edges: reading JSON Lines (plain or gzip) with line numbers, and atomic writes."""

from __future__ import annotations

import contextlib
import errno
import gc
import gzip
import json
import os
import re
import stat
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

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


# the codecs that read (and drop) the byte-order mark they start with
_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xef\xbb\xbf", "utf-8-sig"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def text_encoding(head: bytes) -> str | None:
    """The encoding of a text file from its first bytes: a byte-order mark, else UTF-16 without one
    (NUL bytes in every other position), else UTF-8; None for binary (NUL bytes otherwise)."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    if b"\0" not in head:
        return "utf-8"
    sample = head[: len(head) // 2 * 2]
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    pairs = max(1, len(sample) // 2)
    if odd > 0.3 * pairs and even < 0.05 * pairs:
        return "utf-16-le"
    if even > 0.3 * pairs and odd < 0.05 * pairs:
        return "utf-16-be"
    return None


def decode_text(data: bytes) -> tuple[str, bool]:
    """(text, is_text) of a file's bytes, decoded once with the encoding detected (BOMs, UTF-16
    with or without a BOM). Bytes that are not text decode as UTF-8 with every NUL read as a space,
    so a scanner still sees the printable runs; is_text is then False."""
    encoding = text_encoding(data[:8192])
    if encoding is None:
        return data.replace(b"\0", b" ").decode("utf-8", errors="replace"), False
    return data.decode(encoding, errors="replace"), True


def _unique_keys(pairs: list) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        key = next(k for i, (k, _) in enumerate(pairs) if k in dict(pairs[:i]))
        raise json.JSONDecodeError(f"key {key!r} is given twice in one object", "", 0)
    return out


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict]]:
    """Yield (line_number, object) for each non-blank line; malformed lines are InputErrors."""
    with open_text(path) as fh:
        try:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line, object_pairs_hook=_unique_keys)
                except json.JSONDecodeError as exc:
                    where = "" if "given twice" in exc.msg else f", column {exc.colno}"
                    raise InputError(f"malformed JSON ({exc.msg}{where})", path=str(path), line=number) from None
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


# what pydantic adds to an error's location that is no field of the user's file (the member of a
# union it tried: `timeout.str`, `scores.p_pass.float`)
_TYPE_STEP = re.compile(r"^(?:str|int|float|bool|bytes|none|list\[.*\]|dict\[.*\]|set\[.*\]|tuple\[.*\]|"
                        r"literal\[.*\]|function-\w+\[.*\]|constrained-\w+|is-instance\[.*\]|"
                        r"lax-or-strict\[.*\]|json-or-python\[.*\]|tagged-union\[.*\]|nullable\[.*\]|"
                        r"union\[.*\]|chain\[.*\]|default\[.*\])$")


def field_path(loc: tuple) -> str | None:
    """A pydantic location as the user's field path: `scores.p_pass`, `seeds.0`."""
    return ".".join(str(x) for x in loc if not (isinstance(x, str) and _TYPE_STEP.match(x))) or None


def validation_problem(exc, what: str) -> tuple[str, str | None]:
    """(message, field) of a pydantic ValidationError, for an error that names file and line."""
    err = exc.errors()[0]
    if err["type"] == "json_invalid":  # "key must be a string at line 1 column 9": the line is named already
        detail = re.sub(r" at line \d+ column (\d+)$", r", column \1", str((err.get("ctx") or {}).get("error", "")))
        return f"malformed JSON ({detail})", None
    return f"not {what} ({err['msg']})", field_path(err["loc"])


class BadLine(Exception):
    """A line a model refuses: (message, line number, field)."""

    def __init__(self, message: str, line: int, field: str | None):
        super().__init__(message)
        self.where = (message, line, field)


def validate_lines(numbered: Iterable[tuple[int, bytes]], model, what: str) -> Iterator[tuple[int, Any]]:
    """(line number, model) for every non-blank numbered line, validated by pydantic straight
    from its bytes (the exact verdict); the first bad line raises BadLine, naming its field."""
    from pydantic import ValidationError

    for number, line in numbered:
        if not line.strip():
            continue
        try:
            yield number, model.model_validate_json(line)
        except ValidationError as exc:
            message, field = validation_problem(exc, what)
            raise BadLine(message, number, field) from None


def iter_models(path: str | os.PathLike, model, what: str) -> Iterator[tuple[int, Any]]:
    """(line number, model) for every non-blank line of a JSONL file, validated straight from
    its bytes; a bad line is an InputError naming file, line and field."""
    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror or exc})", path=str(path)) from None
    with fh:
        try:
            yield from validate_lines(enumerate(fh, start=1), model, what)
        except BadLine as bad:
            message, line, field = bad.where
            raise InputError(message, path=str(path), line=line, field=field) from None


def read_list_file(path: str | os.PathLike, what: str) -> set[str]:
    """The entries of a one-per-line list file (blank lines and # comments ignored)."""
    try:
        text, is_text = decode_text(Path(path).read_bytes())
    except OSError as exc:
        raise InputError(f"cannot read {what} ({exc.strerror or exc})", path=str(path)) from None
    if not is_text:
        raise InputError(f"the {what} is not text (binary bytes)", path=str(path))
    lines = text.splitlines()
    return {line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()}


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


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# directory artifacts sealed by a manifest: nothing is written inside one after it is sealed (a run
# directory is a container its own stages write into, and is not listed)
SEALED_KINDS = {"evidence", "comparison", "pack", "report", "surgery-run", "surgery-harvest"}


def check_output(path: str | os.PathLike, *, directory: bool = False, inputs: Iterable = (),
                 sealed: bool = True) -> Path:
    """The one boundary for a path a verb writes: a new path, or an existing regular file (a
    directory for a directory artifact) that is replaced. A device, FIFO, socket or symbolic link
    is never replaced, a symbolic-link loop is refused, and so is a path inside a sealed artifact
    or inside (or equal to) an input. InputError naming the path otherwise. The writers themselves
    (`atomic_writer`, `staged_directory`) check the kind of file only (`sealed=False`): sealing
    writes the manifest into the artifact, and the CLI has checked the user's paths before any work."""
    path = Path(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise InputError(f"cannot be written ({exc.strerror or exc}: a symbolic-link loop?)", path=str(path)) from None
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            raise InputError("is a symbolic link; it is not replaced: give the path it points to, or a new path",
                             path=str(path))
        if directory and not stat.S_ISDIR(st.st_mode):
            raise InputError("exists and is not a directory; it is not replaced", path=str(path))
        if not directory and not stat.S_ISREG(st.st_mode):
            what = "a directory" if stat.S_ISDIR(st.st_mode) else "a device, FIFO or socket"
            raise InputError(f"exists and is {what}, not a regular file; it is not replaced", path=str(path))
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError) as exc:
        raise InputError(f"cannot be resolved ({exc}: a symbolic-link loop?)", path=str(path)) from None
    for parent in resolved.parents if sealed else ():
        if parent.name.endswith(".building"):
            break  # a directory artifact being built: its own files
        kind = _sealed_kind(parent)
        if kind:
            raise InputError(f"is inside the sealed {kind} artifact {parent}: writing there would break its "
                             "manifest; give a path outside it", path=str(path))
    for source in inputs:
        source = Path(source).resolve()
        if resolved == source or source in resolved.parents or (directory and resolved in source.parents):
            raise InputError(f"would write over or inside an input ({source}); give an output path of its own",
                             path=str(path))
    return path


def _sealed_kind(directory: Path) -> str | None:
    manifest = directory / "manifest.json"
    if not manifest.is_file():
        return None
    try:
        kind = json.loads(manifest.read_text(encoding="utf-8")).get("kind")
    except (OSError, ValueError, AttributeError):
        return None
    return kind if kind in SEALED_KINDS else None


_FILE_MODE = 0o666 & ~current_umask()  # what open() would have given: atomic files follow the umask too


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike, mode: str = "w"):
    """Write to a temporary file beside `path` and rename it into place only on success. A
    `.gz` path is written gzip-compressed; the file's mode follows the umask. A location that
    cannot be written (read-only, full, a directory in the way) is an InputError naming it."""
    path = check_output(path, sealed=False)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.fchmod(fd, _FILE_MODE)
    except OSError as exc:
        raise InputError(f"cannot write here ({exc.strerror or exc})", path=str(path)) from None
    try:
        with os.fdopen(fd, "wb") as raw:
            if path.suffix == ".gz":
                with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as packed:
                    with _text_or_binary(packed, mode) as fh:
                        yield fh
            else:
                with _text_or_binary(raw, mode) as fh:
                    yield fh
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if exc.errno == errno.ENOSPC:  # not bad input: the disk is full (exit 1, naming the file)
            raise OSError(errno.ENOSPC, "No space left on device", str(path)) from None
        raise InputError(f"cannot write ({exc.strerror or exc})", path=str(path)) from None
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def _text_or_binary(binary, mode: str):
    if "b" in mode:
        yield binary
        return
    import io as _io

    text = _io.TextIOWrapper(binary, encoding="utf-8", newline="")
    try:
        yield text
        text.flush()
    finally:
        text.detach()


def write_json_atomic(path: str | os.PathLike, obj: Any) -> None:
    with atomic_writer(path) as fh:
        json.dump(obj, fh, indent=2, sort_keys=True)
        fh.write("\n")


# sha256 of files this process hashed (or wrote and hashed as it wrote them), by the file's
# identity and state: device, inode, size, mtime and ctime (the kernel moves ctime on every
# write, so a file changed since is hashed again). A pipeline that builds a pack and then
# preflights it, or verifies one pack behind many bundles, reads each file once.
_DIGESTS: dict[tuple, str] = {}
_DIGESTS_LOCK = threading.Lock()


def _identity(path: str | os.PathLike) -> tuple:
    st = os.stat(path)
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def remember_sha256(path: str | os.PathLike, digest: str) -> None:
    """A digest computed while writing `path` (it must be the file's content now)."""
    with _DIGESTS_LOCK:
        _DIGESTS[_identity(path)] = digest


def sha256_file(path: str | os.PathLike) -> str:
    import hashlib

    key = _identity(path)
    with _DIGESTS_LOCK:
        if key in _DIGESTS:
            return _DIGESTS[key]
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(8 << 20), b""):
            h.update(chunk)
    if _identity(path) == key:  # unchanged while it was read
        with _DIGESTS_LOCK:
            _DIGESTS[key] = h.hexdigest()
    return h.hexdigest()


def line_ranges(path: str | os.PathLike, parts: int) -> list[tuple[int, int]]:
    """Split a file into up to `parts` byte ranges that start and end on line boundaries."""
    size = os.path.getsize(path)
    if size == 0:
        return []
    cuts = [0]
    with open(path, "rb") as fh:
        for k in range(1, parts):
            fh.seek(max(cuts[-1], size * k // parts))
            fh.readline()
            if fh.tell() >= size:
                break
            if fh.tell() > cuts[-1]:
                cuts.append(fh.tell())
    return list(zip(cuts, cuts[1:] + [size]))


def iter_range_lines(path: str | os.PathLike, start: int, end: int) -> Iterator[tuple[int, bytes]]:
    """(line number within the range, line) for the lines of a byte range (a .gz file: all of it)."""
    if str(path).endswith(".gz"):
        with gzip.open(path, "rb") as fh:
            yield from enumerate(fh, start=1)
        return
    with open(path, "rb") as fh:
        fh.seek(start)
        number, pos = 0, start
        while pos < end:
            line = fh.readline()
            if not line:
                break
            number += 1
            pos += len(line)
            yield number, line


def line_number_at(path: str | os.PathLike, offset: int) -> int:
    """How many lines precede byte `offset` (to report an error found in a range by file line)."""
    count, done = 0, 0
    with open(path, "rb") as fh:
        while done < offset:
            block = fh.read(min(1 << 24, offset - done))
            if not block:
                break
            count += block.count(b"\n")
            done += len(block)
    return count


PARALLEL_MIN_BYTES = 32 << 20  # smaller files are read in one process (forking costs more than it saves)


def map_ranges(fn, path: str | os.PathLike, workers: int, *args, alongside=None) -> list:
    """(start, end, fn(path, start, end, index, *args)) over line-aligned ranges of a file, in
    forked worker processes when the file is big enough to be worth it; in file order.
    `alongside()` runs in this process while the workers work (after they are forked)."""
    size = os.path.getsize(path)
    parts = 1 if workers <= 1 or size < PARALLEL_MIN_BYTES or str(path).endswith(".gz") else workers
    ranges = line_ranges(path, parts)
    calls = [(path, start, end, index, *args) for index, (start, end) in enumerate(ranges)]
    if len(calls) <= 1:
        results = [fn(*call) for call in calls]
        if alongside is not None:
            alongside()
    else:
        from .workers import worker_pool

        with worker_pool(workers) as pool:
            pending = pool.starmap_async(fn, calls, chunksize=1)
            if alongside is not None:
                alongside()
            results = pending.get()
    return [(start, end, result) for (start, end), result in zip(ranges, results)]


@contextlib.contextmanager
def no_gc():
    """Bulk work that makes millions of small acyclic objects: the cyclic collector would only
    rescan them again and again (quadratic in effect), so it is paused."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def default_cache_dir() -> Path:
    """$CODELEWM_CACHE, else $XDG_CACHE_HOME/codelewm-eval, else ~/.cache/codelewm-eval."""
    base = os.environ.get("CODELEWM_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "codelewm-eval")
    return Path(base)


def read_yaml(path: str | os.PathLike, what: str) -> tuple[Any, str]:
    """(parsed YAML, its text); a missing file or malformed YAML is an InputError naming the
    file and, where YAML knows it, the line."""
    import yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
        return yaml.load(text, Loader=_unique_key_loader()), text
    except FileNotFoundError:
        raise InputError(f"{what} not found", path=str(path)) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{what} is not UTF-8 text ({exc.reason} at byte {exc.start})", path=str(path)) from None
    except IsADirectoryError:
        raise InputError(f"{what} is a directory, not a file", path=str(path)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"malformed YAML ({getattr(exc, 'problem', exc)})", path=str(path),
                         line=None if mark is None else mark.line + 1) from None


_LOADER = None


def _unique_key_loader():
    """yaml.SafeLoader that refuses a key given twice in one mapping (the last would win silently)."""
    global _LOADER
    if _LOADER is None:
        import yaml

        class UniqueKeyLoader(yaml.SafeLoader):
            def construct_mapping(self, node, deep=False):
                seen = set()
                for key_node, _ in node.value:
                    key = self.construct_object(key_node, deep=deep)
                    if key in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"key {key!r} is given twice in one mapping", key_node.start_mark)
                    seen.add(key)
                return super().construct_mapping(node, deep)

        _LOADER = UniqueKeyLoader
    return _LOADER


def yaml_line_of(text: str):
    """A function from a field's location (as pydantic gives it: keys and list indexes) to the
    line of the YAML text that holds it, or of its nearest enclosing key; None where unknown."""
    import yaml
    from yaml.nodes import MappingNode, SequenceNode

    lines: dict[tuple, int] = {}

    def walk(node, where: tuple) -> None:
        if isinstance(node, MappingNode):
            for key, value in node.value:
                here = (*where, key.value)
                lines[here] = key.start_mark.line + 1
                walk(value, here)
        elif isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                lines[(*where, index)] = item.start_mark.line + 1
                walk(item, (*where, index))

    try:
        walk(yaml.compose(text), ())
    except yaml.YAMLError:
        pass

    def line_of(loc) -> int | None:
        loc = tuple(loc)
        while loc:
            if loc in lines:
                return lines[loc]
            loc = loc[:-1]
        return None

    return line_of


def validated(model, raw: Any, path: str | os.PathLike, line_of=None):
    """`model` from parsed YAML/JSON; the first validation error is an InputError naming the
    field (and its line, when `line_of(loc)` knows it)."""
    from pydantic import ValidationError

    try:
        return model.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        err = exc.errors()[0]
        raise InputError(err["msg"], path=str(path), line=line_of(err["loc"]) if line_of else None,
                         field=field_path(err["loc"])) from None


# Migrations of older file versions, applied on read: (model name, version) -> a function turning
# that version's parsed JSON into the next version's. A reader never writes the old file back.
MIGRATIONS: dict[tuple[str, int], Any] = {}


def read_versioned(model, path: str | os.PathLike):
    """`model` from the JSON file at `path`: a file written by a newer codelewm-eval (its
    schema_version above the model's) is refused, naming the file; an older one is migrated on
    read, version by version (MIGRATIONS), then validated."""
    raw = read_json(path)
    newest = model.model_fields["schema_version"].default if "schema_version" in model.model_fields else None
    version = raw.get("schema_version") if isinstance(raw, dict) else None
    if newest is not None and isinstance(version, int) and not isinstance(version, bool):
        if version > newest:
            raise InputError(f"written by a newer codelewm-eval (schema_version {version}; this version reads up to "
                             f"{newest}): upgrade codelewm-eval to read it", path=str(path), field="schema_version")
        while version < newest and (model.__name__, version) in MIGRATIONS:
            raw = MIGRATIONS[(model.__name__, version)](raw)
            version = raw["schema_version"] = version + 1
    return validated(model, raw, path)
