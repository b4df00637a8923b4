"""Scopes and quantifiers: a statement over every seed, benchmark, scorer or pass (with or without
a claim verb) is checked on each member the evidence measures; a named gate by its own verdict."""

from __future__ import annotations

import re

from . import quantities as Q
from .clauses import hypothetical, negated, negative_clause
from .context import (
    ProseContext,
    _change_form_matches,
    _changes,
    _facts,
    _local_subject,
    _Sentence,
    _stated,
    _subject_words,
)
from .vocabulary import (
    DOWN_WORDS,
    IMPROVE,
    PASS_SCOPE,
    PASS_WORDS,
    SEED_SCOPE,
    SIGNIFICANT,
    UP_WORDS,
)


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
