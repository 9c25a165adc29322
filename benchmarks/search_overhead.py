"""Search overhead: how much wall time the framework adds to the evaluations it runs.

Part 1 -- offline (random designer): a cheap fitness that sleeps ``--sleep-ms`` per candidate;
the table splits the search's wall time into evaluation, gate (compile + dummy forward of every
candidate in the search process), proposing (planner + designer) and the rest (selection, run
store, checkpoints). ``wall/eval`` is the framework overhead ratio (target <= 1.03 at 50 ms with one worker).

A warm-up search runs first with the same executor (torch's first forward passes are slow, and
the process pool's fork server starts once per Python process), not measured; each measured
search's own pool start-up counts (in "rest"). ``--loop generational steady`` runs each row with
both loops (SearchConfig.loop): the steady loop proposes while other candidates evaluate, so with
a process pool its gate and propose seconds overlap evaluation ("rest" may go negative) and
``eval/wall`` -- the workers kept busy on average -- is what to compare. ``--executor`` is
SearchConfig.executor: ``auto`` evaluates a cheap fitness function in this process when there is
one worker (nothing can overlap it); ``process`` uses a pool of ``--workers`` processes even for
one. ``speedup`` is the wall time of the same strategy, loop and executor with the smallest
``--workers`` measured, divided by this row's.

Part 2 -- the embedded LLM (SmolLM2-135M via llama.cpp) as hybrid designer: seconds per call
and the LLM's share of the wall time.

    python benchmarks/search_overhead.py [--budget 32] [--sleep-ms 50] [--workers 1 2]
        [--loop generational steady] [--executor auto|process] [--llm-budget 6] [--skip-llm]
        [--option KEY=JSON ...]     # SearchConfig options of every row, e.g. screen_designs=0
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from gymnasium import spaces

from evo_lacer.api import SearchResult, search
from evo_lacer.compile import parameter_count

SLEEP_S = 0.05


def space() -> spaces.Dict:
    return spaces.Dict({"ego": spaces.Box(-1.0, 1.0, (6,)), "hist": spaces.Box(-1.0, 1.0, (8, 3))})


def cheap_fitness(tree: Any, module: Any) -> dict[str, Any]:
    """Sleeps like an evaluation that waits on something; closer to 5000 parameters is better."""
    time.sleep(float(os.environ.get("EVO_BENCH_SLEEP", SLEEP_S)))
    n = parameter_count(module)
    return {"fitness": -abs(n - 5000) / 1000.0, "metrics": {"params": float(n)}}


def breakdown(result: SearchResult) -> dict[str, float]:
    acc = result.accounting
    sums = {"eval_s": 0.0, "gate_s": 0.0, "propose_s": 0.0}
    for c in result.history:
        for key in sums:
            sums[key] += float(c.timings.get(key, 0.0)) if key != "eval_s" or c.evaluated else 0.0
    wall = float(acc["wall_s"])
    return {"wall": wall, "eval": sums["eval_s"], "gate": sums["gate_s"], "propose": sums["propose_s"],
            "rest": wall - sums["eval_s"] - sums["gate_s"] - sums["propose_s"], "evals": acc["evaluations"],
            "proposals": acc["proposals"]}


def run(strategy: str, budget: int, workers: int, llm: Any, folder: Path, loop: str = "generational",
        **kw: Any) -> SearchResult:
    run_dir = folder / f"{strategy}-w{workers}-{loop}-{'llm' if llm != 'none' else 'none'}"
    shutil.rmtree(run_dir, ignore_errors=True)
    return search(observation_space=space(), fitness=cheap_fitness, strategy=strategy, budget=budget, seed=0,
                  workers=workers, llm=llm, run_dir=run_dir, population_size=8, batch_size=8, loop=loop, **kw)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=int, default=32)
    parser.add_argument("--sleep-ms", type=float, default=50.0)
    parser.add_argument("--strategies", nargs="+", default=["evolution", "hybrid", "random", "tpe"])
    parser.add_argument("--workers", type=int, nargs="+", default=[1])
    parser.add_argument("--loop", nargs="+", choices=("generational", "steady"), default=["generational"],
                        help="search loop(s) to measure (SearchConfig.loop)")
    parser.add_argument("--executor", choices=("auto", "process", "inprocess"), default="auto",
                        help="SearchConfig.executor of every row")
    parser.add_argument("--llm-budget", type=int, default=6)
    parser.add_argument("--skip-llm", action="store_true")
    parser.add_argument("--option", action="append", default=[],
                        help="SearchConfig option KEY=JSON of every row (repeatable)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "out"))
    args = parser.parse_args()
    os.environ["EVO_BENCH_SLEEP"] = str(args.sleep_ms / 1000.0)
    options = {k: json.loads(v) for k, v in (o.split("=", 1) for o in args.option)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="evo-lacer-bench-"))

    # first torch forwards and imports, the fork server's start: not measured
    run("evolution", 2, max(args.workers), "none", folder / "warm-up", executor=args.executor)
    rows = []
    for strategy in args.strategies:
        for loop in args.loop:
            for workers in args.workers:
                result = run(strategy, args.budget, workers, "none", folder, loop, executor=args.executor,
                             **options)
                rows.append((strategy, loop, workers, breakdown(result)))
    base_wall = {(s, loop): b["wall"] for s, loop, w, b in rows if w == min(args.workers)}
    print(f"Part 1: framework overhead, random designer (llm=none), fitness sleeps {args.sleep_ms:g} ms, "
          f"budget {args.budget}, executor {args.executor}" + (f", options {options}" if options else ""))
    header = (f"{'strategy':<10} {'loop':<12} {'workers':>7} {'evals':>5} {'wall s':>7} {'eval s':>7} "
              f"{'gate s':>7} {'propose s':>9} {'rest s':>7} {'wall/eval':>9} {'eval/wall':>9} "
              f"{'wall/(eval+gate)':>16} {'rest ms/cand':>12} {'speedup':>7}")
    print(header)
    print("-" * len(header))
    for strategy, loop, workers, b in rows:
        print(f"{strategy:<10} {loop:<12} {workers:>7} {b['evals']:>5} {b['wall']:>7.2f} {b['eval']:>7.2f} "
              f"{b['gate']:>7.2f} {b['propose']:>9.3f} {b['rest']:>7.2f} {b['wall'] / b['eval']:>9.3f} "
              f"{b['eval'] / b['wall']:>9.2f} {b['wall'] / (b['eval'] + b['gate']):>16.3f} "
              f"{1e3 * b['rest'] / b['proposals']:>12.1f} {base_wall[strategy, loop] / b['wall']:>7.2f}")

    llm_row = None
    if not args.skip_llm:
        from evo_lacer.llm import EmbeddedBackend

        backend = EmbeddedBackend(n_threads=1).load()
        result = run("hybrid", args.llm_budget, 1, backend, folder, llm_timeout_s=300.0)
        acc, b = result.accounting["llm"], breakdown(result)
        calls = max(1, acc["calls"])
        llm_row = (acc, b)
        print(f"\nPart 2: hybrid with the embedded model ({backend.model}), budget {args.llm_budget}")
        header = (f"{'calls':>5} {'s/call':>7} {'prompt tok/call':>15} {'compl tok/call':>14} {'LLM s':>7} "
                  f"{'wall s':>7} {'LLM share':>9} {'fallbacks':>9} {'differs/decisions':>17}")
        print(header)
        print("-" * len(header))
        print(f"{acc['calls']:>5} {acc['seconds'] / calls:>7.2f} {acc['prompt_tokens'] / calls:>15.0f} "
              f"{acc['completion_tokens'] / calls:>14.1f} {acc['seconds']:>7.1f} {b['wall']:>7.1f} "
              f"{acc['seconds'] / b['wall']:>9.1%} {acc['fallbacks']:>9} "
              f"{acc['differs_from_random']:>8}/{acc['decisions']:<8}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    labels = [f"{s}\n{loop[:5]} w={w}" for s, loop, w, _ in rows]
    bottom = [0.0] * len(rows)
    for part in ("eval", "gate", "propose", "rest"):
        values = [max(0.0, b[part]) for _, _, _, b in rows]
        ax.bar(labels, values, bottom=bottom, label=part)
        bottom = [x + y for x, y in zip(bottom, values)]
    if llm_row is not None:
        acc, b = llm_row
        ax.bar(["hybrid\n+ LLM"], [b["eval"]], label="eval (LLM run)", color="C0", alpha=0.5)
        ax.bar(["hybrid\n+ LLM"], [acc["seconds"]], bottom=[b["eval"]], label="LLM", color="C5")
        rest = b["wall"] - b["eval"] - acc["seconds"]
        ax.bar(["hybrid\n+ LLM"], [rest], bottom=[b["eval"] + acc["seconds"]], label="other (LLM run)",
               color="C7")
    ax.set_ylabel("seconds")
    ax.set_title(f"Where a search's wall time goes (fitness sleeps {args.sleep_ms:g} ms)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "search_overhead.png", dpi=120)
    print(f"\nplot: {out / 'search_overhead.png'}")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
