"""`evo-lacer report RUN_DIR [RUN_DIR...] [--out DIR]`: markdown report and best-so-far plot."""

from __future__ import annotations

import argparse
from typing import Any

from evo_lacer.runs import write_report


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "report", help="write report.md and best_so_far.png for one or more runs",
        description="Summarize runs: status counts, best fitness vs evaluations (per strategy), "
                    "the best tree with its feedback, evaluation time and LLM accounting.",
    )
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                   help="a run folder, or a folder holding run folders (compared per strategy)")
    p.add_argument("--out", metavar="DIR",
                   help="folder for report.md and best_so_far.png (default: the run folder, or the "
                        "common parent of several)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    target = args.run_dirs[0] if len(args.run_dirs) == 1 else args.run_dirs
    report = write_report(target, args.out)
    print(f"wrote {report} and {report.with_name('best_so_far.png')}")
    return 0
