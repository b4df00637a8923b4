"""`scan_text`: every secret in a text, with its line and kind (never the secret itself)."""

from __future__ import annotations

import re
from pathlib import Path

from detect_secrets.core.scan import scan_line
from detect_secrets.settings import transient_settings
from pydantic import BaseModel

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
]
_ENTROPY_PLUGINS = [{"name": "Base64HighEntropyString", "limit": 4.5}, {"name": "HexHighEntropyString", "limit": 3.0},
                    {"name": "KeywordDetector"}]


# Every pattern plugin above needs a key-shaped token (20+ characters of letters, digits, _ or -
# with at least one digit), a PEM header, or credentials in a URL; lines without any of those
# cannot match, so only suspicious lines reach the engine.
_SUSPECT = re.compile(r"(?=[A-Za-z0-9_\-]*\d)[A-Za-z0-9_\-]{20,}|-----BEGIN|://[^\s/:@]+:[^\s/:@]+@")


class Finding(BaseModel):
    kind: str
    line: int
    where: str = ""


def _settings(entropy: bool) -> dict:
    plugins = list(_PATTERN_PLUGINS) + (list(_ENTROPY_PLUGINS) if entropy else [])
    return {"plugins_used": plugins, "filters_used": []}


def scan_text(text: str, *, where: str = "", entropy: bool = False) -> list[Finding]:
    """Secrets in `text`, one finding per (line, kind)."""
    return scan_many([(where, text)], entropy=entropy)


def scan_many(items, *, entropy: bool = False) -> list[Finding]:
    """Secrets in many (where, text) pairs, with the engine set up once."""
    findings: list[Finding] = []
    suspects = []
    for where, text in items:
        if entropy or _SUSPECT.search(text):
            suspects.append((where, text))
    if not suspects:
        return findings
    with transient_settings(_settings(entropy)):
        for where, text in suspects:
            for number, line in enumerate(text.splitlines(), start=1):
                if not entropy and not _SUSPECT.search(line):
                    continue
                kinds = sorted({s.type for s in scan_line(line)})
                findings.extend(Finding(kind=k, line=number, where=where) for k in kinds)
    return findings
