"""CLI verbs of the surgery loop: surgery harvest / tiny-model / train / promote, and generate."""

from __future__ import annotations

from pathlib import Path

from ..values import seed_arg
from .common import (
    count,
    non_negative,
    non_negative_int,
    positive,
    probability,
    stage_verb,
)
from .common import data_dir as _data_dir
from .jobs import loss_weights


@stage_verb("codelewm_eval.surgery.stage:harvest_stage")
def cmd_harvest(args):
    from ..surgery.stage import HarvestConfig

    return HarvestConfig(results=[Path(p) for p in args.results], out=Path(args.out), data_dir=_data_dir(args.data_dir),
                         anchors=args.anchors, seed=args.seed, previous=[Path(p) for p in args.previous or []],
                         anchor_share=args.anchor_share, override_lessons=args.override_lessons)


@stage_verb("codelewm_eval.surgery.stage:tiny_stage")
def cmd_tiny(args):
    from ..surgery.stage import TinyConfig

    return TinyConfig(out=Path(args.out), data_dir=_data_dir(args.data_dir), seed=args.seed)


@stage_verb("codelewm_eval.surgery.stage:surgery_train_stage")
def cmd_surgery_train(args):
    from ..surgery.sft import SftConfig
    from ..surgery.stage import SurgeryTrainConfig

    data = _data_dir(args.data_dir)
    sft = SftConfig(base_model=args.base_model, seed=args.seed, run_id=args.run_id or Path(args.out).name,
                    rank=args.rank, alpha=args.alpha, lr=args.lr, epochs=args.epochs, max_length=args.max_length,
                    batch_size=args.batch_size, target_modules=args.target_modules.split(","),
                    checkpoint_every=args.checkpoint_every, loss_weights=loss_weights(args.loss_weight),
                    anchor_weight=args.anchor_weight, load_4bit=args.load_4bit, merge_anyway=args.merge_anyway,
                    data_dir=str(data) if data else None, device=args.device, dtype=args.dtype,
                    isolation=args.isolation)
    return SurgeryTrainConfig(harvest=args.harvest, out=Path(args.out), sft=sft,
                              override_lessons=args.override_lessons, push_to=args.push_to, echo=not args.quiet)


@stage_verb("codelewm_eval.surgery.stage:promote_stage")
def cmd_promote(args):
    from ..surgery.promote import Target
    from ..surgery.stage import PromoteConfig

    targets = [] if args.target and not args.targets else \
        [t.strip() for t in (args.targets or "humaneval,mbpp").split(",") if t.strip()]
    return PromoteConfig(baseline=Path(args.baseline), candidates=[Path(p) for p in args.candidate or []],
                         anchors=Path(args.anchors) if args.anchors else None, targets=targets,
                         goals=[Target.parse(t) for t in args.target or []], alpha=args.alpha, plan=args.plan,
                         expect=args.expect or [])


@stage_verb("codelewm_eval.surgery.generate:generate_stage")
def cmd_generate(args):
    from ..surgery.generate import GenerateConfig, Sampling

    return GenerateConfig(
        model=args.model, benchmark=args.benchmark, out=Path(args.out), data_dir=_data_dir(args.data_dir),
        engine=args.engine, sampling=Sampling(n=args.n, temperature=args.temperature, top_p=args.top_p,
                                              max_new_tokens=args.max_new_tokens, seed=args.seed),
        batch_size=args.batch_size, limit=args.limit, shard=args.shard, push_to=args.push_to,
        push_path=args.push_path, progress=not args.no_progress)


def _add_surgery(sub) -> None:
    su = sub.add_parser("surgery", help="the surgery loop: harvest failures, LoRA-tune a generator, gate promotion")
    su_sub = su.add_subparsers(dest="surgery_verb", required=True)
    _add_surgery_harvest(su_sub)
    _add_surgery_tiny_model(su_sub)
    _add_surgery_train(su_sub)
    _add_surgery_promote(su_sub)


