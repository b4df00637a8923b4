"""Structured job events: one JSON object per line in `reports/job_progress.jsonl`, flushed per
line, and the same line on stderr behind a fixed prefix so it can be recovered from job logs.

    {"schema_version": 1, "event": "progress", "run_id": ..., "seed": 42, "time": "...",
     "step": 120, "max_steps": 900, "epoch": 1, "loss": 0.41, "lr": 0.0002,
     "examples_per_s": 35.2, "elapsed_s": 96.1, "eta_s": 624.7}
"""

from __future__ import annotations

import json
import math
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from ..log import get as _get_logger

_log = _get_logger(__name__)

SCHEMA_VERSION = 1
STDERR_PREFIX = "CODELEWM_EVENT "
EventName = Literal["start", "progress", "eval", "checkpoint", "complete", "failed"]


class Event(BaseModel):
    """One structured job event. start, progress (step, max_steps, epoch, loss, lr, examples_per_s,
    elapsed_s, eta_s; or phase, rows_done, rows_total while validating or scoring), eval (val_auc,
    val_loss), checkpoint (path, sha256), complete, failed (error). Readers keep unknown fields."""

    model_config = ConfigDict(extra="allow")  # readers keep fields they do not know

    schema_version: int = SCHEMA_VERSION
    event: str
    run_id: str
    seed: int
    time: str


class ProgressLog:
    def __init__(self, path: Path, run_id: str, seed: int, echo: bool = True):
        self.path, self.run_id, self.seed, self.echo = Path(path), run_id, seed, echo
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "a", encoding="utf-8")
        self.started = time.monotonic()

    def emit(self, event: EventName, **fields) -> dict:
        record = {"schema_version": SCHEMA_VERSION, "event": event, "run_id": self.run_id, "seed": self.seed,
                  "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), **fields}
        line = json.dumps({k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                           for k, v in record.items()}, sort_keys=False)
        self._fh.write(line + "\n")
        self._fh.flush()
        if self.echo:
            _log.info("%s%s", STDERR_PREFIX, line)
        return record

    def progress(self, step: int, max_steps: int, epoch: float, loss: float, lr: float, examples: int,
                 train_seconds: float | None = None) -> dict:
        """examples_per_s counts training time only when train_seconds is given (evals excluded)."""
        elapsed = time.monotonic() - self.started
        eta = elapsed / step * (max_steps - step) if step else None
        busy = train_seconds if train_seconds else elapsed
        return self.emit("progress", step=step, max_steps=max_steps, epoch=epoch, loss=loss, lr=lr,
                         examples_per_s=round(examples / busy, 3) if busy > 0 else None,
                         elapsed_s=round(elapsed, 3), eta_s=None if eta is None else round(eta, 3),
                         loss_finite=math.isfinite(loss))

    def close(self) -> None:
        self._fh.close()


def read_events(source: Path | str, *, from_logs: bool = False) -> tuple[list[dict], int]:
    """Events from a progress file (or, with from_logs, from job log text with the stderr
    prefix). A torn last line and lines that are not events are skipped and counted."""
    text = Path(source).read_text(encoding="utf-8", errors="replace") if not from_logs else str(source)
    events, skipped = [], 0
    for line in text.splitlines():
        if from_logs:
            at = line.find(STDERR_PREFIX)
            if at < 0:
                continue
            line = line[at + len(STDERR_PREFIX):]
        if not line.strip():
            continue
        try:
            events.append(Event.model_validate_json(line).model_dump())
        except ValidationError:
            skipped += 1
    return events, skipped
