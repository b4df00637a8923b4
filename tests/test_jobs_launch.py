"""`jobs launch`: preflight first, one payload per seed, a secret scan of everything that would
leave the machine (planted tokens refuse the launch before anything runs), and local runs."""

from __future__ import annotations

import json

import pytest

from codelewm_eval.cli import main

from .test_train import pack  # noqa: F401 - the fixture

HF = "hf_" + "Q7mZ" * 9  # built at run time: no literal token in this file


def _spec(tmp_path, pack, extra="", minimums="decoy_minimums: {mutation: {pairs: 0, tasks: 0}}\n"):  # noqa: F811
    path = tmp_path / "job.yaml"
    path.write_text(f"name: t\nseeds: [42, 1729]\nscorer: logreg\npack: {{path: {pack}}}\ntimeout: 1h\n"
                    f"secrets: [HF_TOKEN]\noutputs: {{dir: '{tmp_path}/runs/{{name}}'}}\n{minimums}{extra}")
    return path


def test_dry_run_prints_one_payload_per_seed_and_runs_nothing(tmp_path, pack, capsys):  # noqa: F811
    assert main(["jobs", "launch", str(_spec(tmp_path, pack)), "--dry-run"]) == 0
    payloads = json.loads(capsys.readouterr().out)
    assert [p["seed"] for p in payloads] == [42, 1729]
    for p in payloads:
        assert p["command"][:2] == ["codelewm-eval", "train"] and p["command"][p["command"].index("--seed") + 1] == \
            str(p["seed"])
        assert p["secrets"] == ["HF_TOKEN"] and p["env"] == {} and p["labels"] == {"run_id": "t", "seed": str(p["seed"])}
        assert p["job_command"] == ["uv", "run", "--with", "codelewm-eval[train]", *p["command"]]
    assert not (tmp_path / "runs" / "t" / "seed-42").exists()


@pytest.mark.parametrize("extra,where", [
    (f"env: {{EXTRA: '--token {HF}'}}\n", "env EXTRA"),
    ("env: {WANDB_API_KEY: 'abc123'}\n", "env WANDB_API_KEY"),
    (f"hyperparameters: {{base_model: '{HF}'}}\nscorer: lora\n", "command"),
    (f"labels: {{note: '{HF}'}}\n", "job.yaml"),
])
def test_a_planted_token_refuses_the_launch(tmp_path, pack, capsys, extra, where):  # noqa: F811
    spec = _spec(tmp_path, pack, extra)
    if "scorer: lora" in extra:
        spec.write_text(spec.read_text().replace("scorer: logreg\n", ""))
    assert main(["jobs", "launch", str(spec)]) == 1
    err = capsys.readouterr().err
    assert "launch refused" in err and where in err
    assert HF not in err and "abc123" not in err  # findings are redacted
    assert not (tmp_path / "runs" / "t" / "seed-42").exists()


def test_a_secret_value_in_place_of_a_name_refuses(tmp_path, pack, capsys):  # noqa: F811
    spec = _spec(tmp_path, pack)
    spec.write_text(spec.read_text().replace("[HF_TOKEN]", f"['{HF}']"))
    assert main(["jobs", "launch", str(spec)]) == 1
    assert "launch refused" in capsys.readouterr().err


