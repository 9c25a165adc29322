"""The strategy registry: one entry per strategy name, read instead of comparing names."""

from __future__ import annotations

import typing

import pytest
from search_helpers import FirstOptionBackend

from evo_lacer.cli import build_parser
from evo_lacer.engine import (
    FLAT_STRATEGIES,
    LLM_STRATEGIES,
    STRATEGIES,
    STRATEGY_REGISTRY,
    TREE_STRATEGIES,
    OptunaPlanner,
    RandomDesigner,
    RandomPlanner,
    SearchConfig,
    ThompsonPlanner,
    make_designer,
    make_planner,
)
from evo_lacer.engine._registry import StrategyName
from evo_lacer.errors import ConfigError


def test_the_registry_names_every_strategy_once_in_the_documented_order() -> None:
    assert STRATEGIES == ("hybrid", "evolution", "random", "tpe", "lacer", "genius", "llmastool", "pepnas",
                          "darts", "enas")
    assert typing.get_args(StrategyName) == STRATEGIES
    assert all(name == spec.name for name, spec in STRATEGY_REGISTRY.items())
    assert TREE_STRATEGIES == ("hybrid", "evolution", "llmastool")
    assert FLAT_STRATEGIES == ("random", "tpe", "lacer", "genius", "pepnas", "darts", "enas")
    assert LLM_STRATEGIES == ("hybrid", "lacer", "genius", "llmastool")
    assert tuple(n for n, s in STRATEGY_REGISTRY.items() if s.trains_supernet) == ("darts", "enas")
    choices = next(a.choices for a in build_parser()._subparsers._group_actions[0].choices["search"]._actions
                   if a.dest == "strategy")
    assert tuple(choices) == STRATEGIES


def test_unknown_strategy_names_the_registry() -> None:
    with pytest.raises(ConfigError, match=r"unknown strategy 'nasnet'.*hybrid"):
        SearchConfig(strategy="nasnet")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", STRATEGIES)
def test_config_reads_its_strategy_from_the_registry(name: str) -> None:
    cfg = SearchConfig(strategy=name)  # type: ignore[arg-type]
    spec = STRATEGY_REGISTRY[name]
    assert cfg.spec is spec and cfg.tree_based is spec.tree_based and cfg.uses_llm is spec.uses_llm
    assert cfg.screen_count == (8 if name == "hybrid" else 1)
    assert SearchConfig(strategy=name, screen_variants=3).screen_count == 3  # type: ignore[arg-type]
    shown = spec.channels_for(cfg.llm_channels)
    assert shown == (("reward",) if name == "genius" else ("reward", "metrics", "features"))
    planner = make_planner(cfg, ["swap_module"])
    kind = {"hybrid": OptunaPlanner, "llmastool": ThompsonPlanner}.get(name, RandomPlanner)
    assert type(planner) is kind


@pytest.mark.parametrize("name", STRATEGIES)
def test_only_tree_strategies_with_an_llm_get_the_llm_designer(name: str) -> None:
    cfg = SearchConfig(strategy=name)  # type: ignore[arg-type]
    designer = make_designer(cfg, FirstOptionBackend(), exchange_sink=None, task="")
    assert isinstance(designer, RandomDesigner) is not (name in ("hybrid", "llmastool"))
    if name in ("hybrid", "llmastool"):
        assert designer.reflection is (name == "hybrid")  # type: ignore[attr-defined]
