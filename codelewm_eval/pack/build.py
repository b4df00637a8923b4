"""`pack build`: execution results (whose manifests verify) -> rows -> splits -> pack dir.

Built for a million rows in one pass over the inputs: each result line is validated and turned
into its row's JSON at once, spooled to disk, and only the row's facts stay in memory; after the
exclusions, decoy pairs and splits are decided on the facts, the spool (`spool.py`) is finished
into `rows.jsonl` and `rows.parquet` with each row's decoy link and split appended. The pack is assembled in a temporary
directory and renamed into place, so a failed or killed build leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from pydantic import BaseModel, Field

from ..arrow_rows import (
    has_arrow,
    interned,
    iter_blocks,
    read_block,
)
from ..artifact import staged_directory
from ..benchmarks import BENCHMARKS, licence_of, load_benchmark
from ..benchmarks.family import problem_family
from ..errors import CheckFailed, InputError
from ..execution.results import ExecutionResult
from ..fingerprint import normalized_ast
from ..io import (
    BadLine,
    default_workers,
    line_number_at,
    map_ranges,
    no_gc,
    read_models,
    validate_lines,
    write_json_atomic,
)
from ..log import Progress
from ..manifest import require_verified, write_manifest
from ..secrets import scan_many
from ..values import Seed
from .decoys import DECOY_FORMAT, shadowed_candidate
from .pairs import reference_pairs
from .read import row_secrets, suspect_lines_of
from .rows import (
    NO_TRAINING_MARK,
    SCHEMA_VERSION,
    DecoyLink,
    PackTask,
    RowFacts,
)
from .splits import SplitConfig, assign_splits, family_leaks, straddling
from .spool import SpoolWriter, json_line, write_rows
from .stats import Blocker, CoverageRules, Tally, coverage_blockers, split_stats

_intern = sys.intern


def _new_facts(values: tuple) -> RowFacts:
    """RowFacts from a plain tuple, without NamedTuple's per-call overhead."""
    return tuple.__new__(RowFacts, values)

EXCLUDED_STATUSES = {"not_evaluable", "flaky"}  # no trustworthy label
PACK_FILES = ("rows.jsonl", "tasks.jsonl", "stats.json", "pack.json")


class PackConfig(BaseModel):
    fractions: tuple[float, float, float] = (0.70, 0.15, 0.15)
    seed: Seed = 42
    evaluation_only: list[str] = Field(default_factory=list, description="benchmarks declared evaluation-only")
    reference_decoys: bool = Field(False, description="pair same-problem and same-code decoys among the rows")
    same_problem_pairs_per_task: int = 3
    coverage: CoverageRules = Field(default_factory=CoverageRules)


class PackBlocked(CheckFailed):
    """The pack cannot carry the gates: typed blockers, exit 1."""

    label = "pack not built"

    def __init__(self, blockers: list[Blocker]):
        self.blockers = blockers
        super().__init__(f"{len(blockers)} blocker(s)")


def _verified(path: Path) -> Path:
    return require_verified(path, "the results (re-run execute)", kind=("execution-results", "decoy-results"))


def read_verified_results(path: Path) -> list[ExecutionResult]:
    """Execution results, only if they verify against their manifest (small files: in memory)."""
    return read_models(_verified(Path(path)), ExecutionResult, "an execution result")


class _RangeOut:
    """What a worker learned from one byte range of one results file (pickled back)."""

    def __init__(self):
        self.facts: list[tuple] = []  # RowFacts values as plain tuples (they cross processes faster)
        self.secret_rows: list[int] = []  # indexes in range whose packed text holds a credential
        self.pair_ids: dict[int, str] = {}  # index in range -> mutation pair id (the decoy candidate id)
        self.skipped: dict[str, int] = {}
        self.benchmarks: set[str] = set()
        self.error: tuple[str, int, str | None] | None = None  # (message, line in range, field)


# The result fields a pack row carries (as they are, or inside licence and provenance): a
# credential in one of them leaves the row out; one in `error` or `upstream_status` does not
# reach the pack and does not.
_PACKED_FIELDS = {"benchmark", "task_id", "candidate_id", "program", "program_ast", "status",
                  "output_magnitude_bucket", "output_length_bucket", "origin", "label_provenance", "isolation"}


