"""Values across the sandbox boundary: tagged JSON that decodes only into genuine builtins;
anything else stays behind as a numbered reference; huge io outputs as exact digests."""

from __future__ import annotations

import json
import math

_PLAIN_SCALARS = (type(None), bool, int, str)


def encode_value(obj, refs: dict, depth: int = 0):
    """C side: turn a value into tagged JSON. Non-plain values become references."""
    if depth > 200:
        raise ValueError("value nested too deeply")
    t = type(obj)
    if t is Digest:
        return {"$": "digest", "sha256": obj.sha256, "kind": obj.kind, "items": obj.items}
    if t is int and obj.bit_length() > 12000:
        # beyond the decimal-conversion limit: hex has none
        return {"$": "int", "v": format(obj, "x")}
    if t in _PLAIN_SCALARS:
        return obj
    if t is float:
        if math.isfinite(obj):
            return obj
        return {"$": "float", "v": repr(obj)}
    if t is list:
        if _plain_list(obj):
            return list(obj)
        return [encode_value(x, refs, depth + 1) for x in obj]
    if t is tuple:
        return {"$": "tuple", "v": [encode_value(x, refs, depth + 1) for x in obj]}
    if t is dict:
        return {"$": "dict", "v": [[encode_value(k, refs, depth + 1), encode_value(v, refs, depth + 1)] for k, v in obj.items()]}
    if t is set or t is frozenset:
        return {"$": t.__name__, "v": [encode_value(x, refs, depth + 1) for x in obj]}
    if t is complex:
        return {"$": "complex", "v": [repr(obj.real), repr(obj.imag)]}
    if t is bytes:
        return {"$": "bytes", "v": obj.hex()}
    # Subclasses of builtin scalars are copied out as the exact builtin value (their own
    # __eq__ stays behind); numpy scalars become the Python number they hold.
    if isinstance(obj, bool):
        return bool(int.__index__(obj))
    if isinstance(obj, int):
        return encode_value(int.__index__(obj), refs, depth + 1)
    if isinstance(obj, float):
        return encode_value(float.__float__(obj), refs, depth + 1)
    if isinstance(obj, str):
        return str.__getitem__(obj, slice(None))
    # Subclasses of builtin containers (Counter, defaultdict, OrderedDict, namedtuple, ...)
    # are copied out as the builtin container, read through the base class's own methods so
    # that overridden ones cannot change what is reported.
    if isinstance(obj, dict):
        return {"$": "dict", "v": [[encode_value(k, refs, depth + 1), encode_value(v, refs, depth + 1)]
                                   for k, v in dict.items(obj)]}
    if isinstance(obj, list):
        return [encode_value(x, refs, depth + 1) for x in list.__iter__(obj)]
    if isinstance(obj, tuple):
        return {"$": "tuple", "v": [encode_value(x, refs, depth + 1) for x in tuple.__iter__(obj)]}
    if isinstance(obj, frozenset):
        return {"$": "frozenset", "v": [encode_value(x, refs, depth + 1) for x in frozenset.__iter__(obj)]}
    if isinstance(obj, set):
        return {"$": "set", "v": [encode_value(x, refs, depth + 1) for x in set.__iter__(obj)]}
    mod = getattr(t, "__module__", "")
    if mod == "numpy" and hasattr(obj, "item") and getattr(obj, "ndim", None) == 0:
        return encode_value(obj.item(), refs, depth + 1)
    ref_id = len(refs) + 1
    refs[ref_id] = obj
    return {"$": "ref", "id": ref_id, "type": t.__name__[:80]}


_INT_LIMIT = 1 << 12000  # an int at or past this crosses as hex (bit_length over 12000)


def _plain_list(obj: list) -> bool:
    """Whether a list's items are all of one exact type that JSON carries unchanged (str, bool,
    an int under the hex limit, a finite float): encoded as a copy, without a call per item."""
    if not obj:
        return True
    kinds = set(map(type, obj))
    if len(kinds) != 1:
        return False
    (kind,) = kinds
    if kind is str or kind is bool:
        return True
    if kind is int:
        return -_INT_LIMIT < min(obj) and max(obj) < _INT_LIMIT
    if kind is float:
        return all(map(math.isfinite, obj))
    return False


class DecodeError(Exception):
    pass


DIGEST_OVER_BYTES = 16 << 20  # estimated marshal size above which only a digest crosses


class Digest:
    """Stands for a huge output (io benchmarks): equal only to a Digest of the same bytes."""

    __slots__ = ("sha256", "kind", "items")

    def __init__(self, sha256: str, kind: str, items: int):
        self.sha256, self.kind, self.items = sha256, kind, items

    def __eq__(self, other):
        return type(other) is Digest and other.sha256 == self.sha256 and other.kind == self.kind

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(self.sha256)

    def __repr__(self):
        return f"<digest of a {self.kind} of {self.items} items: {self.sha256[:12]}>"


