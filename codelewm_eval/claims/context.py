"""What a sentence is checked against: the ALLOWED claims, the evidence's typed facts and
comparisons, and the lookups over them (the facts of a quantity for a subject, the claims that
cover a subject, the subject a number is about, why no claim backs a gain)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from . import quantities as Q
from .clauses import hypothetical, negated
from .vocabulary import (
    CELL_RESULT,
    RERANK_WORDS,
    RESULT_WORDS,
    SCORE_WORDS,
    WEIGHT_WORDS,
    WORK_DONE,
)


def topic_of(text: str) -> str:
    """What a sentence speaks of: reranking, a scorer's measurements, or passes (before/after)."""
    if RERANK_WORDS.search(text):
        return "rerank"
    if SCORE_WORDS.search(text):
        return "score"
    return "paired"


def claim_topic(metrics: set[str]) -> str:
    if "mcnemar_p" in metrics or "anchors_kept" in metrics:
        return "paired"
    if metrics & {"rerank_lift", "rerank_lift_random"}:
        return "rerank"
    return "score"


@dataclass
class AllowedClaim:
    text: str                                  # normalized rendered wording
    id: str
    kind: str                                  # positive | negative | diagnostic
    benchmarks: set[str]                       # families; "all" for every benchmark
    model: str                                 # normalized
    metrics: set[str]                          # metrics of the gates it requires
    paired: bool                               # it rests on a paired before/after gate


@dataclass
class ProseContext:
    allowed: list[tuple[str, object]]          # (normalized rendered text, verdict) of ALLOWED claims
    blocked: list[str]                         # normalized rendered (or template) texts of BLOCKED claims
    numbers: set[float]                        # every number in the verified evidence (kept for callers)
    gates: dict[str, dict[str, str]]           # gate name -> per-seed status
    paired: dict[str, list[float]]             # benchmark family -> McNemar p of its before/after gains
    facts: list = field(default_factory=list)          # quantities.Fact of the verified evidence
    changes: list = field(default_factory=list)        # quantities.Change of the verified evidence
    claims: list[AllowedClaim] = field(default_factory=list)
    anchor_gates: dict[str, str] = field(default_factory=dict)  # candidate (normalized) -> anchor gate status
    gates_by_bundle: dict = field(default_factory=dict)  # gate name -> bundle (normalized) -> per-seed status
    by_quantity: dict | None = None                    # facts by quantity, built on first use
    cache: dict = field(default_factory=dict)          # (quantity, subject) -> facts


def normalize(text: str) -> str:
    text = re.sub(r"`[^`]*`", lambda m: m.group(0)[1:-1], text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)           # links -> their text
    text = re.sub(r"[*|>#]+|(?<!\w)_+|_+(?!\w)", " ", text).replace("−", "-").replace("\u2013", "-")
    return " ".join(text.split())


@dataclass
class _Sentence:
    text: str
    context: str
    code: list[str]
    subject: Q.Subject
    kind: str                # paragraph | heading | cell
    allowed: bool            # inside the rendered wording of an ALLOWED claim
    quoted: list[tuple[int, int]]
    blocked_quote: bool      # it quotes a BLOCKED claim and says so
    quantities: list = field(default_factory=list)  # what quantities.extract read in it
    header: str = ""         # a cell's column header


def _nearest(values, shown: float) -> str:
    if not len(values):
        return "none exists for that subject"
    arr = np.asarray(values, dtype=float)
    near = sorted({round(float(v), 4) for v in arr[np.argsort(np.abs(arr - shown), kind="stable")[:12]]},
                  key=lambda v: abs(v - shown))[:3]
    return "nearest: " + ", ".join(f"{v:g}" for v in near)


def _subject_key(s: Q.Subject) -> tuple:
    return (frozenset(s.benchmarks), frozenset(s.models), s.first_model, frozenset(s.seeds), frozenset(s.splits))


def _facts(ctx: ProseContext, quantity: str, s: Q.Subject) -> list:
    """The facts of a quantity that a subject may speak of (indexed by quantity and benchmark,
    cached by subject: a document's sentences share a handful of subjects)."""
    key = (quantity, _subject_key(s))
    found = ctx.cache.get(key)
    if found is None:
        if ctx.by_quantity is None:
            ctx.by_quantity = {}
            for f in ctx.facts:
                ctx.by_quantity.setdefault((f.quantity, None), []).append(f)
                ctx.by_quantity.setdefault((f.quantity, f.benchmark), []).append(f)
        if s.benchmarks:  # a named benchmark: its facts, and those of no benchmark (decoys, anchors)
            pool = [f for b in sorted(s.benchmarks) for f in ctx.by_quantity.get((quantity, b), [])]
            pool += [f for f in ctx.by_quantity.get((quantity, None), []) if f.benchmark is None]
        else:
            pool = ctx.by_quantity.get((quantity, None), [])
        found = ctx.cache[key] = [f for f in pool if Q.compatible(s, f.benchmark, f.models, f.seed, f.split)]
    return found


def _pool(ctx: ProseContext, name: str, s: Q.Subject, build) -> np.ndarray:
    """Sorted values of one quantity for one subject (cached), for lookups by bisection."""
    key = ("pool", name, _subject_key(s))
    arr = ctx.cache.get(key)
    if arr is None:
        arr = ctx.cache[key] = np.sort(np.asarray(list(build()), dtype=float))
    return arr


