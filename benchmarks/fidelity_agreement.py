"""Does a cheap fidelity rank encoders the way PPO does? Rank agreement on N encoders.

    python benchmarks/fidelity_agreement.py                       # N=40, 4096 PPO steps, PPO seeds 0 1 2
    python benchmarks/fidelity_agreement.py --smoke               # tiny: 4 encoders, 128 steps (tests)
    python benchmarks/fidelity_agreement.py --report-only         # tables and plot from what is stored
    python benchmarks/fidelity_agreement.py --env MiniGrid-Empty-5x5-v0 --fidelities ppo-short \
        --n 16 --ppo-seeds 0 1 --eval-episodes 5 --out benchmarks/out/fidelity_minigrid   # another task

Encoders: a Latin-hypercube sample of the flat per-source space (``FlatSpace.latin_sample``;
designs the search's gate would reject -- forward slower than ``--max-latency-ms`` -- are
replaced by random draws), on the ring the expert tree ``trees/ring_lacer_expert.json``, and SB3's
``CombinedExtractor`` (the evaluators' ``baseline``). The list is kept in ``encoders.json``.
``--env`` takes any env ``evo-lacer compare --env`` takes (a MiniGrid / BabyAI level searches
LACER's MiniGrid space); the imitation fidelities need a scripted expert (the ring's, BabyAI's
bot), so on a level without one only ``--fidelities ppo-short`` applies.

Every score comes from the evaluators ``evo-lacer compare`` builds (``task_evaluator`` of a
``CompareConfig``: ``--fidelity full --backend numpy`` for PPO, ``--fidelity cheap`` for
behaviour cloning); nothing is re-implemented here. The reference is PPO at the full fidelity,
the mean held-out reward over ``--ppo-seeds``; its ceiling is PPO against itself (one seed
against another, and one seed against the mean of the others). Candidate cheap fidelities,
all run with ``--low-seed`` (not a PPO seed, so no candidate shares PPO's randomness):

- ``imitation``: the current cheap fidelity, imitation skill (compare's ImitationEvaluator);
- ``probe-r2``: the mean held-out linear-probe R² of the cloned encoder's features (same run);
- ``bc-return``: the return of the cloned policy on 3 held-out episodes (compare's
  ImitationEvaluator with ``rollout_episodes=3``);
- ``imitation+return``: (imitation skill + cloned return / |expert return|) / 2 (same run);
- ``ppo-short``: PPO for ``--steps / --short-fraction`` steps (default 1/8).

Per fidelity it prints Spearman's rho and Kendall's tau against full PPO with 95% bootstrap
intervals (encoders resampled), the top-k overlap (k = a quarter of the encoders, as
``fidelity="halving"`` promotes), the full-PPO rank of the fidelity's best encoder, and the cost
per candidate relative to one full PPO run (medians of measured seconds). It writes
``report.md``, ``agreement.png`` (scatter plots) and ``results.jsonl`` (one line per
evaluation; lines already there are skipped, so a killed run resumes) into ``--out``.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXPERT_TREE = ROOT / "trees" / "ring_lacer_expert.json"
BASELINE = "sb3-combined"
CANDIDATES: dict[str, str] = {
    "imitation": "imitation", "probe-r2": "imitation", "bc-return": "imitation-r3",
    "imitation+return": "imitation-r3", "ppo-short": "ppo-short",
}
"""Candidate cheap fidelity -> the evaluator run its score comes from."""


# --- settings and evaluators ------------------------------------------------------------------
def compare_config(args: argparse.Namespace) -> Any:
    """The ``CompareConfig`` of ``evo-lacer compare --fidelity full`` with these settings."""
    from evo_lacer.compare import CompareConfig

    base = CompareConfig(env=args.env, fidelity="full", backend=args.backend, smoke=args.smoke)
    if not args.smoke:
        base = dataclasses.replace(base, steps=args.steps, horizon=args.horizon, max_eval_s=args.max_eval_s,
                                   eval_episodes=args.eval_episodes, max_latency_ms=args.max_latency_ms)
    return base.resolved()


def run_id(run: str, cfg: Any, short_fraction: int) -> str:
    """The evaluator run's name with its settings (a stored line is reused only for the same)."""
    if run.startswith("ppo"):
        steps = cfg.steps if run == "ppo" else short_steps(cfg, short_fraction)
        return f"{run}:s{steps}-e{cfg.eval_episodes}-h{cfg.horizon}-{cfg.backend}"
    return f"{run}:d{cfg.dataset_steps}-g{cfg.grad_steps}-h{cfg.horizon}-{cfg.backend}"