def _add_surgery_harvest(su_sub) -> None:
    hv = su_sub.add_parser("harvest", help="failing tasks joined with reference solutions, plus an anchor set",
                           description="From execution results (first sample per task): every failing task with the "
                                       "benchmark's reference solution as target (tasks without one, rows whose "
                                       "licence forbids training, and rows of earlier harvests are left out and "
                                       "counted), and an anchor set of passing tasks: a share trains as positive "
                                       "contrast, the rest is held out (anchors.txt, for the merge check and the "
                                       "promotion gate). Results of more than one model are refused (the BD6.2 "
                                       "union) unless --override-lessons. Writes a manifest whose parents are the "
                                       "results and the parent harvest, with the lineage.")
    hv.add_argument("--results", nargs="+", required=True)
    hv.add_argument("--out", required=True)
    hv.add_argument("--anchors", type=non_negative_int, default=20, help="how many passing tasks to hold as anchors")
    hv.add_argument("--previous", nargs="*", help="the parent harvest(s): their rows are not harvested again")
    hv.add_argument("--anchor-share", type=probability, default=0.15,
                    help="anchors trained as positive contrast, as a share of the training rows (default 0.15; at "
                         "most half of the anchors; the rest are held out for the merge check and the gate)")
    hv.add_argument("--override-lessons", action="store_true",
                    help="harvest results of more than one model (the BD6.2 union); recorded")
    hv.add_argument("--seed", type=seed_arg, default=42)
    hv.add_argument("--data-dir")
    hv.add_argument("--json", action="store_true")
    hv.set_defaults(func=cmd_harvest)


def _add_surgery_tiny_model(su_sub) -> None:
    ty = su_sub.add_parser("tiny-model", help="a tiny random causal LM and tokenizer, for CPU runs of the loop",
                           description="A Llama-shaped causal LM with random weights (built from a config, nothing "
                                       "downloaded) and a byte-level BPE tokenizer trained on the benchmark prompts. "
                                       "Scores near zero; it exercises the machinery.")
    ty.add_argument("--out", required=True)
    ty.add_argument("--data-dir")
    ty.add_argument("--seed", type=seed_arg, default=0)
    ty.add_argument("--json", action="store_true")
    ty.set_defaults(func=cmd_tiny)


def _add_surgery_train(su_sub) -> None:
    tr = su_sub.add_parser("train", help="LoRA SFT of a causal LM on a harvest, one seed (what every job runs)",
                           description="peft LoRA on the completion tokens of the harvest's rows, per-row loss weights, "
                                       "an adapter checkpoint every K steps, progress events; then the adapter runs on "
                                       "the held-out anchors (greedy, executed) and any anchor lost aborts the merge "
                                       "(exit 1) unless --merge-anyway; else merge_and_unload into RUN/merged. The "
                                       "reports' lessons are refused (exit 2) unless --override-lessons (recorded): "
                                       "more than 2 epochs; rank above 8 x sqrt(rows/250); lr above 1e-4 x "
                                       "min(1, sqrt(rows/250)).")
    tr.add_argument("--harvest", required=True, help="a harvest directory, or hf://datasets/OWNER/NAME@REVISION")
    tr.add_argument("--base-model", required=True, help="a model directory or a Hub id")
    tr.add_argument("--seed", type=seed_arg, required=True)
    tr.add_argument("--out", required=True)
    tr.add_argument("--run-id")
    tr.add_argument("--rank", type=count, default=8)
    tr.add_argument("--alpha", type=count, default=16)
    tr.add_argument("--lr", type=positive, default=1e-4)
    tr.add_argument("--epochs", type=count, default=1)
    tr.add_argument("--max-length", type=count, default=512)
    tr.add_argument("--batch-size", type=count, default=1)
    tr.add_argument("--target-modules", default="q_proj,v_proj")
    tr.add_argument("--checkpoint-every", type=count, default=100, metavar="K")
    tr.add_argument("--loss-weight", action="append", metavar="RULE=WEIGHT",
                    help="task:MBPP/53=2, long=0.5 (targets over 100 tokens), anchor=2")
    tr.add_argument("--anchor-weight", type=non_negative, default=1.0,
                    help="weight of the anchors the harvest put in training (default 1; 0: none trains)")
    tr.add_argument("--merge-anyway", action="store_true",
                    help="merge even when the adapter loses a held-out anchor before merging (recorded)")
    tr.add_argument("--data-dir", help="benchmark data for the anchor check before merging")
    tr.add_argument("--load-4bit", action="store_true", help="QLoRA: needs bitsandbytes and a GPU")
    tr.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto",
                    help="where torch runs (auto: CUDA when there is a GPU)")
    tr.add_argument("--dtype", choices=["auto", "bfloat16", "float16", "float32"], default="auto",
                    help="auto: bfloat16 on GPUs and CPUs that have it, float16 with a gradient scaler on older "
                         "GPUs, float32 elsewhere")
    tr.add_argument("--isolation", choices=["auto", "bwrap", "rlimits", "rlimits-as-root"], default="auto",
                    help="the anchor check's sandbox (rlimits in a container without bubblewrap)")
    tr.add_argument("--override-lessons", action="store_true")
    tr.add_argument("--push-to", metavar="REPO")
    tr.add_argument("--quiet", action="store_true")
    tr.add_argument("--json", action="store_true")
    tr.set_defaults(func=cmd_surgery_train)