def _has(arr: np.ndarray, shown: float, decimals: int) -> bool:
    """Does some value of `arr` round to `shown` at `decimals` places?"""
    tol = 0.5 * 10 ** -decimals + 1e-9
    i = int(np.searchsorted(arr, shown - tol))
    return i < arr.size and arr[i] <= shown + tol


def _changes(ctx: ProseContext, s: Q.Subject) -> list:
    key = ("changes", _subject_key(s))
    found = ctx.cache.get(key)
    if found is None:
        found = ctx.cache[key] = [c for c in ctx.changes if Q.compatible(s, c.benchmark, c.models)]
    return found


def _covering_claims(ctx: ProseContext, s: Q.Subject, metrics: set[str] | None = None,
                     paired: bool | None = None, topic: str | None = None) -> list[AllowedClaim]:
    """ALLOWED positive claims that cover a subject: its benchmarks (none named: every benchmark),
    the model it is about (named first), and, when given, the sentence's topic or gate metrics."""
    out = []
    for c in ctx.claims:
        if c.kind != "positive":
            continue
        if topic is not None and claim_topic(c.metrics) != topic:
            continue
        if "surgery" in s.models and not c.paired:
            continue
        if s.first_model and s.first_model != "surgery" and not Q.same_model(s.first_model, c.model):
            continue
        # a sentence that names no benchmark (nor does its context) speaks generally
        if not ("all" in c.benchmarks or (s.benchmarks and s.benchmarks <= c.benchmarks)):
            continue
        if metrics is not None and not (c.metrics & metrics):
            continue
        if paired is not None and c.paired != paired:
            continue
        out.append(c)
    return out


def _subject_words(s: Q.Subject) -> str:
    parts = sorted(s.benchmarks) + sorted(s.models) + [f"seed {x}" for x in sorted(s.seeds)]
    return ", ".join(parts) or "no benchmark or model named"


def _local_subject(sent: _Sentence, pos: int) -> Q.Subject:
    """The sentence's subject, narrowed to the benchmark named last before `pos` (a table row
    flattened into one line names each benchmark before its numbers)."""
    s = sent.subject
    named = sorted((m.start(), m.end(), b) for b, rx in Q.BENCHMARKS.items() for m in rx.finditer(sent.text[:pos]))
    if len(s.benchmarks) > 1 and named:
        # the benchmark named last, pooled with those named just before it with no number between
        group = {named[-1][2]}
        for k in range(len(named) - 1, 0, -1):
            if re.search(r"\d", sent.text[named[k - 1][1]:named[k][0]]):
                break
            group.add(named[k - 1][2])
        return Q.Subject(group, s.models, s.seeds, s.splits)
    return s


def _change_form_matches(q: Q.Quantity, c: Q.Change) -> bool:
    if q.kind == "relative":
        if c.before == 0:
            return c.after == 0 and q.values[0] == 0
        return Q.close(q.values[0], 100 * (c.after / c.before - 1), q.decimals)
    if q.kind == "points":
        return Q.close(abs(q.values[0]), abs(100 * (c.after - c.before) / c.n), q.decimals) and \
            (q.values[0] >= 0) == (c.after >= c.before)
    return q.values[0] == c.after - c.before


def _why_not(ctx: ProseContext, s: Q.Subject, topic: str) -> str:
    """Why no claim backs a gain: the paired tests of that subject, each with its counts, its
    direction and its exact p (not "not significant" where the test is significant)."""
    changes = [c for c in _changes(ctx, s) if c.benchmark is not None] if topic == "paired" else []
    if not changes:
        return "no gate on it passed"

    def described(c) -> str:
        way = "a gain" if c.after > c.before else "a drop" if c.after < c.before else "no change"
        return f"{c.candidate} on {c.benchmark} {c.before}/{c.n} -> {c.after}/{c.n}, {way}, exact McNemar p {c.p:.3g}"

    named = "; ".join(described(c) for c in changes[:4]) + (f"; and {len(changes) - 4} more" if len(changes) > 4
                                                            else "")
    if not any(c.after > c.before and c.p < 0.05 for c in changes):
        return f"no paired test of that subject shows a significant gain: {named}"
    return f"no ALLOWED claim rests on its significant gain: {named}"


def _stated(sent: _Sentence, q: Q.Quantity, result: bool, target: bool) -> bool:
    """Is this quantity a stated result (and not a mention, a target, work done or a setting)?"""
    if any(a <= q.span[0] and q.span[1] <= b for a, b in sent.quoted):
        return False
    if hypothetical(sent.text, q.span[0], q.span[1]):
        return False  # what a gate requires, or a condition: not a result
    if target and q.kind in ("change", "count", "percent"):
        return False  # a target is not a result
    if q.kind == "count" and WORK_DONE.search(sent.text[max(0, q.span[0] - 12):q.span[0]]):
        return False  # "ran 264/264": work done, not passes
    if q.kind in ("count", "percent") and not result:
        return False  # a fraction or share that is no result (a ratio of settings, a progress count)
    if q.kind in ("count", "percent") and sent.kind == "cell" and not CELL_RESULT.search(sent.header):
        return False  # a table column that holds no pass counts (ties, pairs, rows)
    if q.kind == "multiple":
        if negated(sent.text, q.span[0]):
            return False
        if not re.match(r"(?:more than |over |at least |nearly |almost )?(?:doubl|tripl|quadrupl|halv)", q.text, re.I) and \
                (not RESULT_WORDS.search(sent.text) or WEIGHT_WORDS.search(sent.text)):
            return False  # "×4" on a loss weight, "4× param count", "visited 20 times": not a result
    return True