def short_steps(cfg: Any, short_fraction: int) -> int:
    return max(8, cfg.steps // short_fraction)


_EVALUATORS: dict[str, Any] = {}


def evaluator(run: str, cfg: Any, short_fraction: int, kinds: dict[str, str] | None) -> Any:
    """compare's evaluator of ``run`` (built once per process)."""
    from evo_lacer.compare._tasks import task_evaluator

    ev: Any
    key = json.dumps([run, dataclasses.asdict(cfg), short_fraction, kinds], sort_keys=True, default=str)
    if key not in _EVALUATORS:
        if run == "ppo":
            ev = task_evaluator(cfg, kinds)
        elif run == "ppo-short":
            ev = task_evaluator(dataclasses.replace(cfg, steps=short_steps(cfg, short_fraction)), kinds)
        else:
            ev = task_evaluator(dataclasses.replace(cfg, fidelity="cheap", cheap_fidelity="imitation"), kinds)
            if run == "imitation-r3":
                ev = copy.copy(ev)
                ev.rollout_episodes = 3
        _EVALUATORS[key] = ev
    return _EVALUATORS[key]


# --- the encoders -----------------------------------------------------------------------------
def draw_encoders(cfg: Any, n: int, sample_seed: int) -> dict[str, Any]:
    """N encoders: n-2 gated Latin-sample designs (n-1 off the ring), the ring's expert tree, SB3's
    CombinedExtractor."""
    from evo_lacer.compare._tasks import (
        confirm_evaluator,
        expert_score,
        is_ring,
        small_images,
        task_evaluator,
    )
    from evo_lacer.flat import FlatSpace
    from evo_lacer.transform import LATENCY_RUNS, Gate
    from evo_lacer.tree import load_tree, node_to_dict, tree_hash
    from evo_lacer.zoo import builtin_catalog

    space_obs = task_evaluator(cfg).observation_space
    catalog = builtin_catalog()
    space = FlatSpace.load(cfg.flat_space).for_sources(space_obs)
    runs = LATENCY_RUNS if cfg.max_latency_ms else 0
    gate = Gate(space_obs, catalog, None, cfg.max_latency_ms, latency_runs=runs)
    rng = np.random.default_rng(sample_seed)
    encoders: list[dict[str, Any]] = []
    rejected: list[str] = []
    seen: set[str] = set()
    ring = is_ring(cfg.env)
    for i, config in enumerate(space.latin_sample(max(0, n - 2 if ring else n - 1), rng)):
        origin = "latin"
        for _ in range(50):
            tree = space.to_tree(config, catalog)
            h = tree_hash(tree, catalog)
            result = gate.check(None, tree)
            if result.ok and h not in seen:
                break
            rejected.append(f"{result.check}: {result.reason}"[:200])
            config, origin = space.sample(rng), "random (a Latin design was rejected)"
        seen.add(h)
        encoders.append({"name": f"flat-{i:02d}", "hash": h, "origin": origin, "config": config,
                         "tree": node_to_dict(tree)})
    if ring:
        expert = load_tree(EXPERT_TREE)
        encoders.append({"name": "expert-tree", "hash": tree_hash(expert, catalog),
                         "origin": str(EXPERT_TREE.name), "tree": node_to_dict(expert)})
    encoders.append({"name": BASELINE, "hash": BASELINE, "origin": "SB3 default extractor",
                     "tree": None, "kinds": small_images(space_obs) or None})
    ref = dataclasses.replace(cfg, eval_episodes=3)
    return {"encoders": encoders, "rejected": rejected,
            "expert_return_3": expert_score(confirm_evaluator(ref)),
            "expert_return": expert_score(confirm_evaluator(cfg))}


# --- one evaluation ---------------------------------------------------------------------------
def run_job(job: dict[str, Any]) -> dict[str, Any]:
    """Evaluate one encoder with one evaluator run and seed; the stored line."""
    import torch

    from evo_lacer.tree import node_from_dict

    torch.set_num_threads(1)
    cfg = job["cfg"]
    ev = evaluator(job["run"], cfg, job["short_fraction"], job["encoder"].get("kinds"))
    start, cpu = time.perf_counter(), time.process_time()
    tree = job["encoder"]["tree"]
    fb = ev.baseline(job["seed"]) if tree is None else ev.evaluate(node_from_dict(tree), job["seed"])
    probes = [v for k, v in fb.features.items() if k.startswith("probe_r2/")]
    return {"key": job["key"], "run": job["run"], "run_id": job["run_id"], "encoder": job["encoder"]["name"],
            "hash": job["encoder"]["hash"], "seed": job["seed"], "status": fb.status.value,
            "fitness": fb.fitness, "reward": fb.metrics.get("reward"),
            "skill": fb.metrics.get("imitation_skill"),
            "probe_r2": float(np.mean(probes)) if probes else None, "seconds": fb.cost.seconds,
            "env_steps": fb.cost.env_steps, "wall_s": time.perf_counter() - start,
            "cpu_s": time.process_time() - cpu, "error": fb.error[:300]}


def load(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# --- statistics -------------------------------------------------------------------------------
def rank_stats(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, n_boot: int) -> dict[str, Any]:
    """Spearman rho and Kendall tau with 95% percentile-bootstrap intervals (pairs resampled)."""
    from scipy.stats import kendalltau, spearmanr

    def both(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
        if np.ptp(a) == 0 or np.ptp(b) == 0:
            return math.nan, math.nan
        return float(spearmanr(a, b)[0]), float(kendalltau(a, b)[0])

    rho, tau = both(x, y)
    draws = np.array([both(x[i], y[i]) for i in rng.integers(0, len(x), size=(n_boot, len(x)))])
    ci = [np.nanpercentile(draws[:, j], [2.5, 97.5]).tolist() for j in (0, 1)]
    return {"rho": rho, "rho_ci": ci[0], "tau": tau, "tau_ci": ci[1], "n": len(x)}


def top_k(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Of the k best by ``x`` (k = ceil(n/4), as halving promotes), how many are among the k best
    by ``y``; and the rank by ``y`` (1 = best) of the best by ``x``."""
    k = max(1, math.ceil(0.25 * len(x)))
    ox, oy = np.argsort(-x, kind="stable"), np.argsort(-y, kind="stable")
    hits = len(set(ox[:k].tolist()) & set(oy[:k].tolist()))
    return {"k": k, "hits": hits, "best_rank": int(np.where(oy == ox[0])[0][0]) + 1}


def candidate_scores(name: str, rows: dict[str, dict[str, Any]], expert_return: float | None
                     ) -> dict[str, float]:
    """Encoder hash -> the candidate fidelity's score (from the stored OK lines of its run)."""
    out: dict[str, float] = {}
    for h, r in rows.items():
        if name in ("imitation", "ppo-short"):
            v = r["fitness"]
        elif name == "probe-r2":
            v = r["probe_r2"]
        elif name == "bc-return":
            v = r["reward"]
        else:
            v = None if r["skill"] is None or r["reward"] is None or expert_return is None else \
                0.5 * (r["skill"] + r["reward"] / max(abs(expert_return), 1e-9))
        if v is not None and math.isfinite(v):
            out[h] = float(v)
    return out


def fmt(s: dict[str, Any], key: str) -> str:
    lo, hi = s[f"{key}_ci"]
    return f"{s[key]:+.2f} [{lo:+.2f}, {hi:+.2f}]"


# --- the report -------------------------------------------------------------------------------
def icc1(m: np.ndarray) -> float:
    """ICC(1) of an encoders x seeds matrix (one-way ANOVA): the share of the reward's variance that
    lies between encoders rather than between seeds of one encoder (0: the seed decides everything;
    negative estimates mean 0). Averaging k seeds gives k * icc / (1 + (k - 1) * icc)."""
    n, k = m.shape
    msb = k * ((m.mean(1) - m.mean()) ** 2).sum() / (n - 1)
    msw = ((m - m.mean(1, keepdims=True)) ** 2).sum() / (n * (k - 1))
    return float((msb - msw) / (msb + (k - 1) * msw)) if msb + (k - 1) * msw > 0 else math.nan


def report(out: Path, args: argparse.Namespace, cfg: Any, meta: dict[str, Any]) -> str:
    rows = list({r["key"]: r for r in load(out / "results.jsonl")}.values())  # a rerun replaces a line
    ids = {run: run_id(run, cfg, args.short_fraction)
           for run in ("ppo", "ppo-short", "imitation", "imitation-r3")}
    names = {e["hash"]: e["name"] for e in meta["encoders"]}
    by: dict[tuple[str, int], dict[str, dict[str, Any]]] = {}
    failed = []
    for r in rows:
        if r["hash"] not in names or r["run_id"] not in ids.values():
            continue
        if r["status"] != "ok":
            failed.append(f"{r['encoder']} {r['run_id']} seed {r['seed']}: {r['status']} {r['error'][:120]}")
            continue
        by.setdefault((r["run_id"], r["seed"]), {})[r["hash"]] = r
    tried = {(r["hash"], r["seed"]) for r in rows if r["run_id"] == ids["ppo"]}
    seeds = [s for s in args.ppo_seeds if all((h, s) in tried for h in names)]  # finished seeds only
    partial = [s for s in args.ppo_seeds if s not in seeds and any(t[1] == s for t in tried)]
    ppo = {s: {h: float(r["fitness"]) for h, r in by[(ids["ppo"], s)].items()} for s in seeds}
    common = set.intersection(*(set(v) for v in ppo.values())) if ppo else set()
    order = sorted(common)
    ref = {h: float(np.mean([ppo[s][h] for s in seeds])) for h in order}
    rng = np.random.default_rng(0)

    def cost(rid: str) -> float:
        """Median cost of one evaluation relative to full PPO with the first PPO seed (run right after
        the cheap fidelities, so under a similar load): CPU seconds where both runs have them for every
        line (robust to a loaded machine), else wall-clock seconds."""
        mine = [r for (i, _), v in by.items() if i == rid for r in v.values()]
        full = list(by.get((ids["ppo"], args.ppo_seeds[0]), {}).values())
        clock = "cpu_s" if all(r.get("cpu_s") is not None for r in mine + full) else "seconds"
        clocks.add("CPU" if clock == "cpu_s" else "wall-clock")
        if not mine or not full:
            return math.nan
        return float(np.median([r[clock] for r in mine]) / np.median([r[clock] for r in full]))

    clocks: set[str] = set()

    full_s = [r["seconds"] for r in by.get((ids["ppo"], args.ppo_seeds[0]), {}).values()]
    lines = [
        "# Fidelity agreement: does a cheap fidelity rank encoders as PPO does?", "",
        f"Run on {time.strftime('%Y-%m-%d')}: `python benchmarks/fidelity_agreement.py "
        + " ".join(sys.argv[1:]) + "`", "",
        f"Env `{cfg.env}`. Reference: PPO at the full fidelity "
        f"(`evo-lacer compare --fidelity full --backend {cfg.backend}`: "
        f"{cfg.steps} steps, {cfg.eval_episodes} held-out episodes of {cfg.horizon} steps), mean reward over "
        f"PPO seeds {seeds}{f' (unfinished, left out: {partial})' if partial else ''}; "
        f"{len(order)} encoders with every PPO seed OK, of {len(names)} drawn "
        f"({len(meta['rejected'])} Latin designs replaced after a gate rejection). One full PPO run (seed "
        f"{args.ppo_seeds[0]}): median {np.median(full_s) if full_s else math.nan:.1f} s. Cheap fidelities "
        f"use seed {args.low_seed}. "
        "Intervals: 95% bootstrap over encoders. top-k: of the k best by the fidelity, how many are among "
        "the k best by PPO (k = a quarter, as halving promotes). best@PPO: PPO rank of the fidelity's best.",
        "", "| fidelity | Spearman rho [95% CI] | Kendall tau [95% CI] | top-k overlap | best@PPO | "
        "cost / full PPO | n |", "|---|---|---|---|---|---|---|"]
    results: dict[str, Any] = {}
    x_all: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in [c for c in CANDIDATES if c in args.fidelities]:
        rid = ids[CANDIDATES[name]]
        scores = candidate_scores(name, by.get((rid, args.low_seed), {}), meta["expert_return_3"])
        hs = [h for h in order if h in scores]
        if len(hs) < 4:
            lines.append(f"| {name} | - | - | - | - | - | {len(hs)} |")
            continue
        x, y = np.array([scores[h] for h in hs]), np.array([ref[h] for h in hs])
        st, tk = rank_stats(x, y, rng, args.bootstrap), top_k(x, y)
        results[name] = {**st, **tk, "cost": cost(rid)}
        x_all[name] = (x, y)
        lines.append(f"| {name} | {fmt(st, 'rho')} | {fmt(st, 'tau')} | {tk['hits']}/{tk['k']} | "
                     f"{tk['best_rank']}/{len(hs)} | {cost(rid):.3f} | {len(hs)} |")
    for a_i, a in enumerate(seeds):  # the ceiling: PPO against itself
        for b in seeds[a_i + 1:]:
            x, y = np.array([ppo[a][h] for h in order]), np.array([ppo[b][h] for h in order])
            st, tk = rank_stats(x, y, rng, args.bootstrap), top_k(x, y)
            results[f"ppo seed {a} vs seed {b}"] = {**st, **tk, "cost": 1.0}
            lines.append(f"| PPO seed {a} vs PPO seed {b} | {fmt(st, 'rho')} | {fmt(st, 'tau')} | "
                         f"{tk['hits']}/{tk['k']} | {tk['best_rank']}/{len(order)} | 1 | {len(order)} |")
        if len(seeds) > 2:
            others = [s for s in seeds if s != a]
            x = np.array([ppo[a][h] for h in order])
            y = np.array([np.mean([ppo[s][h] for s in others]) for h in order])
            st, tk = rank_stats(x, y, rng, args.bootstrap), top_k(x, y)
            results[f"ppo seed {a} vs mean of others"] = {**st, **tk, "cost": 1.0}
            lines.append(f"| PPO seed {a} vs mean of seeds {others} | {fmt(st, 'rho')} | {fmt(st, 'tau')} | "
                         f"{tk['hits']}/{tk['k']} | {tk['best_rank']}/{len(order)} | 1 | {len(order)} |")
    for b in partial:  # a seed cut short: the ceiling and the candidates on the encoders it reached
        part = {h: float(r["fitness"]) for h, r in by.get((ids["ppo"], b), {}).items() if h in ref}
        hs = sorted(part)
        if len(hs) < 4:
            continue
        for a in seeds:
            x, y = np.array([ppo[a][h] for h in hs]), np.array([part[h] for h in hs])
            st, tk = rank_stats(x, y, rng, args.bootstrap), top_k(x, y)
            results[f"ppo seed {a} vs seed {b} (subset)"] = {**st, **tk, "cost": 1.0}
            lines.append(f"| PPO seed {a} vs PPO seed {b}, on the {len(hs)} encoders seed {b} reached | "
                         f"{fmt(st, 'rho')} | {fmt(st, 'tau')} | {tk['hits']}/{tk['k']} | "
                         f"{tk['best_rank']}/{len(hs)} | 1 | {len(hs)} |")
        mean = np.array([np.mean([part[h], *(ppo[a][h] for a in seeds)]) for h in hs])
        for name in results.copy():
            if name not in CANDIDATES:
                continue
            scores = candidate_scores(name, by.get((ids[CANDIDATES[name]], args.low_seed), {}),
                                      meta["expert_return_3"])
            sub = [i for i, h in enumerate(hs) if h in scores]
            x = np.array([scores[hs[i]] for i in sub])
            st, tk = rank_stats(x, mean[sub], rng, args.bootstrap), top_k(x, mean[sub])
            results[f"{name} (subset)"] = {**st, **tk}
            lines.append(f"| {name}, same {len(sub)} encoders, vs mean of seeds {[*seeds, b]} | "
                         f"{fmt(st, 'rho')} | {fmt(st, 'tau')} | {tk['hits']}/{tk['k']} | "
                         f"{tk['best_rank']}/{len(sub)} | - | {len(sub)} |")
    every = {s: {h: float(r["fitness"]) for h, r in by.get((ids["ppo"], s), {}).items()}
             for s in [*seeds, *partial]}  # a seed cut short counts on the encoders it reached
    both = sorted(set.intersection(*(set(v) for v in every.values()))) if every else []
    if len(every) > 1 and len(both) > 3:
        seeds_icc = list(every)
        m = np.array([[every[s][h] for s in seeds_icc] for h in both])
        boot = [icc1(m[rng.integers(0, len(both), len(both))]) for _ in range(args.bootstrap)]
        lo, hi = np.nanpercentile(boot, [2.5, 97.5])
        share = icc1(m)
        results["icc1"] = {"value": share, "lo": float(lo), "hi": float(hi), "seeds": seeds_icc,
                           "encoders": len(both)}
        lines += ["", f"Encoders' share of PPO reward variance, ICC(1) over seeds {seeds_icc} on the "
                  f"{len(both)} encoders they all reached: {share:+.2f} "
                  f"[95% CI {lo:+.2f}, {hi:+.2f}] (1: the encoder decides the reward; 0 or below: the seed "
                  "does). Averaging k PPO seeds per encoder would give a reliability of k*ICC/(1+(k-1)*ICC)."]
    lines += ["", f"cost / full PPO: ratio of median {' and '.join(sorted(clocks)) or '-'} seconds per "
              "evaluation."]
    if meta["expert_return"] is not None:
        lines += ["", f"Expert controller's own return: {meta['expert_return']:.2f} ({cfg.eval_episodes} "
                  f"episodes), {meta['expert_return_3']:.2f} (3 episodes, the bc-return scale)."]
    if order:
        best = sorted(order, key=lambda h: -ref[h])
        lines += ["", "PPO mean reward per encoder (best first): " + ", ".join(
            f"{names[h]} {ref[h]:.1f}" for h in best)]
    if failed:
        lines += ["", f"{len(failed)} evaluations not OK (left out):", *[f"- {f}" for f in failed]]
    text = "\n".join(lines)
    (out / "report.md").write_text(text + "\n")
    (out / "agreement.json").write_text(json.dumps(results, indent=1) + "\n")
    if x_all or len(seeds) > 1:
        plot(out, x_all, ppo, seeds, order, names)
    return text


def plot(out: Path, panels: dict[str, tuple[np.ndarray, np.ndarray]], ppo: dict[int, dict[str, float]],
         seeds: list[int], order: list[str], names: dict[str, str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = list(panels.items())
    if len(seeds) > 1:
        a, b = seeds[0], seeds[1]
        items.append((f"PPO seed {a} (x) vs seed {b}",
                      (np.array([ppo[a][h] for h in order]), np.array([ppo[b][h] for h in order]))))
    cols = min(3, len(items))
    rows = math.ceil(len(items) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.6 * rows), squeeze=False)
    for ax, (name, (x, y)) in zip(axes.flat, items, strict=False):
        ax.scatter(x, y, s=14)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("score at this fidelity", fontsize=8)
        ax.set_ylabel("PPO reward (mean over seeds)" if "PPO seed" not in name else "PPO reward", fontsize=8)
    for ax in list(axes.flat)[len(items):]:
        ax.axis("off")
    fig.suptitle(f"cheap fidelities against full PPO, {len(order)} encoders", fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "agreement.png", dpi=110)
    plt.close(fig)


# --- main -------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", default="evo_lacer/RingTraffic-v0", help="an env `evo-lacer compare --env` takes")
    p.add_argument("--n", type=int, default=40, help="encoders: n-2 flat-space designs + expert tree + SB3")
    p.add_argument("--steps", type=int, default=4096, help="PPO steps at the full fidelity")
    p.add_argument("--ppo-seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--low-seed", type=int, default=100, help="seed of every cheap fidelity's evaluation")
    p.add_argument("--short-fraction", type=int, default=8, help="ppo-short trains for steps / this")
    p.add_argument("--fidelities", nargs="+", default=list(CANDIDATES), choices=list(CANDIDATES))
    p.add_argument("--eval-episodes", type=int, default=2, help="held-out PPO episodes (compare's default)")
    p.add_argument("--horizon", type=int, default=100, help="control steps per ring episode")
    p.add_argument("--backend", default="numpy", choices=["numpy", "sumo"])
    p.add_argument("--max-latency-ms", type=float, default=10.0, help="the search's gate bound (compare's)")
    p.add_argument("--max-eval-s", type=float, default=None,
                   help="wall-clock limit of one evaluation (compare's default: 60 s cheap, 300 s PPO); "
                        "raise it on a loaded machine: timed-out lines are run again on resume")
    p.add_argument("--sample-seed", type=int, default=0)
    p.add_argument("--bootstrap", type=int, default=2000)
    p.add_argument("--jobs", type=int, default=1, help="evaluations side by side (processes)")
    p.add_argument("--out", default=str(HERE / "out" / "fidelity_agreement"))
    p.add_argument("--smoke", action="store_true", help="4 encoders, compare's smoke settings (128 steps)")
    p.add_argument("--report-only", action="store_true")
    args = p.parse_args(argv)
    if args.smoke:
        args.n, args.ppo_seeds, args.bootstrap = 4, args.ppo_seeds[:2], 200
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    cfg = compare_config(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    settings = {"n": args.n, "sample_seed": args.sample_seed, "cfg": run_id("ppo", cfg, 1),
                **({} if args.env == "evo_lacer/RingTraffic-v0" else {"env": args.env}),
                "max_latency_ms": cfg.max_latency_ms}
    meta_path = out / "encoders.json"
    meta = json.loads(meta_path.read_text()) if meta_path.is_file() else None
    if meta is None or meta.get("settings") != settings:
        if args.report_only:
            raise SystemExit(f"{meta_path}: no encoders drawn with these settings; run without --report-only")
        meta = {"settings": settings, **draw_encoders(cfg, args.n, args.sample_seed)}
        meta_path.write_text(json.dumps(meta, indent=1, default=str) + "\n")
    if not args.report_only:
        stored = load(out / "results.jsonl")
        done = {r["key"] for r in stored if r["status"] != "timed_out"}  # a time-out depends on the load
        known = {r["hash"]: r["seconds"] for r in stored if r["run"] == "ppo" and r["status"] == "ok"}
        runs = [CANDIDATES[c] for c in CANDIDATES if c in args.fidelities]
        plan = [(run, args.low_seed) for run in dict.fromkeys(runs)] + [("ppo", s) for s in args.ppo_seeds]
        jobs = []
        for run, seed in plan:  # stage by stage: a cut-short measurement still has whole columns
            rid = run_id(run, cfg, args.short_fraction)
            # encoders whose PPO run is known to be cheap first: a run cut short keeps the most pairs
            for enc in sorted(meta["encoders"], key=lambda e: known.get(e["hash"], 0.0)):
                key = f"{rid}|{enc['hash']}|{seed}"
                if key not in done:
                    jobs.append({"key": key, "run": run, "run_id": rid, "seed": seed, "encoder": enc,
                                 "cfg": cfg, "short_fraction": args.short_fraction})
        print(f"{len(jobs)} evaluations to run ({args.jobs} at a time)", flush=True)
        start = time.perf_counter()
        with (out / "results.jsonl").open("a") as sink, ProcessPoolExecutor(max(1, args.jobs)) as pool:
            results = map(run_job, jobs) if args.jobs <= 1 else pool.map(run_job, jobs)
            for i, row in enumerate(results, 1):
                sink.write(json.dumps(row) + "\n")
                sink.flush()
                print(f"[{i}/{len(jobs)} {time.perf_counter() - start:.0f} s] {row['run_id']} "
                      f"{row['encoder']} seed {row['seed']}: {row['status']} fitness {row['fitness']} "
                      f"({row['seconds']:.1f} s)", flush=True)
    print(report(out, args, cfg, meta))
    return 0


if __name__ == "__main__":
    sys.exit(main())
