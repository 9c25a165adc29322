"""Planner speed: ask + tell time per plan after 50 and 500 trials, for every planner.

Each planner is driven with the legal moves of a real seed tree (two sources, every
transformation) and random outcomes; the table shows the mean ask+tell time over all trials, the
marginal time of the last 10 trials, and the size and round-trip time of the planner's state.

    python benchmarks/planner_speed.py [--trials 50 500] [--out benchmarks/out]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from gymnasium import spaces

from evo_lacer.compile import infer_sources
from evo_lacer.engine import (
    OptunaPlanner,
    Outcome,
    Planner,
    RandomPlanner,
    ThompsonPlanner,
    default_seed_tree,
)
from evo_lacer.flat import FlatSpace
from evo_lacer.transform import TransformContext, legal_moves
from evo_lacer.zoo import builtin_catalog

PLANNERS: dict[str, Callable[[], Planner]] = {
    "random": lambda: RandomPlanner(seed=0),
    "thompson": lambda: ThompsonPlanner(seed=0),
    "optuna-tpe": lambda: OptunaPlanner(seed=0),
    "optuna-gp": lambda: OptunaPlanner(seed=0, sampler="gp"),
}


def legal_of_seed_tree() -> dict[str, tuple[str, ...]]:
    space = spaces.Dict({"ego": spaces.Box(-1.0, 1.0, (6,)), "hist": spaces.Box(-1.0, 1.0, (8, 3))})
    tree = default_seed_tree(FlatSpace.load().for_sources(space))
    inputs = {k: s.signal for k, s in infer_sources(space).items()}
    ctx = TransformContext(catalog=builtin_catalog(), inputs=inputs, donors=(tree,))
    return {t: tuple(sorted({s.klass for s in sites})) for t, sites in legal_moves(tree, ctx).items()}


def drive(make: Callable[[], Planner], trials: int, legal: dict[str, tuple[str, ...]]) -> dict[str, float]:
    planner = make()
    rng = np.random.default_rng(0)
    times = []
    for _ in range(trials):
        start = time.perf_counter()
        plan = planner.ask([legal])[0]
        improvement = float(rng.normal(0.1 if plan.transformation == "swap_module" else -0.1, 0.3))
        planner.tell([Outcome("ok", float(np.clip(improvement, -1, 1)), float(rng.uniform()))])
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    text = json.dumps(planner.state_dict())
    make().load_state_dict(json.loads(text))
    round_trip = time.perf_counter() - start
    return {"mean_ms": 1e3 * float(np.mean(times)), "last10_ms": 1e3 * float(np.mean(times[-10:])),
            "state_kb": len(text) / 1024, "round_trip_ms": 1e3 * round_trip, "times": times}  # type: ignore[dict-item]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, nargs="+", default=[50, 500])
    parser.add_argument("--planners", nargs="+", default=list(PLANNERS))
    parser.add_argument("--out", default=str(Path(__file__).parent / "out"))
    args = parser.parse_args()
    legal = legal_of_seed_tree()
    print(f"legal moves of the seed tree: {sum(len(c) for c in legal.values())} (transformation, site class) "
          f"pairs over {len(legal)} transformations")
    rows, curves = [], {}
    for name in args.planners:
        if name == "optuna-gp" and importlib.util.find_spec("scipy") is None:
            print("optuna-gp: skipped (needs scipy)")
            continue
        for n in args.trials:
            result = drive(PLANNERS[name], n, legal)
            curves[(name, n)] = result.pop("times")
            rows.append((name, n, result))
    header = f"{'planner':<12} {'trials':>6} {'mean ask+tell ms':>17} {'last 10 ms':>11} {'state KB':>9} " \
             f"{'state round-trip ms':>20}"
    print(header)
    print("-" * len(header))
    for name, n, r in rows:
        print(f"{name:<12} {n:>6} {r['mean_ms']:>17.2f} {r['last10_ms']:>11.2f} {r['state_kb']:>9.1f} "
              f"{r['round_trip_ms']:>20.1f}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    longest = max(args.trials)
    for (name, n), times in curves.items():
        if n == longest:
            ax.plot(np.arange(1, n + 1), 1e3 * np.asarray(times), label=name, lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("trial")
    ax.set_ylabel("ask + tell time (ms)")
    ax.set_title("Planner speed")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "planner_speed.png", dpi=120)
    print(f"plot: {out / 'planner_speed.png'}")


if __name__ == "__main__":
    main()
