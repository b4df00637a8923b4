"""The secret prefilter: which lines of a buffer could hold a credential, at memory speed.

Only the lines it passes reach detect-secrets (`scanner.scan_many`), so it must pass every line
a pattern detector could match, and little else. Two engines decide the same rule:
Hyperscan (`pip install hyperscan`, a dependency on x86-64 Linux) matches every pattern in one
pass over the buffer at GB/s and Python confirms the few hits; elsewhere the standard-library
engine below (`bytes.translate`/`find` and literal-prefixed regexes) runs at 50-80 MB/s.
`tests/test_secrets.py` requires both to give the same lines on a corpus of every kind.
"""

from __future__ import annotations

import bisect
import re
import threading

# The pattern plugins above match key-shaped tokens. The prefilter (`suspect_lines`) finds the
# lines that could hold one, over a whole buffer at memory speed (bytes.translate, bytes.find and
# literal-prefixed regexes are C loops; nothing runs per line in Python), and only those lines
# reach the engine. A line is suspect when it holds:
# - a run of 20+ letters, digits, _, -, / or + with a known key prefix or shape (hf_, sk-, ghp_,
#   AKIA, AIza, eyJ, xox, AC + 32 characters, ...), or of a dotted or colon-separated format
#   (Discord: M, N or O and a "."; Telegram: 8+ digits and a ":");
# - a name the engine finds credentials by (aws, wandb, AccountKey, _authToken, hooks.slack,
#   -----BEGIN, any case), SendGrid's `SG.`, an Azure client secret's `<digit>Q~`, or credentials
#   in a URL; for files people write, a secret-named key assigned something (password = ...).
# Hex digests (sha256, git SHAs, md5s, UUIDs, this toolkit's ids), row ids, paths and prose hold
# no key prefix, so a pack's identifiers and a benchmark's programs pass through. Limit: key formats that can be shorter than 20 characters
# (Artifactory's 13-character form, a minimal Slack or JWT token) pass only when they sit in a
# longer run; issued keys of those kinds are far longer. Job payloads are scanned without the
# prefilter (entropy=True).
_TOKEN_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-/+"  # / and +: base64 keys
_TOKEN_MAP = bytes(ord("a") if c in _TOKEN_CHARS else ord(" ") for c in range(256))
_RUN = b"a" * 20
_PLAIN = b"abcdefghijklmnopqrstuvwxyz0123456789/+"
_KEYISH = re.compile(rb"hf_|api_org_|sk-|_live_|gh[pousr]_|github_pat|gl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas)-|"
                     rb"GR1348941|A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA|AIza|AKC|AP[0-9A-F]|eyJ|npm_|pypi-|sq0|xox|"
                     rb"AC[a-z0-9]{32}|SK[a-z0-9]{32}|-us[0-9]")
_NAMES = (b"aws", b"wandb", b"accountkey", b"_authtoken", b"hooks.slack", b"-----begin")  # found lower-cased
_SHAPES = (re.compile(rb"://[^\s/:@]+:[^\s/:@]+@"), re.compile(rb"SG\.[\w-]{22}\."), re.compile(rb"[0-9]Q~"))
_SHAPE_LITERALS = (b"://", b"SG.", b"Q~")  # each regex above runs only where its literal is
_SECRET_WORDS = (b"passw", b"pwd", b"secret", b"token", b"key")  # lower-cased; then _ASSIGNMENT on the line
_ASSIGNMENT = re.compile(rb"(?:passw|passwd|pwd|secret|token|api_?key|access_?key|private_?key)\w*[\"']?\s*[:=]")


def _line_start(data: bytes, pos: int) -> int:
    return data.rfind(b"\n", 0, pos) + 1


def python_suspect_lines(data: bytes, assignments: bool = False, first_only: bool = False) -> list[int]:
    """`suspect_lines` in the standard library alone (where Hyperscan is not installed)."""
    starts: set[int] = set()

    def mark(pos: int) -> bool:
        starts.add(_line_start(data, pos))
        return first_only

    mapped = data.translate(_TOKEN_MAP)
    i = mapped.find(_RUN)
    while i >= 0:
        end = mapped.find(b" ", i)
        end = len(mapped) if end < 0 else end
        # every key prefix holds "_", "-" or a capital: a run of lower-case letters, digits, "/"
        # and "+" (hex digests, paths, identifiers) needs no regex
        keyish = data[i:end].translate(None, _PLAIN) and (
            _KEYISH.search(data, i, end) or (data[i] in b"MNO" and data[end:end + 1] == b"."))
        if keyish or (i > 8 and data[i - 1] == 58 and data[i - 9:i - 1].isdigit()):  # 58: ":" (Telegram)
            if mark(i):
                return [min(starts)]
        i = mapped.find(_RUN, end)
    low = None
    for word in _NAMES:
        if low is None:
            low = data.lower()
        j = low.find(word)
        while j >= 0:
            if mark(j):
                return [min(starts)]
            j = low.find(word, j + len(word))
    for literal, shape in zip(_SHAPE_LITERALS, _SHAPES):
        if literal in data:
            for m in shape.finditer(data):
                if mark(m.start()):
                    return [min(starts)]
    if assignments:
        for word in _SECRET_WORDS:
            j = low.find(word)
            while j >= 0:
                start = _line_start(low, j)
                stop = low.find(b"\n", j)
                stop = len(low) if stop < 0 else stop
                if start not in starts and _ASSIGNMENT.search(low, start, stop):
                    if mark(j):
                        return [min(starts)]
                j = low.find(word, stop)  # the next line
    return sorted(starts)




