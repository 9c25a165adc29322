"""Search an encoder with your own fitness function -- no RL, runs in about a minute.

The task: from a vector of sensors, a short time series and a token instruction, predict a
target that depends on all three. The fitness is the R² of a ridge probe fitted on the
encoder's (randomly initialized) features -- a cheap proxy for "does the encoder keep the
information a policy needs". Run:

    python examples/custom_fitness.py --budget 24 --strategy hybrid --llm none
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np
import torch

import evo_lacer
from evo_lacer.evaluate import FitnessRecord

SPACE = gym.spaces.Dict({
    "sensors": gym.spaces.Box(-1.0, 1.0, (6,), np.float32),
    "series": gym.spaces.Box(-1.0, 1.0, (12, 2), np.float32),
    "instruction": gym.spaces.Box(0, 9, (4,), np.int64),
})


def make_data(n: int, seed: int) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    rng = np.random.default_rng(seed)
    sensors = rng.uniform(-1, 1, (n, 6)).astype(np.float32)
    series = rng.uniform(-1, 1, (n, 12, 2)).astype(np.float32)
    instruction = rng.integers(1, 10, (n, 4))
    target = sensors[:, 0] * series[:, -3:, 1].mean(axis=1) + 0.2 * (instruction[:, 0] % 3)
    obs = {"sensors": torch.from_numpy(sensors), "series": torch.from_numpy(series),
           "instruction": torch.from_numpy(instruction)}
    return obs, torch.from_numpy(target.astype(np.float32))


def probe_fitness(tree: evo_lacer.tree.Node, module: torch.nn.Module) -> FitnessRecord:
    """R² of a ridge probe on the encoder's features (held-out half)."""
    obs, y = make_data(512, seed=0)
    with torch.no_grad():
        feats = module(obs)
    feats = torch.cat([feats, torch.ones(len(feats), 1)], dim=1)
    train, test = slice(0, 256), slice(256, 512)
    a = feats[train]
    w = torch.linalg.solve(a.T @ a + 1e-2 * torch.eye(a.shape[1]), a.T @ y[train])
    pred = feats[test] @ w
    r2 = 1.0 - float(((pred - y[test]) ** 2).mean() / y[test].var())
    params = sum(p.numel() for p in module.parameters())
    return FitnessRecord(fitness=r2, metrics={"r2": r2, "params": params})


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--budget", type=int, default=24)
    parser.add_argument("--strategy", default="hybrid")
    parser.add_argument("--llm", default="none")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run-dir", default=None)
    args = parser.parse_args()
    result = evo_lacer.search(fitness=probe_fitness, observation_space=SPACE, budget=args.budget,
                              strategy=args.strategy, llm=args.llm, seed=args.seed, workers=args.workers,
                              run_dir=args.run_dir)
    print(evo_lacer.tree.render(result.best_tree))
    print(f"best R² {result.best_feedback.fitness:.3f} after {len(result.history)} candidates; "
          f"run folder {result.run_dir}")


if __name__ == "__main__":
    main()
