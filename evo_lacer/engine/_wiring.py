"""Wiring: the planner, designer and strategy a `SearchConfig` names (components passed in); what
differs between strategy names is read from their `StrategySpec` (see `_registry`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evo_lacer.engine._arms import (
    DEFAULT_ARMS,
    DESIGN_ARMS,
    DESIGN_TPE,
    EDIT_LLM,
    EDIT_RANDOM,
    LLM_ARMS,
    ArmBandit,
)
from evo_lacer.engine._designer import Designer, RandomDesigner
from evo_lacer.engine._flat_designs import FlatDesigns
from evo_lacer.engine._flat_strategy import FlatStrategy, first_config
from evo_lacer.engine._llm_client import ExchangeSink
from evo_lacer.engine._llm_designer import LLMDesigner
from evo_lacer.engine._optuna_planner import OptunaPlanner
from evo_lacer.engine._planner import Planner, RandomPlanner
from evo_lacer.engine._screen import NOISE, Screen
from evo_lacer.engine._strategy import Strategy
from evo_lacer.engine._thompson import ThompsonPlanner
from evo_lacer.engine._tpe_designer import TPEDesigner
from evo_lacer.engine._tree_strategy import TreeStrategy
from evo_lacer.engine._trust import AnswerTrust, resolve_trust
from evo_lacer.engine._whole_designer import FlatSpaceLike, WholeDesigner
from evo_lacer.llm import LLMBackend
from evo_lacer.signals import Signal
from evo_lacer.tree import Node
from evo_lacer.zoo import Catalog

if TYPE_CHECKING:
    from evo_lacer.engine._config import SearchConfig
    from evo_lacer.engine._registry import StrategySpec


@dataclass(frozen=True)
class StrategyParts:
    """The components a strategy is built from (passed in by the caller, never built here)."""

    catalog: Catalog
    inputs: Mapping[str, Signal]
    seeds: Sequence[Node]
    space: FlatSpaceLike | None
    backend: LLMBackend | None
    exchange_sink: ExchangeSink | None
    task: str
    transformations: Mapping[str, Any] | None = None
    evaluator: Any = None
    """The search's evaluator, for strategies that train with it themselves (darts, enas: the
    `evo_lacer.evaluate.PPOTrainer` hook); None where the caller has none to give."""


def optuna_planner(config: SearchConfig, transformations: tuple[str, ...]) -> Planner:
    """hybrid: Optuna (diversity-guided), compound moves of up to `max_edits` edits."""
    return OptunaPlanner(config.seed, sampler=config.planner_sampler, novelty_weight=config.novelty_weight,
                         feature_weight=config.feature_weight, n_startup_trials=config.n_startup_trials,
                         transformations=transformations, max_edits=config.max_edits)


def thompson_planner(config: SearchConfig, transformations: tuple[str, ...]) -> Planner:
    """llmastool: Thompson sampling over operations and prompt categories."""
    return ThompsonPlanner(config.seed, epsilon=config.epsilon)


def random_planner(config: SearchConfig, transformations: tuple[str, ...]) -> Planner:
    """evolution: uniform choices, compound moves of up to `max_edits` edits."""
    return RandomPlanner(config.seed, max_edits=config.max_edits)


def make_planner(config: SearchConfig, transformations: Sequence[str]) -> Planner:
    """The planner of `config.strategy` (its `StrategySpec.planner`)."""
    return config.spec.planner(config, tuple(transformations))


def make_designer(config: SearchConfig, backend: LLMBackend | None, *, exchange_sink: ExchangeSink | None,
                  task: str, vocabulary: Collection[str] = ()) -> Designer:
    """The LLM designer for a tree strategy that uses an LLM, given a backend; the random one otherwise."""
    spec = config.spec
    if backend is None or not (spec.tree_based and spec.uses_llm):
        return RandomDesigner()
    return LLMDesigner(
        backend, exchange_sink=exchange_sink, max_sites=config.max_sites,
        insight_memory=config.insight_memory,
        history_in_prompt=config.history_in_prompt, temperature=config.llm_temperature,
        timeout_s=config.llm_timeout_s, max_tokens=config.llm_max_tokens,
        reflection=config.reflection and spec.reflection, seed=config.seed, task=task,
        channels=spec.channels_for(config.llm_channels), vocabulary=vocabulary,
    )


def make_screen(config: SearchConfig) -> Screen:
    """The hybrid's surrogate screen as `config` sets it (`screen_variants`, `_kernel`, `_noise`)."""
    return Screen(config.screen_count, kernel=config.screen_kernel,
                  noise=None if config.screen_noise == "fitted" else NOISE)


def make_arms(config: SearchConfig, designer: Designer, *, designs: bool = True) -> ArmBandit:
    """A strategy with arms (hybrid): those of `config.arms` (or `DEFAULT_ARMS`) it can use --
    random-filled edits; with an LLM, LLM-filled edits and, with a flat space, whole LLM designs;
    ``design:tpe`` (opt-in) with a flat space.
    Other strategies: LLM-filled edits with an LLM (llmastool, its paper's method), else random-filled
    edits. `designs`: whether whole designs can be made (a flat space exists)."""
    llm = isinstance(designer, LLMDesigner)
    if config.spec.arms:
        usable = [a for a in config.arms or DEFAULT_ARMS if (designs or a not in DESIGN_ARMS)
                  and (llm or a not in LLM_ARMS)]
        arms: tuple[str, ...] = tuple(usable) or (EDIT_RANDOM,)
    elif llm:
        arms = (EDIT_LLM,)
    else:
        arms = (EDIT_RANDOM,)
    return ArmBandit(arms, seed=config.seed, cost_weight=config.arm_cost_weight)


