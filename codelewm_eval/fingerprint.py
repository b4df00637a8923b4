"""A program's fingerprint: its normalized AST, so that near-duplicates compare equal."""

from __future__ import annotations

import ast
import functools
import hashlib
import threading
import warnings

# CPython 3.11's AST-to-object conversion keeps one recursion counter per interpreter: two threads
# parsing at once can trip it ("SystemError: AST constructor recursion depth mismatch", seen in the
# executor's worker threads). Parsing holds the GIL anyway, so one parse at a time costs nothing.
_PARSING = threading.Lock()


@functools.lru_cache(maxsize=8192)  # samples repeat: the same program is often drawn many times for a task
def normalized_ast(program: str) -> str:
    """sha256 of the program's AST without positions, comments or formatting ("ast:..."); a
    program that does not parse is fingerprinted by its stripped text ("text:...")."""
    try:
        with _PARSING, warnings.catch_warnings():  # candidate code's invalid escapes are its business
            warnings.simplefilter("ignore")
            tree = ast.parse(program)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return "text:" + hashlib.sha256(program.strip().encode("utf-8", "surrogatepass")).hexdigest()
    return "ast:" + hashlib.sha256(ast.dump(tree, annotate_fields=False).encode()).hexdigest()
