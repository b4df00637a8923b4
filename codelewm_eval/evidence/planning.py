"""What a before/after comparison can detect, said before the run: the minimum detectable effect
of the exact McNemar test and its power, from a baseline's pass count and task count.

A candidate is judged on the same tasks as its baseline: of the baseline's `passes`, `b` are lost;
of its `n - passes` failures, `c` are gained; the exact McNemar p is the two-sided binomial test
of `b` in `b + c` at 1/2, and a gain is significant when `c > b` and `p < alpha`. For each number
of losses `b` there is a least `c` that is significant; the net gain `c - b` it needs is the
minimum detectable effect at that loss count. Power is exact: losses and gains are independent
binomials (each baseline pass lost with the loss rate, each failure gained with the rate that
makes the expected net gain the hypothesised one), and the probability of a significant outcome
is summed over every loss count, never approximated by a normal."""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, Field
from scipy import stats

from .metrics import mcnemar_exact


@lru_cache(maxsize=65536)
def least_significant_gains(losses: int, failures: int, alpha: float) -> int | None:
    """The least number of gained tasks `c` (at most `failures`) with c > losses and exact McNemar
    p(losses, c) < alpha; None when no such c exists."""
    for c in range(losses + 1, failures + 1):
        if mcnemar_exact(losses, c) < alpha:
            return c
    return None


def min_net_gain(n: int, passes: int, alpha: float = 0.05, losses: int = 0) -> int | None:
    """The least net new passes (gains minus losses) the exact McNemar test calls significant,
    with `losses` baseline passes lost; None when no gain on this baseline can be significant."""
    if not 0 <= passes <= n or not 0 <= losses <= passes:
        raise ValueError(f"need 0 <= losses ({losses}) <= passes ({passes}) <= n ({n})")
    c = least_significant_gains(losses, n - passes, alpha)
    return None if c is None else c - losses


def power(n: int, passes: int, expected_net_gain: float, alpha: float = 0.05, loss_rate: float = 0.0) -> float:
    """The exact probability that the test calls a candidate's change significant, when each of
    the baseline's passes is lost with probability `loss_rate` and each failure is gained with the
    probability that makes the expected net gain `expected_net_gain`."""
    failures = n - passes
    if failures == 0:
        return 0.0
    gain_rate = (expected_net_gain + loss_rate * passes) / failures
    if not 0 <= gain_rate <= 1:
        raise ValueError(f"a net gain of {expected_net_gain:g} with loss rate {loss_rate:g} needs a gain rate of "
                         f"{gain_rate:.3g} among {failures} failing tasks: not a probability")
    total = 0.0
    for b in range(passes + 1):
        weight = float(stats.binom.pmf(b, passes, loss_rate)) if passes else 1.0
        if weight < 1e-15:
            continue
        c = least_significant_gains(b, failures, alpha)
        if c is not None:
            total += weight * float(stats.binom.sf(c - 1, failures, gain_rate))
    return min(1.0, total)


class BenchmarkPlan(BaseModel):
    """What one benchmark's comparison can detect, on this baseline, at this alpha."""

    benchmark: str
    n: int = Field(description="tasks in the baseline")
    passes: int = Field(description="tasks the baseline passes")
    alpha: float
    min_gain_no_loss: int | None = Field(description="the least net new passes that can be significant when no task "
                                                     "is lost; None: no gain on this baseline can be")
    p_at_min_gain: float | None = Field(description="the exact McNemar p of that gain")
    loss_rate: float | None = Field(None, description="baseline passes lost per pass, observed in earlier passes of "
                                                      "the lineage")
    expected_losses: int | None = Field(None, description="the loss rate times the baseline's passes, rounded")
    min_gain_with_losses: int | None = Field(None, description="the least net new passes that can be significant "
                                                               "with the expected losses")
    expected_gain: int | None = Field(None, description="the hypothesised net gain (--expect)")
    p_at_expected_gain: float | None = Field(None, description="the exact McNemar p of that gain with no task lost")
    power: float | None = Field(None, description="the exact probability that the hypothesised gain comes out "
                                                  "significant (with the observed loss rate, else none lost)")


def plan_benchmark(benchmark: str, n: int, passes: int, alpha: float = 0.05, loss_rate: float | None = None,
                   expected_gain: int | None = None) -> BenchmarkPlan:
    gain = min_net_gain(n, passes, alpha)
    plan = BenchmarkPlan(benchmark=benchmark, n=n, passes=passes, alpha=alpha, min_gain_no_loss=gain,
                         p_at_min_gain=mcnemar_exact(0, gain) if gain is not None else None, loss_rate=loss_rate,
                         expected_gain=expected_gain)
    if loss_rate is not None:
        plan.expected_losses = round(loss_rate * passes)
        plan.min_gain_with_losses = min_net_gain(n, passes, alpha, plan.expected_losses)
    if expected_gain is not None:
        plan.p_at_expected_gain = mcnemar_exact(0, expected_gain)
        plan.power = power(n, passes, expected_gain, alpha, loss_rate or 0.0)
    return plan


