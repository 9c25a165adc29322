"""Pool the encoders of several `fidelity_agreement.py` runs of one task and setting, and print each
cheap fidelity's Spearman rho against the reference (the mean over every PPO seed a run finished)
with a bootstrap 95% interval over encoders. An encoder drawn in more than one run (SB3's
CombinedExtractor) counts once, from the first run named.

    python benchmarks/fidelity_pool.py benchmarks/out/fidelity_babyai_16k \
        benchmarks/out/fidelity_babyai_16k_s1
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr


def read(folder: Path) -> tuple[dict[str, float], dict[str, dict[str, float]], dict[int, dict[str, float]]]:
    """(reference per encoder hash, {cheap fidelity: score per hash}, {PPO seed: reward per hash}) of
    one run folder: the runs' fitness, and bc-return (the cloned policy's return over 3 episodes)
    from imitation-r3."""
    ppo: dict[int, dict[str, float]] = defaultdict(dict)
    cheap: dict[str, dict[str, float]] = defaultdict(dict)
    for line in (folder / "results.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
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


def rho_ci(x: np.ndarray, y: np.ndarray, rng: np.random.Generator,
           n: int = 2000) -> tuple[float, float, float]:
    rho = float(spearmanr(x, y).statistic)
    boot = []
    for _ in range(n):
        i = rng.integers(0, len(x), len(x))
        if np.ptp(x[i]) > 0 and np.ptp(y[i]) > 0:
            boot.append(float(spearmanr(x[i], y[i]).statistic))
    low, high = np.nanpercentile(boot, [2.5, 97.5])
    return rho, float(low), float(high)


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
        if len(seeds) >= 4:  # the full fidelity against itself: the mean of k seeds vs the next k
            k = len(seeds) // 2
            hashes = sorted(r)
            means = [np.array([np.mean([ppo[s][h] for s in part]) for h in hashes])
                     for part in (seeds[:k], seeds[k:2 * k])]
            halves.append((folder, seeds[:k], seeds[k:2 * k], len(hashes), *means))
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
    for folder, first, second, n, a, b in halves:
        rho, low, high = rho_ci(a, b, rng)
        print(f"\n{folder}: mean of PPO seeds {first} vs mean of {second}, {n} encoders: Spearman rho "
              f"{rho:+.2f} [{low:+.2f}, {high:+.2f}]")


if __name__ == "__main__":
    main()
