"""Speed of compiled encoder trees.

(b) Forward time of a compiled tree against the same network written by hand in plain
PyTorch, measured side by side (interleaved rounds, same inputs, same weights: the hand
network's parameters are copied from the compiled one and the outputs are checked equal).
The ratio compiled / hand should stay <= 1.10.
(c) Compile time per tree: cold (shape probes run) and warm (probes cached), for the ring
expert tree and trees sampled from LACER's flat space.

    python benchmarks/tree_speed.py                 # small defaults, < 1 min
    python benchmarks/tree_speed.py --batches 64 256 1024 --rounds 30
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from evo_lacer.compile import compile_tree, parameter_count
from evo_lacer.compile._infer import _CACHES
from evo_lacer.flat import FlatSpace
from evo_lacer.tree import Node, branch, encoder, fusion, load_tree, module, residual

ROOT = Path(__file__).resolve().parents[1]
SPACE = spaces.Dict({
    "ego": spaces.Box(-3, 3, (3,), np.float32),
    "history": spaces.Box(-3, 3, (16, 3), np.float32),
    "bev": spaces.Box(0, 255, (40, 40, 3), np.uint8),
    "instruction": spaces.Box(0, 39, (8,), np.int64),
})


def bench_tree() -> Node:
    """The tree timed against its hand-written twin (`HandNet`)."""
    return encoder([
        branch("ego", module("MLPBlock", width=64, ratio=2, depth=2, activation="gelu"),
               residual(module("MLPBlock", width=64))),
        branch("history", module("GRUEncoder", hidden=32), module("LastStep")),
        branch("bev", module("ConvStack", channels=16, kernel=3, stride=2, depth=2), module("GlobalAvgPool")),
        branch("instruction", module("EmbedMeanPool", dim=16)),
    ], fusion("ConcatMLP", width=128, depth=1))


class HandNet(nn.Module):
    """`bench_tree()` written by hand: the same layers, created in the same order."""

    def __init__(self) -> None:
        super().__init__()
        self.bev = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(),
                                 nn.Conv2d(16, 16, 3, stride=2, padding=1), nn.ReLU())
        self.ego = nn.Sequential(nn.Linear(3, 128), nn.GELU(), nn.Linear(128, 128), nn.GELU(),
                                 nn.Linear(128, 64))
        self.ego_res = nn.Sequential(nn.Linear(64, 64), nn.ReLU())
        self.gru = nn.GRU(3, 32, batch_first=True)
        self.embed = nn.Embedding(40, 16, padding_idx=0)
        self.fuse = nn.Sequential(nn.Linear(16 + 64 + 32 + 16, 128), nn.ReLU())

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        bev = obs["bev"].permute(0, 3, 1, 2).to(torch.float32, memory_format=torch.contiguous_format) / 255.0
        b = self.bev(bev).mean(dim=(2, 3))
        e = self.ego(obs["ego"])
        e = e + self.ego_res(e)
        h = self.gru(obs["history"])[0][:, -1]
        ids = obs["instruction"]
        keep = (ids != 0).unsqueeze(-1).float()
        keep = torch.where(keep.sum(dim=1, keepdim=True) > 0, keep, torch.ones_like(keep))
        t = (self.embed(ids) * keep).sum(dim=1) / keep.sum(dim=1)
        return self.fuse(torch.cat([b, e, h, t], dim=-1))


def _batch(n: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
    SPACE.seed(int(rng.integers(1 << 31)))
    return {k: torch.as_tensor(np.stack([SPACE[k].sample() for _ in range(n)])) for k in SPACE.spaces}


def _time(fn: object, obs: dict[str, torch.Tensor], calls: int, backward: bool) -> float:
    """CPU seconds per call (process time: with one torch thread, time other processes take
    on a shared machine is not counted)."""
    start = time.process_time()
    for _ in range(calls):
        if backward:
            fn(obs).sum().backward()  # type: ignore[operator]
        else:
            with torch.no_grad():
                fn(obs)  # type: ignore[operator]
    return (time.process_time() - start) / calls


def forward_table(batches: list[int], rounds: int, budget_ms: float) -> list[dict[str, float]]:
    torch.manual_seed(0)
    compiled = compile_tree(bench_tree(), SPACE)
    hand = HandNet()
    mine, theirs = list(compiled.parameters()), list(hand.parameters())
    assert [p.shape for p in mine] == [p.shape for p in theirs], "hand net does not mirror the tree"
    with torch.no_grad():
        for a, b in zip(mine, theirs):
            b.copy_(a)
    rng = np.random.default_rng(0)
    rows = []
    for n in batches:
        obs = _batch(n, rng)
        with torch.no_grad():
            assert torch.allclose(compiled(obs), hand(obs), atol=1e-5), "outputs differ"
        for backward in (False, True):
            t_hand: list[float] = []
            t_comp: list[float] = []
            t_again: list[float] = []  # the hand net timed a second time: the noise floor
            once = _time(hand, obs, 1, backward) + _time(compiled, obs, 1, backward)  # warm up
            calls = max(1, int(budget_ms / 1e3 / max(once / 2, 1e-6)))
            slots = [(hand, t_hand), (compiled, t_comp), (hand, t_again)]
            for i in range(rounds):  # interleaved rounds, rotating who goes first
                for net, out in slots[i % 3:] + slots[: i % 3]:
                    out.append(_time(net, obs, calls, backward))
            # paired ratios (the two runs of a round are adjacent in time, so load drifts cancel)
            ratio = statistics.median(c / h for c, h in zip(t_comp, t_hand))
            noise = statistics.median(a / h for a, h in zip(t_again, t_hand))
            rows.append({"batch": n, "backward": backward, "hand_ms": statistics.median(t_hand) * 1e3,
                         "compiled_ms": statistics.median(t_comp) * 1e3, "ratio": ratio, "noise": noise,
                         "calls": calls})
    return rows


def compile_table(n_flat: int) -> list[dict[str, object]]:
    expert = load_tree(ROOT / "trees" / "ring_lacer_expert.json")
    trees = [("bench_tree", bench_tree()), ("ring_lacer_expert", expert)]
    flat = FlatSpace.load().for_sources(SPACE)
    rng = np.random.default_rng(1)
    trees += [(f"flat_sample_{i}", flat.to_tree(flat.sample(rng))) for i in range(n_flat)]
    rows: list[dict[str, object]] = []
    compile_tree(trees[0][1], SPACE)  # imports and the built-in catalog, once
    for name, tree in trees:
        _CACHES.clear()
        start = time.perf_counter()
        enc = compile_tree(tree, SPACE)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        compile_tree(tree, SPACE)
        warm = time.perf_counter() - start
        rows.append({"tree": name, "params": parameter_count(enc), "cold_ms": cold * 1e3,
                     "warm_ms": warm * 1e3})
    return rows


def plot(fwd: list[dict[str, float]], comp: list[dict[str, object]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    labels = [f"B={r['batch']}{' +bwd' if r['backward'] else ''}" for r in fwd]
    x = np.arange(len(fwd))
    ax1.bar(x - 0.2, [r["hand_ms"] for r in fwd], 0.4, label="hand-written")
    ax1.bar(x + 0.2, [r["compiled_ms"] for r in fwd], 0.4, label="compiled tree")
    for i, r in enumerate(fwd):
        ax1.text(i, max(r["hand_ms"], r["compiled_ms"]) * 1.02, f"x{r['ratio']:.3f}", ha="center", fontsize=8)
    ax1.set_xticks(x, labels, fontsize=8)
    ax1.set_ylabel("ms per call")
    ax1.set_title("forward time (ratio compiled / hand)")
    ax1.legend()
    names = [str(r["tree"]) for r in comp]
    y = np.arange(len(comp))
    ax2.barh(y - 0.2, [float(r["cold_ms"]) for r in comp], 0.4, label="cold (probes run)")  # type: ignore[arg-type]
    ax2.barh(y + 0.2, [float(r["warm_ms"]) for r in comp], 0.4, label="warm (probes cached)")  # type: ignore[arg-type]
    ax2.set_yticks(y, names, fontsize=8)
    ax2.set_xlabel("ms per compile")
    ax2.set_title("compile time per tree")
    ax2.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 256], help="batch sizes to time")
    parser.add_argument("--rounds", type=int, default=25, help="interleaved timing rounds per setting")
    parser.add_argument("--round-ms", type=float, default=25.0, help="time budget of one round (sets calls)")
    parser.add_argument("--flat-trees", type=int, default=4, help="flat-space samples to time compiling")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 = stable timings)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "tree_speed.png")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    fwd = forward_table(args.batches, args.rounds, args.round_ms)
    print(f"(b) forward: compiled tree vs hand-written PyTorch; CPU ms per call, medians of "
          f"{args.rounds} interleaved rounds; ratio = median paired ratio; {args.threads} thread; "
          "hand/hand = the noise floor")
    print(f"{'batch':>6} {'pass':>8} {'hand ms':>9} {'compiled ms':>12} {'ratio':>7} {'hand/hand':>10}")
    for r in fwd:
        print(f"{r['batch']:>6} {'fwd+bwd' if r['backward'] else 'fwd':>8} {r['hand_ms']:>9.3f} "
              f"{r['compiled_ms']:>12.3f} {r['ratio']:>7.3f} {r['noise']:>10.3f}")
    comp = compile_table(args.flat_trees)
    print("\n(c) compile time per tree")
    print(f"{'tree':<20} {'params':>9} {'cold ms':>9} {'warm ms':>9}")
    for c in comp:
        print(f"{c['tree']!s:<20} {c['params']:>9,d} {c['cold_ms']:>9.1f} {c['warm_ms']:>9.1f}")
    plot(fwd, comp, args.out)
    print(f"\nplot: {args.out}")
    worst = max(r["ratio"] for r in fwd)
    print(f"worst ratio {worst:.3f} (target <= 1.10): {'ok' if worst <= 1.10 else 'ABOVE TARGET'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
