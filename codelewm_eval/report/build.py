"""Write the report: `OUT/index.html` (jinja2), its script and style beside it, the vendored
plotly.js basic bundle with its licence (report/static/VENDORED.md), and the drill-down chunks in
`OUT/data/`. No server and no network: the page opens from the file system."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pydantic import Field

from ..artifact import staged_directory
from ..errors import InputError
from ..stage import StageConfig, StageResult
from .data import collect

HERE = Path(__file__).parent


class ReportConfig(StageConfig):
    source: Path
    out: Path | None = Field(None, description="default for a run: RUN/report (a bundle needs one)")

    def command(self) -> list[str]:
        """The `report` command line that does exactly this."""
        return ["codelewm-eval", "report", str(self.source)] + (["--out", str(self.out)] if self.out else [])


class ReportResult(StageResult):
    schema_version: int = 1
    out: Path
    index: Path
    kind: str
    tasks: int
    chunks: int
    problems: list[str] = Field(default_factory=list, description="what does not verify in the source (the page "
                                                                  "shows it too)")

    def text(self) -> str:
        return f"report ({self.kind}, {self.tasks} tasks) -> {self.index}"

    def messages(self) -> list[str]:
        if not self.problems:  # the page says so too; a tampered source is no success
            return []
        return [f"the source does not verify ({len(self.problems)} problem(s)); the page says so:",
                *(f"  {problem}" for problem in self.problems[:10])]

    def exit_code(self) -> int:
        return 1 if self.problems else 0


def _is_report(path: Path) -> bool:
    from ..manifest import load_manifest

    try:
        return load_manifest(path / "manifest.json").kind == "report"
    except (InputError, OSError, ValueError):
        return False


def _safe_json(value) -> str:
    """JSON for a <script> element: nothing in it can close the element."""
    return json.dumps(value, separators=(",", ":"), default=str).replace("</", "<\\/").replace("<!--", "<\\!--")


def build_report(source: Path, out: Path, command: list[str] | None = None) -> ReportResult:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    source, out = Path(source), Path(out)
    if out.resolve() == source.resolve() or out.resolve() in source.resolve().parents:
        raise InputError("--out would replace the run or bundle the report reads: give a directory of its own "
                         "(for a run: RUN/report)", path=str(out))
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not _is_report(out))):
        raise InputError("--out exists and is not an earlier report: it is not replaced", path=str(out))
    data, chunks = collect(source, out)
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html", "j2"]))
    with staged_directory(out) as work:
        (work / "data").mkdir()
        for number, items in chunks.items():
            (work / "data" / f"chunk-{number}.js").write_text(
                f"window.codelewmChunk({number},{_safe_json(items)});\n", encoding="utf-8")
        for name in ("report.js", "report.css", "plotly-basic.min.js", "PLOTLY-LICENSE.txt"):
            shutil.copy(HERE / "static" / name, work / name)
        html = env.get_template("index.html.j2").render(title=data["title"], data_json=_safe_json(data))
        (work / "index.html").write_text(html, encoding="utf-8")
        work_files = sorted(p for p in work.rglob("*") if p.is_file())
        from ..manifest import write_manifest

        write_manifest(work, "report", files=work_files, command=command or [], config={"source": str(source)})
    verification = data.get("verification") or {}
    problems = list(verification.get("problems") or []) + [f"inconsistent: {x}" for x in
                                                            verification.get("inconsistent") or []]
    return ReportResult(out=out, index=out / "index.html", kind=data["kind"], tasks=len(data.get("tasks") or []),
                        chunks=len(chunks), problems=problems)


def report_stage(config: ReportConfig, command: list[str] | None = None) -> ReportResult:
    """The report page of a run or a bundle (`problems` says what of its source does not verify)."""
    from .data import source_kind

    if not config.source.is_dir():
        raise InputError("no such run or bundle directory", path=str(config.source))
    out = config.out
    if out is None:
        if source_kind(config.source) != "run":
            raise InputError("give --out DIR for a bundle's report (a run's goes to RUN/report)", field="--out")
        out = config.source / "report"
    return build_report(config.source, out, command or config.command())
