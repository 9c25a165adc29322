"""Wiring: the planner, designer and strategy a `SearchConfig` names (components passed in)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evo_lacer.engine._config import SearchConfig
from evo_lacer.engine._designer import Designer, RandomDesigner
from evo_lacer.engine._flat_strategy import FlatSpaceLike, FlatStrategy, first_config
from evo_lacer.engine._llm_client import ExchangeSink
from evo_lacer.engine._llm_designer import LLMDesigner
from evo_lacer.engine._optuna_planner import OptunaPlanner
from evo_lacer.engine._planner import Planner, RandomPlanner
from evo_lacer.engine._strategy import Strategy
from evo_lacer.engine._thompson import ThompsonPlanner
from evo_lacer.engine._tree_strategy import TreeStrategy
from evo_lacer.llm import LLMBackend
from evo_lacer.signals import Signal
from evo_lacer.tree import Node
from evo_lacer.zoo import Catalog


def make_planner(config: SearchConfig, transformations: Sequence[str]) -> Planner:
    """hybrid: Optuna (diversity-guided); llmastool: Thompson sampling; evolution: random."""
    if config.strategy == "hybrid":
        return OptunaPlanner(config.seed, sampler=config.planner_sampler,
                             novelty_weight=config.novelty_weight,
                             feature_weight=config.feature_weight, n_startup_trials=config.n_startup_trials,
                             transformations=tuple(transformations))
    if config.strategy == "llmastool":
        return ThompsonPlanner(config.seed, epsilon=config.epsilon)
    return RandomPlanner(config.seed)


def make_designer(config: SearchConfig, backend: LLMBackend | None, *, exchange_sink: ExchangeSink | None,
                  task: str) -> Designer:
    """The LLM designer for hybrid/llmastool with a backend; the random designer otherwise."""
    if backend is None or config.strategy not in ("hybrid", "llmastool"):
        return RandomDesigner()
    return LLMDesigner(
        backend, exchange_sink=exchange_sink, max_sites=config.max_sites,
        insight_memory=config.insight_memory,
        history_in_prompt=config.history_in_prompt, temperature=config.llm_temperature,
        timeout_s=config.llm_timeout_s, max_tokens=config.llm_max_tokens,
        reflection=config.reflection and config.strategy == "hybrid", seed=config.seed, task=task,
        signals=config.llm_signals,
    )


def default_seed_tree(space: FlatSpaceLike) -> Node:
    """The flat space's first configuration: every source's first family with its first options."""
    return space.to_tree(first_config(space))


def build_strategy(
    config: SearchConfig, *, catalog: Catalog, inputs: Mapping[str, Signal], seeds: Sequence[Node],
    space: FlatSpaceLike | None, backend: LLMBackend | None, exchange_sink: ExchangeSink | None, task: str,
    transformations: Mapping[str, Any] | None = None,
) -> Strategy:
    """The strategy `config.strategy` names, built from the given components."""
    if config.tree_based:
        from evo_lacer.transform import ALL_TRANSFORMATIONS

        registry = dict(transformations or ALL_TRANSFORMATIONS)
        return TreeStrategy(
            name=config.strategy, planner=make_planner(config, list(registry)),
            designer=make_designer(config, backend, exchange_sink=exchange_sink, task=task),
            transformations=registry, catalog=catalog, inputs=inputs, seeds=seeds, task=task,
            seed=config.seed,
            population_size=config.population_size, elitism=config.elitism,
            tournament_size=config.tournament_size, objectives=config.objectives,
            history_kept=config.history_in_prompt,
        )
    if space is None:
        raise ValueError(f"strategy {config.strategy!r} needs a flat space")
    llm = backend if config.strategy in ("lacer", "genius") else None
    return FlatStrategy(name=config.strategy, space=space, seed=config.seed, task=task, backend=llm,
                        exchange_sink=exchange_sink, n_startup_trials=config.n_startup_trials,
                        history_shown=max(2, config.history_in_prompt), temperature=config.llm_temperature,
                        timeout_s=config.llm_timeout_s, initial_evaluations=config.initial_evaluations,
                        signals=("reward",) if config.strategy == "genius" else config.llm_signals)
