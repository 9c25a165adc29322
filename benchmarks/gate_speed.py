"""Gate time per candidate on random transformation chains.

From a seed tree, random chains of transformations (random transformation, site and slot
values among the listed options, as the random designer draws them) produce candidates; each
goes through the gate. Reported per candidate: the time to list moves and apply one
(transform), the gate's cheap checks (structure, canonical hash, intent), compiling, the
first checked forward pass and the latency measurement (the fastest of `--latency-runs` forwards),
as median / p90 / max over all candidates. Wall-clock on CPU with `--threads` torch threads.

    python benchmarks/gate_speed.py                       # small defaults, < 1 min
    python benchmarks/gate_speed.py --chains 20 --steps 20 --batch-size 64
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from gymnasium import spaces

from evo_lacer.compile import infer_sources
from evo_lacer.transform import (
    ALL_TRANSFORMATIONS,
    LATENCY_RUNS,
    Gate,
    GateResult,
    TransformContext,
    legal_moves,
)
from evo_lacer.tree import Node, branch, chain, encoder, fusion, module, repeat, residual
from evo_lacer.zoo import builtin_catalog

ROOT = Path(__file__).resolve().parents[1]
SPACE = spaces.Dict({
    "ego": spaces.Box(-3, 3, (3,), np.float32),
    "history": spaces.Box(-3, 3, (16, 3), np.float32),
    "bev": spaces.Box(0, 255, (40, 40, 3), np.uint8),
    "instruction": spaces.Box(0, 39, (8,), np.int64),
})
PHASES = ("transform", "checks", "compile", "forward", "latency", "gate total")


def seed_tree() -> Node:
    """A mid-sized tree over all four source kinds, with a residual, a repeat and a head."""
    return encoder([
        branch("ego", module("MLPBlock", width=64, ratio=2), residual(module("MLPBlock", width=64))),
        branch("history", module("GRUEncoder", hidden=32), repeat(2, module("SequenceMLP", width=32)),
               module("LastStep")),
        branch("bev", module("ConvStack", channels=16, depth=2), module("GlobalAvgPool")),
        branch("instruction", module("EmbedMeanPool", dim=16)),
    ], fusion("ConcatMLP", width=128), chain(module("MLPBlock", width=64)))


def draw_choice(name: str, tree: Node, site: object, ctx: TransformContext, rng: random.Random) -> dict:
    t = ALL_TRANSFORMATIONS[name]
    chosen: dict = {}
    while True:
        open_slots = [s for s in t.slots(tree, site, ctx, chosen) if s.name not in chosen]  # type: ignore[arg-type]
        if not open_slots:
            return chosen
        for slot in open_slots:
            chosen[slot.name] = slot.options[rng.randrange(len(slot.options))]


def run(chains: int, steps: int, batch_size: int, latency_runs: int, seed: int) -> tuple[list[dict], Counter]:
    catalog = builtin_catalog()
    inputs = {k: s.signal for k, s in infer_sources(SPACE).items()}
    gate = Gate(SPACE, catalog, batch_size=batch_size, latency_runs=latency_runs)
    assert gate.check(None, seed_tree()).ok  # imports and first probes, not timed
    rng = random.Random(seed)
    rows: list[dict] = []
    outcomes: Counter = Counter()
    for _ in range(chains):
        tree, history = seed_tree(), cast(tuple[Any, ...], ())
        for _ in range(steps):
            start = time.perf_counter()
            ctx = TransformContext(catalog, inputs, history=history, donors=(seed_tree(),))
            moves = legal_moves(tree, ctx)
            name = rng.choice(sorted(moves))
            site = rng.choice(moves[name])
            choice = draw_choice(name, tree, site, ctx, rng)
            child = ALL_TRANSFORMATIONS[name].apply(tree, site, choice, ctx)
            transform_ms = 1e3 * (time.perf_counter() - start)
            start = time.perf_counter()
            result: GateResult = gate.check(tree, child, (name, site, choice))
            total_ms = 1e3 * (time.perf_counter() - start)
            outcomes[(name, result.check or "ok")] += 1
            rows.append({
                "name": name, "ok": result.ok, "transform": transform_ms,
                "checks": result.checks_ms,
                "compile": result.compile_ms, "forward": result.forward_ms, "latency": result.latency_ms,
                "gate total": total_ms, "params": result.params,
            })
            if result.ok:
                tree, history = child, (*history, (name, site, choice))
    return rows, outcomes


def summary(rows: list[dict], key: str) -> tuple[int, float, float, float]:
    vals = sorted(r[key] for r in rows if r[key] is not None)
    if not vals:
        return 0, float("nan"), float("nan"), float("nan")
    p90 = vals[min(len(vals) - 1, round(0.9 * (len(vals) - 1)))]
    return len(vals), statistics.median(vals), p90, vals[-1]


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    data = [[r[p] for r in rows if r[p] is not None] for p in PHASES]
    ax1.boxplot(data, showfliers=True)
    ax1.set_xticks(range(1, len(PHASES) + 1), PHASES, fontsize=8)
    ax1.set_yscale("log")
    ax1.set_ylabel("ms per candidate")
    ax1.set_title("gate time per candidate, by phase")
    built = [r for r in rows if r["compile"] is not None and r["forward"] is not None]
    ax2.scatter([r["compile"] for r in built], [r["forward"] for r in built], s=12,
                c=["tab:green" if r["ok"] else "tab:red" for r in built])
    ax2.set_xlabel("compile ms")
    ax2.set_ylabel("first forward ms")
    ax2.set_title("compile vs forward (red: rejected)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chains", type=int, default=6, help="random chains from the seed tree")
    parser.add_argument("--steps", type=int, default=10, help="transformations per chain")
    parser.add_argument("--batch-size", type=int, default=8, help="dummy batch of the gate's forward")
    parser.add_argument("--latency-runs", type=int, default=LATENCY_RUNS,
                        help="forwards timed for the latency check")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 = stable timings)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "gate_speed.png")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    start = time.perf_counter()
    rows, outcomes = run(args.chains, args.steps, args.batch_size, args.latency_runs, args.seed)
    elapsed = time.perf_counter() - start
    accepted = sum(r["ok"] for r in rows)
    print(f"gate speed: {len(rows)} candidates ({accepted} accepted) from {args.chains} chains x "
          f"{args.steps} steps, batch {args.batch_size}, {args.threads} torch thread(s), {elapsed:.1f} s")
    print(f"| {'phase':<11} | {'n':>4} | {'median ms':>9} | {'p90 ms':>8} | {'max ms':>8} |")
    print(f"|{'-' * 13}|{'-' * 6}|{'-' * 11}|{'-' * 10}|{'-' * 10}|")
    for phase in PHASES:
        n, med, p90, top = summary(rows, phase)
        print(f"| {phase:<11} | {n:>4} | {med:>9.2f} | {p90:>8.2f} | {top:>8.2f} |")
    print("\nper transformation (gate total ms, median):")
    for name in sorted({r["name"] for r in rows}):
        mine = [r for r in rows if r["name"] == name]
        checks = ", ".join(f"{c}={k}" for (t, c), k in sorted(outcomes.items()) if t == name)
        median = statistics.median(r["gate total"] for r in mine)
        print(f"  {name:<17} n={len(mine):>3}  {median:7.2f}  [{checks}]")
    plot(rows, args.out)
    print(f"\nplot: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
