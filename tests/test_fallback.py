"""The documented weaker fallback (no bubblewrap): the verdict protections still hold, and
the per-job cleanup touches nothing of the host (its /tmp, its other processes)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from codelewm_eval.sandbox.pool import SandboxPool

from .conftest import run_program
from .test_hostile import ADD, FAKE_EQUALITY, TRUE_TEST

# as root the fallback runs only with the acknowledgement (every row then says AS-ROOT)
FALLBACK = "rlimits-as-root" if os.geteuid() == 0 else "rlimits"


@pytest.fixture(scope="module")
def fallback():
    with SandboxPool(workers=1, isolation=FALLBACK) as p:
        yield p


def test_fallback_keeps_the_verdict_protections(fallback):
    assert run_program(fallback, ADD, "def add(a, b):\n    return a + b\n")[0].passed
    for program in FAKE_EQUALITY.values():
        assert not run_program(fallback, ADD, program)[0].passed
    assert not run_program(fallback, ADD, "import os\nos._exit(0)\n")[0].passed
    _, raw = run_program(fallback, ADD, "def add(a, b):\n    return a + b\n")
    assert raw.isolation.startswith("rlimits(")


def test_fallback_cleanup_leaves_the_host_alone(fallback):
    sentinel = Path(tempfile.gettempdir()) / "codelewm-host-sentinel"
    sentinel.write_text("keep me")
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        # libc's fork through ctypes: past the audit hook that labels os.fork a sandbox violation,
        # so what is left behind is the clean-up's to find (the child outlives the call)
        daemon = ("import ctypes, os, time\n"
                  "def add(a, b):\n"
                  "    if ctypes.CDLL(None).fork() == 0:\n"
                  "        time.sleep(20)\n"
                  "        os._exit(0)\n"
                  "    open('left.txt', 'w').write('x')\n"
                  "    return a + b\n")
        run_program(fallback, ADD, daemon)
        assert run_program(fallback, ADD, "def add(a, b):\n    return a + b\n")[0].passed
        assert sentinel.exists(), "the fallback wiped the host's /tmp"
        assert bystander.poll() is None, "the fallback killed a process that was not the candidate's"
    finally:
        bystander.kill()
        sentinel.unlink(missing_ok=True)


def test_fallback_environment_is_scrubbed(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_" + "y" * 34)
    program = "import os\ndef f():\n    return 'HF_TOKEN' in os.environ\n"
    with SandboxPool(workers=1, isolation=FALLBACK) as p:
        assert not run_program(p, TRUE_TEST, program)[0].passed


def test_auto_refuses_root_without_bubblewrap(monkeypatch):
    import os

    from codelewm_eval.sandbox import pool as pool_module

    monkeypatch.setattr(pool_module, "bwrap_available", lambda: False)
    if os.geteuid() == 0:
        with pytest.raises(pool_module.SandboxError, match="refusing to run untrusted candidates as root"):
            SandboxPool(workers=1)
    else:
        with SandboxPool(workers=1) as p:
            assert p.isolation.startswith("rlimits(")
