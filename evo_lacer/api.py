"""The public entry points: `search()` starts a run, `resume()` continues one.

They only wire: they build the components -- evaluator, catalog, spaces, LLM backend, run store
and its lock -- and hand them to the engine's session (`evo_lacer.engine.run_session`: gate,
strategy, executor, harness, loop, promotion, accounting); every setting is a field of
`SearchConfig`, overridable by keyword.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import torch

from evo_lacer._arguments import (
    check_components,
    check_evaluator,
    check_rl_options,
    check_run_dir,
    discard_unstarted,
    seed_trees,
    warn_nothing_found,
    warn_unused_seeds,
)
from evo_lacer.engine import Candidate, SearchConfig, run_session
from evo_lacer.engine._config import renamed
from evo_lacer.engine._flat_strategy import FlatSpaceLike
from evo_lacer.errors import ConfigError, EvoLacerError, LLMUnavailable, RunStoreError
from evo_lacer.evaluate import Evaluator, Feedback, FunctionEvaluator
from evo_lacer.evaluate._function import FitnessFn
from evo_lacer.llm import LLMBackend
from evo_lacer.llm._factory import parse_spec
from evo_lacer.runs import RunLock
from evo_lacer.tree import Node, node_to_dict
from evo_lacer.zoo import Catalog, builtin_catalog

COMPONENTS = "components"
"""Key of the run config recording, as data, how `resume` rebuilds the evaluator (see
`evo_lacer.runs._components`); nothing in a run folder is ever unpickled."""


@dataclass(frozen=True)
class SearchResult:
    """What a search found and what it cost."""

    best_tree: Node | None
    """The best tree evaluated (highest fitness), None when no evaluation succeeded."""
    best_module: torch.nn.Module | None
    """`best_tree` compiled for the observation space (fresh weights)."""
    best_feedback: Feedback | None
    history: tuple[Candidate, ...]
    """Every candidate of the run, by id (evaluated, rejected by the gate, or answered by the cache)."""
    run_dir: Path
    accounting: Mapping[str, Any]
    """Evaluations, rejections, cache hits, failures, wall and evaluation seconds, LLM use, ..."""
    config: SearchConfig
    best_id: int | None = None


CHEAP_ONLY = ("expert", "dataset_steps", "action_noise", "grad_steps", "batch_size", "learning_rate",
              "holdout", "rollout_episodes", "probe_weight", "data_seed")
"""`rl_options` keys that only the cheap fidelity's `ImitationEvaluator` takes."""
CHEAP_KEYS = ("env_kwargs", "kinds", "wrappers", "device", *CHEAP_ONLY)
"""`rl_options` keys the cheap fidelity's `ImitationEvaluator` takes (the env's own, and its own)."""


def _make_evaluator(env: Any, observation_space: Any, fitness: FitnessFn | None, evaluator: Evaluator | None,
                    catalog: Catalog | None, rl_options: Mapping[str, Any] | None = None,
                    cheap: str | None = None, short_fraction: float = 0.25) -> Evaluator:
    """The evaluator the search loop uses (for env=: PPO, or at the cheap fidelity ``cheap``
    imitation or a short PPO run)."""
    if sum(x is not None for x in (env, fitness, evaluator)) != 1:
        raise ConfigError("pass exactly one of env= (a gymnasium id or factory), fitness= (with "
                          "observation_space=) or evaluator=")
    if env is not None and observation_space is not None:
        raise ConfigError("observation_space= is read from the env with env=; leave it out (it is for "
                          "fitness=)")
    if evaluator is not None:
        check_evaluator(evaluator)
        return evaluator
    if fitness is not None:
        if observation_space is None:
            raise ConfigError("fitness= needs observation_space= (the gymnasium space the trees are "
                              "built for)")
        return FunctionEvaluator(fitness, observation_space, catalog)
    from evo_lacer import evaluate

    rl_evaluator: Any = getattr(evaluate, "RLEvaluator", None)
    if rl_evaluator is None:
        raise ConfigError("env= needs evo_lacer.evaluate.RLEvaluator, which this installation lacks; "
                          "pass fitness= and observation_space=, or evaluator=")
    check_rl_options(rl_options, rl_evaluator, CHEAP_ONLY)
    if cheap == "imitation":
        cheap_options = {k: v for k, v in (rl_options or {}).items() if k in CHEAP_KEYS}
        return cast(Evaluator, evaluate.ImitationEvaluator(env, catalog=catalog, **cheap_options))
    options = {k: v for k, v in (rl_options or {}).items() if k not in CHEAP_ONLY}  # the cheap fidelity's
    if catalog is not None:
        options.setdefault("catalog", catalog)
    full = rl_evaluator(env, **options)
    return cast(Evaluator, full.short(short_fraction) if cheap == "ppo-short" else full)


