"""Speed of the ring-road env per backend: raw simulation steps/s (IDM + noise + integration),
env.step()/s (action repeat, observation rendering, reward, metrics) and reset seconds
(warm-up included). Prints a Markdown table and writes a bar plot to benchmarks/out/.

    python benchmarks/env_speed.py                      # both backends, < 1 min
    python benchmarks/env_speed.py --backends numpy --env-steps 200
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from evo_lacer.envs import ExpertController, RingConfig, RingTrafficEnv


def measure(backend: str, sim_steps: int, env_steps: int, resets: int, seed: int) -> dict:
    """Timings of one backend (the expert drives, so the traffic stays realistic)."""
    config = RingConfig(backend=backend, horizon=env_steps + 1)  # type: ignore[arg-type]
    env = RingTrafficEnv(config)
    expert = ExpertController(config)
    try:
        start = time.perf_counter()
        for k in range(resets):
            obs, _ = env.reset(seed=seed + k)
        reset_s = (time.perf_counter() - start) / resets

        env_s = expert_s = 0.0
        for _ in range(env_steps):
            t0 = time.perf_counter()
            action = expert(obs)
            t1 = time.perf_counter()
            obs, *_ = env.step(action)
            expert_s += t1 - t0
            env_s += time.perf_counter() - t1

        traffic, rng = env.traffic, np.random.default_rng(seed)
        control = np.zeros(config.n_controlled)
        start = time.perf_counter()
        for _ in range(sim_steps):
            traffic.step(rng, control)
        sim_s = time.perf_counter() - start
    finally:
        env.close()
    return {
        "backend": backend,
        "sim_steps_per_s": sim_steps / sim_s,
        "env_steps_per_s": env_steps / env_s,
        "expert_env_steps_per_s": env_steps / (env_s + expert_s),
        "reset_s": reset_s,
    }


def plot(rows: list[dict], path: Path) -> None:
    """Grouped bars (log scale) of the three rates per backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [("sim_steps_per_s", "sim steps/s"), ("env_steps_per_s", "env.step()/s"),
            ("expert_env_steps_per_s", "expert + env.step()/s")]
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / len(rows)
    for i, row in enumerate(rows):
        xs = np.arange(len(keys)) + i * width
        ax.bar(xs, [row[k] for k, _ in keys], width, label=row["backend"])
    ax.set_xticks(np.arange(len(keys)) + width * (len(rows) - 1) / 2, [label for _, label in keys])
    ax.set_yscale("log")
    ax.set_ylabel("per second (log)")
    ax.set_title("RingTrafficEnv speed (22 vehicles, 5 sim steps per env step)")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["numpy", "sumo"],
                        choices=["numpy", "sumo"])
    parser.add_argument("--sim-steps", type=int, default=20000, help="raw simulation steps")
    parser.add_argument("--env-steps", type=int, default=3000, help="env.step() calls")
    parser.add_argument("--resets", type=int, default=3, help="resets timed (warm-up included)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    args = parser.parse_args(argv)

    rows = [measure(b, args.sim_steps, args.env_steps, args.resets, args.seed)
            for b in args.backends]
    print("| backend | sim steps/s | env.step()/s | expert + env.step()/s | reset (s) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['backend']} | {r['sim_steps_per_s']:,.0f} | {r['env_steps_per_s']:,.0f} | "
              f"{r['expert_env_steps_per_s']:,.0f} | {r['reset_s']:.3f} |")
    path = args.out / "env_speed.png"
    plot(rows, path)
    print(f"plot: {path}")
    return rows


if __name__ == "__main__":
    main()
