"""`evo-lacer search`: run a search (options generated from `SearchConfig`), with a progress bar."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from evo_lacer._arguments import failure_reasons
from evo_lacer.cli._arg_types import at_least
from evo_lacer.cli._dataclass_args import add_dataclass_args, dataclass_from_args
from evo_lacer.errors import ConfigError

DEFAULT_STEPS = 20_000
"""`RLEvaluator`'s default training steps (the default of --eval-max-steps follows --steps)."""


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
    from evo_lacer.engine._config import RENAMED_FIELDS

    p = subparsers.add_parser(
        "search", help="search for an encoder tree (RL env or a fitness function)",
        description="Search for a state encoder. The task is --env (a gymnasium id, RL evaluation) or "
                    "--fitness with --observation-space (import paths 'module:name').")
    task = p.add_argument_group("task")
    task.add_argument("--env", help="gymnasium environment id (RL evaluation with PPO)")
    task.add_argument("--fitness", help="fitness callable 'module:name', called as fitness(tree, module)")
    task.add_argument("--observation-space", help="gymnasium space 'module:name' (with --fitness); a "
                                                   "callable is called with no arguments")
    task.add_argument("--steps", "--rl-steps", dest="rl_steps", type=at_least(8, "--steps"),
                      help="PPO training steps per candidate (with --env; at least 8)")
    env = p.add_argument_group("environment (with --env)")
    env.add_argument("--env-kwargs", type=json_object, metavar="JSON",
                     help="gym.make keyword arguments as a JSON object, e.g. '{\"max_steps\": 64}'")
    env.add_argument("--kinds", nargs="+", type=kind_pair, metavar="NAME=KIND",
                     help="force the kind of observation sources (vector, sequence, image, image_hwc, "
                          "image_chw, tokens, grid); nested sources are named by their path, e.g. obs:pos")
    env.add_argument("--wrapper", dest="wrappers", action="append", metavar="MODULE:NAME",
                     help="gymnasium wrapper applied to every env, e.g. "
                          "gymnasium.wrappers:FlattenObservation (repeatable, applied in order)")
    env.add_argument("--eval-episodes", type=at_least(1, "--eval-episodes"), metavar="N",
                     help="held-out episodes that score each candidate (default: 3)")
    env.add_argument("--ppo-seeds", type=at_least(1, "--ppo-seeds"), metavar="K",
                     help="PPO agents trained per candidate at the full fidelity, their rewards "
                          "averaged (default: 1; on BabyAI 5 seeds agree with 5 others at rho 0.74, "
                          "docs/fidelity.md)")
    env.add_argument("--eval-max-steps", type=at_least(0, "--eval-max-steps"), metavar="N",
                     help="steps after which a held-out episode is cut (default: --steps, so scoring a "
                          "candidate costs at most eval-episodes x steps env steps; 0: the env's own limit)")
    env.add_argument("--device", default="cpu", metavar="cpu|cuda|cuda:N",
                     help="where PPO and behaviour cloning train each candidate (default: cpu; small "
                          "encoders often train faster there than on a GPU)")
    env.add_argument("--expert", metavar="auto|none|MODULE:FN",
                     help="expert of --cheap-fidelity imitation: auto (the ring's, BabyAI's bot), none (the "
                          "'probe' proxy: linear-probe R2 of untrained features), or fn(obs) -> action")
    p.add_argument("--run-dir", help="new run folder (default: runs/STRATEGY-SEED-TIME)")
    p.add_argument("--report", action=argparse.BooleanOptionalAction, default=True,
                   help="write report.md and plots into the run folder at the end")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True,
                   help="show a progress bar with the best fitness so far")
    add_dataclass_args(p, SearchConfig, renamed=RENAMED_FIELDS)
    p.set_defaults(func=run)


