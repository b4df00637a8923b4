"""Reading prose for statements that exceed the evidence, line by line, with file and line.

What it flags (outside the rendered text of an ALLOWED claim):

* `number`: a result number (a decimal or a percentage on a line that names a metric: AUC, ECE,
  Brier, pass@k, accuracy, lift, p-value, ...) that matches no evidence value at the precision
  shown;
* `claim_word`: improves, outperforms, beats, doubles, triples, N-fold, Nx, significant, state of
  the art, generalizes, robust, ... (a negated use, "does not improve", "no significant", is a
  negative statement and is not flagged);
* `scope_benchmarks`: a claim word with a general scope ("coding", "in general", "across
  benchmarks") that no ALLOWED claim scoped to all benchmarks covers;
* `scope_seeds`: "both seeds", "every seed", ... said of a result or a gate that did not pass on
  every one of them;
* `small_count_multiple`: a multiple (doubled, tripled, N-fold, Nx) said of a benchmark whose
  before/after evidence has no significant paired test (McNemar p < 0.05), or has none at all.

Code blocks, inline code, HTML comments and YAML front matter are not prose. A line ending in
`<!-- audit: not-a-claim -->` is skipped and counted (engineering numbers such as timings).
A line that quotes a BLOCKED claim must say BLOCKED; the quoted wording is then not a claim.
Words in double quotes are mentioned, not used ("doubled" in a sentence about the word).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

CLAIM_WORDS = re.compile(
    r"\b(improv(?:ements|ement|ing|ed|es|e)|outperform(?:ing|ed|s)?|beat(?:ing|s)?|"
    r"doubl(?:ing|ed|es|e)|tripl(?:ing|ed|es|e)|quadrupl(?:ing|ed|es|e)|\d+(?:\.\d+)?\s?[x×](?![\w.])|"
    r"\d+-fold|n-fold|significant(?:ly)?|state[- ]of[- ]the[- ]art|sota|generali[sz](?:ation|ing|ed|es|e)|"
    r"robust(?:ness|ly)?|superior|better than)", re.I)
DIGIT_MULTIPLE = re.compile(r"^\d", re.I)
MULTIPLE_WORDS = re.compile(r"\b(doubl\w*|tripl\w*|quadrupl\w*|\d+(?:\.\d+)?\s?[x×](?![\w.])|\d+-fold|n-fold)",
                            re.I)
NEGATION = re.compile(r"\b(not|no|never|without|nor|cannot|neither|n't)\b|n't\b", re.I)
GENERAL_SCOPE = re.compile(r"\b(coding|code generation|in general|generally|across (?:all )?benchmarks|"
                           r"all benchmarks|every benchmark|any benchmark|programming)\b", re.I)
SEED_SCOPE = re.compile(r"\b(both seeds|all seeds|every seed|each seed|two seeds|2 seeds|across seeds|"
                        r"all (?:the )?required seeds)\b", re.I)
PASS_WORDS = re.compile(r"\b(pass(?:es|ed)?|holds?|held|clears?|cleared|green)\b", re.I)
METRIC_CONTEXT = re.compile(r"(\bauc\b|\broc\b|\bece\b|\bmce\b|\bbrier\b|pass@\d+|pass rate|\baccuracy\b|\blift\b|"
                            r"calibration|\bp[- ]?value|\bp\s*[=<]|mcnemar|\bci\b|confidence interval|"
                            r"pr-auc|\bbss\b|skill score)", re.I)
DECIMAL = re.compile(r"(?<![\w.])([-+−]?\d+\.\d+)(\s?%)?(?![\w.]|\.\d)")
PERCENT_INT = re.compile(r"(?<![\w.])([-+−]?\d+)\s?%")
FRACTION = re.compile(r"(?<![\w/.])(\d+)\s?/\s?(\d+)(?![\w/.])")
BENCHMARK_NAMES = {
    "mbpp": re.compile(r"\bmbpp\b", re.I),
    "humaneval": re.compile(r"\b(humaneval|human-eval|he)\b", re.I),
    "livecodebench": re.compile(r"\b(livecodebench|lcb)\b", re.I),
}
IGNORE_MARK = "<!-- audit: not-a-claim -->"


class Finding(BaseModel):
    file: str
    line: int
    kind: str
    text: str
    detail: str


@dataclass
class ProseContext:
    allowed: list[tuple[str, object]]          # (normalized rendered text, verdict) of ALLOWED claims
    blocked: list[str]                         # normalized rendered (or template) texts of BLOCKED claims
    numbers: set[float]                        # every number in the verified evidence
    gates: dict[str, dict[str, str]]           # gate name -> per-seed status
    paired: dict[str, list[float]]             # benchmark family -> McNemar p of its before/after gains


def normalize(text: str) -> str:
    text = re.sub(r"`[^`]*`", lambda m: m.group(0)[1:-1], text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)           # links -> their text
    text = re.sub(r"[*_|>#]+", " ", text).replace("−", "-").replace("\u2013", "-")
    return " ".join(text.split())


def prose_lines(path: Path):
    """(line number, text) of the prose in a Markdown or text file."""
    lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    fence = comment = False
    start = 0
    if lines and lines[0].strip() == "---":  # YAML front matter
        for i in range(1, len(lines)):
            if lines[i].strip() == "---":
                start = i + 1
                break
    for number, line in enumerate(lines[start:], start=start + 1):
        stripped = line.strip()
        if stripped.startswith("```") or stripped.startswith("~~~"):
            fence = not fence
            continue
        if fence:
            continue
        if comment:
            if "-->" in line:
                comment = False
                line = line.split("-->", 1)[1]
            else:
                continue
        if IGNORE_MARK in re.sub(r"`[^`]*`", " ", line):  # the mark itself, not a mention of it in code
            yield number, None, line
            continue
        line = re.sub(r"<!--.*?-->", " ", line)
        if "<!--" in line:
            line, comment = line.split("<!--", 1)[0], True
        prose = re.sub(r"`[^`]*`", " ", line)  # inline code is not prose (but may name a gate)
        if prose.strip():
            yield number, prose, line


def _spans(text: str, needles: list[str]) -> list[tuple[int, int]]:
    spans = []
    for needle in needles:
        if not needle:
            continue
        start = text.find(needle)
        while start >= 0:
            spans.append((start, start + len(needle)))
            start = text.find(needle, start + 1)
    return spans


def _inside(pos: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    return any(a <= pos[0] and pos[1] <= b for a, b in spans)


def _negated(text: str, start: int) -> bool:
    before = text[max(0, start - 40):start]
    words = re.findall(r"[\w']+", before)[-4:]
    return any(NEGATION.fullmatch(w) or w.endswith("n't") for w in words)


def _matches_evidence(value: float, decimals: int, numbers: set[float], percent: bool) -> bool:
    """Shown at `decimals` places, does `value` round from some evidence value (or from 100x
    one, for a percentage or a value written in points)?"""
    tolerance = 0.5 * 10 ** -decimals + 1e-9
    return any(abs(c - value) <= tolerance for v in numbers for c in ((100 * v,) if percent else (v, 100 * v)))


@dataclass
class _Line:
    """One prose line, normalized, with the spans the checks must leave alone."""

    text: str
    with_code: str
    context: str
    allowed: list[tuple[int, int]]
    quoted: list[tuple[int, int]]
    covered: list[tuple[int, int]]
    result_line: bool


def check_line(file: str, number: int, raw: str, ctx: ProseContext, context: str = "",
               with_code: str | None = None) -> list[Finding]:
    """`context`: text that frames this line (a table's header row) for the metric check;
    `with_code`: the line with its inline code, where gate names are looked for."""
    text = normalize(raw)
    allowed = _spans(text, [t for t, _ in ctx.allowed])
    blocked = _spans(text, ctx.blocked) if re.search(r"\bBLOCKED\b|not claimed", text, re.I) else []
    # a quoted word is mentioned, not used: "doubled" in a sentence about the word is no claim
    quoted = [m.span() for m in re.finditer(r'"[^"]{1,80}"|“[^”]{1,80}”', text)] if not blocked else []
    # a digit multiple ("4x") is a claim only where the line speaks of a result
    result_line = bool(METRIC_CONTEXT.search(text) or METRIC_CONTEXT.search(context)
                       or any(rx.search(text) for rx in BENCHMARK_NAMES.values()))
    line = _Line(text, with_code if with_code is not None else raw, context, allowed, quoted,
                 allowed + blocked + quoted, result_line)
    found = [*_claim_words(line), *_multiples(line, ctx), *_seed_scope(line, ctx), *_numbers(line, ctx)]
    return [Finding(file=file, line=number, kind=kind, text=text[:160], detail=detail) for kind, detail in found]


def _claim_words(line: _Line) -> list[tuple[str, str]]:
    words = [m for m in CLAIM_WORDS.finditer(line.text) if not _inside(m.span(), line.covered)
             and not _negated(line.text, m.start()) and (line.result_line or not DIGIT_MULTIPLE.match(m.group(0)))]
    general = [m for m in GENERAL_SCOPE.finditer(line.text) if not _inside(m.span(), line.allowed)]
    if words and general:
        return [("scope_benchmarks", f"'{words[0].group(0)}' stated for '{general[0].group(0)}': no ALLOWED claim "
                                     "is scoped to every benchmark")]
    if words:
        return [("claim_word", f"'{words[0].group(0)}' is not inside the wording of an ALLOWED claim")]
    return []


def _multiples(line: _Line, ctx: ProseContext) -> list[tuple[str, str]]:
    """Multiples of small counts, sentence by sentence: the benchmarks each sentence names."""
    out, offset = [], 0
    for sentence in re.split(r"(?<=[.;!?])\s+", line.text):
        start, offset = line.text.find(sentence, offset), offset + len(sentence)
        named = [b for b, rx in BENCHMARK_NAMES.items() if rx.search(sentence)]
        for m in MULTIPLE_WORDS.finditer(sentence):
            span = (start + m.start(), start + m.end())
            if _inside(span, line.allowed + line.quoted) or _negated(sentence, m.start()):
                continue
            if DIGIT_MULTIPLE.match(m.group(0)) and not line.result_line:
                continue
            for bench in named or ["(no benchmark named)"]:
                ps = ctx.paired.get(bench, [])
                if not ps:
                    out.append(("small_count_multiple", f"'{m.group(0)}' for {bench}: no before/after evidence "
                                                        "with a paired test"))
                elif min(ps) >= 0.05:
                    out.append(("small_count_multiple", f"'{m.group(0)}' for {bench}: the paired test is not "
                                                        f"significant (McNemar p {min(ps):.3g})"))
            break
    return out


def _seed_scope(line: _Line, ctx: ProseContext) -> list[tuple[str, str]]:
    out = []
    for m in SEED_SCOPE.finditer(line.text):
        if _inside(m.span(), line.allowed + line.quoted):
            continue
        if not (PASS_WORDS.search(line.text) or CLAIM_WORDS.search(line.text)):
            continue
        named = [g for g in ctx.gates if re.search(rf"(?<![\w-]){re.escape(g)}(?![\w-])", line.with_code)]
        short = [g for g in named if len(ctx.gates[g]) < 2 or any(v != "pass" for v in ctx.gates[g].values())]
        if short:
            out.append(("scope_seeds", f"'{m.group(0)}' but gate {short[0]} is " +
                        ", ".join(f"{v} on seed {s}" for s, v in sorted(ctx.gates[short[0]].items()))))
        elif not named:
            out.append(("scope_seeds", f"'{m.group(0)}' names no gate and is not inside an ALLOWED claim scoped to "
                                       "those seeds"))
    return out


def _numbers(line: _Line, ctx: ProseContext) -> list[tuple[str, str]]:
    """Result numbers (on a line, or in a table, that names a metric) no evidence value rounds to."""
    text, out = line.text, []
    if not (METRIC_CONTEXT.search(text) or METRIC_CONTEXT.search(line.context)):
        return out
    for m in DECIMAL.finditer(text):
        if _inside(m.span(), line.covered):
            continue
        token = m.group(1).replace("−", "-")
        decimals = len(token.split(".")[1])
        if not _matches_evidence(float(token), decimals, ctx.numbers, bool(m.group(2))):
            out.append(("number", f"{m.group(0).strip()} matches no evidence value at {decimals} decimal(s)"))
    for m in PERCENT_INT.finditer(text):
        if _inside(m.span(), line.covered) or DECIMAL.match(text, m.start()):
            continue
        if re.match(r"\s*(ci\b|confidence|interval|bootstrap)", text[m.end():], re.I):
            continue  # a confidence level ("95% CI"), not a result
        if not _matches_evidence(float(m.group(1).replace("−", "-")), 0, ctx.numbers, True):
            out.append(("number", f"{m.group(0).strip()} matches no evidence value"))
    for m in FRACTION.finditer(text):
        if _inside(m.span(), line.covered):
            continue
        a, b = float(m.group(1)), float(m.group(2))
        if a not in ctx.numbers or b not in ctx.numbers:
            out.append(("number", f"{m.group(0)}: {'numerator' if a not in ctx.numbers else 'denominator'} matches "
                                  "no evidence count"))
    return out


def audit_prose(paths: list[Path], ctx: ProseContext, root: Path) -> tuple[list[Finding], int, int]:
    """(findings, lines read, lines skipped by the not-a-claim mark)."""
    findings, read, skipped = [], 0, 0
    for path in paths:
        try:
            shown = path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            shown = str(path)
        header, previous = "", 0
        for number, line, with_code in prose_lines(path):
            if line is None:
                skipped += 1
                continue
            read += 1
            in_table = line.lstrip().startswith("|")
            if in_table and previous != number - 1:
                header = line  # a table's first row frames its rows
            elif not in_table:
                header = ""
            previous = number if in_table else 0
            findings.extend(check_line(shown, number, line, ctx, header, with_code))
    return findings, read, skipped