def test_preflight_failure_refuses_the_launch(tmp_path, pack, capsys):  # noqa: F811
    assert main(["jobs", "launch", str(_spec(tmp_path, pack, minimums="")), "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert "preflight is NOT OK" in err and "decoys:val:mutation" in err


def test_local_launch_runs_every_seed(tmp_path, pack, capsys):  # noqa: F811
    assert main(["jobs", "launch", str(_spec(tmp_path, pack))]) == 0
    run = tmp_path / "runs" / "t"
    record = json.loads((run / "launch.json").read_text())
    assert record["seeds"] == [42, 1729] and all(j["exit_code"] == 0 for j in record["jobs"].values())
    assert set(record["payload_sha256"]) == {"42", "1729"}
    assert main(["jobs", "verify", str(run)]) == 0
    capsys.readouterr()
    assert main(["jobs", "status", str(run), "--json"]) == 0
    statuses = json.loads(capsys.readouterr().out)["seeds"]
    assert {s["seed"]: s["stage"] for s in statuses} == {42: "complete", 1729: "complete"}


def test_a_relaunch_redoes_only_the_seed_that_did_not_complete(tmp_path, pack, capsys):  # noqa: F811
    spec = _spec(tmp_path, pack)
    assert main(["jobs", "launch", str(spec)]) == 0
    run = tmp_path / "runs" / "t"
    kept = (run / "seed-42" / "manifest.json").read_bytes()
    # seed 1729 "was killed": its manifest never written, a torn event left behind
    (run / "seed-1729" / "manifest.json").unlink()
    with open(run / "seed-1729" / "reports" / "job_progress.jsonl", "a") as fh:
        fh.write('{"schema_version": 1, "event": "progr')
    assert main(["jobs", "launch", str(spec)]) == 0
    assert "seed 42: complete and verified, not run again" in capsys.readouterr().err
    assert (run / "seed-42" / "manifest.json").read_bytes() == kept
    record = json.loads((run / "launch.json").read_text())
    assert record["jobs"]["42"]["resumed"] and "resumed" not in record["jobs"]["1729"]
    assert main(["jobs", "verify", str(run)]) == 0
    capsys.readouterr()
    assert main(["jobs", "status", str(run), "--json"]) == 0
    status = {s["seed"]: s for s in json.loads(capsys.readouterr().out)["seeds"]}
    assert status[1729]["stage"] == "complete" and status[1729]["skipped_lines"] == 0  # a fresh attempt


def test_train_refuses_a_non_run_directory(tmp_path, pack, capsys):  # noqa: F811
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    assert main(["train", "--pack", str(pack), "--seed", "1", "--scorer", "logreg", "--out",
                 str(tmp_path / "mine")]) == 2
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize("name", ["standard.yaml", "standard-lora.yaml", "smoke-lora.yaml", "probe.yaml", "hub.yaml", "surgery.yaml"])
def test_shipped_job_specs_build_clean_payloads(name):
    from pathlib import Path

    from codelewm_eval.jobs.kinds import prepare

    spec_path = Path(__file__).resolve().parent.parent / "jobs" / name
    backend = "hf" if name == "hub.yaml" else "local"
    spec, _, payloads, refusals = prepare(spec_path, backend=backend)
    assert spec.seeds == [42, 1729] and [p.seed for p in payloads] == [42, 1729]
    assert refusals == []  # the shipped specs carry no secret
    if backend == "hf":
        assert all(p.command[p.command.index("--push-to") + 1] == spec.outputs.hub_repo for p in payloads)


def _plant(pack, where):  # noqa: F811
    """A token planted in one place of a pack, then resealed (the manifest verifies again)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from codelewm_eval.manifest import load_manifest, write_manifest

    manifest = load_manifest(pack / "manifest.json")
    if where in ("origin.model", "decoy.pair_id", "licence"):
        lines = (pack / "rows.jsonl").read_text().splitlines()
        row = json.loads(lines[7])
        if where == "origin.model":
            row["origin"]["model"] = f"org/model {HF}"
        elif where == "licence":
            row["licence"] = f"MIT ({HF})"
        else:
            row = next(json.loads(x) for x in lines if json.loads(x)["decoy"])
            index = next(i for i, x in enumerate(lines) if json.loads(x)["row_id"] == row["row_id"])
            row["decoy"]["pair_id"] += " " + HF
            lines[index] = json.dumps(row)
        if where != "decoy.pair_id":
            lines[7] = json.dumps(row)
        (pack / "rows.jsonl").write_text("\n".join(lines) + "\n")
    elif where == "stats.json":
        stats = json.loads((pack / "stats.json").read_text())
        stats["note"] = f"pushed with {HF}"
        (pack / "stats.json").write_text(json.dumps(stats))
    elif where == "tasks.jsonl":  # an extra field the model does not know is still read
        lines = (pack / "tasks.jsonl").read_text().splitlines()
        task = json.loads(lines[2])
        task["notes"] = {"by": f"reviewer {HF}"}
        lines[2] = json.dumps(task)
        (pack / "tasks.jsonl").write_text("\n".join(lines) + "\n")
    elif where == "tasks.parquet":
        table = pq.read_table(pack / "tasks.parquet")
        prompts = table.column("prompt").to_pylist()
        prompts[1] += f"\n# {HF}\n"
        table = table.set_column(table.schema.get_field_index("prompt"), "prompt", pa.array(prompts))
        pq.write_table(table, pack / "tasks.parquet")
    elif where == "rows.parquet":
        table = pq.read_table(pack / "rows.parquet")
        programs = table.column("program").to_pylist()
        programs[3] += f"\n# {HF}\n"
        table = table.set_column(table.schema.get_field_index("program"), "program", pa.array(programs))
        pq.write_table(table, pack / "rows.parquet")
    write_manifest(pack, "pack", parents=[pack / p.manifest for p in manifest.parents], config=manifest.config)


@pytest.mark.parametrize("where", ["origin.model", "licence", "decoy.pair_id", "stats.json", "rows.parquet",
                                   "tasks.jsonl", "tasks.parquet"])
def test_a_token_planted_anywhere_in_a_resealed_pack_refuses_preflight_and_the_launch(tmp_path, pack, capsys,  # noqa: F811
                                                                                      where):
    from codelewm_eval.manifest import verify
    from codelewm_eval.preflight.run import preflight

    assert (pack / "rows.parquet").exists()
    _plant(pack, where)
    assert verify(pack) == []  # resealed: the manifest alone cannot tell
    check = next(c for c in preflight(pack).checks if c.name == "secrets:pack")
    assert check.status == "fail" and check.observed == 1
    assert "Hugging Face Token" in check.reason and HF not in check.reason
    assert (where in check.reason) if where not in ("stats.json", "tasks.jsonl") else f"{where}:" in check.reason
    if where == "tasks.jsonl":
        assert "notes.by of task " in check.reason  # the field and the task it is in
    assert main(["jobs", "launch", str(_spec(tmp_path, pack))]) == 1
    err = capsys.readouterr().err
    assert "launch refused: preflight is NOT OK" in err and "secrets:pack" in err and HF not in err
    assert not (tmp_path / "runs" / "t" / "seed-42").exists()


@pytest.mark.parametrize("edit, said, line", [
    (lambda t: t.replace("timeout: 1h", "timeout: forever"), "'forever' is not a duration", 5),
    (lambda t: t.replace("timeout: 1h", "timeout: 0"), "not a duration", 5),
    (lambda t: t + "learning_rate: 0.1\n", "Extra inputs are not permitted", 9),
    (lambda t: t + "hyperparameters:\n  rank: 8\n  epochz: 3\n", "unknown hyperparameter(s) ['epochz']", 11),
    (lambda t: t.replace("pack: {path: ", "pack: {path: /nonexistent-pack"), "no pack at /nonexistent-pack", 4),
], ids=["forever", "zero", "unknown-key", "unknown-hyperparameter", "missing-pack"])
def test_spec_errors_name_the_spec_line_and_field(tmp_path, pack, capsys, edit, said, line):  # noqa: F811
    spec = _spec(tmp_path, pack)
    spec.write_text(edit(spec.read_text()))
    assert main(["jobs", "launch", str(spec), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert said in err and f"{spec}, line {line}" in err and "Traceback" not in err
    assert not (tmp_path / "runs").exists()
    if "forever" in said:  # preflight reads the same spec and says the same
        assert main(["preflight", "--pack", str(pack), "--job", str(spec)]) == 2
        assert said in capsys.readouterr().err
