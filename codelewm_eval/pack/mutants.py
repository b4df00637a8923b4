"""Single-point AST mutants: programs that look alike and (once executed) behave differently.

Each operator names one kind of change; `mutants(program, k, seed)` returns up to k distinct
mutants, each differing from the program at exactly one site, chosen deterministically.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import random

_COMPARE_FLIP = {ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE, ast.LtE: ast.Gt, ast.Eq: ast.NotEq,
                 ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is}
_ARITH_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.FloorDiv, ast.FloorDiv: ast.Mult,
               ast.Div: ast.Mult, ast.Mod: ast.FloorDiv}


def _is_int(node) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int


def _plus_one(node):
    return ast.BinOp(left=node, op=ast.Add(), right=ast.Constant(1))


def _applies(op: str, node) -> bool:
    if op == "compare_flip":
        return isinstance(node, ast.Compare) and type(node.ops[0]) in _COMPARE_FLIP
    if op == "arith_swap":
        return isinstance(node, ast.BinOp) and type(node.op) in _ARITH_SWAP
    if op == "bool_swap":
        return isinstance(node, ast.BoolOp)
    if op == "const_shift":
        return _is_int(node)
    if op == "not_drop":
        return isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not)
    if op == "not_add":
        return isinstance(node, (ast.If, ast.While))
    if op == "range_bound":
        return (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range"
                and 1 <= len(node.args) <= 3)
    if op == "slice_bound":
        return isinstance(node, ast.Slice) and (node.upper is not None or node.lower is not None)
    if op == "swap_args":
        return isinstance(node, ast.Call) and len(node.args) == 2 and not node.keywords
    if op == "return_value":
        return isinstance(node, ast.Return) and node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None)
    return False


def _apply(op: str, node) -> None:
    if op == "compare_flip":
        node.ops[0] = _COMPARE_FLIP[type(node.ops[0])]()
    elif op == "arith_swap":
        node.op = _ARITH_SWAP[type(node.op)]()
    elif op == "bool_swap":
        node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
    elif op == "const_shift":
        node.value = node.value + 1
    elif op == "not_drop":
        node.__class__, node.__dict__ = node.operand.__class__, dict(node.operand.__dict__)
    elif op == "not_add":
        node.test = ast.UnaryOp(op=ast.Not(), operand=node.test)
    elif op == "range_bound":
        i = 1 if len(node.args) >= 2 else 0
        node.args[i] = _plus_one(node.args[i])
    elif op == "slice_bound":
        if node.upper is not None:
            node.upper = _plus_one(node.upper)
        else:
            node.lower = _plus_one(node.lower)
    elif op == "swap_args":
        node.args = [node.args[1], node.args[0]]
    elif op == "return_value":
        node.value = ast.Constant(None)


OPERATORS = ("compare_flip", "arith_swap", "bool_swap", "const_shift", "not_drop", "not_add", "range_bound",
             "slice_bound", "swap_args", "return_value")


def mutants(program: str, k: int = 3, seed: str = "") -> list[tuple[str, str]]:
    """Up to k (operator, mutant program) pairs, distinct and different from the program."""
    try:
        tree = ast.parse(program)
        original = ast.unparse(tree)
    except (SyntaxError, ValueError, RecursionError):
        return []
    nodes = list(ast.walk(tree))
    sites = [(i, op) for i, node in enumerate(nodes) for op in OPERATORS if _applies(op, node)]
    rng = random.Random(int(hashlib.sha256(seed.encode()).hexdigest(), 16))
    rng.shuffle(sites)
    # prefer variety: first one site per operator, then the rest
    by_op: dict[str, list] = {}
    for site in sites:
        by_op.setdefault(site[1], []).append(site)
    ordered = [v[0] for v in by_op.values()] + [s for v in by_op.values() for s in v[1:]]
    out, seen = [], {original}
    for index, op in ordered:
        if len(out) >= k:
            break
        clone = copy.deepcopy(tree)
        _apply(op, list(ast.walk(clone))[index])
        try:
            text = ast.unparse(ast.fix_missing_locations(clone))
            compile(text, "<mutant>", "exec")
        except (SyntaxError, ValueError, TypeError, RecursionError):
            continue
        if text not in seen:
            seen.add(text)
            out.append((op, text))
    return out
