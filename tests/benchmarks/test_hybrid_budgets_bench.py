"""benchmarks/hybrid_budgets.py at smoke size, in a subprocess: results, report, plot, resume."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "benchmarks/hybrid_budgets.py", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)


def test_smoke_grid_then_report_only(tmp_path: Path) -> None:
    proc = _run(["--smoke", "--jobs", "1", "--out", str(tmp_path)])
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    rows = [json.loads(x) for x in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert sorted(r["label"] for r in rows) == ["hybrid", "random"]
    assert all(r["evaluations"] == 6 and len(r["curve"]) == 6 for r in rows)
    assert all(r["curve"] == sorted(r["curve"]) and r["best"] == r["curve"][-1] for r in rows)
    report = (tmp_path / "report.md").read_text()
    assert "| hybrid | " in report and "| random | " in report and "budget 6" in report
    assert (tmp_path / "best_so_far_multisource.png").stat().st_size > 1000
    again = _run(["--smoke", "--jobs", "1", "--out", str(tmp_path)])  # nothing left to run
    assert again.returncode == 0 and "0 searches to run" in again.stdout
    assert (tmp_path / "results.jsonl").read_text().count("\n") == 2
