"""Does the hybrid search beat its baselines? Strategies x budgets x seeds on a few tasks.

    python benchmarks/hybrid_budgets.py                      # the full grid (about an hour on 2 cores)
    python benchmarks/hybrid_budgets.py --smoke              # 2 strategies, budget 6, 1 seed, 1 task
    python benchmarks/hybrid_budgets.py --strategies hybrid --llm embedded --label hybrid+smollm2 \
        --budgets 24 48                                      # add a row: hybrid with the embedded LLM
    python benchmarks/hybrid_budgets.py --report-only        # tables and plots from what is stored
    python benchmarks/hybrid_budgets.py --reeval-only        # re-evaluate stored runs' returned encoders
    python benchmarks/hybrid_budgets.py --status --out DIR   # every run folder, finished or cut, so far
    python benchmarks/hybrid_budgets.py ... --eval-cache FILE  # pairs on one machine: a run with an LLM
                                                             # reuses its --llm none twin's evaluations

Tasks (every strategy gets the same evaluator, budget and seeds; search seeds ``--seed0`` ..
``--seed0 + seeds - 1``):

- ``ring``: the ring road's cheap fidelity (behaviour cloning of the expert on the NumPy ring,
  600 expert transitions, 50 Adam steps; fitness = imitation skill), as ``evo-lacer compare``
  with a smaller dataset and fewer steps, so that the grid fits on 2 shared cores.
- ``multisource``: ``benchmarks/multisource.py`` -- a supervised task with a vector, a time
  series, an image and tokens whose fitness trains encoder + linear head for 40 steps (held-out
  R²). Written for this benchmark; no strategy default was tuned on it.
- ``ring-large`` (``--tasks ring-large``, not in the default grid): the ring with 2,400 expert
  transitions and 200 Adam steps. At the ``ring`` task's size one encoder's score moves from seed
  to seed about as much as scores differ between encoders (``benchmarks/task_noise.py``: ICC(1)
  0.52 [0.05, 0.73] over 10 encoders x 3 seeds), so its best-found figures mostly measure luck;
  here ICC(1) is 0.87 [0.64, 0.94], at about 5x the cost per evaluation.
- ``devtask`` (``--tasks devtask``, not in the default grid): ``benchmarks/devtask.py`` -- a third
  supervised multi-source task for developing the hybrid (with seeds ``--seed0 100`` and up), so
  that the report's tasks and seeds stay untouched by tuning.
- ``warehouse`` (``--tasks warehouse``, not in the default grid): ``benchmarks/warehouse.py`` -- a
  held-out supervised multi-source task written after every strategy default was fixed.

Per task and budget it prints the median best fitness (the search's own, and -- `--reeval K`,
default 3, see ``reeval.py`` -- its returned encoder re-evaluated on K held-out seeds, with the
task's seed-to-seed noise) with a bootstrap 90% interval of the median, the mean rank over
seeds (1 = best; ties share), and writes ``report.md``, ``results.jsonl`` (one line per run: the
best and the best-so-far curve), ``reeval.jsonl`` and ``best_so_far_<task>.png`` (median over
seeds, band = 25-75 %) into ``--out`` (the tables and the plot: ``budget_report.py``). Runs
already in ``results.jsonl`` are skipped, so the grid can be run in pieces and rows added later; a
run cut short (its folder holds a `run.json`) is resumed from its checkpoint, exactly (one worker).

``random`` is run once at the largest budget: its designs depend only on the seed and the
candidate id, so its runs at smaller budgets are exactly the prefixes of that run (read off its
curve). Every other strategy is run at each budget, since its sizes scale with the budget --
unless ``--prefix-budgets``: then every strategy runs at the largest budget only and the smaller
budgets are the best after that many evaluations of those runs (marked "(prefix)").
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from budget_report import expand, held_out_means, load, report  # noqa: E402  (a sibling module)


def make_task(task: str, device: str = "cpu") -> dict[str, Any]:
    """search() keyword arguments of a task (`device`: where the ring tasks' cloning trains; the
    supervised tasks' fitness functions train on the CPU)."""
    if task == "multisource":
        import multisource

        return {"fitness": multisource.fitness, "observation_space": multisource.SPACE}
    if task == "devtask":  # for tuning only (see devtask.py)
        import devtask

        return {"fitness": devtask.fitness, "observation_space": devtask.SPACE}
    if task == "warehouse":  # held out: written after every default was fixed (see warehouse.py)
        import warehouse

        return {"fitness": warehouse.fitness, "observation_space": warehouse.SPACE}
    if task in ("ring", "ring-large"):
        from evo_lacer.compare._comparison import RING_ID, RING_TASK
        from evo_lacer.evaluate import ImitationEvaluator

        data, steps = (600, 50) if task == "ring" else (2400, 200)
        evaluator = ImitationEvaluator(RING_ID, env_kwargs={"backend": "numpy", "horizon": 100},
                                       dataset_steps=data, grad_steps=steps, batch_size=64,
                                       rollout_episodes=0, feature_samples=256, task=RING_TASK,
                                       device=device)
        return {"evaluator": evaluator}
    raise SystemExit(f"unknown task {task!r}; choose ring, ring-large, multisource, warehouse or devtask")


def task_evaluator(task: str, device: str = "cpu") -> Any:
    """The evaluator every search of `task` uses (the fitness function's, for the supervised tasks)."""
    from evo_lacer.evaluate import FunctionEvaluator

    made = make_task(task, device)
    return made.get("evaluator") or FunctionEvaluator(made["fitness"], made["observation_space"])


def run_folder(out: Path, task: str, label: str, budget: int, seed: int) -> Path:
    """The run folder of one search of the grid."""
    return out / "runs" / task / label.replace(":", "_").replace("/", "_") / f"b{budget}-s{seed}"


def run_one(job: dict[str, Any]) -> dict[str, Any]:
    """One search; returns its result row."""
    import torch

    import evo_lacer

    torch.set_num_threads(1)
    start = time.perf_counter()
    if job.get("eval_cache"):  # the pair's other run's evaluations, reused (see eval_cache.py)
        from eval_cache import CachingEvaluator

        inner = task_evaluator(job["task"], job.get("device", "cpu"))
        task = {"evaluator": CachingEvaluator(inner, job["eval_cache"], task=job["task"],
                                              verify=job.get("eval_cache_verify", 0.0),
                                              tag=f"{job['label']} b{job['budget']} s{job['seed']}")}
    else:
        task = make_task(job["task"], job.get("device", "cpu"))
    if job.get("resume"):  # an interrupted run continues where its checkpoint left it (exactly: one worker)
        result = evo_lacer.resume(job["run_dir"], **task, llm=job["llm"], workers=1)
    else:
        result = evo_lacer.search(**task, strategy=job["strategy"], budget=job["budget"],
                                  seed=job["seed"], llm=job["llm"], run_dir=job["run_dir"],
                                  **{"workers": 1, **job.get("options", {})})
    curve = best_so_far(result.history)
    acc = result.accounting
    return {**{k: job[k] for k in ("task", "label", "strategy", "llm", "budget", "seed")},
            "best": None if result.best_feedback is None else result.best_feedback.fitness, "curve": curve,
            "wall_s": time.perf_counter() - start, "llm_acc": acc.get("llm"), "arms": acc.get("arms"),
            "evaluations": acc.get("evaluations"), "resumed": bool(job.get("resume"))}


def best_so_far(candidates: Iterable[Any]) -> list[float | None]:
    """The best OK fitness after each evaluated candidate (None until the first)."""
    curve: list[float | None] = []
    best: float | None = None
    for c in candidates:
        if c.evaluated:
            if c.feedback.ok and c.fitness is not None:
                best = c.fitness if best is None else max(best, c.fitness)
            curve.append(best)
    return curve


CUT = "cut or running: its command resumes it"


def status(out: Path, budgets: list[int]) -> str:
    """Every run folder under `out`, finished or not (read as records, nothing executed): its
    evaluations so far, own best after each budget it reached and now, evaluation seconds, and
    whether its row is in ``results.jsonl`` -- a run without one was cut, and the command that
    started it resumes it."""
    from evo_lacer.engine import Candidate
    from evo_lacer.runs import RunStore, is_run_dir

    done = {(r["task"], run_folder(out, r["task"], r["label"], r["budget"], r["seed"]).parts[-2],
             r["budget"], r["seed"]) for r in load(out / "results.jsonl")}
    lines = ["| task | label | seed | budget | evaluated | " + " | ".join(f"best after {b}" for b in budgets)
             + " | best now | evaluation s | state |", "|" + " --- |" * (len(budgets) + 8)]
    for run_dir in sorted((out / "runs").glob("*/*/b*-s*")):
        name = re.fullmatch(r"b(\d+)-s(\d+)", run_dir.name)
        if name is None or not is_run_dir(run_dir):
            continue
        budget, seed = int(name[1]), int(name[2])
        task, label = run_dir.parts[-3], run_dir.parts[-2]
        cands = [Candidate.from_dict(record) for record in RunStore.open(run_dir).candidates()]
        curve = best_so_far(cands)
        best = curve[-1] if curve else None
        seconds = sum(float(c.timings.get("eval_s", 0.0)) for c in cands if c.evaluated)
        after = [f"{curve[b - 1]:.3f}" if len(curve) >= b and curve[b - 1] is not None else ""
                 for b in budgets]
        state = "finished" if (task, label, budget, seed) in done else CUT
        lines.append(f"| {task} | {label} | {seed} | {budget} | {len(curve)} | " + " | ".join(after)
                     + f" | {'' if best is None else f'{best:.3f}'} | {seconds:.0f} | {state} |")
    return "\n".join(lines)


def reeval_pass(out: Path, budgets: list[int], k: int, jobs: int, tasks: list[str] | None = None,
                device: str = "cpu") -> int:
    """Re-evaluate every stored (task, label, budget, seed) that has no re-evaluation yet; returns
    the number that failed."""
    from reeval import reevaluate

    done = set(held_out_means(load(out / "reeval.jsonl")))
    todo = []
    for r in expand(load(out / "results.jsonl"), budgets):
        key = (r["task"], r["label"], r["budget"], r["seed"])
        folder = run_folder(out, r["task"], r["label"], r["run_budget"], r["seed"])
        if key in done or (tasks and r["task"] not in tasks) or not (folder / "candidates.jsonl").is_file():
            continue
        todo.append({"task": r["task"], "label": r["label"], "budget": r["budget"], "seed": r["seed"],
                     "run_dir": str(folder), "k": k, "device": device})
    print(f"{len(todo)} returned encoders to re-evaluate on {k} held-out seeds", flush=True)
    failed = 0
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool, (out / "reeval.jsonl").open("a") as sink:
        futures = {pool.submit(reevaluate, job): job for job in todo}
        for future in as_completed(futures):
            try:
                row = future.result()
            except Exception as exc:
                failed += 1
                print(f"FAILED re-evaluation {futures[future]}: {type(exc).__name__}: {exc}", flush=True)
                continue
            sink.write(json.dumps(row) + "\n")
            sink.flush()
    return failed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", nargs="+", default=["ring", "multisource"])
    p.add_argument("--strategies", nargs="+", default=["random", "tpe", "evolution", "hybrid"])
    p.add_argument("--budgets", nargs="+", type=int, default=[12, 24, 48])
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--seed0", type=int, default=0, help="first search seed (use others for tuning)")
    p.add_argument("--llm", default="none", help="LLM of the LLM strategies (none, embedded, embedded:PATH)")
    p.add_argument("--label", default=None, help="row name (default: the strategy, +LLM when not none)")
    p.add_argument("--option", action="append", default=[], help="SearchConfig option KEY=JSON (repeatable)")
    p.add_argument("--jobs", type=int, default=2, help="searches run side by side")
    p.add_argument("--out", default=str(HERE / "out" / "hybrid_budgets"))
    p.add_argument("--prefix-budgets", action="store_true",
                   help="run every strategy at the largest budget only; smaller budgets are its prefixes")
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--report-only", action="store_true")
    p.add_argument("--reeval", type=int, default=3, metavar="K",
                   help="re-evaluate each returned encoder on K held-out seeds (0: no)")
    p.add_argument("--reeval-only", action="store_true", help="run no search; re-evaluate what is stored")
    p.add_argument("--status", action="store_true", help="run nothing; list every run folder under --out, "
                   "finished or cut, with its evaluations and own best so far")
    p.add_argument("--paired", metavar="LABEL", help="also print each row's paired difference from this "
                   "row on the same seeds (e.g. --paired hybrid)")
    p.add_argument("--device", default="cpu", help="where the ring tasks' cloning trains (cpu, cuda). "
                   "A tree scores differently on a GPU (as if on another seed), so keep one device per table")
    p.add_argument("--eval-cache", metavar="FILE", default=None,
                   help="share evaluations between runs on this machine through FILE (eval_cache.py): the "
                   "second run of a pair reuses the trees the first evaluated; quote wall times from "
                   "uncached runs")
    p.add_argument("--eval-cache-verify", type=float, default=0.0, metavar="P",
                   help="with --eval-cache: re-evaluate this share of the hits and log any mismatch")
    args = p.parse_args(argv)
    if args.smoke:
        args.tasks, args.strategies, args.budgets, args.seeds = ["multisource"], ["random", "hybrid"], [6], 1
    out = Path(args.out)
    if args.status:
        print(status(out, sorted(args.budgets)))
        return 0
    out.mkdir(parents=True, exist_ok=True)
    options = {k: json.loads(v) for k, v in (o.split("=", 1) for o in args.option)}
    failed = 0
    if not args.report_only and not args.reeval_only:
        done = {(r["task"], r["label"], r["budget"], r["seed"]) for r in load(out / "results.jsonl")}
        jobs = []
        cells = [(seed, task, budget, strategy) for seed in range(args.seed0, args.seed0 + args.seeds)
                 for task in args.tasks for budget in sorted(args.budgets, reverse=True)
                 for strategy in args.strategies]  # seed by seed: a cut-short grid is still balanced
        for seed, task, budget, strategy in cells:
            label = args.label or (strategy if args.llm == "none" else f"{strategy}+{args.llm}")
            prefix_only = strategy == "random" or args.prefix_budgets
            if (prefix_only and budget != max(args.budgets)) or (task, label, budget, seed) in done:
                continue
            run_dir = run_folder(out, task, label, budget, seed)
            resume = (run_dir / "run.json").is_file()  # an interrupted run: continue it
            if run_dir.exists() and not resume:  # cut before its first record: start it again
                shutil.rmtree(run_dir)
            jobs.append({"task": task, "label": label, "strategy": strategy, "llm": args.llm,
                         "budget": budget, "seed": seed, "run_dir": str(run_dir), "options": options,
                         "device": args.device, "resume": resume, "eval_cache": args.eval_cache,
                         "eval_cache_verify": args.eval_cache_verify})
        print(f"{len(jobs)} searches to run ({args.jobs} at a time)", flush=True)
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool, \
                (out / "results.jsonl").open("a") as sink:
            futures = {pool.submit(run_one, job): job for job in jobs}
            for future in as_completed(futures):
                try:
                    row = future.result()
                except Exception as exc:  # a crashed search is reported, the grid goes on
                    failed += 1
                    job = futures[future]
                    print(f"FAILED {job['task']} {job['label']} b{job['budget']} s{job['seed']}: "
                          f"{type(exc).__name__}: {exc}", flush=True)
                    continue
                sink.write(json.dumps(row) + "\n")
                sink.flush()
                print(f"{row['task']:12s} {row['label']:24s} b{row['budget']:<3d} s{row['seed']} "
                      f"best {row['best']} ({row['wall_s']:.0f} s)", flush=True)
        if failed:
            print(f"{failed} searches failed", file=sys.stderr)
    if args.reeval > 0 and not args.report_only:
        failed += reeval_pass(out, args.budgets, args.reeval, args.jobs, args.tasks, args.device)
    print(report(out, args.budgets, args.paired))
    return 1 if not args.report_only and failed else 0


if __name__ == "__main__":
    sys.exit(main())
