"""Generation at scale: `generate --engine` (transformers, the CPU default; vllm, the optional
extra), `generate --shard I/N` sealed by a manifest, and `task: generate` job specs launched like
the others: locally as parallel shards merged into one samples file, and on Hugging Face Jobs
against the loopback server (the model read from the Hub at its revision, each shard pushing its
samples, `jobs fetch` merging them).

vLLM needs a GPU, so here its engine runs against a recording stand-in of the `vllm` module: the
tests check what this package asks of vLLM (prompts, n, temperature, top_p, max_tokens, stop
sequences, per-task seeds) and what it does with the answer (the same cut, rows, resume and
manifest as the transformers engine). The real vLLM path runs on a GPU machine (README)."""

from __future__ import annotations

import json
import sys
import types

import pytest

from codelewm_eval.cli import main
from codelewm_eval.manifest import verify
from codelewm_eval.surgery.generate import STOP_SEQUENCES, request_seed

from .conftest import require_data
from .fake_hub import pointed_at


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from codelewm_eval.surgery.tiny import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny"), require_data(), hidden=32, layers=1, heads=2,
                           vocab_size=1024)


class _RecordingVllm:
    """A stand-in for the `vllm` module: records the LLM and every SamplingParams it is given and
    answers each request with texts that show where the cut must happen."""

    def __init__(self):
        self.llms, self.requests = [], []
        module = types.ModuleType("vllm")
        recorder = self

        class SamplingParams:
            def __init__(self, **kwargs):
                self.kwargs = kwargs

        class LLM:
            def __init__(self, model, seed=0, **kwargs):
                recorder.llms.append({"model": model, "seed": seed})

            def generate(self, prompts, params, use_tqdm=True):
                outs = []
                for prompt, p in zip(prompts, params):
                    recorder.requests.append({"prompt": prompt, **p.kwargs})
                    texts = [f"    return {k}\n\ndef helper():\n    pass\n" for k in range(p.kwargs["n"])]
                    outs.append(types.SimpleNamespace(outputs=[types.SimpleNamespace(text=t) for t in texts]))
                return outs

        module.LLM, module.SamplingParams = LLM, SamplingParams
        self.module = module


