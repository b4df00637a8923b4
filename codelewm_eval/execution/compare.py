"""Output comparison for input/output benchmarks, outside the sandbox (EvalPlus semantics:
exact equality, float tolerance `atol` with rtol 1e-7, and the per-task special oracles)."""

from __future__ import annotations

import math

import numpy as np

MBPP_OUTPUT_NOT_NONE = {"check_str", "text_match_three", "text_starta_endb"}
MBPP_OUTPUT_SET_EQ = {"similar_elements", "find_char_long", "common_in_nested_lists", "extract_singly",
                      "larg_nnum", "intersection_array", "find_dissimilar", "Diff"}


class Opaque:
    """A value that stayed in the candidate process: equal to nothing."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __eq__(self, other):
        return False

    def __hash__(self):
        return id(self)

    def __repr__(self):
        return f"<{self.type_name} object>"


def poly(xs: list, x: float) -> float:
    return sum(coeff * math.pow(x, i) for i, coeff in enumerate(xs))


def _surface_area(base_edge, height):
    slant = math.sqrt((base_edge / 2) ** 2 + height ** 2)
    return round(base_edge ** 2 + 4 * (base_edge * slant) / 2)


def _digit_distance(num1, num2):
    """EvalPlus's oracle for Mbpp/558: the shorter number is padded with leading zeros."""
    a, b = str(num1), str(num2)
    width = max(len(a), len(b))
    return sum(abs(int(x) - int(y)) for x, y in zip(a.zfill(width), b.zfill(width)))


def is_floats(x) -> bool:
    if isinstance(x, float):
        return True
    if isinstance(x, (list, tuple)) and x:
        return all(isinstance(i, float) for i in x)
    return False


MBPP_SPECIAL = {"are_equivalent", "sum_div", "surface_Area", "digit_distance_nums"} | MBPP_OUTPUT_SET_EQ | \
    MBPP_OUTPUT_NOT_NONE


def special_oracle(benchmark: str, entry_point: str) -> bool:
    """Whether a task's outputs are judged by more than equality with the expected ones."""
    return (benchmark == "humaneval-plus" and entry_point == "find_zero") or (
        benchmark == "mbpp-plus" and entry_point in MBPP_SPECIAL)


def outputs_match(benchmark: str, entry_point: str, args: list, out, exp, atol: float) -> bool:
    try:
        return _outputs_match(benchmark, entry_point, args, out, exp, atol)
    except Exception:  # noqa: BLE001 - a candidate output the oracle cannot handle is wrong
        return False


def _outputs_match(benchmark, entry_point, args, out, exp, atol) -> bool:
    exact = _deep_equal(out, exp)
    if benchmark == "humaneval-plus" and entry_point == "find_zero":
        return abs(poly(*args, out)) <= atol
    if benchmark == "mbpp-plus":
        if entry_point == "are_equivalent":
            return True
        if entry_point == "sum_div":
            exact = exact or out == 0
        elif entry_point == "surface_Area":
            exact = exact or abs(out - _surface_area(*args)) <= atol
        elif entry_point == "digit_distance_nums":
            exact = exact or out == _digit_distance(*args)
        elif entry_point in MBPP_OUTPUT_SET_EQ:
            exact = set(out) == set(exp)
        elif entry_point in MBPP_OUTPUT_NOT_NONE:
            exact = out == exp if isinstance(out, bool) else exp == (out is not None)
    if atol == 0 and is_floats(exp):
        atol = 1e-6
    if not exact and atol != 0:
        if isinstance(out, Opaque) or type(out) is not type(exp):
            return False
        if isinstance(exp, (list, tuple)) and len(out) != len(exp):
            return False
        return bool(np.allclose(out, exp, rtol=1e-07, atol=atol))
    return bool(exact)


def _deep_equal(a, b) -> bool:
    """Plain equality, as Python's == on genuine builtin values."""
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001
        return False
