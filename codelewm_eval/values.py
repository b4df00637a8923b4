"""The rules every value obeys at the edge, the same in CLI flags, job specs and run configs:
seeds are integers in 0..2**32-1 (what numpy's and torch's generators take), limits and counts
are positive integers, fractions are finite, booleans are booleans. A flag that breaks one is
refused by argparse (exit 2, naming the flag); a file field, by pydantic (exit 2, naming the file,
line and field)."""

from __future__ import annotations

import argparse
import math
from typing import Annotated

from pydantic import Field, StrictBool, StrictInt

MAX_SEED = 2**32 - 1

Seed = Annotated[StrictInt, Field(ge=0, le=MAX_SEED, description="an integer in 0..2**32-1")]
PositiveInt = Annotated[StrictInt, Field(ge=1)]
Flag = StrictBool


def seed_arg(text: str) -> int:
    """argparse type of --seed."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"{text} is outside 0..{MAX_SEED}")
    return value


def fractions_arg(text: str, parts: int = 3) -> tuple[float, ...]:
    """Finite positive numbers summing to 1 ("0.7,0.15,0.15")."""
    try:
        values = tuple(float(x) for x in text.split(","))
    except ValueError:
        values = ()
    if len(values) != parts or not all(math.isfinite(v) and v > 0 for v in values) or abs(sum(values) - 1) > 1e-6:
        raise argparse.ArgumentTypeError(f"must be {parts} finite positive numbers summing to 1, got {text!r}")
    return values
