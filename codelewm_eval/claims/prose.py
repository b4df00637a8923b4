"""Reading prose for statements that exceed the evidence, sentence by sentence, with file and line.

Prose is read with a Markdown parser (`markdown.read_units`): sentences of paragraphs, list
items, headings and table cells (a cell with its column header and row label as context); code
is a mention, never a claim. Each sentence is read as claims about quantities (`quantities`):

* `number`: a quantity (ROC-AUC, ECE, Brier, accuracy, lift, a p value, a CI bound, a pass count
  13/100, a percentage) that no evidence value of the same quantity and a compatible subject
  rounds to at the precision shown (the finding names the nearest values there are);
* `change`: a before/after ("from 2/164 to 9/164", "6% to 13%", "+117%", "up 7 points") that no
  comparison of that benchmark and pass gives, or a direction word ("rose", "regressed",
  "unchanged") that the comparison contradicts;
* `multiple`: "doubled", "tripled", "threefold", "x3", "3×", "more than doubled" that no
  comparison's counts give arithmetically;
* `small_count_multiple`: a multiple (or a relative change) that the counts do give, but whose
  paired test is not significant or that no ALLOWED claim on that benchmark's paired test
  backs; a true, significant multiple with its ALLOWED claim is clean;
* `claim_word`: an assertion (improves, better, beats, outperforms, gains, significant,
  state-of-the-art, well calibrated, robust, generalizes, kept every anchor) that no ALLOWED
  claim whose scope covers the sentence's subject makes; the finding says which claim or gate
  would allow it and why none does;
* `scope_benchmarks`: an assertion for every/all benchmarks, across benchmarks, in general or
  "coding" without an ALLOWED claim scoped to all benchmarks;
* `scope_seeds`: "both seeds", "every seed", ... said of a result or gate that does not hold on
  every one of them.

Negation is read from the clause: a negator governing the assertion ("did not improve", "is not
significant", "no significant gain", "neither ... nor") makes the clause a negative statement,
whose numbers are still checked; "there is no doubt the surgery improves" is not negated.
Words in double quotes are mentioned, not used. A sentence inside the rendered wording of an
ALLOWED claim is that claim. A line ending in `<!-- audit: not-a-claim -->` is skipped and
counted. A sentence that quotes a BLOCKED claim must say BLOCKED.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from . import quantities as Q
from .clauses import _clause_of, hypothetical, negated, negative_clause  # noqa: F401 - re-exported
from .markdown import IGNORE_MARK, Unit, read_units  # noqa: F401 - IGNORE_MARK re-exported
from .vocabulary import (  # noqa: F401
    ANCHORS_KEPT,
    CALIBRATED,
    CELL_RESULT,
    CLAUSE,
    DOWN_WORDS,
    GATE_SCREEN,
    GATE_SUCCESS,
    GENERAL_SCOPE,
    HYPOTHETICAL,
    IMPROVE,
    NEGATION_SKIP,
    NEGATORS,
    NEVER,
    PASS_SCOPE,
    PASS_WORDS,
    QUALITY,
    QUALITY_SCREEN,
    REQUIREMENT,
    RERANK_WORDS,
    RESULT_VERBS,
    RESULT_WORDS,
    SCORE_WORDS,
    SEED_SCOPE,
    SIGNIFICANT,
    SUCCESS,
    TARGET_WORDS,
    UP_WORDS,
    WEIGHT_WORDS,
    WORK_DONE,
)


class Finding(BaseModel):
    file: str
    line: int
    kind: str
    text: str
    detail: str


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


# --------------------------------------------------------------------------------------- checks

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


def _check_numbers(sent: _Sentence, ctx: ProseContext) -> list[tuple[str, str]]:
    """Every stated quantity against the evidence of the same quantity and subject."""
    result = bool(sent.subject.benchmarks or RESULT_WORDS.search(sent.text) or RESULT_WORDS.search(sent.context))
    target = bool(TARGET_WORDS.search(sent.text + " " + sent.context))
    out: list[tuple[str, str]] = []
    every = not sent.subject.benchmarks and _EVERY_BENCHMARK.search(sent.text)
    for q in sent.quantities:
        if every and q.kind == "metric":
            continue  # "ROC-AUC above 0.7 on every benchmark": each benchmark's value, checked by _check_quantifiers
        if _stated(sent, q, result, target):
            out += _CHECKS[q.kind](sent, q, _local_subject(sent, q.span[0]), ctx)
    return out


def _check_metric(sent, q, s, ctx):
    def values():
        facts = _facts(ctx, q.metric, s)
        if not s.benchmarks and any(f.benchmark == "all" for f in facts):
            facts = [f for f in facts if f.benchmark in ("all", None)]  # none named: the pooled value
        return (f.value for f in facts)
    pool = _pool(ctx, q.metric, s, values)
    if q.bound in (">=", "<=") and any(Q.metric_matches(q, v) for v in pool):
        return []
    if q.bound == "=" and _has(pool, q.values[0], q.decimals):
        return []
    said = "is within that bound" if q.bound != "=" else "rounds to it"
    return [("number", f"{q.metric} {q.text} about {_subject_words(s)}: no {q.metric} in the evidence {said} "
                       f"({_nearest(pool, q.values[0])})")]


def _check_p(sent, q, s, ctx):
    pool = [f.value for f in _facts(ctx, "p_value", s)]
    shown = q.values[0]
    if q.bound == "<":
        ok = any(v < shown for v in pool)
    else:  # "p 0.0156" or "p 0.016": the value at the decimals or the significant digits shown
        digits = max(q.decimals, 1)
        ok = any(Q.close(shown, v, q.decimals) or f"{v:.{digits}g}" == f"{shown:.{digits}g}" for v in pool)
    if ok:
        return []
    return [("number", f"p {q.text.split()[-1]} about {_subject_words(s)}: no paired or rerank p value there "
                       f"{'is below it' if q.bound == '<' else 'matches'} ({_nearest(pool, shown)})")]


def _check_ci(sent, q, s, ctx):
    pool = _pool(ctx, "ci_bound", s, lambda: (f.value for f in _facts(ctx, "ci_bound", s)))
    for bound in q.values:
        if not _has(pool, bound, q.decimals):
            return [("number", f"CI bound {bound:g} about {_subject_words(s)}: no interval bound in the evidence "
                               f"rounds to it ({_nearest(pool, bound)})")]
    return []


def _check_count(sent, q, s, ctx):
    a, n = q.values
    pool = [f.value for f in _facts(ctx, "count", s) if f.n == n]
    if a in pool:
        return []
    return [("number", f"{a}/{n} about {_subject_words(s)}: no pass count of {n} in the evidence is {a} "
                       f"({_nearest(pool, a) if pool else 'none of ' + str(n)})")]


def _check_percent(sent, q, s, ctx):
    rates = _pool(ctx, "percent", s, lambda: [100 * f.value / f.n for f in _facts(ctx, "count", s) if f.n] + [
        100 * f.value for quantity in ("rate", "accuracy", "auc", "ece", "lift") for f in _facts(ctx, quantity, s)])
    if _has(rates, q.values[0], q.decimals):
        return []
    return [("number", f"{q.text} about {_subject_words(s)}: no pass rate or measured share in the evidence rounds "
                       f"to it ({_nearest(rates, q.values[0])})")]


def _check_change(sent, q, s, ctx):
    found = [c for c in _changes(ctx, s) if Q.change_matches(q, c)]
    if not found:
        return [("change", f"{q.text} about {_subject_words(s)}: no before/after comparison there gives it")]
    return _direction(sent, q, found)


def _check_change_form(sent, q, s, ctx):
    found = [c for c in _changes(ctx, s) if _change_form_matches(q, c)]
    if not found:
        what = {"relative": "relative change", "points": "change in points", "absolute": "change in passes"}[q.kind]
        return [("change", f"{q.text} about {_subject_words(s)}: no comparison there has that {what}")]
    return _significance(sent, q, found, ctx) if q.kind == "relative" and q.values[0] > 0 else []


def _check_multiple(sent, q, s, ctx):
    found = [c for c in _changes(ctx, s) if Q.multiple_matches(q.values[0], q.bound, c, q.text)]
    if not found:
        near = sorted({round(c.ratio, 2) for c in _changes(ctx, s) if c.ratio})
        return [("multiple", f"'{q.text}' about {_subject_words(s)}: no comparison's counts give x{q.values[0]:g} "
                             f"(ratios there: {near or 'none'})")]
    return _significance(sent, q, found, ctx)


def _check_anchors(sent, q, s, ctx):
    """A count of anchors kept or lost, in any phrasing, against the ladder of the pass named."""
    what, n, total = q.values
    ladder = [f for f in ctx.facts if f.quantity == "count" and "anchors" in f.models
              and Q.compatible(s, None, f.models) and (not total or f.n == total)]
    if not ladder:
        return [("number", f"'{q.text}' about {_subject_words(s)}: no anchor ladder in the evidence for it")]
    said = [(int(f.value) if what == "kept" else int(f.n - f.value)) for f in ladder]
    if any((x <= n) if q.bound == "<=" else (x == n) for x in said):
        return []
    return [("number", f"'{q.text}' about {_subject_words(s)}: the ladder has " + ", ".join(
        f"{f.models[1]} {what} {x} of {f.n}" for f, x in zip(ladder, said)))]


_CHECKS = {"anchors": _check_anchors, "metric": _check_metric, "p_value": _check_p, "ci": _check_ci, "count": _check_count,
           "percent": _check_percent, "change": _check_change, "relative": _check_change_form,
           "points": _check_change_form, "absolute": _check_change_form, "multiple": _check_multiple}


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


def _direction(sent: _Sentence, q: Q.Quantity, found: list) -> list[tuple[str, str]]:
    words = sent.text[max(0, q.span[0] - 40):q.span[0]]
    c = found[0]
    if UP_WORDS.search(words) and not negated(sent.text, q.span[0]) and all(x.after <= x.before for x in found):
        return [("change", f"'{UP_WORDS.search(words).group(0)}' but the comparison went {c.before}/{c.n} -> "
                           f"{c.after}/{c.n}")]
    if DOWN_WORDS.search(words) and all(x.after >= x.before for x in found):
        return [("change", f"'{DOWN_WORDS.search(words).group(0)}' but the comparison went {c.before}/{c.n} -> "
                           f"{c.after}/{c.n}")]
    return []


def _significance(sent: _Sentence, q: Q.Quantity, found: list, ctx: ProseContext) -> list[tuple[str, str]]:
    """A gain stated as a multiple or relative change needs a significant paired test with an
    ALLOWED claim on it for that benchmark."""
    if sent.allowed or (sent.kind == "cell" and q.kind == "relative"):
        return []  # a table's relative change is a measurement beside its row's counts and p, not a claim
    gains = [c for c in found if c.after > c.before]
    if not gains:
        return []
    significant = [c for c in gains if c.p < 0.05]
    if not significant:
        c = gains[0]
        return [("small_count_multiple", f"'{q.text}' for {c.benchmark} ({c.before}/{c.n} -> {c.after}/{c.n}): the "
                                         f"exact McNemar test is not significant (p {c.p:.3g})")]
    c = significant[0]
    backed = _covering_claims(ctx, Q.Subject({c.benchmark}, set()), paired=True)
    if not backed:
        return [("small_count_multiple", f"'{q.text}' for {c.benchmark}: significant (p {c.p:.3g}), but no ALLOWED "
                                         "claim rests on that paired test")]
    return []


def _check_words(sent: _Sentence, ctx: ProseContext) -> list[tuple[str, str]]:
    if sent.allowed or sent.blocked_quote:
        return []
    text, s = sent.text, sent.subject
    out: list[tuple[str, str]] = []

    def live(rx):
        return [m for m in rx.finditer(text) if not any(a <= m.start() < b for a, b in sent.quoted)
                and not negated(text, m.start()) and not negative_clause(text, m.start())
                and not (rx is QUALITY and _INNER_NEGATION.search(m.group(0)))
                and not hypothetical(text, m.start()) and "/" not in text[max(0, m.start() - 1):m.end() + 1]]

    result = bool(s.benchmarks or RESULT_WORDS.search(text))
    gains = live(IMPROVE) + live(QUALITY) + ([m for m in live(RESULT_VERBS) + live(SUCCESS)
                                             if not WEIGHT_WORDS.search(text[m.end():m.end() + 30])] if result else [])
    verdicts = live(GATE_SUCCESS)
    asserted = gains + verdicts + live(SIGNIFICANT) + live(CALIBRATED) + live(NEVER) + live(ANCHORS_KEPT)
    general = [m for m in GENERAL_SCOPE.finditer(text) if not any(a <= m.start() < b for a, b in sent.quoted)]
    topic = topic_of(text + " " + sent.context)
    if asserted and general:
        scoped = [c for c in _covering_claims(ctx, Q.Subject(set(), s.models, first_model=s.first_model), topic=topic)
                  if "all" in c.benchmarks]
        if not scoped:
            return [("scope_benchmarks", f"'{asserted[0].group(0)}' stated for '{general[0].group(0)}': no ALLOWED "
                                         "claim is scoped to every benchmark")]
    for m in live(NEVER):
        out.append(("claim_word", f"'{m.group(0)}' is never backed by a gate: no ALLOWED claim makes it"))
        return out
    for m in live(ANCHORS_KEPT):
        status = [v for k, v in ctx.anchor_gates.items() if not s.models or any(k.startswith(x) or x.startswith(k)
                                                                               for x in s.models)]
        if not status or any(v != "pass" for v in status):
            out.append(("claim_word", f"'{m.group(0)}': the anchor gate of {_subject_words(s)} is "
                                      f"{', '.join(sorted(set(status))) or 'not in the evidence'}"))
            return out
    for m in live(CALIBRATED):
        if not _covering_claims(ctx, s, metrics={"ece", "ece_mass", "mce"}):
            out.append(("claim_word", f"'{m.group(0)}' for {_subject_words(s)}: no ALLOWED claim on a calibration "
                                      "(ECE) gate covers it"))
            return out
    for m in live(SIGNIFICANT):
        if not _covering_claims(ctx, s, topic=topic):
            out.append(("claim_word", f"'{m.group(0)}' for {_subject_words(s)}: no ALLOWED claim on a significant "
                                      f"{'paired test' if topic == 'paired' else topic + ' gate'} covers it"))
            return out
    for m in verdicts:
        named = [g for g in ctx.gates if any(re.search(rf"(?<![\w-]){re.escape(g)}(?![\w-])", x)
                                             for x in [text, *sent.code])]
        if named:  # a named gate: its own verdict decides
            short = [g for g in named if any(v != "pass" for v in _gate_verdict(ctx, g, s).values())
                     or not _gate_verdict(ctx, g, s)]
            if short:
                verdict = _gate_verdict(ctx, short[0], s)
                out.append(("claim_word", f"'{m.group(0)}': gate {short[0]} is " + (", ".join(
                    f"{v} on seed {x}" for x, v in sorted(verdict.items())) or "without a verdict")))
                return out
        elif not _covering_claims(ctx, s, topic=topic if topic != "score" else None):
            out.append(("claim_word", f"'{m.group(0)}' for {_subject_words(s)}: no ALLOWED claim covers that subject "
                                      f"({_why_not(ctx, s, topic)})"))
            return out
    for m in gains:
        covering = _covering_claims(ctx, s, topic=topic if topic != "score" else "rerank")
        if not covering:
            out.append(("claim_word", f"'{m.group(0)}' for {_subject_words(s)}: no ALLOWED claim covers that subject "
                                      f"({_why_not(ctx, s, topic)})"))
            return out
    return out


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


def _check_seed_scope(sent: _Sentence, ctx: ProseContext) -> list[tuple[str, str]]:
    out = []
    text = sent.text
    for m in SEED_SCOPE.finditer(text):
        if sent.allowed or any(a <= m.start() < b for a, b in sent.quoted):
            continue
        if not (PASS_WORDS.search(text) or IMPROVE.search(text) or SIGNIFICANT.search(text)):
            continue
        named = [g for g in ctx.gates if any(re.search(rf"(?<![\w-]){re.escape(g)}(?![\w-])", x)
                                             for x in [text, *sent.code])]
        verdicts = {g: _gate_verdict(ctx, g, sent.subject) for g in named}
        short = [g for g in named if len(verdicts[g]) < 2 or any(v != "pass" for v in verdicts[g].values())]
        if short:
            out.append(("scope_seeds", f"'{m.group(0)}' but gate {short[0]} is " +
                        ", ".join(f"{v} on seed {s}" for s, v in sorted(verdicts[short[0]].items()))))
        elif not named and not any(q.kind == "metric" for q in sent.quantities):  # a metric: _check_quantifiers
            out.append(("scope_seeds", f"'{m.group(0)}' names no gate and is not inside an ALLOWED claim scoped to "
                                       "those seeds"))
    for m in PASS_SCOPE.finditer(text):
        if sent.allowed or negative_clause(text, m.start()):
            continue
        every = [c for c in _changes(ctx, Q.Subject(sent.subject.benchmarks, sent.subject.models - {"surgery"}))
                 if c.benchmark is not None]
        counts = [q for q in sent.quantities if q.kind in ("count", "change") and _stated(sent, q, True, False)]
        for q in counts:  # "MBPP reached 13/100 in both passes": every pass's count
            ok = [c for c in every if (Q.change_matches(q, c) if q.kind == "change" else
                                       (c.after, c.n) == (q.values[0], q.values[1]))]
            if every and len(ok) < len(every):
                out.append(("scope_passes", f"'{q.text}' '{m.group(0)}': it holds for {len(ok)} of {len(every)} "
                                            "comparisons of that subject"))
        moved = [w for w in (UP_WORDS, DOWN_WORDS) if w.search(text) and not negated(text, w.search(text).start())]
        if every and moved and not counts:  # "HumanEval moved up in both passes": every pass went that way
            up = moved[0] is UP_WORDS
            ok = [c for c in every if (c.after > c.before if up else c.after < c.before)]
            if len(ok) < len(every):
                out.append(("scope_passes", f"'{moved[0].search(text).group(0)}' '{m.group(0)}': "
                                            f"{len(ok)} of {len(every)} comparisons of that subject went that way"))
        stated = [q for q in sent.quantities if q.kind in ("points", "absolute", "relative", "multiple")]
        for q in stated:
            every = [c for c in ctx.changes if Q.compatible(Q.Subject(sent.subject.benchmarks), c.benchmark, ())]
            if every and not all(_change_form_matches(q, c) if q.kind != "multiple"
                                 else Q.multiple_matches(q.values[0], q.bound, c) for c in every):
                out.append(("scope_passes", f"'{q.text}' '{m.group(0)}': it holds for "
                                            f"{sum(1 for c in every if _change_form_matches(q, c))} of {len(every)} "
                                            "comparisons of that benchmark"))
                break
    return out


# a quantifier over benchmarks that distributes ("on every benchmark", "on all three benchmarks",
# "across the board"), and one that may mean the pooled value ("across benchmarks")
_EVERY_BENCHMARK = re.compile(r"\b(?:(?:every|each|all|both)(?: the| of the)?(?: \w+)? benchmarks?|across the board|"
                              r"everywhere)\b", re.I)
_ACROSS_BENCHMARKS = re.compile(r"\bacross (?:the |all )?(?:\w+ )?benchmarks\b", re.I)
_EVERY_MODEL = re.compile(r"\b(?:(?:every|each|all|both)(?: the| of the)?(?: \w+)? (?:scorers?|models?|rerankers?)|"
                          r"(?:across|for all) (?:the )?(?:scorers|models))\b", re.I)


def _metric_facts(ctx: ProseContext, q: Q.Quantity, s: Q.Subject, **drop) -> list:
    """The facts of a stated metric for a subject with some of its parts dropped (seeds, benchmarks)."""
    wide = Q.Subject(set() if "benchmarks" in drop else s.benchmarks, s.models, set() if "seeds" in drop else s.seeds,
                     s.splits, s.first_model)
    return _facts(ctx, q.metric, wide)


def _check_quantifiers(sent: _Sentence, ctx: ProseContext) -> list[tuple[str, str]]:
    """A stated metric under a quantifier over seeds or benchmarks, with or without a claim verb,
    must hold on every seed (at least two) or every benchmark the evidence measures it on."""
    if sent.allowed:
        return []
    text = sent.text

    def live(rx):
        return [m for m in rx.finditer(text) if not any(a <= m.start() < b for a, b in sent.quoted)
                and not negative_clause(text, m.start()) and not hypothetical(text, m.start())]

    stated = [q for q in sent.quantities if q.kind == "metric" and _stated(sent, q, True, False)]
    seeds, every, across = live(SEED_SCOPE), live(_EVERY_BENCHMARK), live(_ACROSS_BENCHMARKS)
    models = live(_EVERY_MODEL)
    out: list[tuple[str, str]] = []
    for q in stated if (seeds or every or across or models) else ():
        s = _local_subject(sent, q.span[0])
        if models:  # "ROC-AUC above 0.7 for both scorers": every scorer the evidence measures it for
            facts = _facts(ctx, q.metric, Q.Subject(s.benchmarks, set(), s.seeds, s.splits))
            per = {}
            for f in facts:
                if len(f.models) > 1 and f.models[1]:
                    per.setdefault(f.models[1], []).append(Q.metric_matches(q, f.value))
            holds = sorted(m for m, ok in per.items() if (all(ok) if q.bound != "=" else any(ok)))
            if len(per) < 2 or len(holds) < len(per):
                out.append(("scope_models", f"'{models[0].group(0)}': {q.metric} {q.text} holds for "
                                            f"{', '.join(holds) or 'no scorer'} of {', '.join(sorted(per)) or 'none'}"))
        if seeds:
            facts = _metric_facts(ctx, q, s, seeds=True)
            if not s.benchmarks and any(f.benchmark == "all" for f in facts):
                facts = [f for f in facts if f.benchmark in ("all", None)]
            measured = {f.seed for f in facts}
            holds = {f.seed for f in facts if Q.metric_matches(q, f.value)}
            if len(holds) < 2 or holds != measured:
                out.append(("scope_seeds", f"'{seeds[0].group(0)}': {q.metric} {q.text} about {_subject_words(s)} holds "
                                           f"on seed(s) {sorted(holds, key=str) or 'none'} of "
                                           f"{sorted(measured, key=str) or 'none measured'}"))
        if every or across:
            facts = _metric_facts(ctx, q, Q.Subject(set(), s.models, s.seeds, s.splits, s.first_model), benchmarks=True)
            if not every and any(f.benchmark == "all" and Q.metric_matches(q, f.value) for f in facts):
                continue  # "across benchmarks" of the pooled value
            per = {}
            for f in facts:
                if f.benchmark not in (None, "all"):
                    per.setdefault(f.benchmark, []).append(Q.metric_matches(q, f.value))
            holds = sorted(b for b, ok in per.items() if (all(ok) if q.bound != "=" else any(ok)))
            if not per or len(holds) < len(per):
                quantifier = (every or across)[0].group(0)
                out.append(("scope_benchmarks", f"'{quantifier}': {q.metric} {q.text} holds on "
                                                f"{', '.join(holds) or 'no benchmark'} of "
                                                f"{', '.join(sorted(per)) or 'none measured per benchmark'}"))
    return out


def _gate_verdict(ctx: ProseContext, gate: str, s: Q.Subject) -> dict[str, str]:
    """A gate's per-seed verdict: that of the bundle the sentence names (a model or bundle name),
    else the worse verdict of every bundle holding a gate of that name."""
    bundles = ctx.gates_by_bundle.get(gate, {})
    named = [v for b, v in bundles.items() if any(Q.same_model(m, b) or m in b for m in s.models if m)]
    if len(named) == 1:
        return named[0]
    return ctx.gates[gate]


_INNER_NEGATION = re.compile(r"\b(?:not|never|no|hardly|barely|n't)\b|n't\b", re.I)
# a screen, not a judgement: every assertion the checks read matches it (QUALITY and GATE_SUCCESS
# through their word screens), so a sentence it misses holds none
_CLAIM_WORDS = re.compile("|".join(f"(?:{rx.pattern})" for rx in (
    IMPROVE, RESULT_VERBS, QUALITY_SCREEN, SUCCESS, GATE_SCREEN, SIGNIFICANT, CALIBRATED, NEVER, ANCHORS_KEPT,
    GENERAL_SCOPE, SEED_SCOPE, PASS_SCOPE, _EVERY_BENCHMARK, _EVERY_MODEL)), re.I)
_ANY_CLAIM = re.compile(_CLAIM_WORDS.pattern + r"|\d|doubl|tripl|quadrupl|halv|fold|twice|thrice|times|magnitude|half|"
                        r"factor", re.I)
_QUOTED = re.compile(r'"[^"]{1,80}"|“[^”]{1,80}”|\'[^\']{1,40}\'')
_BLOCKED_MARK = re.compile(r"\bBLOCKED\b|not claimed", re.I)


def check_unit(file: str, unit: Unit, ctx: ProseContext, carried: Q.Subject | None = None,
               screened: bool = False) -> list[Finding]:
    """One sentence against the evidence; `carried`: the subject of the sentence before it in the
    same paragraph, where this one refers back to it ("It ... there")."""
    if not screened and not _ANY_CLAIM.search(unit.text):
        return []  # no number, no multiple and no assertion: nothing to check
    text = normalize(Q.LONG_TOKEN.sub("\u2039blob\u203a", unit.text) if len(unit.text) >= 200 else unit.text)
    asserts = bool(_CLAIM_WORDS.search(text))
    quantities = Q.extract(text, unit.context, unit.header, unit.label)
    if not asserts and not quantities:
        return []  # numbers that are no quantity (row counts, times, ids) and no assertion
    allowed = any(t and (text in t or t in text) for t, _ in ctx.allowed)
    blocked_quote = bool(_BLOCKED_MARK.search(text)) and any(b and (b in text or text in b) for b in ctx.blocked)
    quoted = [m.span() for m in _QUOTED.finditer(text)]
    context = unit.context
    subject = Q.subject_of(text, context, carried)
    sent = _Sentence(text, context, unit.code, subject, unit.kind, allowed, quoted, blocked_quote, quantities,
                     unit.header)
    found = _check_words(sent, ctx) + _check_seed_scope(sent, ctx) + _check_quantifiers(sent, ctx) if asserts else []
    if not blocked_quote:
        found += _check_numbers(sent, ctx)
    seen, out = set(), []
    for kind, detail in found:
        if (kind, detail) not in seen:
            seen.add((kind, detail))
            out.append(Finding(file=file, line=unit.line, kind=kind, text=text[:160], detail=detail))
    return out


def check_line(file: str, number: int, raw: str, ctx: ProseContext, context: str = "",
               with_code: str | None = None) -> list[Finding]:
    """One sentence (or line) of prose, checked as `audit_prose` checks a file's units."""
    code = re.findall(r"`([^`]*)`", with_code or raw)
    text = re.sub(r"`[^`]*`", "\u2039code\u203a", raw)
    return check_unit(file, Unit(number, text, code, context), ctx)


