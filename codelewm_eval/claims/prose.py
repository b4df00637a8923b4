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
from pathlib import Path

from pydantic import BaseModel

from . import quantities as Q
from .clauses import _clause_of, hypothetical, negated, negative_clause  # noqa: F401 - re-exported
from .context import (  # noqa: F401 - re-exported: the audit builds the context
    AllowedClaim,
    ProseContext,
    _change_form_matches,
    _changes,
    _covering_claims,
    _facts,
    _has,
    _local_subject,
    _nearest,
    _pool,
    _Sentence,
    _stated,
    _subject_words,
    _why_not,
    claim_topic,
    normalize,
    topic_of,
)
from .markdown import IGNORE_MARK, Unit, read_units  # noqa: F401 - IGNORE_MARK re-exported
from .scopes import (
    _EVERY_BENCHMARK,
    _EVERY_MODEL,
    _check_quantifiers,
    _check_seed_scope,
    _gate_verdict,
)
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


# --------------------------------------------------------------------------------------- checks


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


class _Asserted:
    """The claim words a sentence asserts (not quoted, negated, hypothetical or in a list of
    alternatives), by class, with its subject and topic."""

    def __init__(self, sent: _Sentence):
        text, self.s = sent.text, sent.subject

        def live(rx):
            return [m for m in rx.finditer(text) if not any(a <= m.start() < b for a, b in sent.quoted)
                    and not negated(text, m.start()) and not negative_clause(text, m.start())
                    and not (rx is QUALITY and _INNER_NEGATION.search(m.group(0)))
                    and not hypothetical(text, m.start()) and "/" not in text[max(0, m.start() - 1):m.end() + 1]]

        result = bool(self.s.benchmarks or RESULT_WORDS.search(text))
        self.gains = live(IMPROVE) + live(QUALITY) + ([m for m in live(RESULT_VERBS) + live(SUCCESS)
                                                      if not WEIGHT_WORDS.search(text[m.end():m.end() + 30])]
                                                     if result else [])
        self.verdicts = live(GATE_SUCCESS)
        self.significant, self.calibrated = live(SIGNIFICANT), live(CALIBRATED)
        self.never, self.anchors_kept = live(NEVER), live(ANCHORS_KEPT)
        self.all = self.gains + self.verdicts + self.significant + self.calibrated + self.never + self.anchors_kept
        self.general = [m for m in GENERAL_SCOPE.finditer(text) if not any(a <= m.start() < b for a, b in sent.quoted)]
        self.topic = topic_of(text + " " + sent.context)


def _check_words(sent: _Sentence, ctx: ProseContext) -> list[tuple[str, str]]:
    """The first claim word of the sentence that no ALLOWED claim backs, checked class by class."""
    if sent.allowed or sent.blocked_quote:
        return []
    words = _Asserted(sent)
    for check in (_general_scope, _never, _anchors_kept, _calibrated, _significant, _verdicts, _gains):
        found = check(sent, ctx, words)
        if found:
            return [found]
    return []


def _general_scope(sent: _Sentence, ctx: ProseContext, w: _Asserted) -> tuple[str, str] | None:
    if not (w.all and w.general):
        return None
    s = w.s
    scoped = [c for c in _covering_claims(ctx, Q.Subject(set(), s.models, first_model=s.first_model), topic=w.topic)
              if "all" in c.benchmarks]
    return None if scoped else ("scope_benchmarks", f"'{w.all[0].group(0)}' stated for '{w.general[0].group(0)}': no "
                                                    "ALLOWED claim is scoped to every benchmark")


def _never(sent: _Sentence, ctx: ProseContext, w: _Asserted) -> tuple[str, str] | None:
    return ("claim_word", f"'{w.never[0].group(0)}' is never backed by a gate: no ALLOWED claim makes it") \
        if w.never else None


def _anchors_kept(sent: _Sentence, ctx: ProseContext, w: _Asserted) -> tuple[str, str] | None:
    if not w.anchors_kept:
        return None
    s = w.s
    status = [v for k, v in ctx.anchor_gates.items() if not s.models or any(k.startswith(x) or x.startswith(k)
                                                                           for x in s.models)]
    if not status or any(v != "pass" for v in status):
        return ("claim_word", f"'{w.anchors_kept[0].group(0)}': the anchor gate of {_subject_words(s)} is "
                              f"{', '.join(sorted(set(status))) or 'not in the evidence'}")
    return None


def _calibrated(sent: _Sentence, ctx: ProseContext, w: _Asserted) -> tuple[str, str] | None:
    if w.calibrated and not _covering_claims(ctx, w.s, metrics={"ece", "ece_mass", "mce"}):
        return ("claim_word", f"'{w.calibrated[0].group(0)}' for {_subject_words(w.s)}: no ALLOWED claim on a "
                              "calibration (ECE) gate covers it")
    return None


def _significant(sent: _Sentence, ctx: ProseContext, w: _Asserted) -> tuple[str, str] | None:
    if w.significant and not _covering_claims(ctx, w.s, topic=w.topic):
        return ("claim_word", f"'{w.significant[0].group(0)}' for {_subject_words(w.s)}: no ALLOWED claim on a "
                              f"significant {'paired test' if w.topic == 'paired' else w.topic + ' gate'} covers it")
    return None


def _verdicts(sent: _Sentence, ctx: ProseContext, w: _Asserted) -> tuple[str, str] | None:
    s = w.s
    for m in w.verdicts:
        named = [g for g in ctx.gates if any(re.search(rf"(?<![\w-]){re.escape(g)}(?![\w-])", x)
                                             for x in [sent.text, *sent.code])]
        if named:  # a named gate: its own verdict decides
            short = [g for g in named if any(v != "pass" for v in _gate_verdict(ctx, g, s).values())
                     or not _gate_verdict(ctx, g, s)]
            if short:
                verdict = _gate_verdict(ctx, short[0], s)
                return ("claim_word", f"'{m.group(0)}': gate {short[0]} is " + (", ".join(
                    f"{v} on seed {x}" for x, v in sorted(verdict.items())) or "without a verdict"))
        elif not _covering_claims(ctx, s, topic=w.topic if w.topic != "score" else None):
            return ("claim_word", f"'{m.group(0)}' for {_subject_words(s)}: no ALLOWED claim covers that subject "
                                  f"({_why_not(ctx, s, w.topic)})")
    return None


def _gains(sent: _Sentence, ctx: ProseContext, w: _Asserted) -> tuple[str, str] | None:
    if w.gains and not _covering_claims(ctx, w.s, topic=w.topic if w.topic != "score" else "rerank"):
        return ("claim_word", f"'{w.gains[0].group(0)}' for {_subject_words(w.s)}: no ALLOWED claim covers that "
                              f"subject ({_why_not(ctx, w.s, w.topic)})")
    return None


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
