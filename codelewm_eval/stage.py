"""The stage contract: every stage takes a typed config and returns a typed result.

A config says the command line that does exactly what it asks (`command()`, recorded in the
stage's manifest whoever called it: the CLI, `run`, a job); a result carries typed fields that the
CLI prints: `--json` prints exactly the model as JSON (its JSON Schema is in
docs/schemas/verbs/), text prints `text()`, `messages()` go to stderr either way, and the process exits with `exit_code()`. A verb is
parse -> config -> stage -> `cli.common.emit(result)` (`cli.common.stage_verb` does it);
`pipeline.py` composes configs, never argument lists, and reads result fields, never dict keys.
"""

from __future__ import annotations

import json

from pydantic import BaseModel


class StageConfig(BaseModel):
    """What a stage is asked to do."""

    def command(self) -> list[str]:
        """The `codelewm-eval ...` command line that does exactly this."""
        raise NotImplementedError(f"{type(self).__name__} does not say its command line")


class StageResult(BaseModel):
    """What a stage did, as typed fields."""

    def payload(self) -> dict:
        """The result as `--json` prints it (never overridden: the JSON is the model). Strict JSON:
        a non-finite number (an infinite ETA) is null, never Infinity."""
        return json.loads(self.model_dump_json())

    def text(self) -> str:
        """The result in words, as the CLI prints it without --json."""
        return json.dumps(self.payload(), indent=2)

    def messages(self) -> list[str]:
        """Lines for stderr, printed with the text and with --json: refusals, warnings, uploads."""
        return []

    def exit_code(self) -> int:
        """0, or 1 where the result is a check that did not pass."""
        return 0


def load_stage(path: str):
    """The stage function that "module:function" names (how a CLI verb names its stage)."""
    import importlib

    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)
