"""A session hides the heap alive before it from the garbage collector (`frozen_heap`), and hands
it back when it ends, whoever froze what."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

from search_helpers import small_space

from evo_lacer.api import search

SEEN: list[int] = []


def freeze_watching_fitness(tree: Any, module: Any) -> float:
    SEEN.append(gc.get_freeze_count())
    return float(sum(p.numel() for p in module.parameters()) % 7)


def test_a_session_freezes_the_heap_and_hands_it_back(tmp_path: Path) -> None:
    SEEN.clear()
    assert gc.get_freeze_count() == 0
    search(observation_space=small_space(), fitness=freeze_watching_fitness, strategy="random", budget=3,
           seed=0, workers=1, executor="inprocess", llm="none", run_dir=tmp_path / "a")
    assert len(SEEN) == 3 and min(SEEN) > 0  # the evaluations ran with the heap frozen
    assert gc.get_freeze_count() == 0  # and it went back to the collector


def test_a_heap_the_caller_froze_stays_frozen(tmp_path: Path) -> None:
    gc.freeze()
    try:
        assert gc.get_freeze_count() > 0
        search(observation_space=small_space(), fitness=freeze_watching_fitness, strategy="random",
               budget=2, seed=0, workers=1, executor="inprocess", llm="none", run_dir=tmp_path / "b")
        assert gc.get_freeze_count() > 0  # not handed back by the session (frees may lower the count)
    finally:
        gc.unfreeze()
