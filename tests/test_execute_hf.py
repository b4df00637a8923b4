"""`task: execute` on Hugging Face Jobs, with the real huggingface_hub client against the loopback
Hub/Jobs server (tests/fake_hub.py, whose jobs really run here as subprocesses): the launch uploads
the sample file (secret-scanned) and pins its commit, starts one job per shard, each shard reads
the samples from the Hub and pushes its results; `jobs status` follows the shards, a shard whose
machine is lost is relaunched alone, and `jobs fetch` brings the shards back and merges them into
a file equal to one unsharded run here."""

from __future__ import annotations

import json

import pytest

from codelewm_eval.cli import main

from .fake_hub import pointed_at
from .test_execute_jobs import _records, _samples

TOKEN = "hf_" + "Xk4Pq9" * 6  # built at run time: a fake token, for the fake server only


@pytest.fixture
def hub(tmp_path, monkeypatch):
    with pointed_at(tmp_path, monkeypatch, TOKEN) as server:
        yield server


def _spec(tmp_path, samples, extra=""):
    spec = tmp_path / "execute.yaml"
    spec.write_text(f"name: ex\ntask: execute\nexecute: {{benchmark: humaneval, samples: {samples.name}, shards: 3, "
                    f"samples_repo: alice/samples{extra}}}\ntimeout: 30m\nflavor: cpu-basic\nsecrets: [HF_TOKEN]\n"
                    f"outputs: {{dir: '{tmp_path}/runs/{{name}}', hub_repo: alice/exec-runs}}\n")
    return spec


def _posts(hub):
    return [r for r in hub.requests if r["method"] == "POST" and r["path"] == "/api/jobs/alice"]


def _statuses(run, capsys, code=0):
    capsys.readouterr()
    assert main(["jobs", "status", str(run), "--json"]) == code  # 1 while a shard has failed
    return {s["seed"]: s for s in json.loads(capsys.readouterr().out)["seeds"]}


@pytest.mark.slow
def test_execute_shards_run_on_jobs_a_lost_shard_is_relaunched_alone_and_the_merge_equals_one_run(
        tmp_path, hub, capsys):
    samples = _samples(tmp_path)
    spec = _spec(tmp_path, samples)
    # the dry run: payloads with the upload still to come, and the cost from the Jobs hardware list
    assert main(["jobs", "launch", str(spec), "--backend", "hf", "--dry-run"]) == 0
    captured = capsys.readouterr()
    payloads = json.loads(captured.out)
    assert all("@UPLOAD/samples.jsonl" in " ".join(p["command"]) for p in payloads)
    assert "2 cores" in captured.err and "$" in captured.err and "price: unknown" not in captured.err
    assert _posts(hub) == [] and hub.repo("dataset", "alice/samples") is None

    hub.fail_once = {"shard": "2/3"}  # the machine of shard 2 is lost
    assert main(["jobs", "launch", str(spec), "--backend", "hf"]) == 0
    revision = hub.repo("dataset", "alice/samples").head
    posts = _posts(hub)
    assert len(posts) == 3
    for post, i in zip(posts, (1, 2, 3)):
        command = post["json"]["command"]
        assert command[:4] == ["uv", "run", "--with", "codelewm-eval"]
        assert command[command.index("--samples") + 1] == f"hf://datasets/alice/samples@{revision}/samples.jsonl"
        assert command[command.index("--shard") + 1] == f"{i}/3"
        assert command[command.index("--push-to") + 1] == "alice/exec-runs"
        assert post["json"]["secrets"] == {"HF_TOKEN": TOKEN} and post["json"]["labels"]["shard"] == f"{i}/3"
    run = tmp_path / "runs" / "ex"
    record = json.loads((run / "launch.json").read_text())
    assert TOKEN not in json.dumps(record)
    for job in record["jobs"].values():
        hub.wait(job["job_id"])
    statuses = _statuses(run, capsys, code=1)
    assert [statuses[i]["stage"] for i in (1, 2, 3)] == ["complete", "failed", "complete"]
    assert "machine was lost" in statuses[2]["error"] and statuses[2]["job_stage"] == "ERROR"
    # fetch: shard 2 has no results, so nothing is merged and the way on is named
    assert main(["jobs", "fetch", str(run)]) == 2
    assert "shard(s) 2/3 have no results" in capsys.readouterr().err and not (run / "results.jsonl").exists()

    # launched again: only shard 2 starts; the same sample file is not uploaded again
    assert main(["jobs", "launch", str(spec), "--backend", "hf"]) == 0
    assert "(kept)" in capsys.readouterr().out
    new_posts = _posts(hub)[3:]
    assert [p["json"]["labels"]["shard"] for p in new_posts] == ["2/3"]
    assert hub.repo("dataset", "alice/samples").head == revision
    record = json.loads((run / "launch.json").read_text())
    hub.wait(record["jobs"]["2"]["job_id"])
    assert [s["stage"] for s in _statuses(run, capsys).values()] == ["complete"] * 3

    assert main(["jobs", "fetch", str(run)]) == 0
    assert "merged ->" in capsys.readouterr().out
    assert main(["execute", "--benchmark", "humaneval", "--samples", str(samples), "--out",
                 str(tmp_path / "whole.jsonl"), "--no-progress"]) == 0
    merged = _records(run / "results.jsonl")
    assert len(merged) == 48 and merged == _records(tmp_path / "whole.jsonl")
    manifest = json.loads((run / "results.jsonl.manifest.json").read_text())
    assert manifest["config"]["samples"] == f"hf://datasets/alice/samples@{revision}/samples.jsonl"


