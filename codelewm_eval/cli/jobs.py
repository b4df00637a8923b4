"""CLI verbs for training and jobs: train, jobs launch/status/fetch/verify/inspect-checkpoint,
secrets scan."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..values import seed_arg
from .common import emit, positive, stage_verb


def loss_weights(items: list[str] | None) -> dict[str, float]:
    """`--loss-weight RULE=WEIGHT` (repeatable) as a dict."""
    out = {}
    for item in items or []:
        rule, _, value = item.rpartition("=")
        try:
            out[rule] = float(value)
        except ValueError:
            raise InputError(f"--loss-weight must look like RULE=WEIGHT, got {item!r}") from None
    return out


@stage_verb("codelewm_eval.train.stage:train_stage")
def cmd_train(args):
    from ..train.run import LoraConfig, TrainConfig
    from ..train.stage import LORA_FLAGS, TrainSeedConfig

    lora = {name: getattr(args, name) for name in LORA_FLAGS if getattr(args, name) is not None}
    if args.loss_weight:
        lora["loss_weights"] = loss_weights(args.loss_weight)
    train = TrainConfig(scorer=args.scorer, seed=args.seed, run_id=args.run_id or Path(args.out).name,
                        lora=LoraConfig(**lora))
    return TrainSeedConfig(pack=args.pack, out=Path(args.out), train=train, push_to=args.push_to, echo=not args.quiet)


@stage_verb("codelewm_eval.jobs.run_stages:status_stage")
def cmd_jobs_status(args):
    from ..jobs.run_stages import StatusConfig

    return StatusConfig(runs=args.runs, stall_after=args.stall_after, watch=args.watch,
                        on_update=lambda result: emit(args, result))


@stage_verb("codelewm_eval.jobs.run_stages:fetch_stage")
def cmd_jobs_fetch(args):
    from ..jobs.run_stages import FetchConfig

    return FetchConfig(run=Path(args.run))


@stage_verb("codelewm_eval.jobs.run_stages:run_verify_stage")
def cmd_jobs_verify(args):
    from ..jobs.run_stages import RunVerifyConfig

    try:
        seeds = [int(x) for x in args.seeds.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"--seeds takes integers separated by commas, got {args.seeds!r}") from None
    return RunVerifyConfig(run=Path(args.run), seeds=seeds, pack=Path(args.pack) if args.pack else None)


@stage_verb("codelewm_eval.jobs.run_stages:inspect_stage")
def cmd_jobs_inspect(args):
    from ..jobs.run_stages import InspectConfig

    return InspectConfig(path=Path(args.path), allow_pickle=args.allow_pickle)


@stage_verb("codelewm_eval.secrets.stage:scan_stage")
def cmd_secrets_scan(args):
    from ..secrets.stage import ScanConfig

    return ScanConfig(paths=[Path(p) for p in args.paths], allowlist=Path(args.allowlist) if args.allowlist else None)


@stage_verb("codelewm_eval.jobs.stage:launch_stage")
def cmd_jobs_launch(args):
    from ..jobs.stage import LaunchConfig

    return LaunchConfig(spec=Path(args.spec), backend=args.backend, run_id=args.run_id, dry_run=args.dry_run,
                        evaluate=not args.no_evaluate)


def _add_train(sub) -> None:
    tr = sub.add_parser("train", help="train a p_pass scorer on a pack, one seed (what every job runs)",
                        description="Fit a p_pass scorer on the pack's train split (logreg: hashed token n-grams; "
                                    "lora: a LoRA adapter on a sequence classifier, MiniLM-L6 by default, with "
                                    "early stopping on val AUC; probe: a seeded logistic head on frozen encoder "
                                    "embeddings computed once per pack). Writes checkpoint/ (safetensors), scores.jsonl (p_pass "
                                    "for every val and test row), reports/job_progress.jsonl (events, also on stderr "
                                    "behind CODELEWM_EVENT) and a manifest whose parent is the pack.")
    tr.add_argument("--pack", required=True, help="a pack directory, or hf://datasets/OWNER/NAME@REVISION (downloaded "
                                                 "next to --out, into ../pack)")
    tr.add_argument("--seed", type=seed_arg, required=True)
    tr.add_argument("--scorer", choices=["logreg", "lora", "probe"], required=True)
    tr.add_argument("--out", required=True, help="run directory of this seed")
    tr.add_argument("--run-id", help="default: the --out directory's name")
    for flag, kind, scorers in (("--base-model", str, "lora, probe"), ("--rank", int, "lora"), ("--alpha", int, "lora"),
                                ("--lr", float, "lora"), ("--epochs", int, "lora"), ("--max-length", int, "lora, probe"),
                                ("--batch-size", int, "lora"), ("--max-train-rows", int, "lora")):
        tr.add_argument(flag, type=kind, help=scorers)
    tr.add_argument("--device", choices=["auto", "cuda", "cpu"], help="lora, probe: where torch runs (auto: CUDA when "
                                                                       "there is a GPU)")
    tr.add_argument("--dtype", choices=["auto", "bfloat16", "float16", "float32"],
                    help="lora, probe: compute dtype (auto: bfloat16 on GPUs and CPUs that have it, float16 with a "
                         "gradient scaler on older GPUs, float32 elsewhere)")
    tr.add_argument("--loss-weight", action="append", metavar="RULE=WEIGHT",
                    help="lora per-row loss weights: task:<benchmark>/<task>, benchmark:<name>, long, long_failing")
    tr.add_argument("--push-to", metavar="REPO", help="when done, upload the run into this Hub model repo as seed-N/ "
                                                      "(what a Hub job does with its outputs)")
    tr.add_argument("--quiet", action="store_true", help="no events on stderr")
    tr.add_argument("--json", action="store_true")
    tr.set_defaults(func=cmd_train)


def _add_jobs(sub) -> None:
    jb = sub.add_parser("jobs", help="training runs: status, verification, checkpoint inspection")
    jb_sub = jb.add_subparsers(dest="jobs_verb", required=True)
    _add_jobs_launch(jb_sub)
    _add_jobs_status(jb_sub)
    _add_jobs_fetch(jb_sub)
    _add_jobs_verify(jb_sub)
    _add_jobs_inspect_checkpoint(jb_sub)


def _add_jobs_launch(jb_sub) -> None:
    la = jb_sub.add_parser("launch", help="preflight, secret-scan, then run every seed of a job spec",
                           description="Run preflight (refuse unless OK), build the exact payload of every seed and "
                                       "secret-scan everything that would leave the machine (env values, command, "
                                       "script, the spec): any finding, or a token-like variable given as plain env, "
                                       "refuses the launch (exit 1) with redacted findings. --dry-run prints the "
                                       "payloads (and, for task: execute and generate specs, candidates or samples, "
                                       "expected time and price per shard) and runs and writes nothing. The local "
                                       "backend runs each seed as a subprocess in its own process group (stopped "
                                       "with the launcher), then writes the evidence against the spec's gates into "
                                       "RUN/evidence; for task: execute (generate), it runs one `execute --shard I/N` "
                                       "(`generate --shard I/N`) per shard, `parallel` at a time, and merges them "
                                       "into RUN/results.jsonl (RUN/samples.jsonl). The hf backend starts one Hugging "
                                       "Face Job per seed or shard (secrets sent as secrets; an execute spec's sample "
                                       "file is uploaded to execute.samples_repo and pinned, unless "
                                       "samples_revision names it there; shards push their outputs to "
                                       "outputs.hub_repo, and `jobs fetch` merges them). Both write launch.json into "
                                       "the run directory; running it again resumes (hf: jobs scheduled, running or "
                                       "completed with the same payload are kept, the others start again).")
    la.add_argument("spec", help="job spec YAML (see jobs/standard.yaml)")
    la.add_argument("--backend", choices=["local", "hf"], default="local",
                    help="local: each seed (or shard) a subprocess here, then evidence against the spec's gates; hf: "
                         "one Hugging Face Job per seed or shard (needs outputs.hub_repo, and the pack, harvest, "
                         "sample file or model on the Hub)")
    la.add_argument("--dry-run", action="store_true")
    la.add_argument("--no-evaluate", action="store_true", help="local: skip the evidence after the seeds finish")
    la.add_argument("--run-id", help="default: the spec's name")
    la.add_argument("--json", action="store_true", help="print the launch result as JSON")
    la.set_defaults(func=cmd_jobs_launch)


def _add_jobs_status(jb_sub) -> None:
    st = jb_sub.add_parser("status", help="per seed: stage, step, loss, val AUC, ETA, stalled/diverged/failed",
                           description="Summarize runs from their structured events: reports/job_progress.jsonl "
                                       "here, or for Hub jobs the job stage (inspect_job) and the events recovered "
                                       "from the job logs (fetch_job_logs). "
                                       "Exit 1 when any seed is stalled, diverged or failed.")
    st.add_argument("runs", nargs="+", help="run directories (one per seed, a run holding seed directories, or a run "
                                           "launched on Hugging Face Jobs), or Hugging Face job ids")
    st.add_argument("--watch", type=positive, metavar="S", help="refresh every S seconds until every seed has ended")
    st.add_argument("--stall-after", type=positive, default=600.0, help="seconds without an event that mean stalled")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_jobs_status)


def _add_jobs_fetch(jb_sub) -> None:
    fe = jb_sub.add_parser("fetch", help="download a Hub run's outputs (every seed, and its pack) into RUN",
                           description="For a run launched with --backend hf: download what each seed's job uploaded "
                                       "(outputs.hub_repo, seed-N/) into RUN/seed-N and the pack at its pinned "
                                       "revision into RUN/pack, so `jobs verify RUN` and `evaluate` can check them "
                                       "here. Files already present are kept.")
    fe.add_argument("run", help="the run directory holding launch.json")
    fe.add_argument("--json", action="store_true")
    fe.set_defaults(func=cmd_jobs_fetch)


def _add_jobs_verify(jb_sub) -> None:
    vf = jb_sub.add_parser("verify", help="manifests verify, every seed present, scores cover exactly val+test",
                           description="Exit 0 only when every seed's manifest verifies (parents included), every "
                                       "required seed is present and each seed scores exactly the pack's val and "
                                       "test rows.")
    vf.add_argument("run")
    vf.add_argument("--seeds", default="42,1729", help="required seeds (default: the standard run)")
    vf.add_argument("--pack", help="the pack the seeds trained on, where the run was moved without it (it must be "
                                   "the recorded one: same manifest sha256)")
    vf.add_argument("--json", action="store_true")
    vf.set_defaults(func=cmd_jobs_verify)


def _add_jobs_inspect_checkpoint(jb_sub) -> None:
    ic = jb_sub.add_parser("inspect-checkpoint", help="tensors, shapes, dtypes, non-finite counts, norms",
                           description="Read a safetensors checkpoint (or a directory holding one): tensor names, "
                                       "shapes, dtypes, non-finite counts, L2 norms, metadata and the adapter config. "
                                       "Pickle-based files are refused unless --allow-pickle. Exit 1 on non-finite "
                                       "values.")
    ic.add_argument("path")
    ic.add_argument("--allow-pickle", action="store_true", help="load .bin/.pt with torch's weights_only loader")
    ic.add_argument("--json", action="store_true")
    ic.set_defaults(func=cmd_jobs_inspect)


def _add_secrets(sub) -> None:
    se = sub.add_parser("secrets", help="secret scanning (the scanner preflight and launch use)")
    se_sub = se.add_subparsers(dest="secrets_verb", required=True)
    sc = se_sub.add_parser("scan", help="scan files, directories and notebooks for credentials",
                           description="detect-secrets' pattern detectors plus Hugging Face, Anthropic, OpenRouter, "
                                       "GitHub fine-grained, W&B and AWS secret-key detectors, over files, "
                                       "directories (skipping .git and virtualenvs), notebook cells and outputs, "
                                       "and YAML. Findings are redacted: kind, file, line, sha256 prefix. Exit 1 on "
                                       "any finding not in the allowlist.")
    sc.add_argument("paths", nargs="+")
    sc.add_argument("--allowlist", help="accepted findings: one sha256 prefix per line (# comments)")
    sc.add_argument("--json", action="store_true")
    sc.set_defaults(func=cmd_secrets_scan)
