"""The hybrid's surrogate screen: tree features, the GP, the pick, and how a search records it."""

from __future__ import annotations

import json

import numpy as np
import optuna
import pytest
from search_helpers import param_fitness, small_space

import evo_lacer
from evo_lacer.api import search
from evo_lacer.engine import SearchConfig
from evo_lacer.engine._loop import config_fingerprint
from evo_lacer.engine._optuna_state import add_trials
from evo_lacer.engine._screen import GPModel, Screen, expected_improvement, tree_features
from evo_lacer.errors import ConfigError
from evo_lacer.tree import Node, branch, encoder, fusion, module


def mlp_tree(width: int, depth: int = 1) -> Node:
    return encoder([branch("ego", module("MLPBlock", width=width, depth=depth, activation="relu")),
                    branch("hist", module("GRUEncoder", hidden=16))], fusion("ConcatFusion"))


def test_tree_features_describe_each_part() -> None:
    f = tree_features(mlp_tree(64))
    assert f["ego|modules"] == 1 and f["hist|modules"] == 1 and f["fusion|modules"] == 1
    assert f["ego|MLPBlock"] == 1 and f["hist|GRUEncoder"] == 1
    assert f["ego|MLPBlock|width"] == pytest.approx(np.log2(65))
    assert f["ego|MLPBlock|activation=relu"] == 1
    assert tree_features(mlp_tree(64)) == f and tree_features(mlp_tree(32)) != f


def test_the_gp_interpolates_and_is_unsure_far_from_its_data() -> None:
    rows = [{"x": float(x)} for x in range(6)]
    model = GPModel(rows, [2.0 * x for x in range(6)])
    mu, sd = model.predict([{"x": 2.0}, {"x": 40.0}])
    assert mu[0] == pytest.approx(4.0, abs=0.8)
    assert sd[1] > 2 * sd[0]
    ei = expected_improvement(np.array([1.0, 0.0]), np.array([0.1, 0.1]), best=0.5)
    assert ei[0] > ei[1] > 0


def test_the_screen_picks_the_child_its_model_expects_to_be_better() -> None:
    observed = [(tree_features(mlp_tree(w)), float(np.log2(w))) for w in (8, 16, 32, 64)]
    slots = [[mlp_tree(4), mlp_tree(96)], [mlp_tree(96), mlp_tree(4)]]
    picks = Screen(8).choose(slots, observed, np.random.default_rng(0))
    assert [i for i, _ in picks] == [1, 0]
    assert set(picks[0][1]) == {"mean", "sd", "ei"}
    assert picks[0][1]["mean"] > observed[0][1]


def test_the_screen_picks_uniformly_until_it_has_data() -> None:
    observed = [(tree_features(mlp_tree(8)), 1.0)]
    slots = [[mlp_tree(4), mlp_tree(96)]] * 40
    picks = Screen(8, min_train=4).choose(slots, observed, np.random.default_rng(0))
    assert {i for i, _ in picks} == {0, 1} and all(said == {} for _, said in picks)
    assert Screen(8).choose([[]], observed, np.random.default_rng(0)) == [(-1, {})]


def test_hybrid_screens_its_random_edits_and_the_screen_can_be_switched_off(tmp_path) -> None:
    assert SearchConfig(strategy="hybrid").screen_count == 8
    assert SearchConfig(strategy="evolution").screen_count == 1
    with pytest.raises(ConfigError, match="screen_variants"):
        SearchConfig(screen_variants=0)
    on = search(observation_space=small_space(), fitness=param_fitness, strategy="hybrid", budget=16,
                llm="none", seed=3, run_dir=tmp_path / "on")
    start = SearchConfig(budget=16).initial_count
    edits = [c for c in on.history[start:] if c.extra.get("arm") == "edit:random"]
    assert edits and all(c.extra["screen"]["variants"] == 8 + 8 for c in edits)  # 8 edits, 8 TPE designs
    assert any("ei" in c.extra["screen"] for c in edits)  # the model picked, once it had data
    assert len({c.tree_hash for c in on.history}) == len(on.history)  # no evaluated tree proposed again
    off = search(observation_space=small_space(), fitness=param_fitness, strategy="hybrid", budget=16,
                 llm="none", seed=3, run_dir=tmp_path / "off", screen_variants=1)
    assert not any("screen" in c.extra for c in off.history)
    assert [c.tree_hash for c in off.history[:start]] == [c.tree_hash for c in on.history[:start]]
    from evo_lacer.runs import write_report

    section = write_report(on.run_dir).read_text().split("## Screen", 1)[1].split("\n## ", 1)[0]
    modelled = sum(1 for c in edits if "ei" in c.extra["screen"])
    assert f"| {len(edits)} | {modelled} |" in section


