"""`evo-lacer report RUN_DIR [RUN_DIR...] [--out DIR] [--serve [--port N]]`: markdown report, best-so-far
plot and one self-contained HTML page; with --serve, the page live on 127.0.0.1."""

from __future__ import annotations

import argparse
from typing import Any

from evo_lacer.runs import write_report


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "report", help="write report.md, best_so_far.png and report.html for one or more runs",
        description="Summarize runs: status counts, best fitness vs evaluations (per strategy), "
                    "the best tree with its feedback, evaluation time and LLM accounting (report.md); "
                    "every candidate, the lineage, fitness against size and latency, the arms, the LLM "
                    "log and feature statistics (report.html: one file, opens offline).",
    )
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR",
                   help="a run folder, or a folder holding run folders (compared per strategy)")
    p.add_argument("--out", metavar="DIR",
                   help="folder for report.md, best_so_far.png and report.html (default: the run "
                        "folder, or the common parent of several)")
    p.add_argument("--serve", action="store_true",
                   help="also serve the page on 127.0.0.1, refreshed as candidates arrive (Ctrl-C stops)")
    p.add_argument("--port", type=int, default=8765, help="port for --serve (0: any free port; default 8765)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    target = args.run_dirs[0] if len(args.run_dirs) == 1 else args.run_dirs
    report = write_report(target, args.out)
    print(f"wrote {report}, {report.with_name('best_so_far.png')} and {report.with_name('report.html')}")
    if args.serve:
        from evo_lacer.runs._serve import serve_forever

        serve_forever(target, port=args.port)
    return 0