def _spool_range(path: str, start: int, end: int, index: int, stem: str, evaluation_only: set[str],
                 arrow: bool) -> _RangeOut:
    """Pass one over a byte range, block by block: validate each result (Arrow when it reads the
    block as pydantic would, else pydantic line by line), spool its row, keep its facts, and
    prefilter the whole block for credentials."""
    out = _RangeOut()
    suspects: list[tuple[int, bytes]] = []  # (line number, raw line)
    row_at_line: dict[int, int] = {}  # line number -> index in range, for suspect lines that became rows
    spool = SpoolWriter(Path(f"{stem}-{index:04d}"), arrow)
    try:
        with no_gc():
            for first, block in iter_blocks(path, start, end):
                lines = suspect_lines_of(block, first)
                wanted = {number for number, _ in lines}
                table = read_block(block, ExecutionResult) if has_arrow() else None
                if table is not None:
                    _add_table(table, first, out, spool, evaluation_only, wanted, row_at_line)
                elif not _add_lines(block, first, out, spool, evaluation_only, wanted, row_at_line):
                    return out
                spool.flush()
                suspects += [(number, line) for number, line in lines if number in row_at_line]
    finally:
        spool.close()
    found = row_secrets(suspects, path)
    out.secret_rows = sorted({row_at_line[f.line] for f in found if _top_field(f.field) in _PACKED_FIELDS})
    return out


def _top_field(described: str) -> str:
    """`origin.model of row ?` -> `origin` (the field a row_secrets finding names)."""
    return described.split(" of ", 1)[0].split(".", 1)[0].split("[", 1)[0]


def _add_lines(block: bytes, first: int, out: _RangeOut, spool, evaluation_only: set[str], wanted: set[int],
               row_at_line: dict[int, int]) -> bool:
    """Pydantic, line by line (the exact verdict); False with out.error at the first bad line."""
    try:
        lines = enumerate(block.split(b"\n"), start=first)  # numbered as iter_blocks counts
        for number, r in validate_lines(lines, ExecutionResult, "an execution result"):
            if _add_row(out, spool, evaluation_only, r.benchmark, r.task_id, r.candidate_id, r.passed, r.status,
                        r.output_magnitude_bucket, r.output_length_bucket, r.isolation, r.label_provenance,
                        r.program, r.program_ast, r.origin.__dict__) and number in wanted:
                row_at_line[number] = len(out.facts) - 1
    except BadLine as bad:
        out.error = bad.where
        return False
    return True


_TABLE_FIELDS = ("benchmark", "task_id", "candidate_id", "passed", "status", "output_magnitude_bucket",
                 "output_length_bucket", "isolation", "label_provenance", "program", "program_ast", "origin")


def _add_table(table, first: int, out: _RangeOut, spool, evaluation_only: set[str], wanted: set[int],
               row_at_line: dict[int, int]) -> None:
    """The rows of an Arrow-read block (one per line, in order): the same rows _add_lines makes."""
    columns = [interned(table.column(name)) if name in ("benchmark", "task_id", "status", "output_magnitude_bucket",
                                                        "output_length_bucket", "isolation", "label_provenance")
               else table.column(name).to_pylist() for name in _TABLE_FIELDS]
    kept, before = [], len(out.facts)
    spool.collect = False
    for k, values in enumerate(zip(*columns)):
        if _add_row(out, spool, evaluation_only, *values):
            kept.append(k)
            if first + k in wanted:
                row_at_line[first + k] = len(out.facts) - 1
    spool.collect = True
    spool.add_table(table, kept, out.facts[before:])


def _add_row(out: _RangeOut, spool, evaluation_only: set[str], benchmark: str, task_id: str, candidate_id: str,
             passed: bool, status: str, magnitude: str | None, length: str | None, isolation: str, provenance: str,
             program: str, program_ast: str | None, origin: dict) -> bool:
    """Spool one result's row and keep its facts; True if it is a row."""
    if status in EXCLUDED_STATUSES:
        out.skipped[status] = out.skipped.get(status, 0) + 1
        return False
    decoy_shadows = None
    if origin["format"] == DECOY_FORMAT:
        if passed:  # an equivalent mutant: looks alike and behaves alike, not a decoy
            out.skipped["equivalent_mutant"] = out.skipped.get("equivalent_mutant", 0) + 1
            return False
        decoy_shadows = f"{benchmark}/{task_id}/{shadowed_candidate(candidate_id)}"
    out.benchmarks.add(benchmark)
    row_id = f"{benchmark}/{task_id}/{candidate_id}"
    bench_licence = licence_of(benchmark)
    theirs = origin["licence"]
    licence = bench_licence if not theirs or theirs == bench_licence else \
        f"{theirs} (candidates); {bench_licence} (benchmark)"
    if provenance == "executed here":
        provenance = f"{provenance} ({isolation})"
    program_ast = (program_ast or normalized_ast(program)) if program.strip() else None
    evaluation_only_row = NO_TRAINING_MARK in licence or benchmark in evaluation_only
    values = (SCHEMA_VERSION, row_id, benchmark, task_id, candidate_id, program, program_ast, passed, status,
              magnitude, length, origin, licence, provenance, evaluation_only_row)
    spool.add(values)
    if decoy_shadows is not None:
        out.pair_ids[len(out.facts)] = candidate_id
    out.facts.append((row_id, _intern(benchmark), _intern(task_id), passed, magnitude and _intern(magnitude),
                      length and _intern(length), evaluation_only_row, program_ast, _intern(licence),
                      _intern(provenance), "mutation" if decoy_shadows else None, decoy_shadows, None))
    return True


