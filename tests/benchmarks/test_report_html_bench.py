"""benchmarks/report_html.py at smoke size, in a subprocess."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_report_html_benchmark_smoke(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "benchmarks/report_html.py", "--smoke", "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "| candidates | LLM exchanges | report.html |" in proc.stdout
    assert "| 12 | 0 | " in proc.stdout
    assert (tmp_path / "report_c12" / "report.html").stat().st_size > 10_000
    assert (tmp_path / "report_html.md").read_text().strip() in proc.stdout
    if shutil.which("chromium"):  # the page drew, with no console message
        assert proc.stdout.rstrip().splitlines()[-2].endswith("| 0 |")
        assert (tmp_path / "report_html.png").stat().st_size > 1000