_WORKER_CTX: ProseContext | None = None  # the context a forked worker inherits


def _audit_file(path: Path, root: Path, ctx: ProseContext | None = None) -> tuple[list[Finding], int, int]:
    ctx = ctx if ctx is not None else _WORKER_CTX
    try:
        shown = path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        shown = str(path)
    units, marked = read_units(path)
    findings: list[Finding] = []
    for i, unit in enumerate(units):
        if _ANY_CLAIM.search(unit.text):
            findings += check_unit(shown, unit, ctx, _carried(units, i), screened=True)
    return findings, len(units), marked


def _carried(units: list[Unit], i: int) -> Q.Subject | None:
    """The subject a sentence that refers back ("It ... there") takes from the nearest sentence
    before it in the same paragraph that names a benchmark or a model."""
    unit = units[i]
    if unit.kind != "paragraph" or not Q.REFERENCE.search(unit.text):
        return None
    for before in reversed(units[max(0, i - 3):i]):
        if before.block != unit.block:
            return None
        s = Q.subject_of(normalize(before.text))
        if s.benchmarks or s.models:
            return s
    return None


def audit_prose(paths: list[Path], ctx: ProseContext, root: Path,
                workers: int | None = None) -> tuple[list[Finding], int, int]:
    """(findings, sentences read, lines skipped by the not-a-claim mark). Many files are read by
    forked workers (each inherits the context; findings come back in file order)."""
    import multiprocessing
    import os

    global _WORKER_CTX
    workers = workers or min(8, os.cpu_count() or 1)
    results: list[tuple[list[Finding], int, int]]
    if workers > 1 and len(paths) >= 8 and "fork" in multiprocessing.get_all_start_methods():
        _WORKER_CTX = ctx
        try:
            from ..workers import worker_pool

            with worker_pool(workers) as pool:
                results = pool.starmap(_audit_file, [(path, root) for path in paths], chunksize=4)
        finally:
            _WORKER_CTX = None
    else:
        results = [_audit_file(path, root, ctx) for path in paths]
    findings = [f for part, _, _ in results for f in part]
    return findings, sum(r[1] for r in results), sum(r[2] for r in results)
