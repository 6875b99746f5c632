"""Where benchmarks keep their figures: ``bench/results/<name>.json``, for comparing runs."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent.parent / "results"


def save(name: str, figures: object) -> Path:
    """Write one benchmark's figures (JSON) and return the file."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2) + "\n")
    return path
