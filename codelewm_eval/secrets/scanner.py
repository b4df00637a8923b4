"""`scan_text`: every secret in a text, with its line and kind (never the secret itself)."""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

from detect_secrets.core.scan import scan_line
from detect_secrets.settings import transient_settings
from pydantic import BaseModel, Field

_PLUGIN_FILE = Path(__file__).with_name("plugins.py").resolve()
# Token formats with a fixed shape: precise on code. Entropy detectors are added for payloads
# (env values, commands, specs) where random-looking strings are rare and suspicious.
_PATTERN_PLUGINS = [
    {"name": "AWSKeyDetector"}, {"name": "ArtifactoryDetector"}, {"name": "AzureStorageKeyDetector"},
    {"name": "BasicAuthDetector"}, {"name": "DiscordBotTokenDetector"}, {"name": "GitHubTokenDetector"},
    {"name": "GitLabTokenDetector"}, {"name": "JwtTokenDetector"}, {"name": "MailchimpDetector"},
    {"name": "NpmDetector"}, {"name": "OpenAIDetector"}, {"name": "PrivateKeyDetector"},
    {"name": "PypiTokenDetector"}, {"name": "SendGridDetector"}, {"name": "SlackDetector"},
    {"name": "SquareOAuthDetector"}, {"name": "StripeDetector"}, {"name": "TelegramBotTokenDetector"},
    {"name": "TwilioKeyDetector"},
    {"name": "HuggingFaceTokenDetector", "path": f"file://{_PLUGIN_FILE}"},
    {"name": "AnthropicKeyDetector", "path": f"file://{_PLUGIN_FILE}"},
    {"name": "OpenRouterKeyDetector", "path": f"file://{_PLUGIN_FILE}"},
    {"name": "GitHubFineGrainedTokenDetector", "path": f"file://{_PLUGIN_FILE}"},
    {"name": "WandbKeyDetector", "path": f"file://{_PLUGIN_FILE}"},
    {"name": "AwsSecretAccessKeyDetector", "path": f"file://{_PLUGIN_FILE}"},
    {"name": "OpenAIProjectKeyDetector", "path": f"file://{_PLUGIN_FILE}"},
    {"name": "GoogleApiKeyDetector", "path": f"file://{_PLUGIN_FILE}"},
    {"name": "AzureClientSecretDetector", "path": f"file://{_PLUGIN_FILE}"},
]
# Secret-named keys assigned a literal: for files a person wrote (code, YAML, TOML, .env, notebooks),
# not for candidate programs, where `token = "..."` is ordinary code under test.
_ASSIGNMENT_PLUGINS = [{"name": "AssignedSecretDetector", "path": f"file://{_PLUGIN_FILE}"}]
# No hex-entropy detector: sha256 digests, git SHAs, UUIDs and md5s are hex, and they are not secrets
# (a hex string's entropy is at most 4 bits per character, under the base64 detector's 4.5).
_ENTROPY_PLUGINS = [{"name": "Base64HighEntropyString", "limit": 4.5}, {"name": "KeywordDetector"}]


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


def suspect_lines(data: bytes, assignments: bool = False, first_only: bool = False) -> list[int]:
    """The start offsets of the lines of `data` that could hold a credential, in order."""
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


def suspect_items(items: list[bytes]) -> list[int]:
    """The indexes of the items that could hold a credential, from one prefilter pass over all of
    them joined by newlines (a newline ends every run and every line, so nothing spans two)."""
    import bisect

    starts, offset = [], 0
    for item in items:
        starts.append(offset)
        offset += len(item) + 1
    hits = suspect_lines(b"\n".join(items))
    return sorted({bisect.bisect_right(starts, hit) - 1 for hit in hits})


def is_suspect(data: bytes) -> bool:
    """Could a pattern detector match anywhere in `data` (within the limit above)?"""
    return bool(suspect_lines(data, first_only=True))


class Finding(BaseModel):
    """One credential found: where (a file, or a part of a payload), its line, which field of a
    structured record when there is one, and a digest that names it without showing it."""

    kind: str
    line: int | None = None
    where: str = ""
    field: str | None = Field(None, description="the field of a row or record that holds it")
    digest: str = Field("", description="sha256 prefix of the secret: names it without showing it (allowlists)")

    def describe(self) -> str:
        """The one format every finding is shown in: `WHERE:LINE: KIND [in FIELD] (sha256 DIGEST...)`."""
        return (f"{self.where}" + (f":{self.line}" if self.line else "") + f": {self.kind}" +
                (f" in {self.field}" if self.field else "") +
                f" (sha256 {self.digest}...)")


_ENTROPY_KINDS = {"Base64 High Entropy String", "Hex High Entropy String"}
_HEXLIKE = re.compile(r"[0-9a-fA-F-]+")  # digests, git SHAs, UUIDs, md5s: identifiers, not credentials


_PATH_START = re.compile(r"^(?:/|\./|\.\./|~/|[A-Za-z]:[\\/])")