def test_a_feature_unseen_in_training_does_not_make_a_child_infinitely_far() -> None:
    rows = [{"x": float(x)} for x in range(6)]
    model = GPModel(rows, [2.0 * x for x in range(6)], keys=["x", "new"])
    mu, sd = model.predict([{"x": 5.0, "new": 1.0}, {"x": 5.0}, {"x": 1000.0}])  # the last: the prior
    assert mu[1] < mu[0] + 2.0 and mu[0] > mu[2] + 2.0  # pulled toward its neighbour x=5 ...
    assert sd[1] < sd[0] < 0.9 * sd[2]  # ... and surer than the prior


def test_a_parents_pool_draws_screened_children_from_several_parents(tmp_path) -> None:
    with pytest.raises(ConfigError, match="screen_pool"):
        SearchConfig(screen_pool="everywhere")  # type: ignore[arg-type]
    runs = [search(observation_space=small_space(), fitness=param_fitness, strategy="hybrid", budget=20,
                   llm="none", seed=5, run_dir=tmp_path / f"r{i}", screen_pool="parents") for i in range(2)]
    start = SearchConfig(budget=20).initial_count
    edits = [c for c in runs[0].history[start:] if "screen" in c.extra]
    assert edits and all(c.extra["screen"]["variants"] == 8 + 8 for c in edits)  # 8 edits, 8 TPE designs
    # a pool over parents: the picked children do not all come from the slot's own tournament parent
    plan_run = search(observation_space=small_space(), fitness=param_fitness, strategy="hybrid", budget=20,
                      llm="none", seed=5, run_dir=tmp_path / "plan")
    assert [c.parents for c in runs[0].history] != [c.parents for c in plan_run.history]
    assert [c.tree_hash for c in runs[0].history] == [c.tree_hash for c in runs[1].history]  # deterministic
    assert all(len(c.parents) == 1 and c.parents[0] < c.id for c in edits)


def test_an_additive_model_learns_each_part_from_trees_that_differ_elsewhere() -> None:
    """Fitness = a sum over two sources. Trained on trees that vary one part at a time, the additive
    model ranks an unseen combination of the two best parts first; the joint RBF cannot."""
    def tree(ego: int, hist: int) -> Node:
        return encoder([branch("ego", module("MLPBlock", width=ego, depth=1, activation="relu")),
                        branch("hist", module("GRUEncoder", hidden=hist))], fusion("ConcatFusion"))

    def fit(ego: int, hist: int) -> float:
        return float(np.log2(ego) + np.log2(hist))

    seen = [(8, 8), (16, 8), (64, 8), (8, 16), (8, 64), (16, 16)]
    rows = [tree_features(tree(e, h)) for e, h in seen]
    ys = [fit(e, h) for e, h in seen]
    unseen = [tree(64, 64), tree(8, 8), tree(16, 8)]
    keys = sorted({k for r in rows + [tree_features(t) for t in unseen] for k in r})
    mu, _ = GPModel(rows, ys, keys=keys, kernel="additive").predict([tree_features(t) for t in unseen])
    assert mu[0] > max(ys) - 0.5 and mu[0] > mu[2] > mu[1]
    rbf, _ = GPModel(rows, ys, keys=keys).predict([tree_features(t) for t in unseen])
    assert mu[0] > rbf[0]
    with pytest.raises(ValueError, match="kernel"):
        Screen(8, kernel="cosine")
    with pytest.raises(ConfigError, match="screen_kernel"):
        SearchConfig(screen_kernel="cosine")  # type: ignore[arg-type]


