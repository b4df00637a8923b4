"""JSONL lines read in blocks by Arrow's C++ JSON reader, accepted only as the pydantic model
would accept them; pydantic decides everything else.

A pack or a results file of a million lines is validated line by line by pydantic at ~10 us a
line; Arrow parses a block of lines into typed columns at a few hundred MB/s. `read_block`
returns those columns only when every line of the block is one the model accepts with the same
values: Arrow's parser is stricter than pydantic's lax mode (no number for a string or a bool,
no float for an int, no key twice, no second object on a line), and what Arrow cannot tell
apart (a required field missing or null, a value outside a Literal, a blank line) is checked on
the columns. Anything else returns None, and the caller validates that block line by line with
pydantic, which names the file, line and field of a bad one. The fast path never accepts what
the model refuses: `tests/test_arrow_rows.py` holds both to the same verdicts and values.
"""

from __future__ import annotations

import types
import typing
from functools import cache

from pydantic import BaseModel

BLOCK_BYTES = 8 << 20


@cache
def has_arrow() -> bool:
    """pyarrow is a dependency; a source checkout without it still reads, line by line."""
    try:
        import pyarrow.json  # noqa: F401
    except ImportError:
        return False
    return True


def _arrow_type(pa, annotation):
    """(Arrow type, nullable, allowed literal values or None) for a field annotation."""
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        kinds = [a for a in args if a is not type(None)]
        if len(kinds) != 1:
            raise TypeError(f"unsupported union {annotation}")
        kind, _, literals = _arrow_type(pa, kinds[0])
        return kind, True, literals
    if origin is typing.Literal:
        if not all(isinstance(a, str) for a in args):
            raise TypeError(f"unsupported literal {annotation}")
        return pa.string(), False, frozenset(args)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return pa.struct([pa.field(name, _arrow_type(pa, f.annotation)[0])
                          for name, f in annotation.model_fields.items()]), False, None
    simple = {str: pa.string(), bool: pa.bool_(), int: pa.int64(), float: pa.float64()}
    if annotation in simple:
        return simple[annotation], False, None
    raise TypeError(f"unsupported field type {annotation}")


@cache
def arrow_schema(model: type[BaseModel]):
    """The Arrow schema a model's JSON lines parse into (field order kept)."""
    import pyarrow as pa

    return pa.schema([pa.field(name, _arrow_type(pa, f.annotation)[0]) for name, f in model.model_fields.items()])


@cache
def _rules(model: type[BaseModel]) -> tuple:
    """(path, must be non-null, allowed values or None) for every field, nested ones included.
    A field that may not be null must be present and non-null (missing and null look alike in
    Arrow, and a default is only for a field that is missing: such a column, if null anywhere,
    sends the block to pydantic)."""
    import pyarrow as pa

    out = []

    def walk(m, prefix):
        for name, f in m.model_fields.items():
            _, nullable, literals = _arrow_type(pa, f.annotation)
            out.append((prefix + (name,), not nullable, literals))
            inner = typing.get_args(f.annotation) or (f.annotation,)
            for kind in inner:
                if isinstance(kind, type) and issubclass(kind, BaseModel):
                    walk(kind, prefix + (name,))

    walk(model, ())
    return tuple(out)


def _column(table, path):
    import pyarrow.compute as pc

    column = table.column(path[0])
    for name in path[1:]:
        column = pc.struct_field(column, name)
    return column


def _parent_present(table, path):
    """Rows where the field's enclosing struct is there (a null struct's fields are not asked)."""
    import pyarrow.compute as pc

    if len(path) == 1:
        return None
    return pc.is_valid(_column(table, path[:-1]))


def read_block(block: bytes, model: type[BaseModel]):
    """The block's lines (complete, newline-terminated) as an Arrow table of the model's fields,
    or None when pydantic must decide (a line it may refuse, or one Arrow reads differently)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pj

    if not block:
        return None
    options = pj.ParseOptions(explicit_schema=arrow_schema(model), unexpected_field_behavior="ignore",
                              newlines_in_values=False)
    try:
        table = pj.read_json(pa.BufferReader(block), read_options=pj.ReadOptions(use_threads=False,
                                                                                  block_size=len(block) + 1),
                             parse_options=options)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != block.count(b"\n") + (not block.endswith(b"\n")):
        return None  # a blank line, or two objects on one line
    for path, required, literals in _rules(model):
        column = _column(table, path)
        present = _parent_present(table, path)
        if required:
            missing = pc.is_null(column)
            if present is not None:
                missing = pc.and_(missing, present)
            if pc.any(missing).as_py():
                return None
        if literals is not None:
            values = {v for v in pc.unique(column).to_pylist() if v is not None}
            if not values <= literals:
                return None
    return table


def iter_blocks(path: str, start: int, end: int, size: int = BLOCK_BYTES):
    """(first line number within the range, block of whole lines) over a byte range."""
    first = 1
    with open(path, "rb") as fh:
        fh.seek(start)
        left, carry = end - start, b""
        while left > 0 or carry:
            data = fh.read(min(size, left)) if left > 0 else b""
            left -= len(data)
            data = carry + data
            if left > 0:
                cut = data.rfind(b"\n") + 1
                if cut == 0:  # a line longer than the block: read on
                    carry = data
                    continue
                data, carry = data[:cut], data[cut:]
            else:
                carry = b""
            if data:
                yield first, data
                first += data.count(b"\n")


def interned(column) -> list:
    """A string column as Python strings, one object per distinct value (a million rows of a
    few hundred tasks hold a few hundred strings, not a million)."""
    import sys

    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    encoded = pc.dictionary_encode(column)
    values = np.array([None if v is None else sys.intern(v) for v in encoded.dictionary.to_pylist()] + [None],
                      dtype=object)
    indices = encoded.indices.fill_null(len(values) - 1).to_numpy(zero_copy_only=False)
    return values[indices].tolist()
