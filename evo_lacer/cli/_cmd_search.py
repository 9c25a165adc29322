"""`evo-lacer search`: run a search (options generated from `SearchConfig`), with a progress bar."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path
from typing import Any

from evo_lacer.cli._dataclass_args import add_dataclass_args, dataclass_from_args
from evo_lacer.errors import ConfigError


def load_object(ref: str, what: str) -> Any:
    """``package.module:attribute`` -> the object (the working directory is importable)."""
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"{what} {ref!r} must look like 'package.module:name'")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{what} {ref!r}: cannot import {module_name!r} ({exc})") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"{what} {ref!r}: {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def register(subparsers: Any) -> None:
    from evo_lacer.engine import SearchConfig

    p = subparsers.add_parser(
        "search", help="search for an encoder tree (RL env or a fitness function)",
        description="Search for a state encoder. The task is --env (a gymnasium id, RL evaluation) or "
                    "--fitness with --observation-space (import paths 'module:name').")
    task = p.add_argument_group("task")
    task.add_argument("--env", help="gymnasium environment id (RL evaluation with PPO)")
    task.add_argument("--fitness", help="fitness callable 'module:name', called as fitness(tree, module)")
    task.add_argument("--observation-space", help="gymnasium space 'module:name' (with --fitness); a "
                                                   "callable is called with no arguments")
    task.add_argument("--steps", "--rl-steps", dest="rl_steps", type=int,
                      help="PPO training steps per candidate (with --env)")
    p.add_argument("--run-dir", help="new run folder (default: runs/STRATEGY-SEED-TIME)")
    p.add_argument("--report", action=argparse.BooleanOptionalAction, default=True,
                   help="write report.md and plots into the run folder at the end")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                   help="show a progress bar with the best fitness so far")
    add_dataclass_args(p, SearchConfig)
    p.set_defaults(func=run)


def print_summary(result: Any) -> None:
    from evo_lacer.tree import render

    acc = result.accounting
    print(f"run folder: {result.run_dir}")
    print(f"strategy {acc['strategy']}: {acc['evaluations']}/{acc['budget']} evaluations, "
          f"{acc['rejected']} rejected by the gate, {acc['cached']} answered by the cache, "
          f"{acc['failed']} failed, {acc['timed_out']} timed out ({acc['stop_reason']})")
    print(f"wall {acc['wall_s']:.1f} s, evaluations {acc['eval_s']:.1f} s")
    llm = acc.get("llm")
    if llm:
        print(f"LLM: {llm['calls']} calls, {llm['tokens']} tokens, {llm['seconds']:.1f} s, "
              f"{llm['fallbacks']} fallbacks, {llm['differs_from_random']}/{llm['decisions']} "
              "choices differ from random")
    if result.best_tree is None:
        print("no candidate was evaluated successfully")
    else:
        print(f"best fitness {result.best_feedback.fitness:.6g} (candidate {result.best_id}):")
        print(render(result.best_tree))


def run(args: argparse.Namespace) -> int:
    from evo_lacer.api import search
    from evo_lacer.engine import SearchConfig

    config = dataclass_from_args(SearchConfig, args)
    kwargs: dict[str, Any] = {}
    if args.env and args.fitness:
        raise ConfigError("give either --env or --fitness, not both")
    if args.env:
        kwargs["env"] = args.env
        if args.rl_steps:
            kwargs["rl_options"] = {"steps": args.rl_steps}
    elif args.fitness:
        if not args.observation_space:
            raise ConfigError("--fitness needs --observation-space 'module:name'")
        kwargs["fitness"] = load_object(args.fitness, "--fitness")
        space = load_object(args.observation_space, "--observation-space")
        kwargs["observation_space"] = space() if callable(space) else space
    else:
        raise ConfigError("say what to optimize: --env ID, or --fitness MOD:FN with "
                          "--observation-space MOD:NAME")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = args.run_dir or str(Path("runs") / f"{config.strategy}-{config.seed}-{stamp}")
    result = search(config=config, run_dir=run_dir, progress=args.progress, **kwargs)
    print_summary(result)
    if args.report:
        from evo_lacer.runs import write_report

        print(f"report: {write_report(result.run_dir)}")
    return 0
