"""`evo-lacer` console script: one subcommand per module in this package.

Each command module exposes ``register(subparsers) -> None`` which adds its parser and sets
``func`` (a callable taking the parsed namespace and returning an exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from evo_lacer.errors import EvoLacerError

# Command modules, in the order `--help` lists them. A missing module is skipped, so the
# CLI keeps working while a command is being built.
COMMANDS = (
    "evo_lacer.cli._cmd_search",
    "evo_lacer.cli._cmd_resume",
    "evo_lacer.cli._cmd_report",
    "evo_lacer.cli._cmd_show",
    "evo_lacer.cli._cmd_mine",
    "evo_lacer.cli._cmd_serve",
    "evo_lacer.cli._cmd_compare",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evo-lacer",
        description="Evolve multi-source RL state encoders with a local LLM as a tool.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        mod.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except EvoLacerError as exc:
        print(f"evo-lacer {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"evo-lacer {args.command}: interrupted", file=sys.stderr)
        return 130
