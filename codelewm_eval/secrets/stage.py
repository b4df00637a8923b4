"""The `secrets scan` stage: files, directories and notebooks in; redacted findings out."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from ..stage import StageConfig, StageResult
from .scanner import Finding


class ScanConfig(StageConfig):
    paths: list[Path] = Field(min_length=1)
    allowlist: Path | None = Field(None, description="accepted findings: one sha256 prefix per line")

    def command(self) -> list[str]:
        return ["codelewm-eval", "secrets", "scan", *map(str, self.paths)] + (
            ["--allowlist", str(self.allowlist)] if self.allowlist else [])


class ScanResult(StageResult):
    schema_version: int = 1
    files: int = Field(description="files read")
    allowlisted: int = Field(description="findings the allowlist accepts (not shown)")
    findings: list[Finding]

    def text(self) -> str:
        return "\n".join([f.describe() for f in self.findings] + [
            f"{len(self.findings)} finding(s) in {self.files} file(s)"
            + (f"; {self.allowlisted} allowlisted" if self.allowlisted else "")])

    def exit_code(self) -> int:
        return 1 if self.findings else 0


def scan_stage(config: ScanConfig, command: list[str] | None = None) -> ScanResult:
    from .files import read_allowlist, scan_paths

    allow = read_allowlist(config.allowlist) if config.allowlist else set()
    findings, files, allowed = scan_paths(config.paths, allow)
    return ScanResult(files=files, allowlisted=allowed, findings=findings)
