"""Pool the encoders of several `fidelity_agreement.py` runs of one task and setting, and print each
cheap fidelity's Spearman rho against the reference (the mean over every PPO seed a run finished)
with a bootstrap 95% interval over encoders; then, per run, the full fidelity's agreement with
itself: the mean of k PPO seeds against the mean of the next k, for every k the run allows. An
encoder drawn in more than one run (SB3's CombinedExtractor) counts once, from the first run named.

    python benchmarks/fidelity_pool.py benchmarks/out/fidelity_babyai_16k \
        benchmarks/out/fidelity_babyai_16k_s1
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np
from fidelity_agreement import load, rank_stats
from scipy.stats import spearmanr

SPLITS = 500
"""Random splits of a run's PPO seeds per k in the self-agreement table."""


def read(folder: Path) -> tuple[dict[str, float], dict[str, dict[str, float]], dict[int, dict[str, float]]]:
    """(reference per encoder hash, {cheap fidelity: score per hash}, {PPO seed: reward per hash}) of
    one run folder: the runs' fitness, and bc-return (the cloned policy's return over 3 episodes)
    from imitation-r3."""
    ppo: dict[int, dict[str, float]] = defaultdict(dict)
    cheap: dict[str, dict[str, float]] = defaultdict(dict)
    for r in {r["key"]: r for r in load(folder / "results.jsonl")}.values():  # a rerun replaces a line
        if r["status"] != "ok":
            continue
        if r["run"] == "ppo":
            ppo[int(r["seed"])][r["hash"]] = float(r["fitness"])
        elif r["run"] == "imitation-r3":  # its skill repeats imitation's; its cloned policy's return
            cheap["bc-return (" + r["run_id"] + ")"][r["hash"]] = float(r["reward"])
        else:
            cheap[r["run_id"]][r["hash"]] = float(r["fitness"])
    common = set.intersection(*(set(v) for v in ppo.values()))
    return {h: float(np.mean([ppo[s][h] for s in ppo])) for h in common}, dict(cheap), dict(ppo)


def rho_ci(x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> tuple[float, float, float]:
    """Spearman rho and its 95% bootstrap interval over encoders (`fidelity_agreement.rank_stats`)."""
    stats = rank_stats(x, y, rng, n_boot=2000)
    return stats["rho"], *stats["rho_ci"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folders", nargs="+", type=Path)
    args = p.parse_args()
    ref: dict[str, float] = {}
    scores: dict[str, dict[str, float]] = defaultdict(dict)
    halves = []
    for folder in args.folders:
        r, cheap, ppo = read(folder)
        seeds = sorted(ppo)
        hashes = sorted(r)
        table = np.array([[ppo[s][h] for h in hashes] for s in seeds])  # seeds x encoders
        for k in range(1, len(seeds) // 2 + 1):  # the full fidelity against itself: k seeds vs k others
            halves.append((folder, k, len(seeds), table))
        fresh = {h: v for h, v in r.items() if h not in ref}
        ref.update(fresh)
        for rid, values in cheap.items():
            scores[rid].update({h: v for h, v in values.items() if h in fresh})
    rng = np.random.default_rng(0)
    print(f"{len(ref)} encoders pooled from {', '.join(str(f) for f in args.folders)}")
    print("| fidelity | n | Spearman rho vs the PPO mean [95% CI] |")
    print("|---|---|---|")
    for rid in sorted(scores):
        hashes = sorted(set(scores[rid]) & set(ref))
        x = np.array([scores[rid][h] for h in hashes])
        y = np.array([ref[h] for h in hashes])
        rho, low, high = rho_ci(x, y, rng)
        print(f"| {rid} | {len(hashes)} | {rho:+.2f} [{low:+.2f}, {high:+.2f}] |")
    if halves:
        print(f"\nThe full fidelity against itself: Spearman rho between the means of two disjoint sets of k "
              f"PPO seeds, over {SPLITS} random splits of the run's seeds (mean, 5-95% of the splits, share "
              "of splits at 0.7 or more), and for the first split a 95% interval over encoders")
        print("| run | k | of seeds | encoders | mean rho over splits [5%, 95%] | splits >= 0.7 | "
              "first split [95% CI] |")
        print("|---|---|---|---|---|---|---|")
    for folder, k, n_seeds, table in halves:
        rhos = []
        for _ in range(SPLITS):
            order = rng.permutation(n_seeds)
            a, b = table[order[:k]].mean(0), table[order[k:2 * k]].mean(0)
            rhos.append(float(spearmanr(a, b).statistic))
        low5, high95 = np.nanpercentile(rhos, [5, 95])
        rho, low, high = rho_ci(table[:k].mean(0), table[k:2 * k].mean(0), rng)
        print(f"| {folder.name} | {k} | {n_seeds} | {table.shape[1]} | {np.nanmean(rhos):+.2f} "
              f"[{low5:+.2f}, {high95:+.2f}] | {np.mean(np.array(rhos) >= 0.7):.0%} | "
              f"{rho:+.2f} [{low:+.2f}, {high:+.2f}] |")


if __name__ == "__main__":
    main()
