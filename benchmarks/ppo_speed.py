"""PPO training speed with a compiled encoder tree vs SB3's default ``CombinedExtractor``.

All variants train the same PPO (``RLEvaluator``'s settings: ``ppo_defaults``, 1 torch
thread) on the same ring env (NumPy backend) for the same number of env steps:

- the tree (default ``trees/ring_lacer_expert.json``);
- SB3's ``CombinedExtractor`` with the CNN output width that gives it about the tree's
  parameter count (NatureCNN on ``bev``, flatten on the other sources);
- a tree that mirrors that CombinedExtractor (NatureCNN, flatten, one-hot tokens, plain
  concatenation): same architecture, so its ratio is the overhead of the compiled tree itself,
  while the first ratio also includes the cost of the tree's own architecture.

Runs alternate (variant by variant, repeat by repeat) so machine load hits all alike; the
table gives the median env-steps/s over the repeats and the ratio to the CombinedExtractor.
A bar chart goes to benchmarks/out/.

    python benchmarks/ppo_speed.py                       # 2048 steps x 3 repeats (~2 min)
    python benchmarks/ppo_speed.py --steps 8192 --repeats 5 --tree trees/ring_lacer_expert.json
    python benchmarks/ppo_speed.py --smoke               # 64 steps x 1 (tests)
"""

from __future__ import annotations

import argparse
import statistics
import time
from functools import partial
from pathlib import Path
from typing import Any

import torch

from evo_lacer.compile import TreeFeaturesExtractor, parameter_count, policy_kwargs_for
from evo_lacer.evaluate import ppo_defaults
from evo_lacer.evaluate._envtools import sb3_view
from evo_lacer.evaluate._make_env import make_env
from evo_lacer.tree import Node, branch, encoder, fusion, load_tree, module

ROOT = Path(__file__).resolve().parents[1]
RING = "evo_lacer/RingTraffic-v0"


def combined_kwargs(space: Any, target_params: int) -> tuple[dict[str, Any], int]:
    """CombinedExtractor settings whose parameter count is closest to ``target_params``."""
    from stable_baselines3.common.torch_layers import CombinedExtractor

    best: tuple[int, int] | None = None
    for width in (16, 32, 64, 128, 256, 384, 512, 768, 1024):
        n = parameter_count(CombinedExtractor(space, cnn_output_dim=width))
        if best is None or abs(n - target_params) < abs(best[1] - target_params):
            best = (width, n)
    assert best is not None
    return {"features_extractor_kwargs": {"cnn_output_dim": best[0]}}, best[1]


def mirror_tree(cnn_width: int) -> Node:
    """SB3's CombinedExtractor for the ring, written as a tree."""
    return encoder([
        branch("ego", module("Activation", activation="relu")),
        branch("history", module("FlattenSequence")),
        branch("bev", module("NatureCNN", width=cnn_width)),
        branch("instruction", module("OneHot")),
    ], fusion("ConcatMLP", depth=0))


def train_seconds(policy_kwargs: dict[str, Any], steps: int, env_kwargs: dict[str, Any], seed: int) -> float:
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.logger import Logger

    vec = make_vec_env(partial(make_env, RING, env_kwargs), n_envs=1, seed=seed)
    try:
        model = PPO("MultiInputPolicy", vec, policy_kwargs=policy_kwargs, seed=seed, device="cpu",
                    verbose=0, **ppo_defaults(steps, 1))
        model.set_logger(Logger(folder=None, output_formats=[]))
        start = time.perf_counter()
        model.learn(total_timesteps=steps)
        return time.perf_counter() - start
    finally:
        vec.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", default=str(ROOT / "trees" / "ring_lacer_expert.json"))
    parser.add_argument("--steps", type=int, default=2048, help="PPO env steps per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "out" / "ppo_speed.png"))
    parser.add_argument("--smoke", action="store_true", help="64 steps, 1 repeat")
    args = parser.parse_args(argv)
    if args.smoke:
        args.steps, args.repeats = 64, 1
    torch.set_num_threads(args.threads)
    env_kwargs = {"backend": "numpy"}
    env = make_env(RING, env_kwargs)
    space = sb3_view(env.observation_space)
    env.close()
    tree = load_tree(args.tree)
    tree_params = parameter_count(TreeFeaturesExtractor(space, tree))
    comb_kwargs, comb_params = combined_kwargs(space, tree_params)
    width = comb_kwargs["features_extractor_kwargs"]["cnn_output_dim"]
    mirror = mirror_tree(width)
    variants = {
        f"tree {Path(args.tree).stem}": (policy_kwargs_for(tree), tree_params),
        f"SB3 CombinedExtractor (cnn_output_dim={width})": (comb_kwargs, comb_params),
        "tree mirroring CombinedExtractor": (policy_kwargs_for(mirror),
                                             parameter_count(TreeFeaturesExtractor(space, mirror))),
    }
    rates: dict[str, list[float]] = {name: [] for name in variants}
    for rep in range(args.repeats):
        for name, (kwargs, _) in variants.items():
            rates[name].append(args.steps / train_seconds(kwargs, args.steps, env_kwargs, seed=rep))
    names = list(variants)
    med = {n: statistics.median(rates[n]) for n in names}
    print(f"PPO on {RING} (numpy backend), {args.steps} env steps x {args.repeats} repeats, "
          f"{args.threads} torch thread(s)\n")
    print("| extractor | parameters | env steps/s (median) | all repeats | vs CombinedExtractor |")
    print("|---|---|---|---|---|")
    for n in names:
        runs = ", ".join(f"{r:.0f}" for r in rates[n])
        print(f"| {n} | {variants[n][1]} | {med[n]:.0f} | {runs} | {med[n] / med[names[1]]:.2f}x |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.barh(range(len(names)), [med[n] for n in names], color=["tab:blue", "tab:gray", "tab:cyan"])
    for i, n in enumerate(names):
        ax.plot(rates[n], [i] * len(rates[n]), "k.", markersize=6)
    ax.set_yticks(range(len(names)), [f"{n}\n{variants[n][1]} params" for n in names], fontsize=8)
    ax.set_xlabel("PPO env steps / s (bar: median, dots: repeats)")
    ax.set_title(f"PPO training speed, ring road (numpy), {args.steps} steps")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
