"""Preflight says what a p_pass job's training settings can deliver before anyone pays for them: a
train subset too small for the gates the spec names, and a dtype the flavor's GPU cannot run, are
warnings (the launch still goes ahead); the shipped specs say what they are."""

from __future__ import annotations

from pathlib import Path

from codelewm_eval.pack.rows import RowFacts
from codelewm_eval.preflight.jobspec import JobSpec, load_job_spec
from codelewm_eval.preflight.training import check_training, flavor_gpu

JOBS = Path(__file__).resolve().parent.parent / "jobs"


def _rows(train: int, evaluation_only: int = 0) -> list[RowFacts]:
    def row(i, split, only=False):
        return RowFacts(f"r{i}", "humaneval", f"HumanEval/{i % 50}", i % 3 == 0, None, None, only, None, "MIT",
                        "executed here", split=split)
    return ([row(i, "train") for i in range(train)] + [row(10**6 + i, "train", True) for i in range(evaluation_only)]
            + [row(2 * 10**6 + i, "test") for i in range(100)])


def _spec(**fields) -> JobSpec:
    return JobSpec.model_validate({"name": "x", "seeds": [1, 2], "gates": "g.yaml", **fields})


def _by_name(checks):
    return {c.name: c for c in checks}


def test_a_subset_under_a_quarter_of_train_is_a_warning_with_the_numbers():
    spec = _spec(scorer="lora", flavor="l4x1", hyperparameters={"max_train_rows": 1500})
    checks = _by_name(check_training(spec, _rows(14765, evaluation_only=3000)))
    subset = checks["job:train_subset"]
    assert subset.status == "warn" and subset.observed == 1500
    assert "1,500 of 14,765 train rows (10%)" in subset.reason  # evaluation-only rows never train
    whole = _by_name(check_training(_spec(scorer="lora", flavor="l4x1"), _rows(14765)))["job:train_subset"]
    assert whole.status == "pass" and whole.observed == 14765
    small_pack = _by_name(check_training(_spec(scorer="lora", flavor="l4x1", hyperparameters={"max_train_rows": 900}),
                                         _rows(1000)))["job:train_subset"]
    assert small_pack.status == "pass"  # 900 of 1,000: the pack itself is small, not the subset


def test_a_dtype_the_flavor_cannot_run_is_a_warning_and_auto_says_what_it_will_use():
    t4 = _by_name(check_training(_spec(scorer="lora", flavor="t4-small", hyperparameters={"dtype": "bfloat16"}),
                                 _rows(100)))["job:dtype"]
    assert t4.status == "warn" and "T4 has no bfloat16" in t4.reason and "7.5" in t4.observed
    auto = _by_name(check_training(_spec(scorer="lora", flavor="t4-medium"), _rows(100)))["job:dtype"]
    assert auto.status == "pass" and "float16 autocast with a gradient scaler" in auto.observed
    l4 = _by_name(check_training(_spec(scorer="lora", flavor="l4x1"), _rows(100)))["job:dtype"]
    assert l4.status == "pass" and "bfloat16" in l4.observed
    cpu = _by_name(check_training(_spec(scorer="lora", flavor="cpu-basic"), _rows(14765)))["job:dtype"]
    assert cpu.status == "warn" and "about 49 minutes per seed" in cpu.reason  # 14,765 rows x 2 epochs at 10/s
    unknown = _by_name(check_training(_spec(scorer="lora", flavor="tpu-v5"), _rows(100)))["job:dtype"]
    assert unknown.status == "pass" and "not in the flavor table" in unknown.observed
    assert flavor_gpu("a10g-largex2") == ("NVIDIA A10G", (8, 6)) and flavor_gpu("cpu-upgrade") is None


def test_the_shipped_specs_say_what_they_are():
    rows = _rows(14765, evaluation_only=3641)
    gpu = _by_name(check_training(load_job_spec(JOBS / "standard-lora.yaml")[0], rows))
    assert gpu["job:train_subset"].status == "pass" and gpu["job:dtype"].status == "pass"
    assert "bfloat16" in gpu["job:dtype"].observed
    smoke = _by_name(check_training(load_job_spec(JOBS / "smoke-lora.yaml")[0], rows))
    assert smoke["job:train_subset"].status == "warn"
    probe = _by_name(check_training(load_job_spec(JOBS / "probe.yaml")[0], rows))
    assert probe["job:train_subset"].status == "pass" and probe["job:dtype"].status == "pass"
