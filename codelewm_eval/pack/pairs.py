"""Decoy pairs of the two reference categories, found among the rows themselves.

* same_problem_different_submission: a failing submission paired with a passing one for the
  same task (same benchmark, so the same prompt and tests);
* same_code_different_input: one program (same normalized AST) judged on two benchmarks of
  the same task family, passing one input set and failing the other (HumanEval vs HumanEval+,
  MBPP vs MBPP+: the extra inputs are what tells them apart).

In both, the failing row is the decoy and shadows the passing row. Both rows are in one split
by construction: one task is one split group, and so is one normalized AST. A row is the decoy
of at most one pair; pairing is deterministic (rows ordered by a seeded crc32 of their id, a
plenty good shuffle for choosing pairs, never by input order).
"""

from __future__ import annotations

import hashlib
import zlib
from collections import defaultdict

from ..benchmarks.family import problem_family
from .rows import DecoyLink, RowFacts

SAME_PROBLEM = "same_problem_different_submission"
SAME_CODE = "same_code_different_input"


def _link(category: str, decoy: RowFacts, shadow: RowFacts) -> DecoyLink:
    pair = hashlib.sha256(f"{category}\0{decoy.row_id}\0{shadow.row_id}".encode()).hexdigest()[:16]
    return DecoyLink(category=category, pair_id=f"{category}:{pair}", shadows_row_id=shadow.row_id)


def reference_pairs(rows: list[RowFacts], *, seed: int = 42, per_task: int = 3) -> dict[int, DecoyLink]:
    """Decoy links to add, by row index: up to `per_task` same-problem pairs per task, and every
    same-code pair the rows allow. Rows that already are decoys (mutants) are left as they are."""
    links: dict[int, DecoyLink] = {}
    free = [i for i, r in enumerate(rows) if r.decoy_category is None]
    salt = seed & 0xFFFFFFFF
    order = {i: (zlib.crc32(rows[i].row_id.encode("utf-8", "surrogatepass"), salt), rows[i].row_id) for i in free}

    first_with_code: dict[str, int] = {}
    shared: dict[str, list[int]] = defaultdict(list)  # programs that more than one row has
    for i in free:
        code = rows[i].program_ast
        if code is not None:
            first = first_with_code.setdefault(code, i)
            if first != i:
                if not shared[code]:
                    shared[code].append(first)
                shared[code].append(i)
    for members in shared.values():
        if len({rows[i].benchmark for i in members}) < 2 or len({rows[i].passed for i in members}) < 2:
            continue
        passing = sorted((i for i in members if rows[i].passed), key=order.__getitem__)
        for i in sorted((i for i in members if not rows[i].passed), key=order.__getitem__):
            family = problem_family(rows[i].benchmark, rows[i].task_id)
            shadow = next((j for j in passing if rows[j].benchmark != rows[i].benchmark
                           and problem_family(rows[j].benchmark, rows[j].task_id) == family), None)
            if shadow is not None:
                links[i] = _link(SAME_CODE, rows[i], rows[shadow])

    by_task: dict[tuple, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for i in free:
        if i not in links:
            by_task[(rows[i].benchmark, rows[i].task_id)][0 if rows[i].passed else 1].append(i)
    for passing, failing in by_task.values():
        if not passing or not failing:
            continue
        chosen_p = sorted(passing, key=order.__getitem__)[:per_task]
        chosen_f = sorted(failing, key=order.__getitem__)[:per_task]
        for p, f in zip(chosen_p, chosen_f):
            links[f] = _link(SAME_PROBLEM, rows[f], rows[p])
    return links
