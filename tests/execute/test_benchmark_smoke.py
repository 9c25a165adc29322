"""benchmarks/workers_speedup.py runs end to end at a tiny size."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "workers_speedup.py"


@pytest.mark.slow
def test_workers_speedup_smoke(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--jobs", "2", "--job-seconds", "0.01", "--rounds", "1",
         "--no-dask", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "process           2" in out.stdout
    assert (tmp_path / "workers_speedup.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
