"""`evo-lacer resume DIR`: continue a run (killed or finished) where it stopped."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("resume", help="continue a killed or finished search run",
                              description="Continue a run: recorded candidates are reused, never evaluated "
                                          "again; the search goes on until its budget is spent.")
    p.add_argument("run_dir", help="the run folder")
    p.add_argument("--workers", type=int, help="parallel evaluations (default: as recorded)")
    p.add_argument("--llm", help="LLM backend spec (default: as recorded)")
    p.add_argument("--executor", choices=("auto", "inprocess", "process", "dask"),
                   help="where evaluations run (default: as recorded); 'process' isolates an evaluation "
                        "that crashed the last session")
    p.add_argument("--dask-address", help="scheduler address of the Dask cluster to evaluate on (with "
                                          "--executor dask or auto; default: as recorded)")
    p.add_argument("--llm-timeout-s", type=float,
                   help="seconds one LLM call may take (default: as recorded); raise it when the report "
                        "shows calls that timed out")
    p.add_argument("--fitness", help="fitness callable 'module:name' (needed when the run did not record one "
                                     "it can import, e.g. a run from an older evo-lacer)")
    p.add_argument("--observation-space", help="gymnasium space 'module:name' with --fitness (default: the "
                                               "recorded one)")
    p.add_argument("--report", action=argparse.BooleanOptionalAction, default=True,
                   help="write report.md and plots into the run folder at the end")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                   help="show a progress bar with the best fitness so far")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from evo_lacer.api import resume
    from evo_lacer.cli._cmd_search import load_object, print_summary

    if os.getcwd() not in sys.path:  # a recorded `--fitness module:name` imports as it did for search
        sys.path.insert(0, os.getcwd())
    task: dict[str, Any] = {}
    if args.fitness:
        task["fitness"] = load_object(args.fitness, "--fitness")
    if args.observation_space:
        space = load_object(args.observation_space, "--observation-space")
        task["observation_space"] = space() if callable(space) else space
    result = resume(args.run_dir, workers=args.workers, llm=args.llm, progress=args.progress,
                    executor=args.executor, dask_address=args.dask_address,
                    llm_timeout_s=args.llm_timeout_s, **task)
    print_summary(result)
    if args.report:
        from evo_lacer.runs import write_report

        print(f"report: {write_report(result.run_dir)}")
    return 0
