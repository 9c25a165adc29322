"""LACER's knobs: the initial evaluation and the feedback channels its prompts show (the nested
ablation), with a recording LLM stand-in so every prompt can be read."""

from __future__ import annotations

import pytest
from search_helpers import FirstOptionBackend, SeededBackend, rich_fitness, small_space

from evo_lacer.api import SearchResult, search
from evo_lacer.cli import build_parser
from evo_lacer.engine import SearchConfig
from evo_lacer.engine._flat_strategy import FlatStrategy
from evo_lacer.errors import ConfigError
from evo_lacer.flat import FlatSpace


def _lacer(tmp_path, backend: SeededBackend, strategy: str = "lacer", **kw) -> SearchResult:
    return search(observation_space=small_space(), fitness=rich_fitness, strategy=strategy,
                  budget=kw.pop("budget", 5), batch_size=2, llm=backend, run_dir=tmp_path / "run",
                  llm_check_probes=0, **kw)  # the tests read the search's own requests


def test_initial_evaluation_comes_first_on_a_round_of_its_own(tmp_path) -> None:
    backend = SeededBackend()
    # rounds are generations here; the steady loop's wait is tested in test_steady.py
    result = _lacer(tmp_path, backend, initial_evaluations=3, loop="generational")
    designers = [(c.generation, c.designer) for c in result.history]
    assert designers[:3] == [(0, "initial")] * 2 + [(1, "initial")]  # rounds of batch_size 2
    assert {d for g, d in designers[3:]} == {"llm"} and designers[3][0] == 2
    assert len(backend.requests) == 2
    history = backend.requests[0].prompt.split("Evaluated designs (best first, then the most recent):", 1)[1]
    assert history.count(" -> fitness ") == 3


def test_without_initial_evaluation_the_llm_starts_blind(tmp_path) -> None:
    backend = SeededBackend()
    result = _lacer(tmp_path, backend, initial_evaluations=0, budget=3)
    assert [c.designer for c in result.history][:1] == ["llm"]
    assert "Evaluated designs" not in backend.requests[0].prompt
    assert "Evaluated designs" in backend.requests[-1].prompt


def test_initial_designs_are_the_random_strategys(tmp_path) -> None:
    lacer = _lacer(tmp_path / "a", SeededBackend(), initial_evaluations=2, budget=2)
    rand = search(observation_space=small_space(), fitness=rich_fitness, strategy="random", budget=2,
                  batch_size=2, llm="none", run_dir=tmp_path / "b")
    assert [c.tree_hash for c in lacer.history] == [c.tree_hash for c in rand.history]


@pytest.mark.parametrize(("signals", "shown", "hidden"), [
    (("reward", "metrics", "features"), ["fitness ", "task metrics: params=", "feature statistics:"], []),
    (("reward", "metrics"), ["fitness ", "task metrics: params="], ["feature statistics"]),
    (("metrics",), ["task metrics: params=", "(the most recent)"], ["fitness", "feature statistics",
                                                                   "best first"]),
])
def test_prompts_show_only_the_chosen_channels(tmp_path, signals, shown, hidden) -> None:
    backend = SeededBackend()
    _lacer(tmp_path, backend, llm_channels=signals, initial_evaluations=2, budget=4)
    prompt = backend.requests[-1].prompt
    history = prompt[prompt.index("Evaluated designs"):]
    for text in shown:
        assert text in history
    for text in hidden:
        assert text not in history


def test_genius_sees_the_fitness_only(tmp_path) -> None:
    backend = SeededBackend()
    _lacer(tmp_path, backend, strategy="genius", budget=4)
    history = backend.requests[-1].prompt.split("Evaluated designs", 1)[1]
    assert "fitness " in history and "task metrics" not in history and "feature statistics" not in history