def test_a_fitted_noise_smooths_a_noisy_task_and_keeps_a_clean_one_sharp() -> None:
    rng = np.random.default_rng(0)
    rows = [{"x": float(x)} for x in np.linspace(0, 10, 30)]
    clean = [float(np.sin(r["x"])) for r in rows]
    noisy = [c + float(rng.normal(0, 1.0)) for c in clean]
    assert GPModel(rows, clean, noise=None).noise < GPModel(rows, noisy, noise=None).noise
    assert GPModel(rows, noisy, noise=0.1).noise == 0.1
    with pytest.raises(ConfigError, match="screen_noise"):
        SearchConfig(screen_noise="loud")  # type: ignore[arg-type]


def test_whole_designs_join_the_screens_pool_and_can_be_picked(tmp_path) -> None:
    with pytest.raises(ConfigError, match="screen_designs"):
        SearchConfig(screen_designs=-1)
    runs = [search(observation_space=small_space(), fitness=param_fitness, strategy="hybrid", budget=20,
                   llm="none", seed=7, run_dir=tmp_path / f"r{i}", screen_designs=8, arms=["edit:random",
                                                                                           "design:tpe"])
            for i in range(2)]
    start = SearchConfig(budget=20).initial_count
    screened = [c for c in runs[0].history[start:] if "screen" in c.extra]
    assert screened and all(c.extra["screen"]["variants"] == 16 for c in screened)
    designs = [c for c in screened if c.transformation == "screen_design"]
    assert designs and all(not c.parents and c.choice for c in designs)  # whole designs, no parent
    assert [c.tree_hash for c in runs[0].history] == [c.tree_hash for c in runs[1].history]  # deterministic


def test_tpe_can_suggest_the_screens_whole_designs_and_learns_only_what_was_evaluated(tmp_path) -> None:
    with pytest.raises(ConfigError, match="screen_design_source"):
        SearchConfig(screen_design_source="llm")  # type: ignore[arg-type]
    kw = dict(observation_space=small_space(), fitness=param_fitness, strategy="hybrid", budget=24,
              llm="none", seed=5, screen_designs=4, screen_design_source="tpe")
    runs = [search(run_dir=tmp_path / f"r{i}", **kw) for i in range(2)]  # type: ignore[arg-type]
    designs = [c for c in runs[0].history if c.transformation == "screen_design"]
    assert designs and all(c.designer == "tpe" and "tpe_trial" in c.extra for c in designs)
    assert [c.tree_hash for c in runs[0].history] == [c.tree_hash for c in runs[1].history]  # deterministic
    state = json.loads((tmp_path / "r0" / "state" / "checkpoint.json").read_text())
    assert state["strategy"]["tpe"]["pending_trials"] == []
    study = optuna.create_study(direction="maximize")
    add_trials(study, state["strategy"]["tpe"]["study"])
    complete = {t.number: t.value for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE}
    for c in designs:  # each evaluated suggestion is told its own fitness ...
        assert complete[int(c.extra["tpe_trial"])] == pytest.approx(c.fitness)
    asked = {int(c.extra["tpe_trial"]) for c in designs}
    unchosen = [t for t in study.trials if t.state != optuna.trial.TrialState.COMPLETE]
    assert unchosen and all(t.state == optuna.trial.TrialState.FAIL for t in unchosen)
    assert not asked & {t.number for t in unchosen}


