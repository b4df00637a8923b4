"""codelewm-eval: evaluation and claims auditing for code-model research.

The public API is the stages of the flow and the models they take and return (see
docs/python-api.md); each writes its artifact with its manifest. Names are imported on first use,
so `import codelewm_eval` stays cheap for the CLI. `run_preflight` and `train_seed` are the
`preflight` and `train` stages (those two names are subpackages of this package).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    # execute -> decoys -> pack -> preflight -> train / launch -> evaluate -> claims
    "ExecuteConfig": "codelewm_eval.execution.stage", "ExecuteResult": "codelewm_eval.execution.stage",
    "execute_stage": "codelewm_eval.execution.stage",
    "make_decoys": "codelewm_eval.pack.decoys",
    "DecoysConfig": "codelewm_eval.pack.stage", "DecoysResult": "codelewm_eval.pack.stage",
    "decoys_stage": "codelewm_eval.pack.stage",
    "PackBuildConfig": "codelewm_eval.pack.stage", "PackBuildResult": "codelewm_eval.pack.stage",
    "pack_stage": "codelewm_eval.pack.stage",
    "EvaluateConfig": "codelewm_eval.evidence.evaluate_stage", "EvaluateResult": "codelewm_eval.evidence.evaluate_stage",
    "evaluate_stage": "codelewm_eval.evidence.evaluate_stage",
    "StageConfig": "codelewm_eval.stage", "StageResult": "codelewm_eval.stage",
    "CodelewmError": "codelewm_eval.errors", "InputError": "codelewm_eval.errors", "CheckFailed": "codelewm_eval.errors",
    "PackConfig": "codelewm_eval.pack.build", "PackBlocked": "codelewm_eval.pack.build",
    "build_pack": "codelewm_eval.pack.build", "PackRow": "codelewm_eval.pack.rows", "PackTask": "codelewm_eval.pack.rows",
    "run_preflight": ("codelewm_eval.preflight.run", "preflight"), "PreflightReport": "codelewm_eval.preflight.checks",
    "TrainConfig": "codelewm_eval.train.run", "LoraConfig": "codelewm_eval.train.run",
    "train_seed": ("codelewm_eval.train.run", "train"),
    "ExecutionResults": "codelewm_eval.execution.results", "Pack": "codelewm_eval.pack.read",
    "ScoreConfig": "codelewm_eval.evidence.score_stage", "ScoreResult": "codelewm_eval.evidence.score_stage",
    "score_stage": "codelewm_eval.evidence.score_stage",
    "LaunchConfig": "codelewm_eval.jobs.stage", "launch_stage": "codelewm_eval.jobs.stage",
    "LaunchResult": "codelewm_eval.jobs.stage", "LaunchRecord": "codelewm_eval.jobs.launch",
    "evaluate": "codelewm_eval.evidence.evaluate", "MetricsFile": "codelewm_eval.evidence.evaluate",
    "RerankFile": "codelewm_eval.evidence.evaluate", "DecoysFile": "codelewm_eval.evidence.evaluate",
    "GatesFile": "codelewm_eval.evidence.evaluate", "judge_all": "codelewm_eval.evidence.evaluate",
    "EvidenceBundle": "codelewm_eval.evidence.evaluate",
    "Gate": "codelewm_eval.evidence.gates", "GateSpec": "codelewm_eval.evidence.gates",
    "load_gate_spec": "codelewm_eval.evidence.gates",
    "compare": "codelewm_eval.evidence.compare", "read_outcomes": "codelewm_eval.evidence.compare",
    "CompareConfig": "codelewm_eval.evidence.compare_stage", "CompareResult": "codelewm_eval.evidence.compare_stage",
    "compare_stage": "codelewm_eval.evidence.compare_stage",
    "audit": "codelewm_eval.claims.audit", "render_cards": "codelewm_eval.claims.render",
    "RunConfig": "codelewm_eval.pipeline", "Runner": "codelewm_eval.pipeline", "default_config": "codelewm_eval.pipeline",
    "RunState": "codelewm_eval.pipeline", "staged_directory": "codelewm_eval.artifact",
    "problem_family": "codelewm_eval.benchmarks.family", "load_benchmark": "codelewm_eval.benchmarks",
    "verify": "codelewm_eval.manifest", "require_verified": "codelewm_eval.manifest",
    # every verb's stage, config and result (the contract: docs/python-api.md), and the readers
    "MergeConfig": "codelewm_eval.execution.stage", "merge_stage": "codelewm_eval.execution.stage",
    "VerifyConfig": "codelewm_eval.manifest", "VerifyResult": "codelewm_eval.manifest",
    "verify_stage": "codelewm_eval.manifest",
    "PreflightConfig": "codelewm_eval.preflight.run", "PreflightResult": "codelewm_eval.preflight.run",
    "preflight_stage": "codelewm_eval.preflight.run",
    "TrainSeedConfig": "codelewm_eval.train.stage", "TrainResult": "codelewm_eval.train.stage",
    "train_stage": "codelewm_eval.train.stage",
    "StatusConfig": "codelewm_eval.jobs.run_stages", "StatusResult": "codelewm_eval.jobs.run_stages",
    "status_stage": "codelewm_eval.jobs.run_stages", "FetchConfig": "codelewm_eval.jobs.run_stages",
    "FetchResult": "codelewm_eval.jobs.run_stages", "fetch_stage": "codelewm_eval.jobs.run_stages",
    "RunVerifyConfig": "codelewm_eval.jobs.run_stages", "RunVerifyResult": "codelewm_eval.jobs.run_stages",
    "run_verify_stage": "codelewm_eval.jobs.run_stages", "InspectConfig": "codelewm_eval.jobs.run_stages",
    "InspectResult": "codelewm_eval.jobs.run_stages", "inspect_stage": "codelewm_eval.jobs.run_stages",
    "ScanConfig": "codelewm_eval.secrets.stage", "ScanResult": "codelewm_eval.secrets.stage",
    "scan_stage": "codelewm_eval.secrets.stage",
    "AuditConfig": "codelewm_eval.claims.stage", "AuditResult": "codelewm_eval.claims.stage",
    "audit_stage": "codelewm_eval.claims.stage", "RenderConfig": "codelewm_eval.claims.stage",
    "RenderResult": "codelewm_eval.claims.stage", "render_stage": "codelewm_eval.claims.stage",
    "ReportConfig": "codelewm_eval.report.build", "ReportResult": "codelewm_eval.report.build",
    "report_stage": "codelewm_eval.report.build",
    "RunStageConfig": "codelewm_eval.pipeline", "RunResult": "codelewm_eval.pipeline",
    "run_stage": "codelewm_eval.pipeline",
    "HarvestConfig": "codelewm_eval.surgery.stage", "HarvestResult": "codelewm_eval.surgery.stage",
    "harvest_stage": "codelewm_eval.surgery.stage", "TinyConfig": "codelewm_eval.surgery.stage",
    "TinyResult": "codelewm_eval.surgery.stage", "tiny_stage": "codelewm_eval.surgery.stage",
    "SurgeryTrainConfig": "codelewm_eval.surgery.stage", "SurgeryTrainResult": "codelewm_eval.surgery.stage",
    "surgery_train_stage": "codelewm_eval.surgery.stage", "PromoteConfig": "codelewm_eval.surgery.stage",
    "PromoteResult": "codelewm_eval.surgery.stage", "promote_stage": "codelewm_eval.surgery.stage",
    "GenerateConfig": "codelewm_eval.surgery.generate", "GenerateResult": "codelewm_eval.surgery.generate",
    "generate_stage": "codelewm_eval.surgery.generate",
    "CatalogConfig": "codelewm_eval.catalog", "CatalogResult": "codelewm_eval.catalog",
    "catalog_stage": "codelewm_eval.catalog",
    "BenchExecuteConfig": "codelewm_eval.bench", "BenchExecuteResult": "codelewm_eval.bench",
    "bench_execute_stage": "codelewm_eval.bench",
    "Measurement": "codelewm_eval.evidence.measurement",
    "Measured": "codelewm_eval.evidence.evaluate",
    "ComparisonBundle": "codelewm_eval.evidence.compare_stage",
    "read_artifact": "codelewm_eval.readers", "register_reader": "codelewm_eval.readers",
    "load_stage": "codelewm_eval.stage",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    where = _EXPORTS.get(name)
    if where is None:
        raise AttributeError(f"module 'codelewm_eval' has no attribute {name!r}")
    module, attribute = where if isinstance(where, tuple) else (where, name)
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
