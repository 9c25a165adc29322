"""`evo-lacer export RUN_DIR [--out best.json] [--candidate ID]`: the best encoder as a tree file."""

from __future__ import annotations

import argparse
from typing import Any

from evo_lacer.runs import export_best
from evo_lacer.tree import render


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "export", help="write a run's best encoder as a tree file, to train your own agent with it",
        description="Write the best encoder a run found (artifacts/best_tree.json of a finished run, "
                    "else its best evaluation so far) as a tree file. Train an SB3 agent with it: "
                    "PPO('MultiInputPolicy', env, policy_kwargs=evo_lacer.sb3_policy_kwargs('best.json')).",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder (evo-lacer search --run-dir)")
    p.add_argument("--out", metavar="FILE", help="the tree file to write, or a folder to write best.json "
                   "into (default: RUN_DIR/best.json)")
    p.add_argument("--candidate", metavar="ID", help="export this candidate instead of the best")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    path, found = export_best(args.run_dir, args.out, args.candidate)
    fitness = "-" if found.fitness is None else f"{found.fitness:.6g}"
    which = "-" if found.candidate is None else found.candidate
    print(render(found.tree))
    print(f"wrote {path}: candidate {which}, fitness {fitness} (from {found.source})")
    print(f"train your own agent with it: PPO('MultiInputPolicy', env, "
          f"policy_kwargs=evo_lacer.sb3_policy_kwargs({str(path)!r}))")
    return 0