# The Hyperscan engine: one database per pattern set, each hit confirmed in Python by the rule
# above (a key prefix counts only inside a run of 20+ token characters; Discord's run starts the
# run). Hits are rare in code and in packs, so Python touches a handful of positions per buffer.
_T = rb"[A-Za-z0-9_\-/+]"
_HS_PATTERNS = (  # (id, pattern, caseless)
    (0, _KEYISH.pattern, False),
    (1, rb"[MNO]" + _T + rb"{19,}\.", False),  # Discord: a run of 20+ from M/N/O, then "."
    (2, rb"[0-9]{8}:" + _T + rb"{20}", False),  # Telegram: digits, ":", a run of 20+
    (3, b"|".join(re.escape(n) for n in _NAMES), True),
    *((4 + k, shape.pattern, False) for k, shape in enumerate(_SHAPES)),
)
# for files people write: a secret-named key assigned something, on one line
# (PCRE reads \v as any vertical space, newline included: \x0b is the one character Python means)
_HS_ASSIGNMENT = (7, _ASSIGNMENT.pattern.replace(rb"\s*", rb"[ \t\r\f\x0b]*"), True)
_compiled: list = []  # [(plain, with assignments)] once per process, or [None] without Hyperscan
_compile_lock = threading.Lock()
_local = threading.local()  # a scratch space per thread: Hyperscan's scratch is not shared


def _databases():
    """(plain, with assignments) compiled Hyperscan databases, or None without Hyperscan."""
    if not _compiled:
        with _compile_lock:
            if not _compiled:
                try:
                    import hyperscan
                except ImportError:
                    _compiled.append(None)
                    return None
                made = []
                for patterns in (_HS_PATTERNS, _HS_PATTERNS + (_HS_ASSIGNMENT,)):
                    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
                    db.compile(expressions=[p for _, p, _ in patterns], ids=[i for i, _, _ in patterns],
                               elements=len(patterns),
                               flags=[hyperscan.HS_FLAG_CASELESS if caseless else 0 for _, _, caseless in patterns])
                    made.append(db)
                _compiled.append(tuple(made))
    return _compiled[0]


def _scratch(which: int):
    """This thread's scratch space for database `which`."""
    spaces = getattr(_local, "scratch", None)
    if spaces is None:
        import hyperscan

        spaces = _local.scratch = tuple(hyperscan.Scratch(db) for db in _databases())
    return spaces[which]


def _run_start(data: bytes, pos: int) -> int:
    """Where the run of token characters that holds `pos` begins."""
    lo, step = pos, 64
    while lo > 0:
        a = max(0, lo - step)
        k = data[a:lo].translate(_TOKEN_MAP).rfind(b" ")
        if k >= 0:
            return a + k + 1
        lo, step = a, step * 4
    return 0


def _run_end(data: bytes, pos: int) -> int:
    """Where the run of token characters that holds `pos` ends (exclusive)."""
    hi, step = pos, 64
    while hi < len(data):
        k = data[hi:hi + step].translate(_TOKEN_MAP).find(b" ")
        if k >= 0:
            return hi + k
        hi, step = hi + step, step * 4
    return len(data)


def _confirmed(data: bytes, kind: int, end: int) -> int | None:
    """The offset a Hyperscan hit (pattern `kind` ending at `end`) marks, or None if the rule
    does not hold there."""
    if kind == 0:
        start, stop = _run_start(data, end - 1), _run_end(data, end - 1)
        # sq0 and xox are plain characters: the run must also hold a "_", "-" or capital
        return start if stop - start >= 20 and data[start:stop].translate(None, _PLAIN) else None
    if kind == 1:
        start = _run_start(data, end - 2)  # the run before the "."
        return start if data[start] in b"MNO" and end - 1 - start >= 20 else None
    return end - 1


def _hyperscan_lines(which: int, data: bytes, first_only: bool) -> list[int]:
    hits: list[tuple[int, int]] = []

    def hit(kind, _start, end, _flags, _context):
        hits.append((kind, end))

    _databases()[which].scan(data, match_event_handler=hit, scratch=_scratch(which))
    starts: set[int] = set()
    for kind, end in sorted(hits, key=lambda h: h[1]):
        where = _confirmed(data, kind, end)
        if where is not None:
            starts.add(_line_start(data, where))
            if first_only:
                break
    return sorted(starts)


def engine() -> str:
    """Which engine decides (for benchmarks and reports)."""
    return "Hyperscan" if _databases() is not None else "standard library"


def suspect_lines(data: bytes, assignments: bool = False, first_only: bool = False) -> list[int]:
    """The start offsets of the lines of `data` that could hold a credential, in order (with
    `first_only`, the first such line found, for a yes/no answer)."""
    databases = _databases()
    if databases is None:
        return python_suspect_lines(data, assignments, first_only)
    return _hyperscan_lines(1 if assignments else 0, data, first_only)

def suspect_items(items: list[bytes]) -> list[int]:
    """The indexes of the items that could hold a credential, from one prefilter pass over all of
    them joined by newlines (a newline ends every run and every line, so nothing spans two)."""
    starts, offset = [], 0
    for item in items:
        starts.append(offset)
        offset += len(item) + 1
    hits = suspect_lines(b"\n".join(items))
    return sorted({bisect.bisect_right(starts, hit) - 1 for hit in hits})


def is_suspect(data: bytes) -> bool:
    """Could a pattern detector match anywhere in `data` (within the limit above)?"""
    return bool(suspect_lines(data, first_only=True))


