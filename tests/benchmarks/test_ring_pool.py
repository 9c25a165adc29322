"""benchmarks/ring_pool.py on folders written the way hybrid_budgets.py writes them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def write_folder(folder: Path, results: list[tuple[str, int, list[float]]],
                 reeval: list[tuple[str, int, int, list[float | None]]]) -> None:
    """results: (label, seed, curve of 48); reeval: (label, budget, seed, held-out values)."""
    folder.mkdir(parents=True)
    rows = [{"task": "ring-large", "label": label, "strategy": label, "llm": "none", "budget": len(curve),
             "seed": seed, "best": curve[-1], "curve": curve} for label, seed, curve in results]
    rows.append({"task": "multisource", "label": "hybrid", "strategy": "hybrid", "llm": "none", "budget": 48,
                 "seed": 30, "best": 9.0, "curve": [9.0] * 48})  # another task: left out
    (folder / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    lines = [{"task": "ring-large", "label": label, "budget": budget, "seed": seed, "candidate": 0,
              "search_fitness": 0.0, "values": values} for label, budget, seed, values in reeval]
    (folder / "reeval.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")


def curve(at_24: float, at_48: float) -> list[float]:
    return [at_24] * 24 + [at_48] * 24


def test_pools_complete_seeds_with_the_earlier_tables(tmp_path: Path) -> None:
    write_folder(tmp_path / "hybrid", [("hybrid", 30, curve(0.5, 0.9)), ("hybrid", 31, curve(0.1, 0.2)),
                                       ("hybrid", 32, curve(0.6, 0.8))],
                 [("hybrid", 24, 30, [0.4, 0.6, None]), ("hybrid", 48, 30, [0.9, 0.7, 0.8]),
                  ("hybrid", 24, 32, [0.5, 0.5, 0.5]), ("hybrid", 48, 32, [0.6, 0.6, 0.6])])
    write_folder(tmp_path / "tpe", [("tpe", 30, curve(0.55, 0.7)), ("tpe", 32, curve(0.4, 0.85))],
                 [("tpe", 24, 30, [0.3, 0.3, 0.3]), ("tpe", 48, 30, [0.2, 0.2, 0.2]),
                  ("tpe", 24, 32, [0.1, 0.1, 0.1])])  # seed 32's tpe 48 not re-scored: no held-out pair
    proc = subprocess.run([sys.executable, "benchmarks/ring_pool.py", str(tmp_path / "hybrid"),
                           str(tmp_path / "tpe")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    # the earlier seeds alone: session 36's ten-seed held-out figures exactly, its own-best ones
    # within 0.013 of an interval end (the built-in tables are rounded to three decimals)
    assert "## own best, earlier seeds (n = 10" in out
    assert "| hybrid | 0.631 [0.608, 0.673], rank 1.4, n=10 | 0.688 [0.673, 0.707]" in out
    assert "| tpe | +0.016 [-0.021, +0.055], 4/10 | +0.012 [-0.016, +0.043], 5/10 |" in out
    assert "| hybrid | 0.565 [0.539, 0.591], rank 1.7, n=10 | 0.599 [0.555, 0.651]" in out
    # seed 31 has no tpe run, seed 32 no tpe held-out at 48: each left out where it is incomplete
    assert "## own best, the folders' seeds (n = 2: seeds 30, 32)" in out
    assert "## own best, pooled (n = 12" in out
    assert "30 {'hybrid 48': 0.9, 'hybrid 24': 0.5, 'tpe 48': 0.7, 'tpe 24': 0.55}" in out
    assert "## held-out, the folders' seeds (n = 1: seeds 30)" in out
    assert "## held-out, pooled (n = 11" in out
    assert "30 {'hybrid 24': 0.5, 'hybrid 48': 0.8, 'tpe 24': 0.3, 'tpe 48': 0.2}" in out  # None skipped
    assert "9.0" not in out