def _add_surgery_promote(su_sub) -> None:
    pr = su_sub.add_parser("promote", help="promotion gate: no anchor lost, significant gains on the targets",
                           description="Judge each candidate pass against the frozen baseline on the same tasks: "
                                       "promotable only if no anchor is lost and every target benchmark gains with "
                                       "an exact McNemar p below --alpha. Several passes give the anchor ladder and "
                                       "a warning when a pass loses anchors an earlier pass kept. Exit 0 when the "
                                       "last pass is promotable, 1 otherwise.")
    pr.add_argument("--baseline", required=True, help="per-task outcomes of the frozen baseline")
    pr.add_argument("--candidate", action="append", help="repeatable, in pass order (with --plan: the earlier passes "
                                                         "of the lineage, whose loss rate the plan uses)")
    pr.add_argument("--anchors", help="anchors.txt of the harvest (required unless --plan)")
    pr.add_argument("--targets", help="benchmarks that must improve (default: those of --target, else humaneval,mbpp)")
    pr.add_argument("--target", action="append", metavar="BENCH=PASSES/TASKS",
                    help="a goal, repeatable: mbpp=25/100 reports progress toward 25 of 100 beside the paired test "
                         "(and the benchmark must improve)")
    pr.add_argument("--alpha", type=probability, default=0.05)
    pr.add_argument("--plan", action="store_true",
                    help="before the next pass: per benchmark, the least net new passes the exact McNemar test can "
                         "call significant (with no task lost, and with the loss rate of the --candidate passes), "
                         "what each --target needs, and the power for --expect")
    pr.add_argument("--expect", action="append", metavar="BENCH=+GAIN", help="--plan: a hypothesised net gain")
    pr.add_argument("--json", action="store_true")
    pr.set_defaults(func=cmd_promote)


def _add_generate(sub) -> None:
    ge = sub.add_parser("generate", help="sample completions for a benchmark from a model directory",
                        description="Greedy or sampled completions for every task of a benchmark, batched and "
                                    "resumable (OUT.partial), into an EvalPlus-format samples file (task_id, "
                                    "solution, sample_index) that `execute` takes, sealed by a manifest recording "
                                    "the model, engine and sampling parameters.")
    ge.add_argument("--model", required=True, help="a model directory (e.g. RUN/merged), or a model on the Hub at a "
                                                    "pinned revision: hf://OWNER/NAME@REVISION[/FOLDER]")
    ge.add_argument("--engine", default="transformers", choices=["transformers", "vllm"],
                    help="transformers (default; CPU or GPU, in-process) or vllm (the `vllm` extra; GPU)")
    ge.add_argument("--benchmark", required=True)
    ge.add_argument("--out", required=True)
    ge.add_argument("--n", type=count, default=1, help="samples per task")
    ge.add_argument("--temperature", type=non_negative, default=0.0, help="0: greedy")
    ge.add_argument("--top-p", type=probability, default=0.95)
    ge.add_argument("--max-new-tokens", type=count, default=256)
    ge.add_argument("--batch-size", type=count, default=8)
    ge.add_argument("--limit", type=count, help="only the first N tasks")
    ge.add_argument("--seed", type=seed_arg, default=0)
    ge.add_argument("--data-dir")
    ge.add_argument("--shard", metavar="I/N", help="only the tasks of shard I of N (the split `execute --shard` uses)")
    ge.add_argument("--push-to", metavar="REPO", help="then upload the samples and manifest into this model repo")
    ge.add_argument("--push-path", default="", metavar="DIR", help="the repo folder they go into (default: its root)")
    ge.add_argument("--no-progress", action="store_true")
    ge.add_argument("--json", action="store_true")
    ge.set_defaults(func=cmd_generate)
