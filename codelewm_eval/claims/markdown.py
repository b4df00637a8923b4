"""Prose units of a Markdown (or plain-text) file, read with a real parser (markdown-it-py).

Each unit is one sentence with the line it starts on and its context: the section heading above
it, and for a table cell the column's header and the row's first cell. Paragraphs, list items,
headings and table cells are prose; fenced and indented code, inline code, HTML and YAML front
matter are not (inline code is kept apart, as a mention that may name a gate). A line ending in
`<!-- audit: not-a-claim -->` is skipped and counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from markdown_it import MarkdownIt

from ..errors import InputError
from ..io import decode_text

IGNORE_MARK = "<!-- audit: not-a-claim -->"
CODE = "\u2039code\u203a"  # what an inline code span reads as in prose: a mention, never a claim
# a sentence ends at . ! ? followed by space and a capital, a digit, a quote or a bracket; not after
# a decimal point, an initial, or the abbreviations listed
_SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)(?<!\bvs)(?<!\betc)(?<=[.!?])\s+(?=[A-Z0-9\"“(\[*_\u2039])")


@dataclass
class Unit:
    line: int
    text: str                        # the sentence; inline code reads as CODE
    code: list[str] = field(default_factory=list)  # the inline code spans of its block
    context: str = ""                # section heading, table column header and row label
    kind: str = "paragraph"          # paragraph | heading | cell
    block: int = 0                   # the paragraph, list item or row it belongs to (a subject carries within)
    header: str = ""                 # a cell's column header
    label: str = ""                  # a cell's row label (the row's first cell)


def _parser() -> MarkdownIt:
    """CommonMark's block structure and the inline rules prose needs (code spans, HTML comments,
    breaks, escapes, links); emphasis markers and the like stay in the text, where `normalize`
    drops them (a quarter faster than the full preset)."""
    return MarkdownIt("zero", {"html": True}).enable([
        "table", "code", "fence", "blockquote", "hr", "list", "reference", "html_block", "heading", "lheading",
        "paragraph", "backticks", "html_inline", "newline", "escape", "link", "image", "entity"])


_MD = _parser()


def _front_matter(lines: list[str]) -> int:
    if lines and lines[0].strip() == "---":
        for i in range(1, len(lines)):
            if lines[i].strip() == "---":
                return i + 1
    return 0


def _inline_text(token, first_line: int) -> tuple[list[tuple[int, str]], list[str]]:
    """(line, text) pieces of an inline token, and its code spans."""
    pieces: list[tuple[int, str]] = []
    code: list[str] = []
    line = first_line
    for child in token.children or []:
        if child.type in ("softbreak", "hardbreak"):
            line += 1
            pieces.append((line, "\n"))
        elif child.type == "code_inline":
            code.append(child.content)
            pieces.append((line, CODE))
        elif child.type == "text":
            pieces.append((line, child.content))
        elif child.type == "image":
            pieces.append((line, child.content))
        # html_inline (comments), link markers and emphasis markers carry no prose of their own
    return pieces, code


_LINE_END = re.compile(r"(?<=[.!?:|)\]])[ \t]*\n|\n(?=[ \t]*[|•✓✗*#>-])|(?<=[A-Z0-9.!?:|)\]])[ \t]*\n(?=[ \t]*[A-Z])")


def sentences(pieces: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """(start line, sentence) of a block's text. A line break ends a sentence where the line
    ends one (., :, |) or the next line starts a row or an item; wrapped prose runs on."""
    text, lines = "", []
    for line, chunk in pieces:
        text += chunk
        lines.extend([line] * len(chunk))
    text = _LINE_END.sub(lambda m: m.group(0).replace("\n", "\u2029"), text).replace("\n", " ")
    out = []
    start = 0
    for m in list(re.finditer(_SENTENCE_END.pattern + "|\u2029", text)) + [None]:
        end = m.start() if m else len(text)
        sentence = text[start:end]
        if sentence.strip():
            offset = start + len(sentence) - len(sentence.lstrip())
            out.append((lines[offset] if offset < len(lines) else lines[-1], " ".join(sentence.split())))
        start = m.end() if m else len(text)
    return out


def read_units(path: Path) -> tuple[list[Unit], int]:
    """(units, lines skipped by the not-a-claim mark) of a file."""
    raw, is_text = decode_text(Path(path).read_bytes())
    if not is_text:
        raise InputError("is not text (binary bytes): the claim audit reads Markdown or plain text", path=str(path))
    lines = raw.splitlines()
    start = _front_matter(lines)
    body = "\n" * start + "\n".join(lines[start:])  # front matter blanked, line numbers kept
    skipped = {i + 1 for i, line in enumerate(lines)
               if IGNORE_MARK in re.sub(r"`[^`]*`", " ", line)}
    units: list[Unit] = []
    heading = ""
    header: list[str] = []
    row: list[str] = []
    in_head = False
    column = 0
    tokens = _MD.parse(body)
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            inline = tokens[i + 1]
            pieces, code = _inline_text(inline, inline.map[0] + 1 if inline.map else 1)
            heading = " ".join("".join(p for _, p in pieces).split())
            units += [Unit(line, s, code, "", "heading") for line, s in sentences(pieces)]
        elif tok.type == "thead_open":
            in_head, header = True, []
        elif tok.type == "thead_close":
            in_head = False
        elif tok.type == "tr_open":
            row, column = [], 0
            row_line = tok.map[0] + 1 if tok.map else 1
        elif tok.type in ("th_open", "td_open"):
            inline = tokens[i + 1]
            pieces, code = _inline_text(inline, row_line)
            cell = " ".join("".join(p for _, p in pieces).split())
            if in_head:
                header.append(cell)
            else:
                row.append(cell)
                label = row[0] if column > 0 else ""
                head = header[column] if column < len(header) else ""
                context = " | ".join(x for x in (heading, head, label) if x)
                if cell:
                    units.append(Unit(row_line, cell, code, context, "cell", i, head, label))
            column += 1
        elif tok.type == "inline" and tokens[i - 1].type == "paragraph_open":
            first = tokens[i - 1].map[0] + 1 if tokens[i - 1].map else 1
            pieces, code = _inline_text(tok, first)
            units += [Unit(line, s, code, heading, "paragraph", i) for line, s in sentences(pieces)]
    kept = [u for u in units if u.line not in skipped]
    return kept, len({u.line for u in units if u.line in skipped})
