"""Speed-up of parallel evaluation: 1 vs N workers, process pool and Dask, side by side.

A CPU-bound evaluator (a pure-Python loop with a fixed amount of work, calibrated to about
``--job-seconds`` on one idle core) runs a batch of ``--jobs`` jobs on every executor. All
executors are started and warmed first (their start-up is reported apart), then the batches
are interleaved round by round so that a change in machine load hits every executor alike.
Speed-up is the median batch time of 1 worker over that of N workers of the same kind.
It needs idle cores: on a shared machine (and with Linux's autogroup scheduling, which shares
CPU per session rather than per process) extra workers find no free core and show no speed-up.

    python benchmarks/workers_speedup.py                  # small defaults, < 1 min
    python benchmarks/workers_speedup.py --workers 1 2 4 --jobs 16 --rounds 5 --no-dask
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gymnasium import spaces

from evo_lacer.evaluate import Feedback, Status
from evo_lacer.execute import Executor, InProcessExecutor, ProcessPoolExecutor
from evo_lacer.tree import Node, branch, encoder, fusion, module

OUT = Path(__file__).resolve().parent / "out"


class BurnEvaluator:
    """Fixed CPU work per job (no sleeping, no I/O), so contention shows up as time."""

    observation_space: spaces.Space[Any] = spaces.Box(-1.0, 1.0, (1,))

    def __init__(self, iterations: int) -> None:
        self.iterations = iterations

    def describe(self) -> str:
        return "CPU burner for the workers benchmark"

    def evaluate(self, tree: Node, seed: int) -> Feedback:
        return Feedback(Status.OK, fitness=float(burn(self.iterations, seed) % 97))


def burn(iterations: int, seed: int = 0) -> int:
    acc = seed
    for i in range(iterations):
        acc = (acc * 31 + i) % 1_000_003
    return acc


def calibrate(seconds: float) -> int:
    """Iterations that take about `seconds` here (best of 3, to discount load spikes)."""
    n = 200_000
    best = min(_timed(lambda: burn(n)) for _ in range(3))
    return max(1000, int(n * seconds / best))


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_batch(executor: Executor, evaluator: BurnEvaluator, tree: Node, jobs: int) -> float:
    start = time.perf_counter()
    results = list(executor.submit_many(evaluator, [(i, tree, i) for i in range(jobs)], timeout_s=None))
    seconds = time.perf_counter() - start
    bad = [fb.error for _, fb in results if not fb.ok]
    if len(results) != jobs or bad:
        raise SystemExit(f"benchmark batch failed: {len(results)} results, errors {bad[:3]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=8, help="jobs per batch")
    parser.add_argument("--job-seconds", type=float, default=0.2, help="CPU seconds per job (calibrated)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to compare")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median reported)")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask executor")
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the PNG")
    args = parser.parse_args()

    iterations = calibrate(args.job_seconds)
    evaluator = BurnEvaluator(iterations)
    tree = encoder([branch("x", module("torch.nn.Linear", out_features=4))],
                   fusion("modules_zoo.fusion.Concat"))
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}, "
          f"{args.jobs} jobs of {iterations} iterations (~{args.job_seconds} s each on an idle core)")

    factories: dict[tuple[str, int], Callable[[], Executor]] = {("in-process", 1): InProcessExecutor}
    for n in args.workers:
        factories[("process", n)] = lambda n=n: ProcessPoolExecutor(n)  # type: ignore[misc]
    if not args.no_dask:
        from evo_lacer.execute import DaskExecutor

        logging.getLogger("distributed").setLevel(logging.WARNING)  # cluster start/stop chatter

        for n in args.workers:
            factories[("dask", n)] = lambda n=n: DaskExecutor(n_workers=n)  # type: ignore[misc]

    executors: dict[tuple[str, int], Executor] = {}
    startup: dict[tuple[str, int], float] = {}
    times: dict[tuple[str, int], list[float]] = {}
    try:
        for key, factory in factories.items():
            start = time.perf_counter()
            executors[key] = factory()
            run_batch(executors[key], evaluator, tree, key[1])  # start and warm every worker
            startup[key] = time.perf_counter() - start
            times[key] = []
        for _ in range(args.rounds):
            for key, executor in executors.items():
                times[key].append(run_batch(executor, evaluator, tree, args.jobs))
    finally:
        for executor in executors.values():
            executor.close()

    median = {key: statistics.median(v) for key, v in times.items()}
    best = {key: min(v) for key, v in times.items()}
    header = (f"{'executor':<11} {'workers':>7} {'start s':>8} {'batch s':>8} {'min s':>6} {'jobs/s':>7} "
              f"{'speed-up':>8} {'eff.':>5} {'best-case speed-up':>18}")
    print(header)
    print("-" * len(header))
    for (kind, n), seconds in median.items():
        base = median.get((kind, 1), seconds)
        speedup = base / seconds
        best_speedup = best.get((kind, 1), best[(kind, n)]) / best[(kind, n)]
        print(f"{kind:<11} {n:>7} {startup[(kind, n)]:>8.2f} {seconds:>8.2f} {best[(kind, n)]:>6.2f} "
              f"{args.jobs / seconds:>7.2f} {speedup:>8.2f} {speedup / n:>5.2f} {best_speedup:>18.2f}")
    print("batch s: median over rounds; speed-up: median batch time with 1 worker / with N workers "
          f"of the same executor; eff. = speed-up / N; best-case: same with the fastest rounds; "
          f"{args.rounds} interleaved rounds; load average after: {os.getloadavg()[0]:.1f}")
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load > cores - 0.5:
        print(f"note: the machine is busy (load {load:.1f} on {cores} cores), so extra workers find no idle "
              "core and these speed-ups say little about the executors; rerun on an idle machine")

    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4), layout="tight")
    ax = fig.add_subplot()
    labels = [f"{kind}\n{n} worker{'s' if n > 1 else ''}" for kind, n in median]
    bars = ax.bar(labels, list(median.values()), color=[
        {"in-process": "C7", "process": "C0", "dask": "C1"}[kind] for kind, _ in median])
    ax.bar_label(bars, fmt="%.2f s")
    ax.set_ylabel(f"seconds for {args.jobs} jobs (median of {args.rounds})")
    ax.set_title(f"Parallel evaluation, ~{args.job_seconds} s CPU per job, {os.cpu_count()} cores")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "workers_speedup.png"
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
