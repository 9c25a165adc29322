"""How long a strategy takes to propose, with nothing else to wait for: one search per strategy in
this process (a fitness that returns at once, one worker, `llm="none"`, default sizes), its wall
time, the seconds its candidates record as proposing, and a digest of the tree hashes it made in
order -- two versions of the code that print the same digest made the same search.

    python benchmarks/propose_speed.py [--strategies tpe hybrid] [--budget 128] [--seed 0] [--rounds 1]

Compare two commits side by side by running it from a worktree of each, in turn (old, new, new,
old), with ``PYTHONPATH`` set to that worktree; on a shared machine, pause other work first.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time

os.environ["EVO_BENCH_SLEEP"] = "0"  # read by search_overhead.cheap_fitness at each call

import search_overhead  # benchmarks/ is the script's folder, first on sys.path

from evo_lacer.api import search


def one(strategy: str, budget: int, seed: int) -> tuple[int, str, float, float]:
    """(candidates, digest of their tree hashes, wall seconds, proposing seconds) of one search."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as run_dir:
        result = search(observation_space=search_overhead.space(), fitness=search_overhead.cheap_fitness,
                        strategy=strategy, budget=budget, seed=seed, llm="none", run_dir=run_dir, workers=1,
                        executor="auto")
    wall = time.perf_counter() - start
    hashes = "".join(str(c.tree_hash) for c in result.history)
    propose = sum(float(c.timings.get("propose_s", 0.0)) for c in result.history)
    return len(result.history), hashlib.sha1(hashes.encode()).hexdigest()[:12], wall, propose


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--strategies", nargs="+", default=["tpe", "hybrid"])
    parser.add_argument("--budget", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    print(f"{'strategy':10s} {'candidates':>10s} {'digest':>12s} {'wall s':>8s} {'propose s':>10s}")
    for _ in range(args.rounds):
        for strategy in args.strategies:
            n, digest, wall, propose = one(strategy, args.budget, args.seed)
            print(f"{strategy:10s} {n:10d} {digest:>12s} {wall:8.1f} {propose:10.1f}", flush=True)


if __name__ == "__main__":
    main()
