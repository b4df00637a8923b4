"""The claims stages: `claims audit` (prose against verified evidence) and `claims render`
(cards and results documents from the ledger), each with a typed config and result."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from ..stage import StageConfig, StageResult
from .audit import AuditReport


class AuditConfig(StageConfig):
    root: Path = Path(".")
    ledger: Path | None = Field(None, description="default: ROOT/cards/claims.yaml")
    paths: list[Path] = Field(default_factory=list, description="more prose files to read (reports)")
    format: Literal["text", "json", "markdown", "github"] = "text"

    def command(self) -> list[str]:
        from ..commands import command_line

        argv = command_line(["claims", "audit"], ("--root", self.root), ("--ledger", self.ledger),
                            ("--format", self.format), defaults={"--root": Path("."), "--format": "text"})
        return argv + (["--paths", *map(str, self.paths)] if self.paths else [])


class AuditResult(AuditReport, StageResult):
    """The audit report (what audit.json holds), printed in the asked format."""

    format: str = Field("text", exclude=True)

    def text(self) -> str:
        from .report import render

        return render(self, self.format)

    def exit_code(self) -> int:
        return 0 if self.ok else 1


def audit_stage(config: AuditConfig, command: list[str] | None = None) -> AuditResult:
    from ..errors import InputError
    from .audit import audit

    for extra in config.paths:
        if not extra.exists():
            raise InputError("no such file (--paths)", path=str(extra))
        if not extra.is_file():
            raise InputError("not a file (--paths takes prose files; a directory's files go in the ledger's "
                             "`prose` globs)", path=str(extra))
    report = audit(config.root, config.ledger, config.paths)
    return AuditResult(**report.model_dump(), format=config.format)


class RenderConfig(StageConfig):
    root: Path = Path(".")
    ledger: Path | None = None

    def command(self) -> list[str]:
        from ..commands import command_line

        return command_line(["claims", "render"], ("--root", self.root), ("--ledger", self.ledger),
                            defaults={"--root": Path(".")})


class RenderResult(StageResult):
    schema_version: int = 1
    written: list[str] = Field(description="the cards and results documents, in the order rendered")

    def text(self) -> str:
        return "\n".join(f"wrote {path}" for path in self.written)


def render_stage(config: RenderConfig, command: list[str] | None = None) -> RenderResult:
    from .render import render_cards

    return RenderResult(written=[str(p) for p in render_cards(config.root, config.ledger)])
