"""The search benchmarks run at a tiny size (in a subprocess, as a user would run them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(script: str, *args: str, tmp_path: Path) -> str:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args, "--out", str(tmp_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.slow  # a benchmark script's run: the default run stays short, CI runs it
def test_planner_speed_smoke(tmp_path) -> None:
    out = _run("planner_speed.py", "--trials", "12", "--planners", "random", "thompson", "optuna-tpe",
               tmp_path=tmp_path)
    assert "optuna-tpe" in out and (tmp_path / "planner_speed.png").is_file()


@pytest.mark.slow  # a benchmark script's run: the default run stays short, CI runs it
def test_search_overhead_smoke(tmp_path) -> None:
    out = _run("search_overhead.py", "--budget", "3", "--sleep-ms", "5", "--strategies", "random",
               "--loop", "generational", "steady", "--skip-llm", tmp_path=tmp_path)
    assert "wall/eval" in out and (tmp_path / "search_overhead.png").is_file()
    assert "generational" in out and "steady" in out


@pytest.mark.slow  # a benchmark script's run: the default run stays short, CI runs it
def test_propose_speed_prints_the_same_digest_for_the_same_search() -> None:
    """Two rounds of the same searches make the same trees, so they print the same digests (what
    the benchmark relies on to show that two versions of the code made the same search)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "propose_speed.py"), "--budget", "6",
                           "--strategies", "random", "evolution", "--rounds", "2"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [line.split() for line in proc.stdout.splitlines()[1:]]
    assert [r[0] for r in rows] == ["random", "evolution"] * 2
    digests = {r[0]: {s[2] for s in rows if s[0] == r[0]} for r in rows}
    assert all(len(d) == 1 for d in digests.values()), proc.stdout
    assert digests["random"] != digests["evolution"], proc.stdout