def json_object(text: str) -> dict[str, Any]:
    """``--env-kwargs``: a JSON object."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON ({exc}): {text!r}; quote it, e.g. "
                                         "--env-kwargs '{\"max_steps\": 64}'") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{text!r} is JSON but not an object; use '{{\"name\": value}}'")
    return value


def kind_pair(text: str) -> tuple[str, str]:
    """``--kinds``: one ``NAME=KIND``."""
    from evo_lacer.compile import KIND_CHOICES

    name, sep, kind = text.rpartition("=")
    if not sep or not name or kind not in KIND_CHOICES:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=KIND with KIND one of {KIND_CHOICES}")
    return name, kind


def rl_options(args: argparse.Namespace) -> dict[str, Any]:
    """`RLEvaluator` / `ImitationEvaluator` settings from the environment options."""
    options: dict[str, Any] = {}
    if args.rl_steps is not None:
        options["steps"] = args.rl_steps
    if args.env_kwargs:
        options["env_kwargs"] = args.env_kwargs
    if args.kinds:
        options["kinds"] = dict(args.kinds)
    if args.wrappers:
        options["wrappers"] = list(args.wrappers)
    if args.eval_episodes is not None:
        options["eval_episodes"] = args.eval_episodes
    if args.ppo_seeds is not None:
        options["ppo_seeds"] = args.ppo_seeds
    max_steps = args.eval_max_steps if args.eval_max_steps is not None else (args.rl_steps or DEFAULT_STEPS)
    if max_steps:
        options["eval_max_steps"] = max_steps
    if args.device != "cpu":
        options["device"] = args.device
    if args.expert is not None and args.expert != "auto":
        options["expert"] = None if args.expert == "none" else load_object(args.expert, "--expert")
    return options


def env_flags(args: argparse.Namespace) -> dict[str, bool]:
    """The environment options, and whether each was given."""
    return {"--steps": args.rl_steps is not None, "--env-kwargs": bool(args.env_kwargs),
            "--kinds": bool(args.kinds), "--wrapper": bool(args.wrappers),
            "--eval-episodes": args.eval_episodes is not None, "--ppo-seeds": args.ppo_seeds is not None,
            "--eval-max-steps": args.eval_max_steps is not None, "--device": args.device != "cpu",
            "--expert": args.expert is not None}


def print_sources(env: str, options: dict[str, Any]) -> None:
    """How each observation source will be read, and why (before any budget is spent)."""
    from evo_lacer.compile import describe_sources
    from evo_lacer.envs import SourcesWrapper
    from evo_lacer.evaluate._make_env import FAMILY_WHY, make_env

    made = make_env(env, options.get("env_kwargs"), options.get("wrappers", ()), options.get("kinds"))
    try:  # the spaces before SourcesWrapper turned strings into ids say more
        space = (made.env if isinstance(made, SourcesWrapper) else made).observation_space
        kinds = made.kinds if isinstance(made, SourcesWrapper) else {}
    finally:
        made.close()
    print(f"observation sources of {env} (override with --kinds NAME=KIND):")
    given = options.get("kinds") or {}
    for line in describe_sources(space, kinds):
        name = line.split(": ", 1)[0]
        if name in kinds and name not in given:
            line = line.replace("forced by kinds=", FAMILY_WHY)
        print(f"  {line}")


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
        print("no candidate was evaluated successfully", file=sys.stderr)
        for reason, n in failure_reasons(result.history)[:3]:
            print(f"  {n} x {reason}", file=sys.stderr)
    else:
        print(f"best fitness {result.best_feedback.fitness:.6g} (candidate {result.best_id}):")
        print(render(result.best_tree))


def run(args: argparse.Namespace) -> int:
    from evo_lacer.api import search
    from evo_lacer.engine import SearchConfig

    try:
        config = dataclass_from_args(SearchConfig, args)
    except ConfigError as exc:  # said with the flags the user typed: SearchConfig.max_edits -> --max-edits
        said = re.sub(r"SearchConfig\.(\w+)", lambda m: "--" + m.group(1).replace("_", "-"), str(exc))
        raise ConfigError(said.replace(" or None, got", ", got")) from None  # no flag passes None
    kwargs: dict[str, Any] = {}
    if args.env and args.fitness:
        raise ConfigError("give either --env or --fitness, not both")
    if args.env:
        kwargs["env"] = args.env
        kwargs["rl_options"] = rl_options(args)
        print_sources(args.env, kwargs["rl_options"])
    elif args.fitness:
        if not args.observation_space:
            raise ConfigError("--fitness needs --observation-space 'module:name'")
        env_only = [flag for flag, given in env_flags(args).items() if given]
        if config.fidelity != "full":
            env_only.append(f"--fidelity {config.fidelity}")
        if env_only:
            raise ConfigError(f"{', '.join(env_only)} apply with --env only (PPO or imitation on an env); "
                              "with --fitness your function is the one fidelity -- leave them out")
        kwargs["fitness"] = load_object(args.fitness, "--fitness")
        space = load_object(args.observation_space, "--observation-space")
        kwargs["observation_space"] = space() if callable(space) else space
    else:
        raise ConfigError("say what to optimize: --env ID, or --fitness MOD:FN with "
                          "--observation-space MOD:NAME")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = args.run_dir = args.run_dir or str(Path("runs") / f"{config.strategy}-{config.seed}-{stamp}")
    with warnings.catch_warnings():  # the summary below says it, with the causes
        warnings.filterwarnings("ignore", "no candidate was evaluated successfully", RuntimeWarning)
        result = search(config=config, run_dir=run_dir, progress=args.progress, **kwargs)
    print_summary(result)
    if args.report:
        from evo_lacer.runs import write_report

        print(f"report: {write_report(result.run_dir)}")
    return 0 if result.best_tree is not None else 1