def _resolve_llm(llm: str | LLMBackend | None, config: SearchConfig) -> tuple[LLMBackend | None, str]:
    """The backend for LLM strategies (None: design at random) and the spec to record."""
    if not config.uses_llm:
        return None, "none"
    if llm is not None and not isinstance(llm, str):
        if not callable(getattr(llm, "complete", None)):
            raise ConfigError(f"llm={llm!r} is neither a spec string nor an LLMBackend (with .complete)")
        return llm, f"custom:{getattr(llm, 'name', '?')}:{getattr(llm, 'model', '?')}"
    spec = config.llm if llm is None else llm
    if spec.startswith("custom:"):
        raise ConfigError(f"this run used a backend object ({spec}); pass it again as llm=")
    from evo_lacer.llm import make_backend, verify_backend

    try:
        backend = make_backend(spec)
        if backend is not None and spec.strip().lower() != "auto":
            verify_backend(backend)  # a backend the user named must answer: fail now, not silently later
    except LLMUnavailable as exc:
        if spec.strip().lower() != "auto":
            raise
        warnings.warn(f"llm='auto' found no usable LLM ({exc}); designing at random", RuntimeWarning,
                      stacklevel=3)
        return None, "none"
    return backend, spec


def _flat_space(space: Any, evaluator: Evaluator) -> FlatSpaceLike:
    from evo_lacer.flat import FlatSpace

    if isinstance(space, FlatSpace):
        return space if space.sources else space.for_sources(evaluator.observation_space)
    return FlatSpace.load(space).for_sources(evaluator.observation_space)


def _components(task_evaluator: Evaluator, full: Evaluator | None, env: Any, fitness: FitnessFn | None,
                catalog: Catalog | None, space: Any, rl_options: Mapping[str, Any] | None,
                cheap: str | None) -> dict[str, Any]:
    """What `resume` needs to rebuild the run's parts, as JSON data (see `evo_lacer.runs._components`)."""
    from evo_lacer.runs._components import recipe

    options = {k: v for k, v in (rl_options or {}).items() if k not in CHEAP_ONLY}  # as `_make_evaluator`
    if cheap == "imitation":
        kind, task_options = "imitation", {k: v for k, v in (rl_options or {}).items() if k in CHEAP_KEYS}
    elif cheap == "ppo-short":
        short = cast(Any, task_evaluator)
        task_options = {**options, "steps": short.steps, "ppo_seeds": 1, "fidelity": short.fidelity}
        kind = "rl"
    else:
        kind, task_options = "rl", options
    out: dict[str, Any] = {
        "evaluator": recipe(task_evaluator, env=env, fitness=fitness, kind=kind, options=task_options),
        "catalog": None if catalog is None else hashlib.sha256(catalog.to_json().encode()).hexdigest(),
        "space": space is not None and not isinstance(space, str | os.PathLike),
    }
    if full is not None:
        out["full_evaluator"] = recipe(full, env=env, kind="rl", options=options)
    return out


