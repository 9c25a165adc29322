"""SearchConfig refuses every out-of-range number, naming the field, the value and what it must be."""

from __future__ import annotations

import dataclasses
import math

import pytest

from evo_lacer.engine import SearchConfig
from evo_lacer.engine._config_checks import INTEGERS, MAX_SEED, NUMBERS
from evo_lacer.errors import ConfigError


@pytest.mark.parametrize(("field", "value", "says"), [
    ("gate_threads", -1, "a positive integer"), ("n_startup_trials", -1, "an integer >= 0"),
    ("max_sites", 0, "a positive integer"), ("insight_memory", -1, "an integer >= 0"),
    ("history_in_prompt", -3, "an integer >= 0"), ("llm_max_tokens", 0, "a positive integer"),
    ("max_params", 0, "a positive integer or None"), ("max_params", "100", "a positive integer or None"),
    ("elitism", 1.5, "an integer in 0..population_size"),
    ("seed", MAX_SEED + 1, f"an integer in 0..{MAX_SEED}"),
    ("llm_temperature", -1.0, ">= 0"), ("novelty_weight", math.inf, ">= 0"),
    ("max_latency_ms", math.nan, "> 0 or None"), ("max_latency_ms", 0, "> 0 or None"),
    ("eval_timeout_s", -1.0, "> 0 or None"), ("llm_timeout_s", True, "> 0"),
])
def test_a_number_out_of_range_is_refused_naming_it(field: str, value: object, says: str) -> None:
    with pytest.raises(ConfigError, match=rf"SearchConfig\.{field} must be {says}.*got {value!r}"):
        SearchConfig(**{field: value})  # type: ignore[arg-type]


def test_the_bounds_themselves_are_accepted() -> None:
    """The least allowed value of every checked number, and the largest seed, make a valid config."""
    config = SearchConfig(seed=MAX_SEED, max_params=1, max_latency_ms=0.5, eval_timeout_s=1.0, workers=1,
                          elitism=0)
    fixed = ("budget", "seed", "workers")
    edges = {name: least for name, (least, _) in INTEGERS.items() if name not in fixed}
    edges |= {name: low + (0.5 if strict else 0.0) for name, (low, strict, _) in NUMBERS.items()}
    assert dataclasses.replace(config, **edges).seed == MAX_SEED


def test_every_number_field_is_checked() -> None:
    """A new int or float setting must join the tables (or a check of its own) to be validated."""
    own = {"elitism", "short_fraction", "promote", "epsilon", "worker_memory_mb"}  # checked on their own
    numeric = {f.name for f in dataclasses.fields(SearchConfig)
               if str(f.type).replace(" ", "") in ("int", "float", "int|None", "float|None")}
    assert numeric - own == set(INTEGERS) | set(NUMBERS)
