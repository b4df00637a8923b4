"""`jobs launch --backend hf`, `jobs status`, `jobs fetch` with the real huggingface_hub client
against a server on 127.0.0.1 that speaks the Hub and Jobs HTTP API (tests/fake_hub.py). Its jobs
really run (here, as subprocesses): they download the pack from the fake Hub, train, and upload
their run, so status, logs and the fetched outputs all round-trip through the same server."""

from __future__ import annotations

import json

import pytest

from codelewm_eval.cli import main

from .fake_hub import pointed_at
from .test_train import pack  # noqa: F401 - the fixture

TOKEN = "hf_" + "Zq8Lw3" * 6  # built at run time: a fake token, for the fake server only
PLANTED = "hf_" + "Q7mZ" * 9


@pytest.fixture
def hub(tmp_path, monkeypatch):
    with pointed_at(tmp_path, monkeypatch, TOKEN) as server:
        yield server


def _spec(tmp_path, revision, extra=""):
    path = tmp_path / "job.yaml"
    path.write_text("name: t\nseeds: [42, 1729]\nscorer: logreg\n"
                    f"pack: {{hub_repo: alice/pack, revision: '{revision}'}}\n"
                    "timeout: 30m\nflavor: cpu-upgrade\nsecrets: [HF_TOKEN]\nenv: {PYTHONUNBUFFERED: '1'}\n"
                    "labels: {project: demo}\n"
                    f"outputs: {{dir: '{tmp_path}/runs/{{name}}', hub_repo: alice/p-pass-runs}}\n"
                    "decoy_minimums: {mutation: {pairs: 0, tasks: 0}}\n" + extra)
    return path


def _job_posts(hub):
    return [r for r in hub.requests if r["method"] == "POST" and r["path"].startswith("/api/jobs/")]


