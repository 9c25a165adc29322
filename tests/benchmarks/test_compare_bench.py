"""benchmarks/compare.py and benchmarks/ppo_speed.py at smoke size, in subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], timeout: float) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    return proc, time.perf_counter() - start


@pytest.mark.slow
def test_compare_smoke_runs_and_resumes(tmp_path: Path) -> None:
    proc, _ = _run(["benchmarks/compare.py", "--smoke", "--out", str(tmp_path)], timeout=180)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    table = (tmp_path / "compare.md").read_text()
    names = ("random", "evolution", "lacer", "lacer-nofeatures", "expert controller", "CombinedExtractor")
    assert all(name in table for name in names)
    assert (tmp_path / "compare.png").stat().st_size > 1000
    data = json.loads((tmp_path / "compare.json").read_text())
    assert {r["strategy"] for r in data["rows"]} == {"random", "evolution", "lacer", "lacer-nofeatures"}
    assert all(len(r["curve"]) == 2 for r in data["rows"])
    assert (tmp_path / "runs" / "lacer-s0").is_dir()
    # --resume reads the finished runs back: the same rows, nothing evaluated again
    before = (tmp_path / "runs" / "lacer-s0" / "candidates.jsonl").read_text()
    proc, _ = _run(["benchmarks/compare.py", "--smoke", "--resume", "--out", str(tmp_path)], timeout=180)
    assert proc.returncode == 0, proc.stderr[-4000:]
    again = json.loads((tmp_path / "compare.json").read_text())
    assert [(r["strategy"], r["best"], r["curve"]) for r in again["rows"]] == [
        (r["strategy"], r["best"], r["curve"]) for r in data["rows"]]
    assert (tmp_path / "runs" / "lacer-s0" / "candidates.jsonl").read_text() == before


@pytest.mark.slow
def test_ppo_speed_smoke(tmp_path: Path) -> None:
    png = tmp_path / "speed.png"
    proc, _ = _run(["benchmarks/ppo_speed.py", "--smoke", "--out", str(png)], timeout=180)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "CombinedExtractor" in proc.stdout and "env steps/s" in proc.stdout
    assert png.stat().st_size > 1000