def _warm_up() -> None:
    """What the decisions after pass one import, loaded while the workers read (a second or two
    this process would otherwise spend after them)."""
    import sklearn.model_selection  # noqa: F401 - the stratified group folds

    if has_arrow():
        import pyarrow.parquet  # noqa: F401


class _Spooled:
    """Pass one, all ranges of all inputs: spool files in order, facts, and what was left out."""

    def __init__(self, results_paths: list[Path], work: Path, data_dir: Path | None, evaluation_only: set[str],
                 workers: int, arrow: bool):
        self.work = work
        self.spools: list[Path] = []  # stems: STEM.jsonl, and STEM.arrow with `arrow`
        self.part_rows: list[int] = []  # rows spooled in each part
        self.facts: list[RowFacts] = []
        self.packed_secrets: set[int] = set()
        self.pair_ids: dict[int, str] = {}
        self.excluded: dict[str, int] = {}
        self.benchmarks: set[str] = set()
        for number, path in enumerate(results_paths):
            stem = work / f"spool-{number:03d}"
            parts = map_ranges(_spool_range, str(path), workers, str(stem), evaluation_only, arrow,
                               alongside=_warm_up)
            for index, (start, _end, part) in enumerate(parts):
                if part.error is not None:
                    message, line, field = part.error
                    raise InputError(message, path=str(path), line=line + line_number_at(path, start), field=field)
                offset = len(self.facts)
                self.spools.append(Path(f"{stem}-{index:04d}"))
                self.part_rows.append(len(part.facts))
                self.facts.extend(map(_new_facts, part.facts))
                self.packed_secrets.update(offset + i for i in part.secret_rows)
                self.pair_ids.update({offset + i: pid for i, pid in part.pair_ids.items()})
                for why, n in part.skipped.items():
                    self.excluded[why] = self.excluded.get(why, 0) + n
                self.benchmarks |= part.benchmarks
        self.prompts = {name: {tid: p.prompt for tid, p in load_benchmark(name, data_dir).problems.items()}
                        for name in sorted(self.benchmarks)}

    def duplicates(self) -> set[int]:
        seen: set[str] = set()
        dup = set()
        for i, r in enumerate(self.facts):
            if r.row_id in seen:
                dup.add(i)
            seen.add(r.row_id)
        return dup

    def secret_rows(self) -> set[int]:
        """Rows whose packed text (program, origin, ...), or whose task's prompt, holds a credential."""
        flagged = set(self.packed_secrets)
        prompts = ((f"{name}\0{tid}", prompt) for name, by_task in self.prompts.items()
                   for tid, prompt in by_task.items())
        bad_prompts = {tuple(f.where.split("\0", 1)) for f in scan_many(prompts)}
        if bad_prompts:
            flagged |= {i for i, r in enumerate(self.facts) if (r.benchmark, r.task_id) in bad_prompts}
        return flagged


def _exclusions(spool: _Spooled) -> set[int]:
    """Rows left out: repeated row ids (the first one stays), credentials (a pack is made to be
    shared; candidates do hard-code them), and decoys whose shadowed row is not a kept passing row."""
    facts = spool.facts
    dropped = spool.duplicates()
    if dropped:
        spool.excluded["duplicate"] = len(dropped)
    secret = spool.secret_rows() - dropped
    if secret:
        spool.excluded["secret_in_text"] = len(secret)
    dropped |= secret
    passing = {r.row_id for i, r in enumerate(facts) if r.passed and r.decoy_category is None and i not in dropped}
    unaligned = {i for i, r in enumerate(facts) if r.decoy_category and i not in dropped and r.decoy_shadows not in passing}
    if unaligned:
        spool.excluded["unaligned_decoy"] = len(unaligned)
    return dropped | unaligned


def _write_tasks(prompts: dict[str, dict[str, str]], facts: list[RowFacts], work: Path,
                 parquet: bool) -> tuple[str, int]:
    """tasks.jsonl (and tasks.parquet): one line per task that has rows, in (benchmark, task_id)
    order, with what its rows share. Returns (sha256, bytes) of tasks.jsonl."""
    keys = sorted({(f.benchmark, f.task_id) for f in facts})
    tasks = [PackTask(benchmark=b, task_id=t, family=problem_family(b, t), prompt=prompts.get(b, {}).get(t, ""))
             for b, t in keys]
    data = b"".join(json_line(task.model_dump(mode="json")) for task in tasks)
    (work / "tasks.jsonl").write_bytes(data)
    if parquet:
        from .parquet import write_tasks

        write_tasks(work / "tasks.parquet", tasks)
    return hashlib.sha256(data).hexdigest(), len(data)