def test_a_sample_file_holding_a_token_is_refused_before_any_upload_or_job(tmp_path, hub, capsys):
    samples = _samples(tmp_path)
    planted = "hf_" + "R2vT" * 9
    with open(samples, "a") as fh:
        fh.write(json.dumps({"task_id": "HumanEval/0", "completion": f"    return '{planted}'\n"}) + "\n")
    assert main(["jobs", "launch", str(_spec(tmp_path, samples)), "--backend", "hf"]) == 1
    err = capsys.readouterr().err
    assert "launch refused" in err and "samples.jsonl:49" in err and planted not in err
    assert _posts(hub) == [] and hub.repo("dataset", "alice/samples") is None


def test_an_execute_job_on_hf_reads_pinned_samples_and_refuses_local_only_inputs(tmp_path, hub, capsys):
    samples = _samples(tmp_path)
    folder = tmp_path / "upload"
    folder.mkdir()
    (folder / "data").mkdir()
    (folder / "data" / "s.jsonl").write_bytes(samples.read_bytes())
    revision = hub.put_folder("dataset", "alice/samples", folder)
    spec = tmp_path / "pinned.yaml"
    spec.write_text("name: ex\ntask: execute\nexecute: {benchmark: humaneval, samples: data/s.jsonl, shards: 2, "
                    f"samples_repo: alice/samples, samples_revision: '{revision}', isolation: rlimits}}\n"
                    "timeout: 30m\nsecrets: [HF_TOKEN]\n"
                    f"outputs: {{dir: '{tmp_path}/runs/{{name}}', hub_repo: alice/exec-runs}}\n")
    assert main(["jobs", "launch", str(spec), "--backend", "hf", "--dry-run"]) == 0
    payloads = json.loads(capsys.readouterr().out)
    command = payloads[0]["command"]
    assert command[command.index("--samples") + 1] == f"hf://datasets/alice/samples@{revision}/data/s.jsonl"
    assert command[command.index("--isolation") + 1] == "rlimits"
    # the pinned file was read from the Hub for the preflight
    assert any("resolve" in r["path"] and "data/s.jsonl" in r["path"] for r in hub.requests)
    for line, field in (("execute: {benchmark: humaneval, samples: samples.jsonl, shards: 2}", "execute.samples_repo"),
                        ("execute: {benchmark: humaneval, samples: samples.jsonl, shards: 2, samples_repo: a/b, "
                         "data_dir: data}", "execute.data_dir")):
        bad = tmp_path / "bad.yaml"
        bad.write_text(spec.read_text().splitlines()[0] + "\ntask: execute\n" + line + "\n" +
                       "\n".join(spec.read_text().splitlines()[3:]) + "\n")
        assert main(["jobs", "launch", str(bad), "--backend", "hf", "--dry-run"]) == 2
        assert field in capsys.readouterr().err
