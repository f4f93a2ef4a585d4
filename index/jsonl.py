"""JSON Lines files read leniently: the objects of a file that people or older versions wrote."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_objects(path: Path) -> list[dict[str, Any]]:
    """Every line of ``path`` that is a JSON object, in order; other lines are skipped, a missing file is empty."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            out.append(row)
    return out
