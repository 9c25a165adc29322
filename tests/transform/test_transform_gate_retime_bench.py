"""Smoke test of benchmarks/gate_latency_retime.py on a hand-made run folder, in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evo_lacer.tree import load_tree, node_to_dict

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gate_latency_retime.py"


@pytest.mark.slow
def test_gate_latency_retime_benchmark_runs(tmp_path: Path) -> None:
    tree = node_to_dict(load_tree(ROOT / "trees" / "ring_lacer_expert.json"))
    error = "gate check 'latency' failed: forward takes 24.81 ms (median of 3) for a batch of 8"
    rows = [{"id": 3, "tree": tree, "feedback": {"status": "rejected", "fitness": None, "error": error}},
            {"id": 4, "tree": tree, "feedback": {"status": "ok", "fitness": 1.0, "error": None}}]
    run = tmp_path / "hybrid-s0"
    run.mkdir()
    (run / "candidates.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    proc = subprocess.run([sys.executable, str(SCRIPT), str(run), "--max-latency-ms", "1e-6"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "| hybrid-s0 | 3 |" in proc.stdout and "| hybrid-s0 | 4 |" not in proc.stdout
    assert "1 trees the runs rejected" in proc.stdout and "today's gate rejects 1" in proc.stdout
    missing = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "nowhere")],
                             capture_output=True, text=True, timeout=300)
    assert missing.returncode != 0 and "candidates.jsonl: no such file" in missing.stderr
