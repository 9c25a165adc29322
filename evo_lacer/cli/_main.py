"""`evo-lacer` console script: one subcommand per module in this package.

Each command module exposes ``register(subparsers) -> None`` which adds its parser and sets
``func`` (a callable taking the parsed namespace and returning an exit code).
"""

from __future__ import annotations

import argparse
import difflib
import faulthandler
import importlib
import shlex
import signal
import sys
import threading
import warnings
from collections.abc import Sequence
from types import FrameType
from typing import Any

from evo_lacer.errors import EvoLacerError

# Command modules, in the order `--help` lists them. A missing module is skipped, so the
# CLI keeps working while a command is being built.
COMMANDS = (
    "evo_lacer.cli._cmd_search",
    "evo_lacer.cli._cmd_resume",
    "evo_lacer.cli._cmd_report",
    "evo_lacer.cli._cmd_export",
    "evo_lacer.cli._cmd_show",
    "evo_lacer.cli._cmd_mine",
    "evo_lacer.cli._cmd_serve",
    "evo_lacer.cli._cmd_llm_check",
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


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """`parser.parse_args`, but an unknown option is refused by its command's parser (its usage, not
    the top level's), with the closest option of that command when one is close."""
    args, unknown = parser.parse_known_args(argv)
    if not unknown:
        return args
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub: argparse.ArgumentParser = commands.choices.get(getattr(args, "command", None) or "", parser)
    options = [o for a in sub._actions for o in a.option_strings]
    hints = [f"{u} -> {near[0]}" for u in unknown
             if (near := difflib.get_close_matches(u.split("=", 1)[0], options, n=1, cutoff=0.7))]
    sub.error(f"unrecognized arguments: {' '.join(unknown)}" + (f" (did you mean: {', '.join(hints)}?)"
                                                                  if hints else ""))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = _parse(parser, argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    if not faulthandler.is_enabled():
        faulthandler.enable()  # a segfault in process (a fitness, a simulator) names where it happened
    previous = _stop_on_sigterm()
    shown = warnings.formatwarning
    warnings.formatwarning = _one_line  # a warning to a user names no source line of ours
    try:
        return int(args.func(args) or 0)
    except EvoLacerError as exc:
        print(f"evo-lacer {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        what = "terminated (SIGTERM)" if isinstance(exc, Terminated) else "interrupted"
        hint = ""
        if args.command in ("search", "resume"):
            run_dir = shlex.quote(str(getattr(args, "run_dir", None) or "RUN_DIR"))
            hint = ("; workers were stopped and every finished evaluation is recorded -- continue with "
                    f"`evo-lacer resume {run_dir}`")
        print(f"evo-lacer {args.command}: {what}{hint}", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    finally:
        warnings.formatwarning = shown
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _one_line(message: Warning | str, category: type[Warning], filename: str, lineno: int,
              line: str | None = None) -> str:
    return f"warning: {message}\n"


class Terminated(KeyboardInterrupt):
    """SIGTERM (sent by `timeout`, Slurm, `docker stop`, CI) arrived: stop as on Ctrl-C."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated(f"signal {signum}")


def _stop_on_sigterm() -> Any:
    """Handle SIGTERM like SIGINT while a command runs; returns the handler to restore."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _raise_terminated)
