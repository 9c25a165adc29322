"""Smoke test of benchmarks/gate_speed.py at tiny size, in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gate_speed.py"


@pytest.mark.slow  # a benchmark script's run: the default run stays short, CI runs it
def test_gate_speed_benchmark_runs(tmp_path: Path) -> None:
    out = tmp_path / "gate_speed.png"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--chains", "1", "--steps", "3", "--out", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "| compile" in proc.stdout and "| gate total" in proc.stdout
    assert out.stat().st_size > 0
