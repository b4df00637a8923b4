"""The stage contract: every stage takes a typed config and returns a typed result.

A config says the command line that does exactly what it asks (`command()`, recorded in the
stage's manifest whoever called it: the CLI, `run`, a job); a result carries typed fields that the
CLI prints (`payload()` for `--json`) and that `run` reads. A verb is parse -> config -> stage ->
`cli.common.emit(result)`; `pipeline.py` composes configs, never argument lists.
"""

from __future__ import annotations

from pydantic import BaseModel


class StageConfig(BaseModel):
    """What a stage is asked to do."""

    def command(self) -> list[str]:
        """The `codelewm-eval ...` command line that does exactly this."""
        raise NotImplementedError(f"{type(self).__name__} does not say its command line")


class StageResult(BaseModel):
    """What a stage did, as typed fields."""

    def payload(self) -> dict:
        """The result as `--json` prints it."""
        return self.model_dump(mode="json")
