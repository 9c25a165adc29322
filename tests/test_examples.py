"""The examples run as a user would run them (a subprocess, tiny budget)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_custom_fitness_example_runs(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "custom_fitness.py"), "--budget", "6", "--workers", "1",
         "--run-dir", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "best R²" in proc.stdout and "encoder" in proc.stdout
    assert (tmp_path / "run" / "candidates.jsonl").is_file()
