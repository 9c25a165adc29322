"""Smoke test of benchmarks/llm_latency.py at tiny size, in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from evo_lacer.llm import EmbeddedBackend

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "llm_latency.py"


@pytest.mark.slow  # a benchmark script's run: the default run stays short, CI runs it
def test_llm_latency_benchmark_runs(embedded: EmbeddedBackend, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--questions", "1", "--max-tokens", "24",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    assert "| embedded | 1 | 100 |" in proc.stdout
    assert "| ollama-loopback | 1 | 100 |" in proc.stdout
    assert (tmp_path / "llm_latency.png").stat().st_size > 0