DIGEST_STR_OVER = 1 << 16  # characters above which a string crosses as its digest (plain-equality tasks)


def digest_of(obj, strings: bool = False) -> dict | None:
    """A SHA-256 over the marshal v0 bytes (no shared references) of each top-level item
    (sorted for dicts and sets); exact. None unless the value is a builtin container whose
    items would take more than DIGEST_OVER_BYTES to send, or (with `strings`, for tasks whose
    oracle is plain equality) a string over DIGEST_STR_OVER characters: a SHA-256 of its UTF-8
    bytes, as equal as the string itself, so that HumanEval/15's megabytes of digits stay put."""
    import hashlib
    import marshal

    if strings and isinstance(obj, str) and len(obj) > DIGEST_STR_OVER:
        h = hashlib.sha256(b"str\0")
        h.update(str.encode(obj, "utf-8", "surrogatepass"))
        return {"$": "digest", "sha256": h.hexdigest(), "kind": "str", "items": str.__len__(obj)}
    if isinstance(obj, dict):
        kind, items = "dict", dict.items(obj)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        kind = "list" if isinstance(obj, list) else "tuple" if isinstance(obj, tuple) else "set"
        items = obj
    else:
        return None
    if len(obj) < 1000:
        return None
    sample = [len(marshal.dumps(item, 0)) for item, _ in zip(items, range(200))]
    if len(obj) * (sum(sample) / len(sample)) <= DIGEST_OVER_BYTES:
        return None
    h = hashlib.sha256(kind.encode())
    # dict and set items are hashed in sorted order; sequences stream in their own order
    parts = sorted(marshal.dumps(item, 0) for item in items) if kind in ("dict", "set") else (
        marshal.dumps(item, 0) for item in items)
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return {"$": "digest", "sha256": h.hexdigest(), "kind": kind, "items": len(obj)}


def decode_value(tree, make_ref, depth: int = 0):
    """T side: rebuild genuine builtin values from tagged JSON; nothing else gets through."""
    if depth > 400:
        raise DecodeError("value nested too deeply")
    t = type(tree)
    if tree is None or t is bool or t is int or t is str or t is float:
        return tree
    if t is list:
        return [decode_value(x, make_ref, depth + 1) for x in tree]
    if t is not dict or "$" not in tree:
        raise DecodeError("malformed value")
    tag = tree["$"]
    v = tree.get("v")
    if tag == "tuple":
        return tuple(decode_value(x, make_ref, depth + 1) for x in _list(v))
    if tag == "dict":
        out = {}
        for pair in _list(v):
            if type(pair) is not list or len(pair) != 2:
                raise DecodeError("malformed dict item")
            out[decode_value(pair[0], make_ref, depth + 1)] = decode_value(pair[1], make_ref, depth + 1)
        return out
    if tag == "set":
        return {decode_value(x, make_ref, depth + 1) for x in _list(v)}
    if tag == "frozenset":
        return frozenset(decode_value(x, make_ref, depth + 1) for x in _list(v))
    if tag == "int":
        if type(v) is not str or not v or len(v) > 10_000_000:
            raise DecodeError("malformed int")
        return int(v, 16)
    if tag == "float":
        if v not in ("nan", "inf", "-inf"):
            raise DecodeError("malformed float")
        return float(v)
    if tag == "complex":
        parts = _list(v)
        if len(parts) != 2 or not all(type(p) is str for p in parts):
            raise DecodeError("malformed complex")
        return complex(float(parts[0]), float(parts[1]))
    if tag == "bytes":
        if type(v) is not str:
            raise DecodeError("malformed bytes")
        return bytes.fromhex(v)
    if tag == "digest":
        sha, kind, items = tree.get("sha256"), tree.get("kind"), tree.get("items")
        if type(sha) is not str or len(sha) != 64 or kind not in ("dict", "list", "tuple", "set", "str") or type(items) is not int:
            raise DecodeError("malformed digest")
        return Digest(sha, kind, items)
    if tag == "ref":
        ref_id = tree.get("id")
        if type(ref_id) is not int:
            raise DecodeError("malformed reference")
        return make_ref(ref_id, str(tree.get("type", "object"))[:80])
    raise DecodeError(f"unknown tag {tag!r}")


def _list(v):
    if type(v) is not list:
        raise DecodeError("expected a list")
    return v


def _json_default(o):  # pragma: no cover - encode_value only yields JSON-able values
    raise TypeError(type(o).__name__)


_ENCODER = json.JSONEncoder(allow_nan=False, default=_json_default, separators=(",", ":"))


def dumps(tree) -> bytes:
    return _ENCODER.encode(tree).encode()