def search(
    env: str | Callable[[], Any] | None = None,
    *,
    observation_space: Any = None,
    fitness: FitnessFn | None = None,
    evaluator: Evaluator | None = None,
    budget: int | None = None,
    seed: int | None = None,
    strategy: str | None = None,
    llm: str | LLMBackend | None = None,
    workers: int | None = None,
    run_dir: str | os.PathLike[str] | None = None,
    max_params: int | None = None,
    max_latency_ms: float | None = None,
    seed_tree: Node | str | os.PathLike[str] | None = None,
    population_size: int | None = None,
    config: SearchConfig | None = None,
    catalog: Catalog | None = None,
    space: Any = None,
    rl_options: Mapping[str, Any] | None = None,
    progress: bool = False,
    **options: Any,
) -> SearchResult:
    """Search for an encoder tree; see `SearchConfig` for every setting.

    The task is one of: ``env`` (a gymnasium id or factory; RL evaluation), ``fitness`` with
    ``observation_space`` (a callable ``fitness(tree, module) -> float | dict | FitnessRecord``),
    or ``evaluator``. ``llm`` is a spec string or an `LLMBackend`; with ``"none"`` the LLM
    strategies design at random. ``seed_tree`` (tree strategies): a tree or a tree file, evaluated
    in the first generation beside the diverse sample of the flat space (default: the sample
    alone). ``space``: a `FlatSpace` or a space file (default ``trees/lacer_space.json``).
    ``run_dir``: a new folder (default: a fresh temporary folder).
    ``rl_options``: keyword arguments of `RLEvaluator` for ``env`` (``steps``, ``env_kwargs``, ...);
    it and ``fidelity`` are refused with ``fitness``/``evaluator`` (the user's function is the one fidelity);
    at ``fidelity="cheap"``/``"halving"`` the cheap fidelity is ``cheap_fidelity``: ``"ppo-short"``
    (the default: the same PPO for ``short_fraction`` of ``steps``, one seed) or ``"imitation"``,
    whose evaluator takes ``env_kwargs``, ``kinds``, ``wrappers`` and its own settings (`CHEAP_ONLY`:
    ``expert``, ``dataset_steps``, ``grad_steps``, ...) from it; those are refused where no imitation runs.
    Other keyword arguments set `SearchConfig` fields; explicit arguments override ``config``.
    Whatever a fitness raises (``KeyboardInterrupt`` and ``SystemExit`` too) is that candidate's
    recorded failure; Ctrl-C (SIGINT) stops the search, and `resume` goes on from there. A search
    refused before its first candidate leaves no run folder behind; one where no candidate succeeded
    warns with the most frequent causes.
    """
    check_components(config=config, catalog=catalog, space=space, llm=llm, rl_options=rl_options,
                     progress=progress)
    options = renamed(options, "search()")
    known = {f.name for f in dataclasses.fields(SearchConfig)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(f"search() got unknown options {unknown}; SearchConfig fields: {sorted(known)}")
    overrides: dict[str, Any] = {k: v for k, v in dict(
        budget=budget, seed=seed, strategy=strategy, workers=workers, max_params=max_params,
        max_latency_ms=max_latency_ms, population_size=population_size).items() if v is not None}
    if isinstance(llm, str):
        overrides["llm"] = llm
    if isinstance(seed_tree, str | os.PathLike):
        overrides["seed_tree"] = str(seed_tree)
    if isinstance(space, str | os.PathLike):
        overrides["space"] = str(space)
    overrides.update(options)
    cfg = dataclasses.replace(config or SearchConfig(), **overrides)

    if env is None and (fitness is not None or evaluator is not None):
        _refuse_env_only(cfg, rl_options, "fitness=" if fitness is not None else "evaluator=")
    cheap = None if cfg.fidelity == "full" else cfg.cheap_fidelity
    _refuse_unused_imitation_options(rl_options, cheap)
    task_evaluator = _make_evaluator(env, observation_space, fitness, evaluator, catalog, rl_options,
                                     cheap, cfg.short_fraction)
    full = _make_evaluator(env, None, None, None, catalog, rl_options) if cfg.fidelity == "halving" else None
    cat = catalog if catalog is not None else getattr(task_evaluator, "catalog", None) or builtin_catalog()
    flat = _flat_space(space if space is not None and not isinstance(space, str | os.PathLike) else cfg.space,
                       task_evaluator)
    seeds = seed_trees(seed_tree, cfg)
    warn_unused_seeds(cfg, seeds)
    _warn_unfit_seeds(seeds, seed_tree if seed_tree is not None else cfg.seed_tree,
                      task_evaluator.observation_space, cat)
    backend, llm_spec = _resolve_llm(llm, cfg)
    if llm is not None and not isinstance(llm, str):
        cfg = dataclasses.replace(cfg, llm=llm_spec)

    from evo_lacer.runs import RunStore

    folder = (check_run_dir(run_dir, "search()") if run_dir is not None
              else Path(tempfile.mkdtemp(prefix="evo-lacer-")))
    existed = folder.exists()
    parts = _components(task_evaluator, full, env, fitness, catalog, space, rl_options, cheap)
    run_config = {**cfg.to_dict(), "seed_trees": [node_to_dict(t) for t in seeds],
                  "task": task_evaluator.describe(), "evaluator": repr(task_evaluator),
                  "observation_space": str(task_evaluator.observation_space), "llm_backend": llm_spec,
                  COMPONENTS: parts}
    store = RunStore.create(folder, run_config)
    if fitness is not None and not parts["evaluator"]["rebuild"]:
        warnings.warn(f"the fitness is recorded by name only ({parts['evaluator']['why']}); to resume this "
                      "run pass it again: resume(run_dir, fitness=...)", RuntimeWarning, stacklevel=2)
    try:
        with RunLock(store.path):
            return _execute(store, cfg, task_evaluator, cat, flat, seeds, backend, progress, full)
    except EvoLacerError:
        discard_unstarted(store.path, existed, store)  # refused before its first candidate: nothing lost
        raise


def _refuse_unused_imitation_options(rl_options: Mapping[str, Any] | None, cheap: str | None) -> None:
    """The imitation evaluator's own `rl_options` are refused where no imitation runs (they were dropped)."""
    imitation_only = sorted(set(rl_options or {}) & set(CHEAP_ONLY))
    if not imitation_only or cheap == "imitation":
        return
    if cheap == "ppo-short":
        why = ("cheap_fidelity is 'ppo-short' (a short PPO run, no expert); pass cheap_fidelity='imitation' "
               "(--cheap-fidelity imitation)")
    else:
        why = ("fidelity is 'full' (PPO per candidate); pass fidelity='cheap' or 'halving' with "
               "cheap_fidelity='imitation' (--fidelity cheap --cheap-fidelity imitation)")
    raise ConfigError(f"rl_options {imitation_only} set the imitation fidelity, but {why} to use them, or "
                      "drop them")


def _refuse_env_only(cfg: SearchConfig, rl_options: Mapping[str, Any] | None, task: str) -> None:
    """Refuse the settings that only an env= task uses, rather than run without them: with fitness= or
    evaluator= the user's function is the one fidelity."""
    given = [f"fidelity={cfg.fidelity!r}"] if cfg.fidelity != "full" else []
    if rl_options:
        given.append(f"rl_options={dict(rl_options)!r}")
    if given:
        raise ConfigError(f"{' and '.join(given)} apply with env= only (PPO or imitation on an env); with "
                          f"{task} your function is the one fidelity -- leave them out (fidelity='full' is "
                          "the default)")


def _warn_unfit_seeds(seeds: list[Node], origin: Any, observation_space: Any, catalog: Catalog) -> None:
    """Say, before any budget is spent, when a user's seed tree cannot be built for this task: the
    gate will reject it (a recorded rejection, the search goes on without it)."""
    from evo_lacer.compile import infer_sources
    from evo_lacer.transform import Gate

    gate = Gate(observation_space, catalog, latency_runs=0)
    where = f"seed tree {origin}" if isinstance(origin, str | os.PathLike) else "the seed tree given"
    for tree in seeds:
        result = gate.check(None, tree)
        if result.check in ("structure", "compile", "forward"):
            sources = ", ".join(infer_sources(observation_space))
            warnings.warn(f"{where} does not fit this task ({result.check}: {result.reason}); the gate will "
                          f"reject it and the search goes on without it. A seed tree must read this task's "
                          f"sources ({sources}): export one from a run on this task (`evo-lacer export`) "
                          "or leave --seed-tree out", UserWarning, stacklevel=3)


def resume(
    run_dir: str | os.PathLike[str], *, evaluator: Evaluator | None = None, fitness: FitnessFn | None = None,
    observation_space: Any = None, full_evaluator: Evaluator | None = None,
    llm: str | LLMBackend | None = None, workers: int | None = None, catalog: Catalog | None = None,
    space: Any = None, progress: bool = False, executor: str | None = None, dask_address: str | None = None,
    llm_timeout_s: float | None = None,
) -> SearchResult:
    """Continue a run (killed or finished) with no evaluation lost or repeated.

    Nothing stored in the run folder is executed: the evaluator is rebuilt from what the run
    recorded as data (a fitness function by import path, the RL / imitation evaluators by env id
    and settings); otherwise pass it again (``evaluator=``, or ``fitness=`` with the recorded or a
    given ``observation_space``), and a custom ``catalog`` / ``space`` too. The store is checked
    against the checkpoints first (`RunStoreError` on a mismatch). ``workers``, ``executor`` and
    ``dask_address`` may differ from the original run (``executor="process"`` isolates an evaluation
    that crashed the last session, and drops a recorded Dask address); ``llm`` overrides the recorded
    backend spec and ``llm_timeout_s`` the recorded time limit of one LLM call (raise it when the run's
    report shows calls that timed out).
    """
    from evo_lacer.runs import RunStore
    from evo_lacer.runs._resume import check_run, recorded_parts

    check_components(catalog=catalog, space=space, llm=llm, progress=progress)
    if evaluator is not None:
        check_evaluator(evaluator)
    if isinstance(llm, str):
        parse_spec(llm)  # a misspelt llm is an error for every strategy, as in search()
    store = RunStore.open(check_run_dir(run_dir, "resume()"))
    with RunLock(store.path):
        data = renamed(store.config, str(store.path / "run.json"))
        if data.get("fidelity") in ("cheap", "halving") and "cheap_fidelity" not in data:
            data = {**data, "cheap_fidelity": "imitation"}  # recorded before ppo-short was the default
        if "screen_designs" in data and "screen_design_source" not in data:
            data = {**data, "screen_design_source": "random"}  # recorded before TPE filled the screen
        fields = {f.name for f in dataclasses.fields(SearchConfig)}
        try:
            cfg = SearchConfig.from_dict({k: v for k, v in data.items() if k in fields})
        except ConfigError as exc:
            raise RunStoreError(f"{store.path / 'run.json'}: the recorded config is not valid ({exc}); the "
                                "file was edited or damaged: restore it, or start a new search") from None
        overrides: dict[str, Any] = {k: v for k, v in (("workers", workers), ("executor", executor),
                                                       ("dask_address", dask_address),
                                                       ("llm_timeout_s", llm_timeout_s)) if v is not None}
        if executor in ("process", "inprocess") and dask_address is None:
            overrides["dask_address"] = None  # the recorded cluster is not used
        cfg = dataclasses.replace(cfg, **overrides)  # a bad override is the caller's ConfigError
        parts = recorded_parts(store, evaluator=evaluator, fitness=fitness,
                               observation_space=observation_space, full_evaluator=full_evaluator,
                               catalog=catalog, space=space)
        task_evaluator = parts.evaluator
        cat = catalog or getattr(task_evaluator, "catalog", None) or builtin_catalog()
        flat = _flat_space(space if space is not None else cfg.space, task_evaluator)
        seeds = list(parts.seeds)
        check_run(store)
        backend, _ = _resolve_llm(llm if llm is not None else str(data.get("llm_backend", cfg.llm)), cfg)
        if cfg.fidelity == "halving" and parts.full_evaluator is None:
            raise RunStoreError(f"{store.path}: the run's full-fidelity evaluator cannot be rebuilt from its "
                                "record; pass it again: resume(run_dir, evaluator=..., full_evaluator=...)")
        return _execute(store, cfg, task_evaluator, cat, flat, seeds, backend, progress, parts.full_evaluator)


def _execute(store: Any, cfg: SearchConfig, evaluator: Evaluator, catalog: Catalog, flat: FlatSpaceLike,
             seeds: list[Node], backend: LLMBackend | None, progress: bool,
             full: Evaluator | None = None) -> SearchResult:
    """Run the session (`evo_lacer.engine.run_session`) and compile its best tree."""
    from evo_lacer.compile import compile_tree

    outcome = run_session(store, cfg, evaluator, catalog, flat, seeds, backend, progress=progress, full=full)
    best_module = None
    if outcome.best_tree is not None:
        try:
            best_module = compile_tree(outcome.best_tree, evaluator.observation_space, catalog)
        except Exception as exc:
            warnings.warn(f"the best tree no longer compiles: {exc}", RuntimeWarning, stacklevel=3)
    else:
        warn_nothing_found(outcome.history, Path(store.path))
    return SearchResult(outcome.best_tree, best_module, outcome.best_feedback, outcome.history,
                        Path(store.path), outcome.accounting, cfg, outcome.best_id)


__all__ = ["SearchConfig", "SearchResult", "resume", "search"]
