"""Run every preflight check on a pack (and a job spec) and write `preflight.json`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from ..errors import InputError
from ..io import no_gc, write_json_atomic
from ..log import Progress
from ..pack.read import TasksRead, read_pack, read_tasks
from ..pack.stats import CoverageRules
from ..stage import StageConfig
from .checks import (
    Check,
    PreflightReport,
    check_balance,
    check_coverage,
    check_decoys,
    check_job,
    check_leaks,
    check_licences,
    check_manifest,
    check_pack_secrets,
    check_tasks,
)
from .jobspec import DEFAULT_DECOY_MINIMUMS, load_job_spec
from .training import check_training


class PreflightConfig(StageConfig):
    pack: str = Field(description="a pack directory, or hf://datasets/OWNER/NAME@REVISION")
    job: Path | None = None
    report: Path = Path("preflight.json")
    workers: int | None = None
    progress: bool = False

    def command(self) -> list[str]:
        from ..commands import command_line

        return command_line(["preflight"], ("--pack", self.pack), ("--job", self.job), ("--report", self.report),
                            ("--workers", self.workers), defaults={"--report": Path("preflight.json")})


class PreflightResult(PreflightReport):
    """The report `preflight` writes, and where it wrote it."""

    report: str

    def text(self) -> str:
        lines = [f"preflight {'OK' if self.ok else 'NOT OK'}: {self.pack}" + (f" with {self.job}" if self.job else "")]
        for c in self.checks:
            extra = f"observed {c.observed}, required {c.required}" if c.required is not None else (
                f"observed {c.observed}" if c.observed is not None else "")
            lines.append(f"  {c.status:7s} {c.name:40s} {extra}" + (f"  {c.reason}" if c.reason else ""))
        return "\n".join(lines + [f"  wrote {self.report}"])

    def exit_code(self) -> int:
        return 0 if self.ok else 1


def preflight_stage(config: PreflightConfig, command: list[str] | None = None) -> PreflightResult:
    """Every check on the pack (a Hub pack is downloaded into the cache first) and the job."""
    from ..hub import resolve_pack

    report = preflight(resolve_pack(config.pack), config.job, config.report, workers=config.workers,
                       progress=config.progress)
    return PreflightResult(**report.model_dump(), report=str(config.report))


def preflight(pack: Path, job: Path | None = None, report_path: Path | None = None,
              rules: CoverageRules | None = None, *, workers: int | None = None,
              progress: bool = False) -> PreflightReport:
    with no_gc():
        return _preflight(Path(pack), job, report_path, rules, workers, Progress("preflight", progress))


def _other_files(pack: Path) -> list:
    """Secrets in every file of the pack but rows.jsonl and tasks.jsonl (read field by field):
    statistics, pack.json, the manifest, the Parquet copy of the rows, anything else there."""
    from ..secrets.files import scan_paths

    files = [p for p in sorted(pack.rglob("*")) if p.is_file() and p not in (pack / "rows.jsonl", pack / "tasks.jsonl")]
    return scan_paths(files)[0] if files else []


def _beside():
    """A thread for work that runs beside the checks (the Parquet scan: its decoding and the
    prefilter leave the GIL). Not a forked process: a process that has run Arrow may hold
    Arrow's or the allocator's locks in threads a fork does not copy, and the child waits on
    them forever (seen once in this suite)."""
    from multiprocessing.pool import ThreadPool

    return ThreadPool(1)


def _row_schema(rows: Path) -> int | None:
    """The schema_version of a pack's first row (which layout the pack has)."""
    import orjson

    with open(rows, "rb") as fh:
        for line in fh:
            if line.strip():
                try:
                    value = orjson.loads(line).get("schema_version")
                except (orjson.JSONDecodeError, AttributeError):
                    return None
                return value if isinstance(value, int) else None
    return None


def _preflight(pack: Path, job: Path | None, report_path: Path | None, rules: CoverageRules | None,
               workers: int | None, log: Progress) -> PreflightReport:
    if not (pack / "rows.jsonl").is_file():
        raise InputError("not a pack directory (no rows.jsonl)", path=str(pack))
    spec, text = load_job_spec(job) if job else (None, "")
    log("reading rows and tasks (the manifest, files and parents, is verified meanwhile)")
    manifest_checks: list[Check] = []

    def manifest() -> None:  # hashing here while the workers parse: the two overlap
        manifest_checks[:] = check_manifest(pack)

    try:
        read = read_pack(pack / "rows.jsonl", workers, alongside=manifest)
        tasks = read_tasks(pack / "tasks.jsonl", scan=True) if (pack / "tasks.jsonl").is_file() else None
    except InputError as exc:
        if not manifest_checks:
            manifest()
        if manifest_checks[0].status == "pass":
            raise  # a sealed pack that is not a pack: unusable input
        # tampered beyond parsing: the manifest failure is the reason; nothing else can be judged
        checks = manifest_checks + [Check(name="rows", status="blocked", reason=f"unreadable after tampering: {exc}")]
        report = PreflightReport(pack=str(pack), job=str(job) if job else None, ok=False, checks=checks)
        if report_path is not None:
            write_json_atomic(report_path, report.model_dump(mode="json"))
        return report
    rows = read.facts
    log(f"checks (on {len(rows)} rows; the pack's other files are secret-scanned meanwhile)")
    with _beside() as pool:  # the other files are scanned while this thread checks
        others = pool.apply_async(_other_files, (pack,))
        checks = manifest_checks + check_tasks(rows, tasks and tasks.tasks, _row_schema(pack / "rows.jsonl"))
        checks += check_leaks(rows) + check_coverage(rows, rules or CoverageRules())
        checks += check_decoys(rows, spec.decoy_minimums if spec else DEFAULT_DECOY_MINIMUMS)
        checks += check_balance(rows) + check_licences(rows)
        found = read.secrets + (tasks or TasksRead()).secrets + others.get()
    checks += check_pack_secrets(found)
    if spec is not None:
        checks += check_job(spec, text, str(job)) + check_training(spec, rows)
        if spec.task == "p_pass" and spec.gates:
            from .passability import check_gates

            checks += check_gates((Path(job).parent / spec.gates).resolve(), rows)
    report = PreflightReport(pack=str(pack), job=str(job) if job else None,
                             ok=all(c.status in ("pass", "warn") for c in checks), checks=checks)
    log("done")
    if report_path is not None:
        write_json_atomic(report_path, report.model_dump(mode="json"))
    return report
