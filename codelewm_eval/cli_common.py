"""What the CLI modules share."""

from __future__ import annotations

from pathlib import Path

DEFAULT_DATA_DIR = "../shared/data"


def data_dir(value: str | None) -> Path | None:
    """--data-dir, else ../shared/data when it is there, else None (package data only)."""
    if value:
        return Path(value)
    default = Path(DEFAULT_DATA_DIR)
    return default if default.is_dir() else None
