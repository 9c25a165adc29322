"""benchmarks/llm_parting.py on hand-made run folders, in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "llm_parting.py"


def write_run(folder: Path, rows: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True)
    (folder / "candidates.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def row(cid: int, tree_hash: str, **extra: Any) -> dict[str, Any]:
    return {"id": cid, "tree_hash": tree_hash, "transformation": "mutate_param", "extra": extra}


@pytest.mark.slow  # a benchmark script's run: the default run stays short, CI runs it
def test_llm_parting_names_where_and_why_runs_part(tmp_path: Path) -> None:
    plain = write_run(tmp_path / "none", [row(i, f"h{i}", arm="edit:random") for i in range(5)])
    explained = write_run(tmp_path / "won", [
        row(0, "h0"), row(1, "h1", arm="edit:llm", llm_won=False, llm_answer="screened"),
        row(2, "x2", arm="design:llm", llm_won=True, llm_answer="screened"), row(3, "x3")])
    unexplained = write_run(tmp_path / "lost", [
        row(1, "h1", arm="edit:llm", llm_won=False, llm_answer="fell back"), row(0, "h0"),
        row(2, "h2"), row(3, "y3", arm="edit:llm", llm_won=False, llm_answer="screened")])
    same = write_run(tmp_path / "same", [row(i, f"h{i}") for i in range(3)])
    proc = subprocess.run([sys.executable, str(SCRIPT), str(plain), str(explained), str(plain),
                           str(unexplained), str(plain), str(same)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = {line.split(" | ")[0].lstrip("| "): line for line in proc.stdout.splitlines()}
    assert f"| {explained} | 4 | 2 | design:llm | yes | 2 | screened 2 | 2 |" == lines[str(explained)]
    assert (f"| {unexplained} | 4 | 3 | edit:llm | **no** | 2 | fell back 1, screened 1 | - |"
            == lines[str(unexplained)])
    assert f"| {same} | 3 | same trees | - | - | 0 | - | - |" == lines[str(same)]
    assert "1 of 3 runs parted where the model's answer was not chosen" in proc.stdout
    odd = subprocess.run([sys.executable, str(SCRIPT), str(plain)], capture_output=True, text=True,
                         timeout=300)
    assert odd.returncode != 0 and "runs come in pairs" in odd.stderr
    missing = subprocess.run([sys.executable, str(SCRIPT), str(plain), str(tmp_path / "nowhere")],
                             capture_output=True, text=True, timeout=300)
    assert missing.returncode != 0 and "candidates.jsonl: no such file" in missing.stderr