def plan_text(plans: list[BenchmarkPlan]) -> str:
    """The plan as a person reads it: one paragraph per benchmark."""
    lines = []
    for p in plans:
        head = f"{p.benchmark}: baseline {p.passes}/{p.n}, alpha {p.alpha:g}: "
        if p.min_gain_no_loss is None:
            head += f"no gain can be significant (only {p.n - p.passes} failing tasks to gain)"
        else:
            head += (f"at least {p.min_gain_no_loss} net new passes with no task lost "
                     f"(exact McNemar p {p.p_at_min_gain:.3g} at {p.passes + p.min_gain_no_loss}/{p.n})")
        lines.append(head)
        if p.loss_rate is not None:
            need = ("no gain can be significant" if p.min_gain_with_losses is None else
                    f"at least {p.min_gain_with_losses} net new passes")
            lines.append(f"  with the lineage's loss rate {p.loss_rate:.3g} ({p.expected_losses} of {p.passes} passes "
                         f"lost): {need}")
        if p.expected_gain is not None:
            lines.append(f"  a net gain of {p.expected_gain:+d} ({p.passes}/{p.n} -> {p.passes + p.expected_gain}/{p.n}) "
                         f"with no task lost: exact McNemar p {p.p_at_expected_gain:.3g}; power to detect it "
                         f"{p.power:.3f}" + (" at the lineage's loss rate" if p.loss_rate else ""))
    return "\n".join(lines)


def parse_passes(items: list[str]) -> dict[str, tuple[int, int]]:
    """`--passes humaneval=2/164` (repeatable) -> {benchmark: (passes, n)}."""
    import re

    from ..errors import InputError

    out = {}
    for item in items:
        match = re.fullmatch(r"\s*([\w.+-]+)\s*=\s*(\d+)\s*/\s*(\d+)\s*", item)
        if not match or int(match[3]) == 0 or int(match[2]) > int(match[3]):
            raise InputError(f"--passes must look like BENCHMARK=PASSES/TASKS (humaneval=2/164), got {item!r}",
                             field="--passes")
        out[match[1]] = (int(match[2]), int(match[3]))
    return out


def parse_expect(items: list[str]) -> dict[str, int]:
    """`--expect mbpp=+7` (repeatable) -> {benchmark: net gain}."""
    import re

    from ..errors import InputError

    out = {}
    for item in items:
        match = re.fullmatch(r"\s*([\w.+-]+)\s*=\s*\+?(\d+)\s*", item)
        if not match or int(match[2]) == 0:
            raise InputError(f"--expect must look like BENCHMARK=+GAIN (mbpp=+7), got {item!r}", field="--expect")
        out[match[1]] = int(match[2])
    return out


def baseline_counts(outcomes: dict[tuple[str, str], bool]) -> dict[str, tuple[int, int]]:
    """{benchmark: (passes, n)} of a baseline's per-task outcomes."""
    counts: dict[str, list[int]] = {}
    for (bench, _task), passed in outcomes.items():
        c = counts.setdefault(bench, [0, 0])
        c[0] += bool(passed)
        c[1] += 1
    return {b: (p, n) for b, (p, n) in sorted(counts.items())}


def lineage_loss_rates(comparisons: list) -> dict[str, float]:
    """Per benchmark, the baseline passes lost per pass in earlier passes of the lineage: lost
    tasks over baseline passes, pooled over the passes."""
    lost: dict[str, list[int]] = {}
    for comparison in comparisons:
        for d in comparison.benchmarks:
            x = lost.setdefault(d.benchmark, [0, 0])
            x[0] += len(d.lost)
            x[1] += d.before
    return {b: lost_n / before for b, (lost_n, before) in lost.items() if before}


def plan(counts: dict[str, tuple[int, int]], alpha: float = 0.05, loss_rates: dict[str, float] | None = None,
         expect: dict[str, int] | None = None) -> list[BenchmarkPlan]:
    """A plan per benchmark of the baseline; `expect` and loss rates match a benchmark by name or by
    its family (mbpp: the MBPP pool)."""
    from ..benchmarks.family import family_name
    from ..errors import InputError

    def lookup(table: dict, bench: str):
        for key in (bench, family_name(bench)):
            if key in table:
                return table[key]
        return next((v for k, v in table.items() if family_name(k) == family_name(bench)), None)

    expect, loss_rates = expect or {}, loss_rates or {}
    unknown = [b for b in expect if all(family_name(b) != family_name(x) for x in counts)]
    if unknown:
        raise InputError(f"--expect names {', '.join(unknown)}, not in the baseline ({', '.join(counts)})",
                         field="--expect")
    plans = []
    for bench, (passes, n) in counts.items():
        gain = lookup(expect, bench)
        if gain is not None and gain > n - passes:
            raise InputError(f"--expect {bench}=+{gain}: the baseline has only {n - passes} failing tasks to gain",
                             field="--expect")
        plans.append(plan_benchmark(bench, n, passes, alpha, lookup(loss_rates, bench), gain))
    return plans
