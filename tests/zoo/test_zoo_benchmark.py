"""benchmarks/mining.py runs at tiny size (in a subprocess, as a user would run it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_mining_benchmark_smoke(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "mining.py"), "--repeats", "1", "--probe-count", "2",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "| mine torch.nn (cold cache) |" in proc.stdout
    assert "probe 2 torch.nn modules (cold)" in proc.stdout and "ok 2" in proc.stdout
    assert (tmp_path / "mining.png").stat().st_size > 0
