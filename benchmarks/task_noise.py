"""Can a benchmark task rank search strategies? Its seed-to-seed noise against the spread between
encoders.

    python benchmarks/task_noise.py --task ring                               # hybrid_budgets' ring task
    python benchmarks/task_noise.py --task ring --dataset-steps 2400 --grad-steps 200
    python benchmarks/task_noise.py --task multisource --n 8 --seeds 3

`--n` encoders (a Latin-hypercube sample of the task's flat space, ``--sample-seed``) are each
scored on `--seeds` evaluation seeds (`reeval.HELD_OUT_SEED` + 0..k-1, as the held-out
re-evaluation uses). It prints the within-encoder SD (the noise of one measurement), the SD of the
encoders' means (the signal), ICC(1) -- the share of a single score's variance that is the
encoder's, with a bootstrap 90% interval over encoders -- and the seconds per evaluation. With an
ICC well under 0.5 the best score a search finds mostly measures luck (the winner's curse), and a
comparison of strategies on that task needs the held-out re-evaluation, or a less noisy
setting. The ring task's settings can be overridden (`--dataset-steps`, `--grad-steps`) to find
one; every figure is printed and written to ``--out``/``noise.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def evaluator_for(task: str, overrides: dict[str, int]) -> Any:
    """`hybrid_budgets.task_evaluator`, with the ring's dataset and training sizes overridden."""
    from hybrid_budgets import task_evaluator

    if overrides and not task.startswith("ring"):
        raise SystemExit(f"--dataset-steps/--grad-steps apply to the ring tasks only, not {task!r}")
    ev = task_evaluator(task)
    for key, value in overrides.items():
        setattr(ev, key, value)
    return ev


def score(job: dict[str, Any]) -> dict[str, Any]:
    """One encoder on every seed."""
    import torch

    from evo_lacer.tree import node_from_dict

    torch.set_num_threads(1)
    ev = evaluator_for(job["task"], job["overrides"])
    tree = node_from_dict(job["tree"])
    values, seconds = [], []
    for seed in job["seeds"]:
        start = time.perf_counter()
        values.append(ev.evaluate(tree, seed).fitness)
        seconds.append(time.perf_counter() - start)
    return {"encoder": job["encoder"], "values": values, "seconds": seconds}


def icc1(scores: np.ndarray) -> float:
    """ICC(1): one-way random effects, single measurement (rows = encoders, columns = seeds)."""
    n, k = scores.shape
    grand = scores.mean()
    msb = k * ((scores.mean(axis=1) - grand) ** 2).sum() / (n - 1)
    msw = ((scores - scores.mean(axis=1, keepdims=True)) ** 2).sum() / (n * (k - 1))
    return float((msb - msw) / (msb + (k - 1) * msw)) if msb + (k - 1) * msw > 0 else float("nan")


def summarize(values: list[list[float | None]], seconds: list[float], rng: np.random.Generator
              ) -> dict[str, Any]:
    """Noise, signal, ICC(1) [bootstrap 90% over encoders] of the encoders whose every score is there."""
    rows = np.array([v for v in values if all(x is not None for x in v)], dtype=float)
    if len(rows) < 3 or rows.shape[1] < 2:
        raise SystemExit(f"{len(rows)} encoders with every score: need 3 or more, each with 2 or more seeds")
    boot = [icc1(rows[rng.integers(0, len(rows), len(rows))]) for _ in range(2000)]
    return {"encoders": len(rows), "seeds": int(rows.shape[1]),
            "noise_sd": float(np.median(rows.std(axis=1, ddof=1))),
            "signal_sd": float(rows.mean(axis=1).std(ddof=1)), "icc": icc1(rows),
            "icc_90": [float(np.nanpercentile(boot, 5)), float(np.nanpercentile(boot, 95))],
            "s_per_eval": float(np.median(seconds))}


def main(argv: list[str] | None = None) -> int:
    from reeval import HELD_OUT_SEED

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", default="ring", choices=["ring", "ring-large", "multisource", "devtask"])
    p.add_argument("--n", type=int, default=8, help="encoders")
    p.add_argument("--seeds", type=int, default=3, help="evaluation seeds per encoder")
    p.add_argument("--sample-seed", type=int, default=0)
    p.add_argument("--dataset-steps", type=int, default=None, help="ring: expert transitions")
    p.add_argument("--grad-steps", type=int, default=None, help="ring: behaviour-cloning Adam steps")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--out", default=str(HERE / "out" / "task_noise"))
    args = p.parse_args(argv)
    from hybrid_budgets import make_task

    from evo_lacer.flat import FlatSpace
    from evo_lacer.tree import node_to_dict

    overrides = {k: v for k, v in (("dataset_steps", args.dataset_steps), ("grad_steps", args.grad_steps))
                 if v is not None}
    made = make_task(args.task)
    space_of = made["evaluator"].observation_space if "evaluator" in made else made["observation_space"]
    space = FlatSpace.load().for_sources(space_of)
    configs = space.latin_sample(args.n, args.sample_seed)
    seeds = [HELD_OUT_SEED + j for j in range(args.seeds)]
    jobs = [{"task": args.task, "overrides": overrides, "encoder": i, "seeds": seeds,
             "tree": node_to_dict(space.to_tree(c))} for i, c in enumerate(configs)]
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = sorted(pool.map(score, jobs), key=lambda r: r["encoder"])
    summary = {"task": args.task, **overrides, "n": args.n, "sample_seed": args.sample_seed,
               **summarize([r["values"] for r in results], [s for r in results for s in r["seconds"]],
                           np.random.default_rng(0))}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "noise.jsonl").open("a") as sink:
        sink.write(json.dumps({**summary, "scores": [r["values"] for r in results]}) + "\n")
    print(f"{args.task} {overrides or '(defaults)'}: {summary['encoders']} encoders x "
          f"{summary['seeds']} seeds; "
          f"noise SD {summary['noise_sd']:.3f}, signal SD {summary['signal_sd']:.3f}, ICC(1) "
          f"{summary['icc']:.2f} [{summary['icc_90'][0]:.2f}, {summary['icc_90'][1]:.2f}], "
          f"{summary['s_per_eval']:.1f} s per evaluation")
    return 0


if __name__ == "__main__":
    sys.exit(main())
