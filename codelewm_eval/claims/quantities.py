"""Prose read as claims about quantities (the evidence's side, the same typed quantities, is in
`facts`).

A number in prose is a quantity about a subject: a pass count (13/100), a pass rate or
percentage, a before/after change (absolute, relative, points, multiple), ROC-AUC, ECE, Brier,
lift, a p value or a CI bound; its subject is the benchmark, model or pass, seed and split that
the sentence names, or that its context (section heading, table header and row label) names.
The evidence exposes the same quantities with their subjects (`facts`): counts give fractions and
percentages; a before/after comparison gives every form of change. A number is backed only by a
fact of the same quantity and a compatible subject at the precision shown. Numbers inside
identifiers, paths, hashes, versions and dates are masked first: they back nothing and are
checked by nothing, and neither is a number that is no recognised quantity (a row count, a time).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .facts import METRIC_KEYS, Change, Fact, bundle_facts, family, norm_name  # noqa: F401 - re-exported

# ------------------------------------------------------------------------------------ subjects

# benchmark variants are distinct subjects: HumanEval+ is not HumanEval, MBPP+ is not MBPP (nor the
# MBPP pool, which is MBPP's problems with other candidates); a sentence that names both pools them
_PLUS = r"(?:\+|[-_ ]?plus\b|\(\+\))"
BENCHMARKS = {
    "humaneval-plus": re.compile(rf"\b(?:human-?eval{_PLUS}|(?-i:HE)\+)(?![\w-])|\bhuman-?eval\(\+\)", re.I),
    "humaneval": re.compile(r"\b(?:human-?eval|(?-i:HE))(?![\w-]|\+|[-_ ]?plus\b)|\bhuman-?eval\(\+\)", re.I),
    "mbpp-plus": re.compile(rf"\bmbpp{_PLUS}(?![\w])|\bmbpp\(\+\)", re.I),
    "mbpp": re.compile(r"\b(?:mbpp(?!\+|[-_ ]?plus\b)(?:[-_ ]?(?:sanitized|multiple))?|mbxp)(?![\w])|\bmbpp\(\+\)",
                       re.I),
    "livecodebench": re.compile(r"\b(?:livecodebench|lcb)\b", re.I),
}
SPLITS = re.compile(r"\b(test|val|validation|train)\b(?:\s+split)?", re.I)
SEED = re.compile(r"\bseeds?\s+(\d+)(?:\s*(?:and|,|/)\s*(\d+))?", re.I)


# what prose calls a model or a pass: BD6, BD6.2, BD6.8D2, pass-1, logreg, LoRA, CodeT
MODEL = re.compile(r"\b(BD\d+(?:\.\d+[A-Z]?\d*)?(?:\s*pass-1)?|logreg|logistic[- ]regression|lora|codet|"
                   r"p[-_]pass(?:[-_]\w+)?|surgery|surgeries|first pass)\b", re.I)
# "the surgery" and "the first pass" name the generator passes of a before/after comparison
MODEL_ALIASES = {"logisticregression": "logreg", "surgeries": "surgery", "firstpass": "surgery"}


def same_model(a: str, b: str) -> bool:
    """"bd6" is not "bd62"; "ppass" is "ppasslogreg" (a family and its member)."""
    if not a or not b:
        return True
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    return long_.startswith(short) and long_[len(short)].isalpha()


@dataclass
class Subject:
    benchmarks: set[str] = field(default_factory=set)
    models: set[str] = field(default_factory=set)
    seeds: set[int] = field(default_factory=set)
    splits: set[str] = field(default_factory=set)
    first_model: str | None = None   # the model the sentence is about (named first)


# a sentence that refers back ("It reaches 0.87 there", "There it reached 13/100", "the latter")
REFERENCE = re.compile(r"\b(?:it|its|there|they|their|them|this|these|those|here|the same|the latter|the former)\b",
                       re.I)


def subject_of(text: str, context: str = "", carried: Subject | None = None) -> Subject:
    """What a sentence is about; what it does not name, the sentence before it in the same
    paragraph may (`carried`, when it refers back), else its context (heading, table header)."""
    s = Subject()
    for source in (text, carried, context):
        if isinstance(source, Subject):
            s.benchmarks = s.benchmarks or set(source.benchmarks)
            if not s.models and source.models:
                s.models, s.first_model = set(source.models), source.first_model
            s.seeds = s.seeds or set(source.seeds)
            s.splits = s.splits or set(source.splits)
            continue
        if not source:
            continue
        found = Subject({b for b, rx in BENCHMARKS.items() if rx.search(source)},
                        {MODEL_ALIASES.get(norm_name(m), norm_name(m)) for m in MODEL.findall(source)},
                        {int(x) for m in SEED.finditer(source) for x in m.groups() if x},
                        {"val" if m.lower().startswith("val") else m.lower() for m in SPLITS.findall(source)})
        s.benchmarks = s.benchmarks or found.benchmarks
        if not s.models and found.models:
            first = MODEL.search(source).group(0)
            s.first_model = MODEL_ALIASES.get(norm_name(first), norm_name(first))
        s.models = s.models or found.models
        s.seeds = s.seeds or found.seeds
        s.splits = s.splits or found.splits
    return s


# ---------------------------------------------------------------------------------- extraction

@dataclass
class Quantity:
    """One quantity a sentence states."""

    kind: str            # metric | count | percent | change | relative | points | multiple | p_value | ci
    span: tuple[int, int]
    text: str
    values: tuple = ()
    decimals: int = 0
    metric: str | None = None
    bound: str = "="     # "=", "<" (p < 0.05), ">=" (more than doubled, ROC-AUC above 0.7), "<=" (ECE under 0.1)


_MASKS = [
    re.compile(r"\u2039code\u203a"),                                   # inline code (a mention)
    re.compile(r"https?://\S+"),
    re.compile(r"\b\d{4}-\d{2}-\d{2}\b(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?"),  # dates and times
    re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\b"),
    re.compile(r"\bv?\d+(?:\.\d+){2,}\b"),                              # versions
    re.compile(r"\b[0-9a-f]{7,64}\b"),                                  # hashes
    re.compile(r"(?<![\w/])[A-Za-z][\w.+-]*/[\w.-]*\d[\w.-]*"),         # task ids and paths: Mbpp/19, a/b2.json
    re.compile(r"\b[\w.-]*[A-Za-z_][\w-]*\.(?:py|json|jsonl|md|yaml|yml|txt|gz|planck|cpp|safetensors)\b"),
    re.compile(r"\b(?:r|α|alpha|lr|rank|epochs?|batch|max-len|ckpt-step|λ|n|T|top_p|temp)\s*=\s*[\w.+-]+", re.I),
    re.compile(r"(?<![\w.])(?![x×]\d+(?:\.\d+)?\b)[A-Za-z]+[A-Za-z_-]*\d[\w.]*"),  # identifiers: BD6.2, phys05
    re.compile(r"\bpass@\d+\b", re.I),
    re.compile(r"\b\d+(?:\.\d+)?\s*(?:s|ms|min|h|GB|MB|KB|GiB|MiB|M|B|k)\b(?!\w)"),  # durations and sizes
    re.compile(r"\b\d+\s*(?:rows?|steps?|params?|parameters|tokens?|visits?|envelopes?|copies|prompts?|lines?|"
               r"files?|candidates?|samples?|seeds?|draws|bins|workers?|cores?)\b", re.I),
    re.compile(r"\b(?:seeds?|seed)\s+\d+(?:\s*(?:and|,|/)\s*\d+)?", re.I),
    re.compile(r"\b(?:9[059]|68)\s?%(?=\s*(?:CI|confidence|interval|bootstrap|task-bootstrap))", re.I),
]

NUMBER = r"[-+−]?\d+(?:\.\d+)?"
FRACTION = re.compile(r"(?<![\w./])(\d+)\s?/\s?(\d+)(?![\w/]|\.\d)")
PERCENT = re.compile(r"(?<![\w.])([-+−]?\d+(?:\.\d+)?)\s?%")
CHANGE = re.compile(r"(?:\bfrom\s+)?(\d+(?:\.\d+)?\s?(?:/\s?\d+|%))\s*(?:→|->|=>|\bto\b|–|—)\s*"
                    r"(\d+(?:\.\d+)?\s?(?:/\s?\d+|%))", re.I)
POINTS = re.compile(r"(?<![\w.])([-+−]?\d+(?:\.\d+)?)\s*(?:percentage\s+)?(?:points?|pp|pts?)\b", re.I)
METRIC_WORDS = {
    "auc": r"(?:roc[- ]?auc|auroc|\bauc)", "pr_auc": r"(?:pr[- ]?auc|average precision)", "ece": r"\bece",
    "mce": r"\bmce", "brier_skill": r"brier skill(?: score)?|\bbss", "brier": r"\bbrier(?! skill)(?: score)?",
    "lift": r"\blift", "accuracy": r"\baccuracy",
}
# a metric word binds the first number after it within eight words, unless another metric word comes between
_OTHER_METRIC = r"(?:roc|auroc|auc|pr-auc|ece|mce|brier|lift|accuracy)\b"
METRIC_VALUE = re.compile("|".join(
    [rf"(?P<{k}>{w})[^\w+−-]{{0,3}}(?:(?!{_OTHER_METRIC})[\w‹›-]+\s+){{0,8}}?[\s:=(]{{0,3}}(?P<{k}_v>[-+−]?\d*\.\d+)"
     for k, w in METRIC_WORDS.items()]), re.I)
VALUE_METRIC = re.compile("|".join(
    [rf"(?P<{k}_v>[-+−]?\d*\.\d+)\s+(?:\w+\s+)?(?P<{k}>{w})" for k, w in METRIC_WORDS.items() if k != "lift"]), re.I)
P_VALUE = re.compile(r"\bp(?:[- ]?value)?\s*(?P<op>[=<≤]|of|is|was)?\s*(?P<v>\d*\.\d+(?:e-?\d+)?|\d+(?:\.\d+)?e-?\d+)",
                     re.I)
CI = re.compile(r"\[\s*([-+−]?\d*\.\d+)\s*(?:,|to|–|-)\s*([-+−]?\d*\.\d+)\s*\]|\bCI\s*(?:of|:)?\s*([-+−]?\d*\.\d+)"
                r"\s*(?:to|–|-|,)\s*([-+−]?\d*\.\d+)", re.I)
MULTIPLE_WORDS = {"doubl": 2.0, "tripl": 3.0, "quadrupl": 4.0, "halv": 0.5, "twice": 2.0, "thrice": 3.0}
NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
                "ten": 10}
_NUMBER_WORD = r"(?:one|two|three|four|five|six|seven|eight|nine|ten)(?: and a half)?"
# a multiple in any form: a verb (doubled, halved), a word (twice, threefold, two and a half times),
# a number (2.5-fold, x3, 3×, 2.5 times, by a factor of 3), a magnitude (an order of magnitude), a half
MULTIPLE = re.compile(r"(?P<more>more than\s+|over\s+|at least\s+|nearly\s+|almost\s+)?(?:"
                      r"\b(?P<w>doubl\w*|tripl\w*|quadrupl\w*|halv\w*|twice|thrice)\b(?!-)|"
                      rf"\b(?P<v>{_NUMBER_WORD})[- ]?(?:fold|times)\b|"
                      r"\b(?P<g>an? orders? of magnitude|(?:two|three) orders of magnitude)\b|"
                      r"\b(?P<h>(?:cut|fell|dropped|shrank|down) (?:by |in )half|halfway down)\b|"
                      rf"\bby a factor of (?:(?P<f>\d+(?:\.\d+)?)|(?P<fw>{_NUMBER_WORD}))\b|"
                      r"\b(?P<n>\d+(?:\.\d+)?)\s*-?\s*(?:fold|times)\b|(?<![\w.])[x×]\s?(?P<x>\d+(?:\.\d+)?)\b(?!-\d)|"
                      r"(?<![\w.])(?P<y>\d+(?:\.\d+)?)\s?[x×](?![\w.]))", re.I)


def _word_number(word: str) -> float:
    head = word.lower().split()[0].split("-")[0]
    return NUMBER_WORDS[head] + (0.5 if "half" in word.lower() else 0.0)


def multiple_value(m: re.Match) -> float:
    """The factor a MULTIPLE match states."""
    if m.group("w"):
        word = m.group("w").lower()
        return next(v for stem, v in MULTIPLE_WORDS.items() if word.startswith(stem))
    if m.group("v") or m.group("fw"):
        return float(_word_number(m.group("v") or m.group("fw")))
    if m.group("g"):
        text = m.group("g").lower()
        return 1000.0 if text.startswith("three") else 100.0 if text.startswith("two") else 10.0
    if m.group("h"):
        return 0.5
    return float(m.group("f") or m.group("n") or m.group("x") or m.group("y"))


SIGNED = re.compile(r"(?<![\w.])([+−-]\d+)(?![\d.%/]|\s*(?:points?|pp|pts?|percent)\b)")


def _decimals(token: str) -> int:
    return len(token.split(".")[1]) if "." in token else 0


def _num(token: str) -> float:
    return float(token.replace("−", "-").replace(" ", ""))


_MASK = re.compile("|".join(f"(?:{rx.pattern})" for rx in _MASKS), re.I)
_MAYBE = re.compile(r"\d|doubl|tripl|quadrupl|halv|fold|twice|thrice|times|magnitude|half|factor", re.I)


# a run of 200 or more characters without a space is no word, number or identifier a claim is made
# of (a blob, a hash dump, a minified line); blanked before any pattern reads it, every reader is
# linear in the line (several identifier patterns backtrack over the whole token otherwise)
LONG_TOKEN = re.compile(r"\S{200,}")


def blank_long_tokens(text: str) -> str:
    return LONG_TOKEN.sub(lambda m: " " * len(m.group(0)), text) if len(text) >= 200 else text


def mask(text: str) -> str:
    """The sentence with identifiers, paths, hashes, versions, dates, sizes and times blanked."""
    return _MASK.sub(lambda m: " " * len(m.group(0)), blank_long_tokens(text))


class _Found:
    """Quantities found so far in one sentence; a span is read once, by the first reader."""

    def __init__(self):
        self.out: list[Quantity] = []

    def free(self, span) -> bool:
        return not any(q.span[0] < span[1] and span[0] < q.span[1] for q in self.out)

    def add(self, q: Quantity) -> None:
        self.out.append(q)


def _intervals_and_p(masked: str, found: _Found) -> None:
    for m in CI.finditer(masked):
        lo, hi = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        found.add(Quantity("ci", m.span(), m.group(0), (_num(lo), _num(hi)), max(_decimals(lo), _decimals(hi))))
    for m in P_VALUE.finditer(masked):
        if found.free(m.span()):
            bound = "<" if (m.group("op") or "") in ("<", "≤") else "="
            found.add(Quantity("p_value", m.span(), m.group(0), (_num(m.group("v")),), _decimals(m.group("v")),
                               bound=bound))


_ANY_METRIC = re.compile("|".join(METRIC_WORDS.values()), re.I)
_ANY_CHANGE = re.compile(r"→|->|=>|–|—|\bto\b", re.I)
_ANY_MULTIPLE = re.compile(r"doubl|tripl|quadrupl|halv|fold|[x×]|times|twice|thrice|magnitude|half|factor", re.I)
_ANY_POINTS = re.compile(r"point|pp\b|pts?\b", re.I)


_AT_LEAST = re.compile(r"(?:\babove|\bover|\bmore than|\bgreater than|\bhigher than|\bat least|\bexceed(?:s|ed|ing)?|"
                       r"\bbeyond|>=?|≥)\s*$", re.I)
_AT_MOST = re.compile(r"(?:\bbelow|\bunder|\bless than|\blower than|\bat most|\bwithin|<=?|≤)\s*$", re.I)


def _bound(masked: str, start: int) -> str:
    """A metric stated as a bound ("ROC-AUC above 0.7", "ECE under 0.1") or as a value."""
    before = masked[max(0, start - 16):start]
    return ">=" if _AT_LEAST.search(before) else "<=" if _AT_MOST.search(before) else "="


def _metrics(masked: str, found: _Found) -> None:
    if not _ANY_METRIC.search(masked):
        return  # the alternation below is the slowest reader: skip sentences that name no metric
    for rx in (METRIC_VALUE, VALUE_METRIC):
        for m in rx.finditer(masked):
            key = next(k for k, v in m.groupdict().items() if v is not None and not k.endswith("_v"))
            span = m.span(f"{key}_v")
            if found.free(span):
                token = m.group(f"{key}_v")
                found.add(Quantity("metric", span, token, (_num(token),), _decimals(token), metric=key,
                                   bound=_bound(masked, span[0])))


def _changes_and_multiples(masked: str, found: _Found) -> None:
    for m in CHANGE.finditer(masked) if _ANY_CHANGE.search(masked) else ():
        if found.free(m.span()):
            found.add(Quantity("change", m.span(), m.group(0), (m.group(1).replace(" ", ""),
                                                                 m.group(2).replace(" ", ""))))
    for m in MULTIPLE.finditer(masked) if _ANY_MULTIPLE.search(masked) else ():
        if not found.free(m.span()):
            continue
        k = multiple_value(m)
        if not (m.group("w") or m.group("h")) and (_DOWN_BEFORE.search(masked[max(0, m.start() - 40):m.start()])
                                                   or _DOWN_AFTER.match(masked[m.end():m.end() + 40])):
            k = 1 / k  # "fell by a factor of six", "a threefold drop": the ratio is a sixth, a third
        more = (m.group("more") or "").strip().lower()
        found.add(Quantity("multiple", m.span(), m.group(0).strip(), (k,),
                           bound=">=" if more in ("more than", "over", "at least") else "="))
    for m in POINTS.finditer(masked) if _ANY_POINTS.search(masked) else ():
        if found.free(m.span()):
            found.add(Quantity("points", m.span(), m.group(0), (_signed(m.group(1), masked, m.span()),),
                               _decimals(m.group(1))))


_RELATIVE_AFTER = re.compile(r"\s*(?:increase|decrease|gain|improvement|rise|drop|relative|more|higher|lower|better|"
                             r"worse)")
_RELATIVE_BEFORE = re.compile(r"(?:rose|rises|grew|fell|dropped|up|down|increased|decreased|by)\s*$")


# a change's direction said in words: an unsigned "54% relative drop", "fell 54%", "down 7 points",
# "cut by 54%" is a negative change
_DOWN_AFTER = re.compile(r"\s*(?:relative\s+|percentage\s+|points?\s+|pp\s+)?(?:drop|decrease|decline|fall|loss|"
                         r"reduction|cut|lower|worse|fewer|less)", re.I)
_DOWN_BEFORE = re.compile(r"\b(?:fell|falls?|dropped|drops?|down|decreased|declined|lost|loses|cut|reduced|shrank|"
                          r"regressed|lower(?:ed)?)\s+(?:(?:\S+\s+){0,4}by\s+)?(?:about\s+|some\s+|roughly\s+)?$",
                          re.I)


def _signed(token: str, masked: str, span: tuple[int, int]) -> float:
    """A change's value with its sign: the token's own, else the direction its words give."""
    value = _num(token)
    if token[:1] in "+-−":
        return value
    after, before = masked[span[1]:span[1] + 40], masked[max(0, span[0] - 40):span[0]]
    if _DOWN_AFTER.match(after) or _DOWN_BEFORE.search(before):
        return -abs(value)
    return value


def _shares_and_counts(masked: str, context: str, found: _Found) -> None:
    for m in PERCENT.finditer(masked):
        if not found.free(m.span()):
            continue
        token = m.group(1)
        relative = (token[0] in "+-−" or _RELATIVE_AFTER.match(masked[m.end():m.end() + 30].lower())
                    or _RELATIVE_BEFORE.search(masked[max(0, m.start() - 25):m.start()].lower())
                    or "rel" in context.lower())
        found.add(Quantity("relative" if relative else "percent", m.span(), m.group(0),
                           (_signed(token, masked, m.span()) if relative else _num(token),), _decimals(token)))
    for m in FRACTION.finditer(masked):
        if found.free(m.span()):
            found.add(Quantity("count", m.span(), m.group(0), (int(m.group(1)), int(m.group(2)))))
    for m in SIGNED.finditer(masked):
        if found.free(m.span()) and ("abs" in context.lower() or re.search(
                r"\b(?:tasks?|problems?|passes|absolute)\b", masked[m.end():m.end() + 20], re.I)):
            found.add(Quantity("absolute", m.span(), m.group(0), (_num(m.group(1)),)))


def _metric_named(label: str) -> str | None:
    """The quantity a label names (the last metric word in it), or "p_value"."""
    if re.search(r"mcnemar|\bp\b|p-value", label, re.I):
        return "p_value"
    named = [(m.start(), key) for key, word in METRIC_WORDS.items() for m in re.finditer(word, label, re.I)]
    return max(named)[1] if named else None


def _add_named(found: _Found, key: str | None, span, token: str) -> None:
    if key is None or not found.free(span):
        return
    if key == "p_value":
        found.add(Quantity("p_value", span, token, (_num(token),), _decimals(token)))
    else:
        found.add(Quantity("metric", span, token, (_num(token),), _decimals(token), metric=key))


# "lift over random, seed 42: +0.080", "ECE (seed 1729) = 0.02": a value bound by its label, the
# words before the colon back to the previous colon, semicolon or cell bar
LABELLED = re.compile(r"[:=]\s*(?P<v>[-+−]?\d*\.\d+)(?![\d/%.]|\s*(?:points?|pp)\b)")


def _labelled(masked: str, found: _Found) -> None:
    if ":" not in masked and "=" not in masked:
        return
    for m in LABELLED.finditer(masked):
        label = re.split(r"[:;=|]", masked[max(0, m.start() - 80):m.start()])[-1]
        _add_named(found, _metric_named(label), m.span("v"), m.group("v"))


def _bare_cell(masked: str, header: str, label: str, found: _Found) -> None:
    """A bare number in a table cell: its column header names the quantity, else its row label
    (a table whose rows are metrics and whose columns are seeds)."""
    bare = re.fullmatch(r"\s*([-+−]?\d*\.\d+)\s*", masked)
    if bare:
        _add_named(found, _metric_named(header) or _metric_named(label), bare.span(1), bare.group(1))


_COUNT_WORDS = {**NUMBER_WORDS, "no": 0, "zero": 0, "none": 0, "eleven": 11, "twelve": 12, "thirteen": 13,
                "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
                "twenty": 20}
_COUNT = r"(?:\d+|" + "|".join(_COUNT_WORDS) + r")"
_RESTRICT = r"(?:(?:only|just|merely|a mere|but|no more than|at most|fewer than|exactly|all but)\s+)?"
_KEEP = r"kept|keeps?|keeping|retain(?:ed|s)?|held|holds?|preserv(?:ed|es)|survived"
_LOSE = r"lost|loses?|losing|dropped|drops?|regressed|broke|broken"
# "lost only two anchors", "kept 17 of 19 anchors", "only one anchor was lost", "kept all but six anchors"
ANCHOR_COUNT = re.compile(
    rf"\b(?P<verb>{_KEEP}|{_LOSE})\s+(?P<r>{_RESTRICT})(?P<n>{_COUNT})(?:\s+(?:of|out of)\s+(?:the\s+|its\s+)?"
    rf"(?P<t>\d+|{'|'.join(_COUNT_WORDS)}))?\s+(?:\w+\s+)?anchors?\b|"
    rf"\b(?P<r2>{_RESTRICT})(?P<n2>{_COUNT})\s+(?:(?:of|out of)\s+(?:the\s+)?(?P<t2>\d+)\s+)?(?:\w+\s+)?anchors?\s+"
    rf"(?:(?:were|was|got|have been|had been|are|is)\s+)?(?P<verb2>{_KEEP}|{_LOSE})\b", re.I)


_ANCHOR_QUALIFIED = re.compile(r"\s*(?:\([^)]{0,3}\)\s*)?(?:that|which|than|relative|compared|since|beyond|besides|"
                               r"more|fewer|other|earlier|new|newly|again)\b", re.I)


def _count_value(token: str) -> int:
    return int(token) if token.isdigit() else _COUNT_WORDS[token.lower()]


def _anchor_counts(masked: str, found: _Found) -> None:
    """Counts of anchors kept or lost: ("lost" | "kept", count, total or 0, bound)."""
    if "anchor" not in masked.lower():
        return
    for m in ANCHOR_COUNT.finditer(masked):
        if _ANCHOR_QUALIFIED.match(masked, m.end()):
            continue  # "loses 1 anchor(s) that an earlier pass kept": a count of another set than the ladder's
        verb = (m.group("verb") or m.group("verb2")).lower()
        restrict = (m.group("r") or m.group("r2") or "").strip().lower()
        n = _count_value(m.group("n") or m.group("n2"))
        total = m.group("t") or m.group("t2")
        lost = re.match(_LOSE, verb) is not None
        if restrict == "all but":  # kept all but six: lost six
            lost = not lost
        bound = "<=" if restrict in ("no more than", "at most", "fewer than") else "="
        span = (m.start("n") if m.group("n") else m.start("n2"), m.end())
        if found.free(span):
            found.add(Quantity("anchors", m.span(), m.group(0).strip(),
                               ("lost" if lost else "kept", n, _count_value(total) if total else 0), bound=bound))


def extract(text: str, context: str = "", header: str = "", label: str = "") -> list[Quantity]:
    """The quantities a sentence states (a table cell is read with its column header and row label)."""
    if not _MAYBE.search(text):
        return []  # no digit and no multiple word: no quantity
    masked = mask(text)
    found = _Found()
    _intervals_and_p(masked, found)
    _anchor_counts(masked, found)
    _metrics(masked, found)
    _labelled(masked, found)
    _changes_and_multiples(masked, found)
    _shares_and_counts(masked, context, found)
    if not found.out and (header or label):
        _bare_cell(masked, header, label, found)
    return sorted(found.out, key=lambda q: q.span)


# ------------------------------------------------------------------------------------ matching

def close(shown: float, value: float, decimals: int) -> bool:
    return abs(shown - value) <= 0.5 * 10 ** -decimals + 1e-9


def metric_matches(q: Quantity, value: float) -> bool:
    """Does an evidence value make a stated metric true: rounds to it, or lies within its bound?"""
    if q.bound == ">=":
        return value >= q.values[0] - 1e-12
    if q.bound == "<=":
        return value <= q.values[0] + 1e-12
    return close(q.values[0], value, q.decimals)


def compatible(subject: Subject, benchmark: str | None, models: tuple[str, ...], seed=None, split=None) -> bool:
    if subject.benchmarks and benchmark not in subject.benchmarks and benchmark is not None:
        return False
    named = subject.models - {"surgery"}
    if named and models and not any(same_model(s, m) for s in named for m in models if m):
        return False
    if subject.seeds and seed is not None and seed not in subject.seeds:
        return False
    if subject.splits and split is not None and split not in subject.splits:
        return False
    return True


def _parse_side(token: str) -> tuple[float, int | None, int]:
    """"13/100" -> (13, 100, 0); "13%" -> (13, None, decimals)."""
    if "/" in token:
        a, b = token.split("/")
        return float(a), int(b), 0
    value = token.rstrip("%")
    return float(value), None, _decimals(value)


def change_matches(q: Quantity, c: Change) -> bool:
    (a, na, da), (b, nb, db) = (_parse_side(s) for s in q.values)
    if na is not None:
        ok_a = na == c.n and a == c.before
    else:
        ok_a = close(a, 100 * c.before / c.n, da)
    if nb is not None:
        ok_b = nb == c.n and b == c.after
    else:
        ok_b = close(b, 100 * c.after / c.n, db)
    return ok_a and ok_b


def multiple_matches(k: float, bound: str, c: Change, shown: str = "") -> bool:
    """A word ("doubled") allows the ratio within a quarter of k; a number ("2.5x") must round to it."""
    ratio = c.ratio
    if ratio is None:
        return False
    if bound == ">=":
        return ratio >= k - 1e-9
    if re.search(r"magnitude", shown, re.I):  # within half an order of magnitude
        return ratio > 0 and abs(math.log10(ratio) - math.log10(k)) < 0.5
    number = re.search(r"\d+(?:\.\d+)?", shown)
    if number:  # a number is read at the precision shown: "2.5-fold" is not 3
        shown_k = k if k >= 1 else 1 / k
        return close(shown_k, ratio if k >= 1 else 1 / ratio if ratio else math.inf, _decimals(number.group(0)))
    if re.search(rf"\b{_NUMBER_WORD}\b", shown, re.I):  # "three times" is 3 to the unit, "two and a half" to the half
        step = 0.25 if "half" in shown.lower() else 0.5
        return abs((ratio if k >= 1 else 1 / ratio if ratio else math.inf) - (k if k >= 1 else 1 / k)) <= step
    return abs(ratio - k) <= 0.25 * k


def is_finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)
