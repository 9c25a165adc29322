"""benchmarks/fidelity_agreement.py at smoke size, in a subprocess: results, report, plot, resume."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "benchmarks/fidelity_agreement.py", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


@pytest.mark.slow
def test_smoke_then_resume_then_report_only(tmp_path: Path) -> None:
    proc = _run(["--smoke", "--fidelities", "imitation", "ppo-short", "--out", str(tmp_path)])
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    rows = [json.loads(x) for x in (tmp_path / "results.jsonl").read_text().splitlines()]
    encoders = json.loads((tmp_path / "encoders.json").read_text())["encoders"]
    assert [e["name"] for e in encoders][-2:] == ["expert-tree", "sb3-combined"] and len(encoders) == 4
    assert len(rows) == 4 * (1 + 1 + 2)  # imitation, ppo-short, PPO seeds 0 and 1
    assert sorted({r["run"] for r in rows}) == ["imitation", "ppo", "ppo-short"]
    assert {r["seed"] for r in rows if r["run"] == "ppo"} == {0, 1}
    assert all(r["seed"] == 100 for r in rows if r["run"] != "ppo")
    report = (tmp_path / "report.md").read_text()
    for row in ("| imitation | ", "| ppo-short | ", "| PPO seed 0 vs PPO seed 1 | "):
        assert row in report
    assert (tmp_path / "agreement.png").stat().st_size > 1000
    agreement = json.loads((tmp_path / "agreement.json").read_text())
    assert agreement["ppo seed 0 vs seed 1"]["k"] == 1 and -1.0 <= agreement["imitation"]["rho"] <= 1.0
    again = _run(["--smoke", "--fidelities", "imitation", "ppo-short", "--out", str(tmp_path)])
    assert again.returncode == 0 and "0 evaluations to run" in again.stdout
    assert (tmp_path / "results.jsonl").read_text().count("\n") == len(rows)
    only = _run(["--smoke", "--fidelities", "imitation", "--report-only", "--out", str(tmp_path)])
    assert only.returncode == 0 and "| imitation | " in only.stdout and "| ppo-short | " not in only.stdout


def test_icc_separates_encoder_variance_from_seed_noise() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import numpy as np
    from fidelity_agreement import icc1

    rng = np.random.default_rng(0)
    encoders = rng.normal(0.0, 3.0, 200)
    decided = np.stack([encoders + rng.normal(0.0, 1.0, 200) for _ in range(3)], axis=1)
    assert abs(icc1(decided) - 0.9) < 0.05  # 9 / (9 + 1)
    noise = rng.normal(0.0, 1.0, (200, 3))
    assert abs(icc1(noise)) < 0.1
    assert icc1(np.zeros((5, 2))) != icc1(np.zeros((5, 2)))  # no variance at all: NaN


@pytest.mark.slow
def test_another_env_draws_from_its_own_space_without_the_ring_expert_tree(tmp_path: Path) -> None:
    proc = _run(["--smoke", "--env", "MiniGrid-Empty-5x5-v0", "--fidelities", "ppo-short",
                 "--out", str(tmp_path)])
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    meta = json.loads((tmp_path / "encoders.json").read_text())
    assert meta["settings"]["env"] == "MiniGrid-Empty-5x5-v0" and meta["expert_return"] is None
    names = [e["name"] for e in meta["encoders"]]
    assert names == ["flat-00", "flat-01", "flat-02", "sb3-combined"]  # no ring expert tree
    assert all("image" in json.dumps(e["tree"]) for e in meta["encoders"][:3])  # MiniGrid's sources
    assert "Env `MiniGrid-Empty-5x5-v0`" in (tmp_path / "report.md").read_text()
