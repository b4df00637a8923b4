"""Problem families: one problem across every benchmark variant and sample source.

Held-out means held out by problem. HumanEval/17 in HumanEval, HumanEval+ and CodeT's HumanEval
prompts is one problem; MBPP task 3 is one problem in MBPP, MBPP sanitized, MBPP+ (`Mbpp/3`),
mbxp (`MBPP/3`), CodeT's `MbppEval/3` and MultiPL-E's `mbpp_3_is_not_prime`. A family id names
the problem once: `humaneval/17`, `mbpp/3`, `livecodebench/<question id>`; a benchmark this
project does not know keeps `<benchmark>/<task_id>` (its own tasks are its own problems).
"""

from __future__ import annotations

import re
from functools import lru_cache

_NUMBER = re.compile(r"\d+")
# benchmark-name prefix -> family name; a task of these is one problem per task number
NUMBERED_FAMILIES = (("humaneval", "humaneval"), ("mbxp", "mbpp"), ("mbpp", "mbpp"))


@lru_cache(maxsize=1 << 16)
def problem_family(benchmark: str, task_id: str) -> str:
    """`humaneval/17`, `mbpp/3`, `livecodebench/<id>`, else `<benchmark>/<task_id>`."""
    name = benchmark.lower()
    for prefix, family in NUMBERED_FAMILIES:
        if name.startswith(prefix):
            number = _NUMBER.search(task_id)
            return f"{family}/{int(number.group())}" if number else f"{family}/{task_id}"
    if name.startswith("livecodebench") or name.startswith("lcb"):
        return f"livecodebench/{task_id}"
    return f"{benchmark}/{task_id}"


def family_name(benchmark: str) -> str:
    """The family a benchmark's tasks belong to: "humaneval", "mbpp", or the benchmark itself."""
    return problem_family(benchmark, "0").split("/", 1)[0]
