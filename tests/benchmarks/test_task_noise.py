"""benchmarks/task_noise.py: ICC(1) on known data, and a tiny run on the multisource task."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

from task_noise import icc1, summarize  # noqa: E402


def test_icc_separates_signal_from_noise() -> None:
    rng = np.random.default_rng(0)
    means = rng.normal(size=(40, 1))
    assert icc1(np.repeat(means, 3, axis=1)) == pytest.approx(1.0)  # no noise: every score is the encoder's
    assert abs(icc1(rng.normal(size=(200, 3)))) < 0.1  # no signal
    half = means + rng.normal(size=(40, 3))  # equal variances: about 0.5
    assert 0.2 < icc1(half) < 0.8
    s = summarize([list(r) for r in half], [1.0, 2.0, 3.0], np.random.default_rng(1))
    assert s["encoders"] == 40 and s["seeds"] == 3 and s["s_per_eval"] == 2.0
    assert s["icc_90"][0] < s["icc"] < s["icc_90"][1]
    assert 0.5 < s["noise_sd"] < 1.5 and 0.5 < s["signal_sd"] < 1.6
    partial = summarize([[1.0, 1.1], [2.0, None], [3.0, 3.1], [0.0, 0.2]], [1.0], np.random.default_rng(1))
    assert partial["encoders"] == 3  # an encoder with a failed score is left out


@pytest.mark.slow
def test_a_tiny_run_writes_its_figures(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "benchmarks/task_noise.py", "--task", "multisource", "--n", "3",
                           "--seeds", "2", "--jobs", "1", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "ICC(1)" in proc.stdout
    row = json.loads((tmp_path / "noise.jsonl").read_text())
    assert row["encoders"] == 3 and row["seeds"] == 2 and len(row["scores"]) == 3
    assert all(len(v) == 2 for v in row["scores"])
