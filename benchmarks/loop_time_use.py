"""Where a search's wall time goes with an LLM and several workers: the generational loop against
the steady loop, the same search otherwise (issue #12's "LLM share before/after").

Each row runs the hybrid on the ring's cheap fidelity (behaviour cloning of the expert, NumPy ring)
with the embedded model (SmolLM2-135M unless ``--llm`` names another) and ``--workers`` process
workers, then reads the run's ``state/summary.json`` -- the figures ``evo-lacer report`` prints in
its "Time use" section:

- ``wall s``: the loop's wall time; ``eval s``: the evaluations' own seconds, summed;
- ``idle worker-s``: workers x wall - eval s, the seconds a worker had nothing to evaluate;
- ``LLM s`` / ``LLM share``: the seconds spent in LLM calls, and their share of the wall time.

In the generational loop the workers wait while the model designs a generation; in the steady
loop the model's calls run while the workers evaluate, so the LLM's seconds need not add to the
wall. Both loops share the machine's cores with the model (llama.cpp gets ``--llm-threads``).

    python benchmarks/loop_time_use.py [--budget 16] [--workers 2] [--seed 0] [--llm embedded] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

RING = "evo_lacer/RingTraffic-v0"


def run(loop: str, args: argparse.Namespace, backend: Any, out: Path) -> dict[str, Any]:
    """One search (skipped when its folder already holds a finished one), then its figures. The
    folder is named by every setting, so a finished run is read back only for the same settings."""
    from evo_lacer.api import search

    model = Path(args.llm.split(":", 1)[1]).stem if args.llm.startswith("embedded:") else args.llm
    run_dir = out / f"{loop}-b{args.budget}-w{args.workers}-s{args.seed}-{model}-t{args.llm_threads}"
    if not (run_dir / "state" / "summary.json").exists():
        shutil.rmtree(run_dir, ignore_errors=True)
        search(RING, strategy="hybrid", fidelity="cheap", cheap_fidelity="imitation", budget=args.budget,
               seed=args.seed, llm=backend,
               workers=args.workers, loop=loop, run_dir=run_dir, llm_check_probes=0,
               rl_options={"env_kwargs": {"backend": "numpy"}})
    summary = json.loads((run_dir / "state" / "summary.json").read_text())
    wall, eval_s = float(summary["wall_s"]), float(summary["eval_s"])
    llm = summary.get("llm") or {}
    return {"loop": loop, "wall": wall, "eval": eval_s, "idle": max(0.0, args.workers * wall - eval_s),
            "llm_s": float(llm.get("seconds") or 0.0), "calls": int(llm.get("calls") or 0),
            "best": summary.get("best_fitness"), "evals": summary["evaluations"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budget", type=int, default=16)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--llm", default="embedded", help="embedded or embedded:PATH")
    p.add_argument("--llm-threads", type=int, default=1)
    p.add_argument("--loops", nargs="+", default=["generational", "steady"])
    p.add_argument("--out", default=str(Path(__file__).parent / "out" / "loop_time_use"),
                   help="run folders, one per loop and settings; a finished one is read, not run again")
    args = p.parse_args()

    from evo_lacer.llm import EmbeddedBackend

    path = args.llm.split(":", 1)[1] if args.llm.startswith("embedded:") else None
    backend = (EmbeddedBackend(path, n_threads=args.llm_threads) if path
               else EmbeddedBackend(n_threads=args.llm_threads)).load()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = [run(loop, args, backend, out) for loop in args.loops]
    print(f"hybrid + {backend.model} on the ring's cheap fidelity (NumPy), budget {args.budget}, "
          f"{args.workers} process workers, seed {args.seed}")
    header = (f"{'loop':<13} {'evals':>5} {'wall s':>7} {'eval s':>7} {'idle worker-s':>13} "
              f"{'idle share':>10} {'LLM calls':>9} {'LLM s':>7} {'LLM share':>9} {'best':>7}")
    print(header)
    print("-" * len(header))
    for r in rows:
        best = "-" if r["best"] is None else f"{r['best']:.3f}"
        print(f"{r['loop']:<13} {r['evals']:>5} {r['wall']:>7.1f} {r['eval']:>7.1f} {r['idle']:>13.1f} "
              f"{r['idle'] / (args.workers * r['wall']):>10.0%} {r['calls']:>9} {r['llm_s']:>7.1f} "
              f"{r['llm_s'] / r['wall']:>9.0%} {best:>7}")


if __name__ == "__main__":
    main()
