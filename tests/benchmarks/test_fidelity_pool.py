"""benchmarks/fidelity_pool.py on result files written the way fidelity_agreement.py writes them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def write_run(folder: Path, hashes: list[str], truth: list[float], seeds: int, noise: float,
              cheap: dict[str, list[float]]) -> None:
    folder.mkdir(parents=True)
    rows = []
    for s in range(seeds):
        for i, h in enumerate(hashes):
            wobble = noise * (((i * 7 + s * 3) % 5) - 2)  # deterministic seed-to-seed noise
            rows.append({"run": "ppo", "run_id": "ppo:s64", "hash": h, "seed": s, "status": "ok",
                         "fitness": truth[i] + wobble})
    for run_id, values in cheap.items():
        run = run_id.split(":")[0]
        for h, v in zip(hashes, values, strict=True):
            rows.append({"run": run, "run_id": run_id, "hash": h, "seed": 100, "status": "ok", "fitness": v,
                         "reward": -v})
    rows.append({"run": "ppo", "run_id": "ppo:s64", "hash": "lost", "seed": 0, "status": "failed",
                 "fitness": None})
    for r in rows:  # keyed as fidelity_agreement.py keys its lines
        r["key"] = f"{r['run_id']}|{r['hash']}|{r['seed']}"
    (folder / "results.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")


@pytest.mark.slow
def test_pools_samples_and_measures_the_full_fidelity_against_itself(tmp_path: Path) -> None:
    truth = [float(i) for i in range(8)]
    hashes = [f"h{i}" for i in range(8)]
    write_run(tmp_path / "a", hashes, truth, seeds=4, noise=0.1,
              cheap={"ppo-short:s16": truth, "imitation:d10": truth[::-1]})
    more = [f"g{i}" for i in range(6)] + ["h0"]  # h0 again: counted once, from the first run
    write_run(tmp_path / "b", more, [float(i) for i in range(7)], seeds=2, noise=0.1,
              cheap={"ppo-short:s16": [float(i) for i in range(7)], "imitation:d10": [0.0] * 6 + [9.0]})
    args = [sys.executable, "benchmarks/fidelity_pool.py", str(tmp_path / "a"), str(tmp_path / "b")]
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "14 encoders pooled" in out
    assert "| ppo-short:s16 | 14 | +0.99" in out  # ranks both samples (nearly) as their PPO means do
    imitation = next(line for line in out.splitlines() if line.startswith("| imitation:d10 |"))
    assert "| 14 | -" in imitation  # reversed on the larger sample
    # each run against itself, for every k its seeds allow (b's own 7 encoders, h0 included)
    assert "| a | 1 | 4 | 8 | +1.00" in out and "| a | 2 | 4 | 8 | +1.00" in out
    assert "| b | 1 | 2 | 7 | +1.00" in out and "| b | 2 |" not in out
