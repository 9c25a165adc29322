"""benchmarks/tree_speed.py runs end to end at a tiny size (in a subprocess, as users run it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from compile_helpers import ROOT


@pytest.mark.slow
def test_tree_speed_benchmark_smoke(tmp_path: Path) -> None:
    out = tmp_path / "speed.png"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "tree_speed.py"), "--batches", "4", "--rounds", "1",
         "--round-ms", "1", "--flat-trees", "1", "--out", str(out)],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "(b) forward" in proc.stdout and "ring_lacer_expert" in proc.stdout
    assert out.is_file() and out.stat().st_size > 1000
