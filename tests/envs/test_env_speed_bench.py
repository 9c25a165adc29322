"""Smoke test of benchmarks/env_speed.py at tiny size, in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ring_helpers import HAS_SUMO

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "env_speed.py"


def test_env_speed_benchmark_runs(tmp_path: Path) -> None:
    backends = ["numpy", "sumo"] if HAS_SUMO else ["numpy"]
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--backends", *backends, "--sim-steps", "50",
         "--env-steps", "10", "--resets", "1", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "| numpy |" in proc.stdout
    assert (tmp_path / "env_speed.png").stat().st_size > 0
