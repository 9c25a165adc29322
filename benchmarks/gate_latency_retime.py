"""Re-time the trees a search's gate rejected for latency: today's gate against the median of 3.

Reads each run folder's `candidates.jsonl` (trees as JSON: nothing in the folder is executed),
takes the candidates whose gate check 'latency' failed, and times each again on this machine,
now: through today's `Gate` (the fastest of `--latency-runs` forward passes, confirmed before
a rejection) and as the gate did before 2026-12-02 (the median of 3 passes). Prints one row per
tree and how many each rule rejects. Run it under the load the search ran under to see how much
of its rejections the load made; on a quiet machine, to see the trees' own latency.

    python benchmarks/gate_latency_retime.py benchmarks/out/compare_full_hybrid/runs/hybrid-s0 \\
        --env evo_lacer/RingTraffic-v0 --max-latency-ms 10
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch

import evo_lacer  # noqa: F401  (registers evo_lacer/RingTraffic-v0)
from evo_lacer.compile import compile_tree
from evo_lacer.runs import read_jsonl
from evo_lacer.transform import LATENCY_RUNS, Gate, dummy_batch
from evo_lacer.tree import node_from_dict
from evo_lacer.zoo import builtin_catalog


def rejected(run: Path) -> list[dict[str, Any]]:
    """The run's candidates whose gate check 'latency' failed."""
    path = run / "candidates.jsonl"
    if not path.is_file():
        raise SystemExit(f"{path}: no such file (pass a run folder, the one holding candidates.jsonl)")
    errors = [(r, str((r.get("feedback") or {}).get("error"))) for r in read_jsonl(path)]
    return [r for r, error in errors if "gate check 'latency'" in error]


def median_of_3(encoder: torch.nn.Module, batch: Any) -> float:
    """The latency the gate measured before 2026-12-02."""
    times = []
    with torch.no_grad():
        encoder(batch)
        for _ in range(3):
            start = time.perf_counter()
            encoder(batch)
            times.append(1e3 * (time.perf_counter() - start))
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("runs", nargs="+", type=Path, help="run folders (each with candidates.jsonl)")
    p.add_argument("--env", default="evo_lacer/RingTraffic-v0", help="the searched environment's id")
    p.add_argument("--max-latency-ms", type=float, default=10.0, help="the search's bound")
    p.add_argument("--latency-runs", type=int, default=LATENCY_RUNS, help="passes today's gate times")
    args = p.parse_args()
    torch.set_num_threads(1)  # as the search's gate runs
    space = gym.make(args.env).observation_space
    catalog = builtin_catalog()
    gate = Gate(space, catalog, max_latency_ms=args.max_latency_ms, latency_runs=args.latency_runs)
    batch = dummy_batch(space, gate.batch_size)
    print("| run | candidate | gate today (ms) | median of 3 (ms) |\n| --- | --- | --- | --- |")
    new = old = total = 0
    for run in args.runs:
        for row in rejected(run):
            tree = node_from_dict(row["tree"])
            result = gate.check(None, tree)
            encoder = compile_tree(tree, space, catalog, check=False).eval()
            med = median_of_3(encoder, batch)
            total += 1
            new += not result.ok
            old += med > args.max_latency_ms
            verdict = "rejected" if not result.ok else "passes"
            print(f"| {run.name} | {row['id']} | {result.latency_ms:.2f} ({verdict}) | {med:.2f} |")
    print(f"\n{total} trees the runs rejected for latency (bound {args.max_latency_ms} ms); timed again now: "
          f"today's gate rejects {new}, the median of 3 rejects {old}")


if __name__ == "__main__":
    main()