def looks_like_path(value: str) -> bool:
    """A file path (absolute, relative to . or .., or home): the entropy heuristic does not apply
    to the names of files, which `mktemp` makes random on purpose. A credential is not a path;
    pattern detectors still read every part of it."""
    return bool(_PATH_START.match(value)) and all(len(part) < 40 for part in re.split(r"[\\/]", value))


def _random_looking(value: str) -> bool:
    """What the entropy detector should have required (its line scanner reports every quoted
    string): 20+ characters at 4.5 bits each, not a hex identifier, not a file path."""
    if len(value) < 20 or _HEXLIKE.fullmatch(value) or looks_like_path(value):
        return False
    counts = [value.count(c) for c in set(value)]
    entropy = -sum(n / len(value) * math.log2(n / len(value)) for n in counts)
    return entropy >= 4.5


_PLACEHOLDER = re.compile(r"(?i)^(?:<[^>]*>|\{.*\}|\$\{.*\}|\$[A-Z_]+|%\(.*\)s|.*(?:x{4,}|\*{4,}|\.{3}|"
                          r"your[_-]?(?:token|key|secret|password)|replace[_-]?me|changeme|example|placeholder|"
                          r"redacted|dummy|fake|not[_-]?a[_-]?(?:real[_-]?)?(?:token|key|secret)).*)$")


_LOCAL_URL = re.compile(r"://[^\s/:@'\"]+:([^\s/:@'\"]+)@(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])(?![\w.-])")
_CONSTANT_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")


def is_local_url_password(value: str, line: str) -> bool:
    """A password in a URL to this machine (`postgresql://postgres:qwerty@localhost/db`): a local
    development default, which candidate programs are full of, not a credential that opens
    anything elsewhere."""
    return any(m.group(1) == value for m in _LOCAL_URL.finditer(line))


def is_placeholder(value: str) -> bool:
    """Documentation and templates, not credentials: `hf_xxxxxxxx...`, `<your token>`, `...`,
    `REPLACE_ME`, `${HF_TOKEN}`, a run of one repeated character, a constant's name (`CLIENT_SECRET`)."""
    core = re.sub(r"^(?:hf_|sk-(?:proj-|ant-)?|ghp_|github_pat_|glpat-|xox[bap]-|AKIA|AIza|api_org_|npm_|pypi-)", "",
                  value)
    return bool(_PLACEHOLDER.match(value)) or len(set(core)) <= 2 or _CONSTANT_NAME.fullmatch(value) is not None


def _digest(value: str | None) -> str:
    return hashlib.sha256((value or "").encode("utf-8", "surrogatepass")).hexdigest()[:12]


def _settings(entropy: bool, assignments: bool = False) -> dict:
    plugins = list(_PATTERN_PLUGINS) + (list(_ENTROPY_PLUGINS) if entropy else []) + \
        (list(_ASSIGNMENT_PLUGINS) if assignments else [])
    return {"plugins_used": plugins, "filters_used": []}


def scan_text(text: str, *, where: str = "", entropy: bool = False) -> list[Finding]:
    """Secrets in `text`, one finding per (line, kind)."""
    return scan_many([(where, text)], entropy=entropy)


def scan_many(items, *, entropy: bool = False, assignments: bool = False) -> list[Finding]:
    """Secrets in many (where, text) or (where, text, first line number) items (text: str or
    UTF-8 bytes), with the engine set up once. Only the lines the prefilter passes reach the
    engine (every line, with `entropy`). `assignments`: also secret-named keys assigned a literal
    (files people write)."""
    work = []
    for item in items:
        where, text, first = (*item, 1)[:3]
        data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
        if entropy:
            work.append((where, data, first, None))
            continue
        starts = suspect_lines(data, assignments)
        if starts:
            work.append((where, data, first, starts))
    findings: list[Finding] = []
    if not work:
        return findings
    with transient_settings(_settings(entropy, assignments)):
        for where, data, first, starts in work:
            for number, line in _lines(data, first, starts):
                found = {(s.type, _digest(s.secret_value)) for s in scan_line(line)
                         if (s.type not in _ENTROPY_KINDS or _random_looking(s.secret_value or ""))
                         and not is_placeholder(s.secret_value or "")
                         and not (s.type == "Basic Auth Credentials" and is_local_url_password(s.secret_value or "", line))}
                if any(kind != "Secret Assignment" for kind, _ in found):  # a named kind says more
                    found = {(kind, d) for kind, d in found if kind != "Secret Assignment"}
                findings.extend(Finding(kind=k, line=number, where=where, digest=d) for k, d in sorted(found))
    return findings


def _lines(data: bytes, first: int, starts: list[int] | None):
    """(line number, text) of the given line starts (all lines when None)."""
    if starts is None:
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=first):
            yield number, line
        return
    number, counted = first, 0
    for start in starts:
        number += data.count(b"\n", counted, start)
        counted = start
        stop = data.find(b"\n", start)
        yield number, data[start:len(data) if stop < 0 else stop].decode("utf-8", "replace").rstrip("\r")
