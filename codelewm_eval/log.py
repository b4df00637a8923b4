"""Library modules log through `logging` under the `codelewm_eval` logger; the CLI decides what
is shown (`configure`, called once per command: messages on stderr as they are, no prefix).
Used as a library, nothing is printed unless the caller configures logging."""

from __future__ import annotations

import logging
import sys
import time

ROOT = "codelewm_eval"


def get(name: str) -> logging.Logger:
    return logging.getLogger(name if name.startswith(ROOT) else f"{ROOT}.{name}")


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is now (tests and wrappers replace it)."""

    def __init__(self):
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def configure(level: int = logging.INFO) -> None:
    logger = logging.getLogger(ROOT)
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


class Progress:
    """Phase lines ("pack build [  3.1s] splits") at INFO, when enabled."""

    def __init__(self, label: str, enabled: bool, logger: logging.Logger | None = None):
        self.label, self.enabled, self.started = label, enabled, time.monotonic()
        self.logger = logger or get("progress")

    def __call__(self, what: str) -> None:
        if self.enabled:
            self.logger.info("%s [%6.1fs] %s", self.label, time.monotonic() - self.started, what)
