"""`evo-lacer compare`: strategies x seeds x budget on the ring road or a MiniGrid / BabyAI level
(see benchmarks/compare.py)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from evo_lacer.cli._dataclass_args import add_dataclass_args, dataclass_from_args


def register(subparsers: Any) -> None:
    from evo_lacer.compare import CompareConfig

    p = subparsers.add_parser(
        "compare", help="compare search strategies (and LACER's feedback ablations) on the ring road "
                        "or a MiniGrid / BabyAI level (--env)",
        description="Runs every strategy for every seed with the same evaluator and budget; writes "
                    "compare.md (table), compare.png (best-so-far curves) and compare.json to --out.")
    add_dataclass_args(p, CompareConfig)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from evo_lacer.compare import CompareConfig, run_comparison

    result = run_comparison(dataclass_from_args(CompareConfig, args))
    print(Path(result.paths["markdown"]).read_text(encoding="utf-8"))
    print(f"wrote {', '.join(result.paths.values())}")
    return 0
