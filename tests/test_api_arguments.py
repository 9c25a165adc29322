"""search() and resume() as a Python user calls them: a wrong argument is a ConfigError naming it (not a
raw TypeError deep inside), a search refused at start-up leaves no run folder behind, and a search
that found nothing says why."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "engine"))
from search_helpers import param_fitness, small_space

from evo_lacer import resume, search
from evo_lacer.errors import ConfigError, RunStoreError
from evo_lacer.tree import node_to_dict

QUICK = {"budget": 2, "llm": "none", "workers": 0, "population_size": 2}


def broken_fitness(tree, module) -> float:
    raise RuntimeError("the simulator is not running")


def _search(run_dir: Path, **kw):
    return search(fitness=kw.pop("fitness", param_fitness), observation_space=small_space(), run_dir=run_dir,
                  **{**QUICK, **kw})


@pytest.mark.parametrize("existed", [False, True])
def test_a_search_refused_at_start_up_leaves_no_run_behind(tmp_path: Path, existed: bool) -> None:
    """darts needs the RL evaluator: refused before its first candidate, so the same folder works once
    the setting is fixed (it used to hold a stub run that search() refused and resume() refused again)."""
    folder = tmp_path / "run"
    if existed:
        folder.mkdir()
    with pytest.raises(ConfigError, match="needs the RL evaluator"):
        _search(folder, strategy="darts", budget=4)
    assert folder.exists() == existed and not (folder.exists() and any(folder.iterdir()))
    assert _search(folder, strategy="evolution").accounting["evaluations"] == 2


def test_a_search_where_nothing_succeeded_says_why(tmp_path: Path) -> None:
    says = r"no candidate was evaluated successfully.*2 x the fitness function raised RuntimeError: the sim"
    with pytest.warns(RuntimeWarning, match=says):
        result = _search(tmp_path / "r", strategy="random", fitness=broken_fitness)
    assert result.best_tree is None and result.accounting["failed"] == 2


def test_a_seed_tree_dict_is_evaluated_and_a_non_tree_refused(tmp_path: Path) -> None:
    tree = _search(tmp_path / "first", strategy="random").best_tree
    assert tree is not None
    result = _search(tmp_path / "dict", strategy="evolution", seed_tree=node_to_dict(tree))
    assert result.history[0].extra.get("origin") == "seed" and result.history[0].tree == tree
    with pytest.raises(ConfigError, match="seed_tree=5 is not a tree"):
        _search(tmp_path / "int", strategy="evolution", seed_tree=5)
    with pytest.warns(UserWarning, match="strategy 'tpe' samples a flat space and does not start from seed"):
        _search(tmp_path / "flat", strategy="tpe", seed_tree=tree)


@pytest.mark.parametrize(("bad", "says"), [
    ({"config": {"budget": 3}}, "config=.* is not a SearchConfig"),
    ({"catalog": "zoo"}, "catalog='zoo' is not a Catalog"),
    ({"space": 42}, "space=42 is neither a FlatSpace nor a space file"),
    ({"llm": 3, "strategy": "evolution"}, "llm=3 is neither a spec string"),
    ({"run_dir": 7}, "run_dir=7 is not a path"),
    ({"progress": "yes"}, "progress='yes' is not a bool"),
])
def test_a_wrong_argument_type_is_named(tmp_path: Path, bad: dict, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        search(fitness=param_fitness, observation_space=small_space(),
               **{"run_dir": tmp_path / "r", **QUICK, **bad})


def test_rl_options_are_checked_by_name_and_type(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"rl_options key 'stepz' is not a setting.*did you mean 'steps'"):
        search(env="CartPole-v1", rl_options={"stepz": 64}, run_dir=tmp_path / "a", **QUICK)
    with pytest.raises(ConfigError, match=r"rl_options=.* is not a mapping"):
        search(env="CartPole-v1", rl_options=[("steps", 64)], run_dir=tmp_path / "b", **QUICK)
    unused = r"rl_options \['grad_steps'\] set the imitation fidelity, but fidelity is 'full'"
    with pytest.raises(ConfigError, match=unused):
        search(env="CartPole-v1", rl_options={"grad_steps": 10}, run_dir=tmp_path / "d", **QUICK)
    with pytest.raises(ConfigError, match="observation_space= is read from the env with env=; leave it out"):
        search(env="CartPole-v1", observation_space=small_space(), run_dir=tmp_path / "c", **QUICK)
    assert not any((tmp_path / name).exists() for name in "abcd")


def test_a_run_folder_under_a_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(RunStoreError, match="afile is a file, so no run folder can be made under it"):
        _search(tmp_path / "afile" / "sub", strategy="random")


def test_resume_names_a_wrong_argument(tmp_path: Path) -> None:
    folder = tmp_path / "evo"
    _search(folder, strategy="evolution")
    with pytest.raises(ConfigError, match="run_dir=42 is not a path"):
        resume(42)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="evaluator='x' does not implement the Evaluator protocol"):
        resume(folder, evaluator="x")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="catalog='x' is not a Catalog"):
        resume(folder, catalog="x")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="bogus"):
        resume(folder, llm="bogus")  # an evolution run uses no LLM: still a misspelt spec, as in search()
    assert json.loads((folder / "run.json").read_text())["config"]["strategy"] == "evolution"
    assert resume(folder).accounting["evaluations"] == 2  # the run is untouched
