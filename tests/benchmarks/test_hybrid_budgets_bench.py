"""benchmarks/hybrid_budgets.py at smoke size, in a subprocess: results, report, plot, resume."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "benchmarks/hybrid_budgets.py", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)


@pytest.mark.slow
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
    # each returned encoder was re-evaluated on 3 held-out seeds: the best of the run, again
    held = [json.loads(x) for x in (tmp_path / "reeval.jsonl").read_text().splitlines()]
    assert sorted(r["label"] for r in held) == ["hybrid", "random"]
    for r in held:
        run = next(x for x in rows if x["label"] == r["label"])
        assert r["search_fitness"] == run["best"] and len(r["values"]) == 3
        assert all(v is not None and -1.0 <= v <= 1.0 for v in r["values"])
    assert "Held-out re-evaluation" in report and "Seed-to-seed noise" in report
    again = _run(["--smoke", "--jobs", "1", "--out", str(tmp_path)])  # nothing left to run
    assert again.returncode == 0 and "0 searches to run" in again.stdout
    assert "0 returned encoders to re-evaluate" in again.stdout
    assert (tmp_path / "results.jsonl").read_text().count("\n") == 2
    assert (tmp_path / "reeval.jsonl").read_text().count("\n") == 2
    paired = _run(["--report-only", "--budgets", "6", "--out", str(tmp_path), "--paired", "random"])
    own = {r["label"]: r["best"] for r in rows}
    section = paired.stdout.split("Own best, paired")[1]
    line = next(x for x in section.splitlines() if x.startswith("| hybrid |"))
    assert f"{own['hybrid'] - own['random']:+.3f} [" in line and line.endswith(
        f", {int(own['hybrid'] > own['random'])}/1 |")
    assert "Held-out, paired" in paired.stdout
    # returned.py re-scores each rule's pick on the same held-out seeds: rule best's pick is the
    # tree reeval.jsonl re-evaluated, and its values come out the same
    picked = subprocess.run([sys.executable, "benchmarks/returned.py", "--budgets", "6", "--jobs", "1",
                             "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert picked.returncode == 0, picked.stdout[-2000:] + picked.stderr[-4000:]
    rescored = {(r["run_dir"].split("/runs/")[1], r["candidate"]): r["values"]
                for r in map(json.loads, (tmp_path / "returned.jsonl").read_text().splitlines())}
    for r in held:
        assert rescored[(f"multisource/{r['label']}/b6-s0", r["candidate"])] == r["values"]
    assert "| multisource | hybrid | 6 | " in (tmp_path / "returned.md").read_text()
    # a run whose row was never written (the grid was cut) is resumed from its folder, not started again
    log = tmp_path / "runs" / "multisource" / "hybrid" / "b6-s0" / "candidates.jsonl"
    records = log.read_text()
    results = tmp_path / "results.jsonl"
    results.write_text("".join(x + "\n" for x in results.read_text().splitlines() if '"hybrid"' not in x))
    status = _run(["--status", "--budgets", "3", "6", "--out", str(tmp_path)])
    hybrid = next(r for r in rows if r["label"] == "hybrid")
    assert status.returncode == 0, status.stderr[-3000:]
    assert (f"| multisource | hybrid | 0 | 6 | 6 | {hybrid['curve'][2]:.3f} | {hybrid['curve'][5]:.3f} | "
            f"{hybrid['best']:.3f} |") in status.stdout
    assert "| cut or running: its command resumes it |" in status.stdout
    assert "| multisource | random | 0 | 6 | 6 |" in status.stdout and "| finished |" in status.stdout
    resumed = _run(["--smoke", "--jobs", "1", "--reeval", "0", "--out", str(tmp_path)])
    assert resumed.returncode == 0 and "1 searches to run" in resumed.stdout, resumed.stderr[-3000:]
    row = next(json.loads(x) for x in results.read_text().splitlines() if '"hybrid"' in x)
    assert row["resumed"] and row["curve"] == next(r for r in rows if r["label"] == "hybrid")["curve"]
    assert log.read_text() == records  # nothing evaluated again


def test_the_returned_encoder_is_the_best_of_the_first_b_evaluations() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from reeval import best_within

    def cand(i: int, fitness: float | None, evaluated: bool = True) -> dict:
        return {"id": i, "evaluated": evaluated, "tree": {"kind": "x"},
                "feedback": {"status": "ok" if fitness is not None else "failed", "fitness": fitness}}

    cands = [cand(3, 0.9), cand(0, 0.2), cand(1, None), cand(2, 0.5, evaluated=False), cand(4, 0.4)]
    assert best_within(cands, 2)["id"] == 0  # ids 0 and 1 (1 failed); 2 was not evaluated (cached)
    assert best_within(cands, 3)["id"] == 3
    assert best_within([cand(0, None)], 1) is None


@pytest.mark.slow  # a benchmark script's run: the default run stays short, CI runs it
@pytest.mark.parametrize("task", ["devtask", "warehouse"])
def test_the_supervised_tasks_score_architectures_apart(task: str) -> None:
    """benchmarks/devtask.py and warehouse.py: six targets, and the encoder's architecture changes
    the score."""
    code = f"""
import sys; sys.path.insert(0, 'benchmarks')
import torch, {task} as task
from evo_lacer.compile import compile_tree
from evo_lacer.flat import FlatSpace
space = FlatSpace.load().for_sources(task.SPACE)
def score(seed):
    torch.manual_seed(0)
    tree = space.to_tree(space.sample(seed))
    return task.fitness(tree, compile_tree(tree, task.SPACE))
small, big = score(0), score(1)
assert sorted(small.metrics) == sorted(f'r2/{{n}}' for n in task.NAMES), small.metrics
assert -1.0 <= small.fitness <= 1.0 and -1.0 <= big.fitness <= 1.0
assert abs(small.fitness - big.fitness) > 1e-3, (small.fitness, big.fitness)
print('ok', small.fitness, big.fitness)
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stdout[-2000:] + proc.stderr[-4000:]


def test_the_warehouse_order_target_reads_the_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """warehouse.py's order target: +1 when token 4 comes before token 9, -1 after, 0 if one is missing."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import numpy as np
    import warehouse

    order = np.array([[4, 1, 9, 9], [9, 2, 4, 4], [1, 2, 3, 9], [4, 4, 1, 1], [7, 9, 4, 3]])
    assert warehouse._order_sign(order).tolist() == [1.0, -1.0, 0.0, 0.0, -1.0]