def build_pack(results_paths: list[Path], out_dir: Path, config: PackConfig, data_dir: Path | None,
               command: list[str], *, workers: int | None = None, parquet: bool = True,
               progress: bool = False) -> dict:
    log = Progress("pack build", progress)
    _known_names(config.evaluation_only, set(BENCHMARKS), "is not a benchmark")
    log(f"verifying inputs ({len(results_paths)}, against their manifests)")
    results_paths = [_verified(Path(p)) for p in results_paths]
    parquet = parquet and has_arrow()
    with staged_directory(out_dir) as work:
        with no_gc():
            stats = _build(results_paths, work, config, data_dir, workers or default_workers(), parquet, log)
        pack_json = {"schema_version": 2, "config": config.model_dump(mode="json"),
                     "sources": [str(p) for p in results_paths]}
        write_json_atomic(work / "pack.json", pack_json)
        write_manifest(work, "pack", parents=[p.resolve() for p in results_paths], command=command,
                       config=config.model_dump(mode="json"), known=stats.pop("_known"))
    log(f"done: {stats['rows']} rows")
    return stats


def _build(results_paths: list[Path], work: Path, config: PackConfig, data_dir: Path | None, workers: int,
           parquet: bool, log: Progress) -> dict:
    log(f"reading results ({workers} worker(s))")
    spool = _Spooled(results_paths, work, data_dir, set(config.evaluation_only), workers, parquet)
    _known_names(config.evaluation_only, spool.benchmarks, "is in none of the results")
    return _decide_and_write(spool, work, config, parquet, workers, log)


def _known_names(names: list[str], choices: set[str], why: str) -> None:
    """A name that selects data must select something: `--evaluation-only HumanEval` (the
    benchmark is `humaneval`) silently declared nothing evaluation-only."""
    for name in names:
        if name not in choices:
            near = [c for c in sorted(choices) if c.lower() == name.lower().replace("+", "-plus")]
            hint = f"; did you mean {near[0]}?" if near else ""
            raise InputError(f"{name!r} {why} (choices: {', '.join(sorted(choices)) or 'none'}){hint}",
                             field="--evaluation-only")


def _decide_and_write(spool: _Spooled, work: Path, config: PackConfig, parquet: bool, workers: int,
                      log: Progress) -> dict:
    log(f"exclusions (duplicates, secrets, unaligned decoys) among {len(spool.facts)} rows")
    dropped = _exclusions(spool)
    kept = [i for i in range(len(spool.facts)) if i not in dropped]
    if not kept:
        raise InputError("no rows: the results hold no usable labels")
    facts = [spool.facts[i] for i in kept]
    links: dict[int, DecoyLink] = {}
    if config.reference_decoys:
        log("pairing reference decoys")
        links = {kept[k]: link for k, link in
                 reference_pairs(facts, seed=config.seed, per_task=config.same_problem_pairs_per_task).items()}
        facts = [f if kept[k] not in links else
                 f._replace(decoy_category=links[kept[k]].category, decoy_shadows=links[kept[k]].shadows_row_id)
                 for k, f in enumerate(facts)]
    log("splits")
    splits = assign_splits(facts, SplitConfig(config.fractions, config.seed, config.coverage.min_bucket_tasks))
    facts = [_new_facts(f[:-1] + (s,)) for f, s in zip(facts, splits)]
    log("coverage and leaks")
    tally = Tally(facts)
    blockers = coverage_blockers(facts, config.coverage, tally)
    for what, where in straddling(facts).items():
        blockers.append(Blocker(kind="split_leak", detail=f"{what} in {', '.join(where)}", observed=len(where), required=1))
    for family, where in family_leaks(facts).items():
        blockers.append(Blocker(kind="family_leak", detail=f"family {family} in {', '.join(where)}",
                                observed=len(where), required=1))
    if blockers:
        raise PackBlocked(blockers)
    split_of: list[str | None] = [None] * len(spool.facts)
    for i, split in zip(kept, splits):
        split_of[i] = split
    log("writing (rows.jsonl" + (", rows.parquet" if parquet else "") + ")")
    digest, size = write_rows(spool, work, split_of, links, parquet, workers)
    known = {"rows.jsonl": (digest, size), "tasks.jsonl": _write_tasks(spool.prompts, facts, work, parquet)}
    log("statistics and manifest")
    stats = split_stats(facts, tally)
    stats["excluded"] = dict(sorted(spool.excluded.items()))
    stats["files"] = ["rows.jsonl", "tasks.jsonl"] + (["rows.parquet", "tasks.parquet"] if parquet else [])
    write_json_atomic(work / "stats.json", stats)
    return {**stats, "_known": known}
