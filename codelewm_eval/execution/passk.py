"""pass@k with the unbiased estimator (Chen et al. 2021)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples drawn from n (c correct) passes."""
    if n < k:
        raise ValueError(f"pass@{k} needs at least {k} samples, got {n}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_at_k_table(records, ks=(1, 10, 100)) -> dict[str, float]:
    """{"pass@k": mean over tasks} for each k that every task has enough samples for."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in records:
        cell = counts[r.task_id]
        cell[0] += 1
        cell[1] += int(r.passed)
    if not counts:
        return {}
    smallest = min(n for n, _ in counts.values())
    return {f"pass@{k}": float(np.mean([pass_at_k(n, c, k) for n, c in counts.values()]))
            for k in ks if k <= smallest}