def test_the_vllm_engine_without_vllm_installed_is_a_clear_error(tmp_path, tiny, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # importing it fails, as on a machine without the extra
    assert main(["generate", "--model", str(tiny), "--benchmark", "humaneval", "--engine", "vllm", "--limit", "2",
                 "--out", str(tmp_path / "s.jsonl"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "codelewm-eval[vllm]" in err and "--engine" in err and not (tmp_path / "s.jsonl").exists()


def test_the_vllm_engine_gets_the_same_sampling_stops_and_task_seeds_and_resumes(tmp_path, tiny, capsys,
                                                                              monkeypatch):
    fake = _RecordingVllm()
    monkeypatch.setitem(sys.modules, "vllm", fake.module)
    out = tmp_path / "v.jsonl"
    args = ["generate", "--model", str(tiny), "--benchmark", "humaneval", "--engine", "vllm", "--limit", "3",
            "--n", "2", "--temperature", "0.8", "--top-p", "0.9", "--max-new-tokens", "40", "--seed", "7",
            "--no-progress", "--json"]
    assert main([*args, "--out", str(out)]) == 0
    assert fake.llms == [{"model": str(tiny), "seed": 7}]
    assert len(fake.requests) == 3
    for request in fake.requests:
        assert (request["n"], request["temperature"], request["top_p"], request["max_tokens"]) == (2, 0.8, 0.9, 40)
        assert request["stop"] == STOP_SEQUENCES  # HumanEval prompts continue a function
    task_ids = [json.loads(line)["task_id"] for line in out.read_text().splitlines()][::2]
    assert [r["seed"] for r in fake.requests] == [request_seed(7, t) for t in task_ids]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["sample_index"] for r in rows] == [0, 1] * 3
    # the answer went through the cut: the helper after the function is gone
    assert all(r["solution"].endswith(f"    return {r['sample_index']}\n") for r in rows)
    manifest = json.loads((tmp_path / "v.jsonl.manifest.json").read_text())
    assert manifest["kind"] == "samples" and manifest["config"]["engine"] == "vllm"
    assert manifest["config"]["temperature"] == 0.8 and manifest["config"]["seed"] == 7
    # resume: a run killed after its first task asks vLLM only for the other two
    fake.requests.clear()
    lines = out.read_text().splitlines()
    (tmp_path / "r.jsonl.partial").write_text("\n".join(lines[:2]) + "\n" + lines[2][:10])
    capsys.readouterr()
    assert main([*args, "--out", str(tmp_path / "r.jsonl")]) == 0
    assert json.loads(capsys.readouterr().out)["resumed_tasks"] == 1 and len(fake.requests) == 2
    assert (tmp_path / "r.jsonl").read_text() == out.read_text()


def _spec(tmp_path, model, extra="", outputs="{dir: 'runs/{name}'}"):
    spec = tmp_path / "generate.yaml"
    spec.write_text(f"name: gen\ntask: generate\ngenerate: {{model: '{model}', benchmark: humaneval, limit: 5, "
                    f"max_new_tokens: 8, shards: 2, parallel: 2{extra}}}\ntimeout: 30m\n"
                    f"outputs: {outputs}\n")
    return spec


def test_a_local_generate_job_runs_its_shards_and_merges_them_as_one_run(tmp_path, tiny, capsys):
    spec = _spec(tmp_path, tiny)
    assert main(["jobs", "launch", str(spec), "--dry-run"]) == 0
    captured = capsys.readouterr()
    payloads = json.loads(captured.out)
    assert [p["command"][p["command"].index("--shard") + 1] for p in payloads] == ["1/2", "2/2"]
    counts = [int(line.split(": ")[1].split()[0]) for line in captured.err.splitlines() if line.startswith("shard ")]
    assert sum(counts) == 5 and "time: unknown" in captured.err
    assert main(["jobs", "launch", str(spec)]) == 0
    assert "shards merged ->" in capsys.readouterr().out
    run = tmp_path / "runs" / "gen"
    assert verify(run / "samples.jsonl") == []
    assert main(["generate", "--model", str(tiny), "--benchmark", "humaneval", "--limit", "5", "--max-new-tokens",
                 "8", "--out", str(tmp_path / "whole.jsonl"), "--no-progress"]) == 0
    assert (run / "samples.jsonl").read_text() == (tmp_path / "whole.jsonl").read_text()  # greedy: identical
    capsys.readouterr()
    assert main(["jobs", "status", str(run), "--json"]) == 0
    assert [s["stage"] for s in json.loads(capsys.readouterr().out)["seeds"]] == ["complete", "complete"]
    # with a measured rate the dry run gives the time per shard
    rated = _spec(tmp_path, tiny, ", samples_per_second: 0.5")
    assert main(["jobs", "launch", str(rated), "--dry-run"]) == 0
    shard_lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("shard ")]
    for line, n in zip(shard_lines, counts):  # n samples at 0.5 samples/s
        assert f"{n} samples, about {n / 0.5:.1f} s" in line


def test_a_generate_job_on_hf_reads_the_model_from_the_hub_and_fetch_merges_the_shards(tmp_path, tiny, capsys,
                                                                                        monkeypatch):
    token = "hf_" + "Wm3Jd8" * 6  # built at run time: a fake token, for the fake server only
    with pointed_at(tmp_path, monkeypatch, token) as hub:
        revision = hub.put_folder("model", "alice/tiny", tiny)
        spec = _spec(tmp_path, f"hf://alice/tiny@{revision}", outputs=f"{{dir: '{tmp_path}/runs/{{name}}', "
                                                                      "hub_repo: alice/gen-runs}")
        spec.write_text(spec.read_text() + "secrets: [HF_TOKEN]\nflavor: cpu-basic\n")
        assert main(["jobs", "launch", str(spec), "--backend", "hf"]) == 0
        posts = [r for r in hub.requests if r["method"] == "POST" and r["path"] == "/api/jobs/alice"]
        assert len(posts) == 2
        command = posts[0]["json"]["command"]
        assert command[:4] == ["uv", "run", "--with", "codelewm-eval[train]"]
        assert command[command.index("--model") + 1] == f"hf://alice/tiny@{revision}"
        run = tmp_path / "runs" / "gen"
        for job in json.loads((run / "launch.json").read_text())["jobs"].values():
            finished = hub.wait(job["job_id"])
            assert finished.stage == "COMPLETED", "\n".join(line for _, line in finished.logs[-20:])
        capsys.readouterr()
        assert main(["jobs", "status", str(run), "--json"]) == 0
        assert [s["stage"] for s in json.loads(capsys.readouterr().out)["seeds"]] == ["complete", "complete"]
        assert main(["jobs", "fetch", str(run)]) == 0
    assert main(["generate", "--model", str(tiny), "--benchmark", "humaneval", "--limit", "5", "--max-new-tokens",
                 "8", "--out", str(tmp_path / "whole.jsonl"), "--no-progress"]) == 0
    assert (run / "samples.jsonl").read_text() == (tmp_path / "whole.jsonl").read_text()
    # a local model directory cannot reach a Hub job
    local = _spec(tmp_path, tiny, outputs="{dir: 'runs/{name}', hub_repo: alice/gen-runs}")
    assert main(["jobs", "launch", str(local), "--backend", "hf", "--dry-run"]) == 2
    assert "generate.model" in capsys.readouterr().err