def test_the_hybrid_screens_tpe_designs_by_default_and_older_runs_resume_with_random_ones(tmp_path) -> None:
    assert SearchConfig(strategy="hybrid").screen_design_count == 8
    assert SearchConfig(strategy="evolution").screen_design_count == 0
    assert SearchConfig(strategy="hybrid", screen_designs=0).screen_design_count == 0
    kw = dict(observation_space=small_space(), fitness=param_fitness, strategy="hybrid", llm="none", seed=2)
    first = search(budget=14, run_dir=tmp_path / "run", screen_designs=2,  # type: ignore[arg-type]
                   screen_design_source="random", **kw)
    assert {c.designer for c in first.history if c.transformation == "screen_design"} <= {"random"}
    path = tmp_path / "run" / "run.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["config"]["screen_design_source"]  # as versions before the option wrote it
    path.write_text(json.dumps(data), encoding="utf-8")
    for name in ("checkpoint.json", "pending.json"):
        state_path = tmp_path / "run" / "state" / name
        if state_path.exists():
            state = json.loads(state_path.read_text(encoding="utf-8"))
            state["config"] = config_fingerprint(data["config"])
            state_path.write_text(json.dumps(state), encoding="utf-8")
    resumed = evo_lacer.resume(tmp_path / "run")
    assert resumed.config.screen_design_source == "random"


def test_unchosen_tpe_suggestions_stay_for_later_screens_and_resume_exactly(tmp_path, monkeypatch) -> None:
    """``screen_design_reuse=3``: a suggestion the screen does not choose is offered to the next screens
    (at most three in all), so TPE is asked less; the spare suggestions are checkpointed and a run
    resumed from any step ends as the uninterrupted run."""
    from search_helpers import complete_lines, cut_run, record_checkpoints

    from evo_lacer.evaluate import FunctionEvaluator

    for bad in (0, None):
        with pytest.raises(ConfigError, match="screen_design_reuse"):
            SearchConfig(screen_design_reuse=bad)  # type: ignore[arg-type]
    kw = dict(observation_space=small_space(), fitness=param_fitness, strategy="hybrid", budget=18,
              llm="none", seed=5, screen_designs=4, screen_design_source="tpe", loop="steady",
              population_size=4, batch_size=4)
    saved = record_checkpoints(monkeypatch)
    reference = search(run_dir=tmp_path / "ref", screen_design_reuse=3, **kw)  # type: ignore[arg-type]
    monkeypatch.undo()
    search(run_dir=tmp_path / "once", **kw)  # type: ignore[arg-type]

    screens = sum(1 for c in reference.history if "screen" in c.extra)
    assert screens >= 5
    spare_states = [json.loads(s)["strategy"]["screen_spare"] for s, _ in saved]
    assert any(spare_states) and all(0 < age < 3 for spare in spare_states for _, _, age in spare)
    last = json.loads(saved[-1][0])["strategy"]
    assert sorted(t for _, t, _ in last["screen_spare"]) == sorted(last["tpe"]["pending_trials"])
    trials = len(last["tpe"]["study"]["trials"])
    once_trials = len(json.loads((tmp_path / "once" / "state" / "checkpoint.json").read_text())
                      ["strategy"]["tpe"]["study"]["trials"])
    assert trials < once_trials  # fewer asks than a fresh set of suggestions per screen
    reused = [c for c in reference.history if c.extra.get("screen_age") and c.evaluated]
    lines = complete_lines(tmp_path / "ref" / "candidates.jsonl")
    step = next(i for i, spare in enumerate(spare_states[:-1]) if spare)
    run_dir = cut_run(tmp_path / "killed", tmp_path / "ref", saved[step], lines)
    resumed = evo_lacer.resume(run_dir, evaluator=FunctionEvaluator(param_fitness, small_space()))

    def essence(result) -> list[tuple]:
        return [(c.id, c.transformation, c.tree_hash, c.fitness, c.extra.get("tpe_trial"),
                 c.extra.get("screen_age")) for c in result.history]

    assert essence(resumed) == essence(reference)
    assert reused  # a kept suggestion won a later screen (this seed: candidate 15, in its third screen)
