"""How a clause reads: whether an assertion in it is negated, and whether a quantity or an
assertion in it is a condition, a rule or a requirement rather than a result. Clauses are cut at
`vocabulary.CLAUSE` (semicolons, colons, contrastive conjunctions)."""

from __future__ import annotations

import re

from .vocabulary import (
    CALIBRATED,
    CLAUSE,
    HYPOTHETICAL,
    IMPROVE,
    NEGATION_SKIP,
    NEGATORS,
    NEVER,
    PASS_WORDS,
    REQUIREMENT,
    RESULT_VERBS,
    SIGNIFICANT,
)


def _words_before(text: str, start: int) -> list[str]:
    clause_start = 0
    for m in CLAUSE.finditer(text[:start]):
        clause_start = m.end()
    words = re.findall(r"[\w']+", text[clause_start:start].lower())
    out = []
    for w in words:
        if w.endswith("n't"):
            out += [w[:-3], "n't"]
        else:
            out.append(w)
    return out


def negated(text: str, start: int) -> bool:
    """Is the assertion at `start` governed by a negator (only auxiliaries and adverbs between),
    or does its clause open with a negative subject ("no public claim exceeds", "none improved")?"""
    words = _words_before(text, start)
    if words[:1] and words[0] in ("no", "none", "nothing", "neither", "nobody") and words[:2] != ["no", "doubt"]:
        return True
    for w in reversed(words):
        if w in NEGATORS:
            return True
        if w not in NEGATION_SKIP:
            return False
    return False


def hypothetical(text: str, pos: int, end: int | None = None) -> bool:
    """A condition, a rule or a requirement ("promotable only if every target gains", "required a
    gain with McNemar p < 0.05"), not an assertion."""
    a, b = _clause_of(text, pos)
    if HYPOTHETICAL.search(text[a:pos]) or _ONLY_IF.search(text, pos, b):
        return True  # "if ... X", or "X only if ...": a condition either way
    required = list(REQUIREMENT.finditer(text, a, pos))
    # a requirement governs what follows it until the clause states a result ("needed p below 0.05
    # to be promotable, and its p is 0.125": the 0.125 is a result)
    return bool(required) and not _RESULT_COPULA.search(text, required[-1].end(), max(pos, end or pos))


_ONLY_IF = re.compile(r"\b(?:only (?:if|when)|provided (?:that)?|as long as|unless)\b", re.I)
_RESULT_COPULA = re.compile(r"\b(is|was|are|were|reached|reaches|got|gets|scored|scores|measured|observed|came|"
                            r"stands?|stood|ended|remained|stayed)\b", re.I)


def _clause_of(text: str, pos: int) -> tuple[int, int]:
    bounds = [0] + [m.end() for m in CLAUSE.finditer(text)] + [len(text)]
    for a, b in zip(bounds, bounds[1:]):
        if a <= pos < b:
            return a, b
    return 0, len(text)


def negative_clause(text: str, pos: int) -> bool:
    """The clause holding `pos` states a negative: one of its assertions is negated."""
    a, b = _clause_of(text, pos)
    clause = text[a:b]
    return any(negated(clause, m.start()) for rx in (IMPROVE, RESULT_VERBS, SIGNIFICANT, CALIBRATED, NEVER,
                                                     PASS_WORDS) for m in rx.finditer(clause))