def test_hybrid_prompts_follow_the_signals_too(tmp_path) -> None:
    backend = SeededBackend()
    search(observation_space=small_space(), fitness=rich_fitness, strategy="hybrid", budget=4, batch_size=2,
           population_size=4, llm=backend, run_dir=tmp_path / "run", llm_channels=("metrics",),
           initial_designs=1, llm_initial_designs=0, arms=("edit:llm",))
    later = [r.prompt for r in backend.requests if "Parent feedback" in r.prompt][-1]
    parent = later.split("Parent feedback: ", 1)[1].split("\n")[0]
    assert "params=" in parent and "fitness" not in parent
    reflect = [r.prompt for r in backend.requests if "Results of this generation" in r.prompt]
    results = [p.split("Results of this generation", 1)[1] for p in reflect]
    assert results and all(" -> fitness" not in r and "params=" in r for r in results)


def test_the_initial_round_count_survives_a_restart() -> None:
    space = FlatSpace.load().for_sources(small_space())
    first = FlatStrategy(name="lacer", space=space, seed=0, backend=SeededBackend(), initial_evaluations=3)
    assert {p.designer for p in first.propose(2, 0, 0)} == {"initial"}
    again = FlatStrategy(name="lacer", space=space, seed=0, backend=SeededBackend(), initial_evaluations=3)
    again.load_state_dict(first.state_dict())
    assert [p.designer for p in again.propose(2, 1, 2)] == ["initial"]
    assert [p.designer for p in again.propose(2, 2, 3)] == ["llm", "llm"]


def test_bad_knobs_are_named() -> None:
    with pytest.raises(ConfigError, match=r"llm_channels: unknown name\(s\) \['rewards'\]"):
        SearchConfig(llm_channels=("rewards",))
    with pytest.raises(ConfigError, match="initial_evaluations must be an integer >= 0, got -1"):
        SearchConfig(initial_evaluations=-1)
    assert SearchConfig(llm_channels="metrics, features").llm_channels == ("metrics", "features")  # type: ignore[arg-type]
    config = SearchConfig(llm_channels=("metrics",), initial_evaluations=0)
    assert SearchConfig.from_dict(config.to_dict()) == config


def test_cli_takes_the_knobs() -> None:
    args = build_parser().parse_args(["search", "--env", "CartPole-v1", "--llm-channels", "metrics",
                                      "features", "--initial-evaluations", "0"])
    assert args.llm_channels == ["metrics", "features"] and args.initial_evaluations == 0


def test_the_old_name_llm_signals_is_still_read_with_a_warning(tmp_path) -> None:
    """Feedback channels were called signals: a run.json, a search() keyword or a command line
    written before the rename keeps working (a DeprecationWarning says the new name)."""
    stored = SearchConfig().to_dict()
    del stored["llm_channels"]
    stored["llm_signals"] = ["metrics"]  # a run.json from before the rename
    with pytest.warns(DeprecationWarning, match="'llm_signals' is now called 'llm_channels'"):
        assert SearchConfig.from_dict(stored).llm_channels == ("metrics",)
    with pytest.raises(ConfigError, match="give only 'llm_channels'"):
        SearchConfig.from_dict({"llm_signals": ["metrics"], "llm_channels": ["reward"]})
    args = build_parser().parse_args(["search", "--env", "CartPole-v1", "--llm-signals", "metrics"])
    assert args.llm_channels == ["metrics"]
    with pytest.warns(DeprecationWarning):
        result = _lacer(tmp_path, SeededBackend(), llm_signals=("metrics",), initial_evaluations=1, budget=2)
    assert result.config.llm_channels == ("metrics",)


def test_a_repeated_llm_design_moves_to_an_unseen_neighbour(tmp_path) -> None:
    """A model that always answers the same design costs one LLM call per evaluation, not a loop:
    each repeat keeps the answer but re-draws one entry, and is counted."""
    backend = FirstOptionBackend()
    result = _lacer(tmp_path, backend, initial_evaluations=1, budget=5)
    llm = result.accounting["llm"]
    assert llm["decisions"] == len(backend.requests) == 4 and llm["repeats"] == 3
    first = result.history[1].choice  # the first LLM design
    for c in result.history[2:]:
        changed = [k for k in c.choice if c.choice[k] != first[k]]
        assert len(changed) == 1  # the LLM's answer with one entry re-drawn
