"""Helpers for the compiler tests: a ring-road-like Dict space and raw observation batches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from gymnasium import spaces

ROOT = Path(__file__).resolve().parents[2]


def ring_space(text: bool = False) -> spaces.Dict:
    """The ring env's sources: ego vector, history series, HWC uint8 bird's-eye view, instruction."""
    instruction: spaces.Space = (spaces.Text(24, charset="abcdefghijklmnopqrstuvwxyz ./0123456789") if text
                                 else spaces.Box(0, 39, (8,), np.int64))
    return spaces.Dict({
        "ego": spaces.Box(-3, 3, (3,), np.float32),
        "history": spaces.Box(-3, 3, (16, 3), np.float32),
        "bev": spaces.Box(0, 255, (40, 40, 3), np.uint8),
        "instruction": instruction,
    })


def sample_batch(space: spaces.Dict, n: int, seed: int = 0) -> dict[str, object]:
    """`n` raw observations stacked per source (strings stay a list)."""
    space.seed(seed)
    rows = [space.sample() for _ in range(n)]
    out: dict[str, object] = {}
    for key, sub in space.spaces.items():
        values = [r[key] for r in rows]
        out[key] = values if isinstance(sub, spaces.Text) else np.stack(values)
    return out