def search_vocabulary(inputs: Mapping[str, Signal], catalog: Catalog, space: FlatSpaceLike | None
                      ) -> frozenset[str]:
    """Names an insight may mention to be kept: the sources, the catalog's modules and their
    parameters, and the flat space's families (see `insight_problem`)."""
    words: set[str] = set(inputs) | {"fusion"}
    for key in catalog:
        spec = catalog[key]
        words.add(spec.short)
        words.update(p.name for p in spec.params)
    for fams in getattr(space, "per_source", {}).values():
        words.update(fams)
    words.update(getattr(space, "fusion", {}) or {})
    return frozenset(w.lower() for w in words if len(w) >= 3)


def default_seed_tree(space: FlatSpaceLike) -> Node:
    """The flat space's first configuration: every source's first family with its first options."""
    return space.to_tree(first_config(space))


def build_strategy(
    config: SearchConfig, *, catalog: Catalog, inputs: Mapping[str, Signal], seeds: Sequence[Node],
    space: FlatSpaceLike | None, backend: LLMBackend | None, exchange_sink: ExchangeSink | None, task: str,
    transformations: Mapping[str, Any] | None = None, evaluator: Any = None,
) -> Strategy:
    """The strategy `config.strategy` names, built from the given components."""
    parts = StrategyParts(catalog=catalog, inputs=inputs, seeds=seeds, space=space, backend=backend,
                          exchange_sink=exchange_sink, task=task, transformations=transformations,
                          evaluator=evaluator)
    return config.spec.build(config.spec, config, parts)


def build_tree_strategy(spec: StrategySpec, config: SearchConfig, parts: StrategyParts) -> Strategy:
    """hybrid / evolution / llmastool: a population of trees edited by transformations."""
    from evo_lacer.transform import ALL_TRANSFORMATIONS, RedrawBranch

    space = parts.space
    transforms = dict(parts.transformations or ALL_TRANSFORMATIONS)
    if parts.transformations is None and space is not None and hasattr(space, "suggest_entry"):
        transforms["redraw_branch"] = RedrawBranch(space)  # type: ignore[arg-type]
    designer = make_designer(config, parts.backend, exchange_sink=parts.exchange_sink, task=parts.task,
                             vocabulary=search_vocabulary(parts.inputs, parts.catalog, space))
    seeds = parts.seeds
    if not seeds and config.initial_count == 0 and space is not None:
        seeds = [default_seed_tree(space)]  # nothing else to start from
    whole = None
    if spec.arms and isinstance(designer, LLMDesigner) and space is not None:
        whole = WholeDesigner(designer.client, space, seed=config.seed, task=parts.task,
                              channels=spec.channels_for(config.llm_channels),
                              history_shown=max(2, config.history_in_prompt))
    arms = make_arms(config, designer, designs=space is not None)
    needs_tpe = DESIGN_TPE in arms.arms or (config.screen_design_count > 0
                                            and config.screen_design_source == "tpe")
    designs = None if space is None else FlatDesigns(
        space, tpe=TPEDesigner(space, n_startup_trials=config.n_startup_trials) if needs_tpe else None,
        per_screen=config.screen_design_count, source=config.screen_design_source,
        reuse=config.screen_design_reuse, seed=config.seed)
    return TreeStrategy(
        name=config.strategy, planner=make_planner(config, list(transforms)), designer=designer,
        transformations=transforms, catalog=parts.catalog, inputs=parts.inputs, seeds=seeds, task=parts.task,
        seed=config.seed,
        population_size=config.population, elitism=config.elitism,
        tournament_size=config.tournament_size, objectives=config.objectives,
        history_kept=config.history_in_prompt, space=space, initial_designs=config.initial_count,
        arms=arms, whole=whole, designs=designs, llm_initial_designs=config.llm_initial_count,
        screen=make_screen(config), screen_pool=config.screen_pool,
        trust=AnswerTrust(resolve_trust(config.llm_trust, None), seed=config.seed),  # auto: see run_session
        reflect_every=config.generation_size if config.loop_kind == "steady" else 0,
        select_every=config.generation_size
        if config.loop_kind == "steady" and config.steady_survival == "generation" else 0,
    )


def build_flat_strategy(spec: StrategySpec, config: SearchConfig, parts: StrategyParts) -> Strategy:
    """random / tpe / lacer / genius: whole configurations of the flat per-source space."""
    if parts.space is None:
        raise ValueError(f"strategy {config.strategy!r} needs a flat space")
    return FlatStrategy(name=config.strategy, space=parts.space, seed=config.seed, task=parts.task,
                        backend=parts.backend if spec.uses_llm else None, exchange_sink=parts.exchange_sink,
                        n_startup_trials=config.n_startup_trials,
                        history_shown=max(2, config.history_in_prompt), temperature=config.llm_temperature,
                        timeout_s=config.llm_timeout_s, initial_evaluations=config.initial_evaluations,
                        channels=spec.channels_for(config.llm_channels),
                        await_initial=config.loop_kind == "steady")
