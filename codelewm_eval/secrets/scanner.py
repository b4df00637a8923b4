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


from .prefilter import is_suspect, suspect_items, suspect_lines  # noqa: F401 - the prefilter's home


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