@pytest.mark.slow
def test_hf_launch_sends_one_job_per_seed_and_round_trips(tmp_path, pack, hub, capsys):  # noqa: F811
    revision = hub.put_folder("dataset", "alice/pack", pack)
    spec = _spec(tmp_path, revision)
    assert main(["jobs", "launch", str(spec), "--backend", "hf"]) == 0
    out = capsys.readouterr().out
    posts = _job_posts(hub)
    assert len(posts) == 2 and {p["path"] for p in posts} == {"/api/jobs/alice"}
    for post, seed in zip(posts, (42, 1729)):
        body = post["json"]
        command = body["command"]
        # a uv job: the train command of this seed, on the pinned Hub pack, uploading to the outputs repo
        assert command[:4] == ["uv", "run", "--with", "codelewm-eval[train]"]
        assert command[4:6] == ["codelewm-eval", "train"]
        assert command[command.index("--seed") + 1] == str(seed)
        assert command[command.index("--pack") + 1] == f"hf://datasets/alice/pack@{revision}"
        assert command[command.index("--push-to") + 1] == "alice/p-pass-runs"
        # the token arrives as a secret and only as a secret
        assert body["secrets"] == {"HF_TOKEN": TOKEN}
        assert body["environment"] == {"PYTHONUNBUFFERED": "1"}
        assert TOKEN not in json.dumps({k: v for k, v in body.items() if k != "secrets"})
        assert body["flavor"] == "cpu-upgrade" and body["timeoutSeconds"] == 1800
        assert body["labels"] == {"project": "demo", "run_id": "t", "seed": str(seed), "name": f"t-seed-{seed}"}
    run = tmp_path / "runs" / "t"
    record = json.loads((run / "launch.json").read_text())
    assert record["backend"] == "hf" and set(record["jobs"]) == {"42", "1729"}
    assert TOKEN not in (run / "launch.json").read_text() and TOKEN not in out
    job_ids = [record["jobs"][s]["job_id"] for s in ("42", "1729")]
    assert all(j in out for j in job_ids)

    for job_id in job_ids:
        job = hub.wait(job_id)
        assert job.stage == "COMPLETED", "\n".join(line for _, line in job.logs[-30:])
    # status: the job stage from inspect_job, the progress from the events in the job logs
    assert main(["jobs", "status", str(run), "--json"]) == 0
    statuses = json.loads(capsys.readouterr().out)["seeds"]
    assert [(s["seed"], s["stage"], s["job_stage"]) for s in statuses] == [
        (42, "complete", "COMPLETED"), (1729, "complete", "COMPLETED")]
    assert all(s["val_auc"] is not None and s["step"] is not None for s in statuses)
    # a bare job id works too
    assert main(["jobs", "status", job_ids[0], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["seeds"][0]["seed"] == 42
    # the outputs come back through the Hub and verify here, pack included
    assert main(["jobs", "fetch", str(run)]) == 0
    assert (run / "seed-42" / "scores.jsonl").exists() and (run / "pack" / "manifest.json").exists()
    capsys.readouterr()
    assert main(["jobs", "verify", str(run)]) == 0, capsys.readouterr().out
    checkpoint = next((run / "seed-1729" / "checkpoint").glob("*.safetensors"))
    data = bytearray(checkpoint.read_bytes())
    data[-1] ^= 0xFF
    checkpoint.write_bytes(bytes(data))
    assert main(["jobs", "verify", str(run)]) == 1
    assert "checkpoint" in capsys.readouterr().out


@pytest.mark.parametrize("extra,where", [
    (f"env: {{PYTHONUNBUFFERED: '1', EXTRA: '--token {PLANTED}'}}\n", "env EXTRA"),
    ("env: {PYTHONUNBUFFERED: '1', OPENAI_API_KEY: 'sk-not-a-name'}\n", "env OPENAI_API_KEY"),
    (f"dependencies: ['codelewm-eval[train] @ https://x:{PLANTED}@example.com/pkg.whl']\n", "dependencies"),
    (f"hyperparameters: {{base_model: '{PLANTED}'}}\nscorer: lora\n", "command"),
    (f"labels: {{note: '{PLANTED}'}}\n", "job.yaml"),
])
def test_a_planted_token_stops_the_launch_before_any_request(tmp_path, hub, capsys, extra, where):
    spec = _spec(tmp_path, "0" * 40)  # the planted lines are added once, below
    text = spec.read_text()
    for key in ("env", "labels", "scorer"):  # the planted line replaces the spec's own
        if extra.startswith(f"{key}:") or f"\n{key}:" in extra:
            text = "\n".join(line for line in text.splitlines() if not line.startswith(f"{key}:")) + "\n"
    spec.write_text(text + extra)
    assert main(["jobs", "launch", str(spec), "--backend", "hf"]) == 1
    err = capsys.readouterr().err
    assert "launch refused" in err and where in err and PLANTED not in err
    assert hub.requests == []  # not a whoami, not a download, not a job


def test_missing_secret_or_local_pack_is_a_clear_error_before_any_job(tmp_path, pack, hub, monkeypatch,  # noqa: F811
                                                                     capsys):
    revision = hub.put_folder("dataset", "alice/pack", pack)
    spec = _spec(tmp_path, revision, "secrets: [HF_TOKEN, WANDB_API_KEY]\n")
    spec.write_text(spec.read_text().replace("secrets: [HF_TOKEN]\n", ""))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    assert main(["jobs", "launch", str(spec), "--backend", "hf"]) == 2
    assert "WANDB_API_KEY" in capsys.readouterr().err
    assert _job_posts(hub) == []  # no job starts without its secrets
    local = tmp_path / "local.yaml"
    local.write_text(spec.read_text().replace(f"pack: {{hub_repo: alice/pack, revision: '{revision}'}}",
                                              f"pack: {{path: {pack}}}"))
    assert main(["jobs", "launch", str(local), "--backend", "hf"]) == 2
    assert "pack.hub_repo" in capsys.readouterr().err


def test_preflight_reads_a_hub_pack_at_its_revision(tmp_path, pack, hub, capsys):  # noqa: F811
    revision = hub.put_folder("dataset", "alice/pack", pack)
    assert main(["preflight", "--pack", f"hf://datasets/alice/pack@{revision}", "--report",
                 str(tmp_path / "pf.json"), "--no-progress"]) == 1  # the default coverage rules: a tiny pack fails
    report = json.loads((tmp_path / "pf.json").read_text())
    manifest = next(c for c in report["checks"] if c["name"] == "manifest")
    # the pack's own files verify; its inputs are not on the Hub and are reported by hash
    assert manifest["status"] == "pass" and "not present here" in manifest["observed"]
    assert main(["preflight", "--pack", "hf://datasets/alice/nope@main", "--report", str(tmp_path / "x.json")]) == 2
    assert "alice/nope" in capsys.readouterr().err


def test_a_surgery_job_on_hf_reads_its_harvest_from_the_hub(tmp_path, hub, capsys):
    from codelewm_eval.manifest import write_manifest

    harvest = tmp_path / "harvest"
    harvest.mkdir()
    row = {"benchmark": "humaneval", "task_id": "HumanEval/0", "kind": "failure", "prompt": "def f():\n",
           "completion": "    return 1\n", "licence": "MIT", "target_sha256": "0" * 64}
    (harvest / "train.jsonl").write_text(json.dumps(row) + "\n")
    (harvest / "anchors.jsonl").write_text("")
    write_manifest(harvest, "surgery-harvest")
    revision = hub.put_folder("dataset", "alice/harvest", harvest)
    spec = tmp_path / "surgery.yaml"
    spec.write_text(f"name: s\ntask: surgery\nseeds: [42, 1729]\nharvest: 'hf://datasets/alice/harvest@{revision}'\n"
                    "base_model: Qwen/Qwen2.5-Coder-0.5B\nhyperparameters: {epochs: 1, rank: 4, lr: 0.00001}\n"
                    "secrets: [HF_TOKEN]\nflavor: a10g-small\n"
                    f"outputs: {{dir: '{tmp_path}/runs/{{name}}', hub_repo: alice/surgery-runs}}\n")
    assert main(["jobs", "launch", str(spec), "--backend", "hf", "--dry-run"]) == 0
    payloads = json.loads(capsys.readouterr().out)
    for p, seed in zip(payloads, (42, 1729)):
        c = p["command"]
        assert c[:3] == ["codelewm-eval", "surgery", "train"] and c[c.index("--seed") + 1] == str(seed)
        assert c[c.index("--harvest") + 1] == f"hf://datasets/alice/harvest@{revision}"
        assert c[c.index("--push-to") + 1] == "alice/surgery-runs"
    assert _job_posts(hub) == []  # a dry run sends no job
    # the harvest was fetched and checked before anything would be sent
    assert any(r["path"].startswith("/api/datasets/alice/harvest") for r in hub.requests)


def test_an_upload_holding_a_token_is_refused_before_any_request(tmp_path, pack, hub, capsys):  # noqa: F811
    run_id = f"note {PLANTED}"  # a run id is user input, and it lands in the run's config.json
    code = main(["train", "--pack", str(pack), "--seed", "42", "--scorer", "logreg", "--quiet", "--run-id", run_id,
                 "--out", str(tmp_path / "seed-42"), "--push-to", "alice/p-pass-runs"])
    err = capsys.readouterr().err
    assert code == 2 and "upload refused: " in err and "config.json" in err and "Hugging Face Token" in err
    assert PLANTED not in err
    assert not [r for r in hub.requests if "p-pass-runs" in r["path"] or r["method"] in ("POST", "PUT")]
