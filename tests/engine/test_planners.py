"""Contract suite every planner passes, plus each planner's own behaviour."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import numpy as np
import pytest

from evo_lacer.engine import (
    PROMPT_CATEGORIES,
    OptunaPlanner,
    Outcome,
    Planner,
    RandomPlanner,
    ThompsonPlanner,
)
from evo_lacer.engine._optuna_planner import closest_legal
from evo_lacer.errors import ConfigError

LEGAL_A = {"swap_module": ("vector/early/module", "sequence/late/module"),
           "change_parameter": ("vector/early/module",)}
LEGAL_B = {"insert_module": ("fused/late/gap",), "change_fusion": ("fused/late/fusion",)}

PLANNERS = {
    "random": lambda: RandomPlanner(seed=3),
    "thompson": lambda: ThompsonPlanner(seed=3, epsilon=0.2),
    "optuna-tpe": lambda: OptunaPlanner(seed=3, n_startup_trials=2),
    "optuna-gp": lambda: OptunaPlanner(seed=3, sampler="gp", n_startup_trials=2),
}
HAVE_SCIPY = importlib.util.find_spec("scipy") is not None


@pytest.fixture(params=sorted(PLANNERS))
def make(request: pytest.FixtureRequest):
    if request.param == "optuna-gp" and not HAVE_SCIPY:
        pytest.skip("Optuna's GP sampler needs scipy")
    return PLANNERS[request.param]


@pytest.mark.skipif(HAVE_SCIPY, reason="scipy is installed")
def test_gp_sampler_without_scipy_says_how_to_fix() -> None:
    with pytest.raises(ConfigError, match="pip install scipy"):
        OptunaPlanner(sampler="gp")


def _outcomes(n: int, rng: np.random.Generator) -> list[Outcome]:
    kinds = ["ok", "failed", "rejected", "duplicate"]
    out = []
    for _ in range(n):
        status = kinds[int(rng.integers(0, 4))]
        imp = None if status in ("failed", "rejected") else float(rng.uniform(-1, 1))
        out.append(Outcome(status, imp, float(rng.uniform(0, 1))))
    return out


def _drive(planner: Planner, rounds: int, seed: int = 0) -> list[list[dict]]:
    rng = np.random.default_rng(seed)
    seen = []
    for _ in range(rounds):
        plans = planner.ask([LEGAL_A, LEGAL_B, LEGAL_A])
        seen.append([p.to_dict() for p in plans])
        planner.tell(_outcomes(len(plans), rng))
    return seen


def test_plans_are_legal(make) -> None:
    planner = make()
    for _ in range(6):
        legal = [LEGAL_A, LEGAL_B]
        plans = planner.ask(legal)
        assert len(plans) == 2
        for plan, moves in zip(plans, legal):
            assert plan.transformation in moves
            assert plan.site_class is None or plan.site_class in moves[plan.transformation]
            assert plan.prompt_category in PROMPT_CATEGORIES
        planner.tell([Outcome("ok", 0.5, 0.2), Outcome("failed")])


def test_tell_before_ask_is_an_error(make) -> None:
    with pytest.raises(RuntimeError, match="before ask"):
        make().tell([Outcome("ok", 0.1)])


def test_ask_twice_is_an_error(make) -> None:
    planner = make()
    planner.ask([LEGAL_A])
    with pytest.raises(RuntimeError, match="twice"):
        planner.ask([LEGAL_A])


def test_tell_needs_one_outcome_per_plan(make) -> None:
    planner = make()
    planner.ask([LEGAL_A, LEGAL_B])
    with pytest.raises(ValueError, match="2 pending"):
        planner.tell([Outcome("ok", 0.1)])


def test_empty_legal_moves_are_refused(make) -> None:
    with pytest.raises(ConfigError, match="empty"):
        make().ask([{}])


def test_state_round_trip_continues_identically(make) -> None:
    a = make()
    _drive(a, 4)
    state = json.loads(json.dumps(a.state_dict()))
    b = make()
    b.load_state_dict(state)
    assert _drive(a, 3, seed=9) == _drive(b, 3, seed=9)


def test_state_round_trip_with_pending_plans(make) -> None:
    a = make()
    _drive(a, 2)
    plans = a.ask([LEGAL_A, LEGAL_B])
    b = make()
    b.load_state_dict(json.loads(json.dumps(a.state_dict())))
    assert b.pending == tuple(plans)
    outcomes = [Outcome("ok", 0.3, 0.1), Outcome("ok", -0.2, 0.4)]
    a.tell(outcomes)
    b.tell(outcomes)
    assert _drive(a, 2, seed=5) == _drive(b, 2, seed=5)


def test_keyed_plans_stay_in_flight_and_are_told_in_any_order(make) -> None:
    planner = make()
    a = planner.ask([LEGAL_A], keys=[10])
    b = planner.ask([LEGAL_B], keys=[11])
    c = planner.ask([LEGAL_A], keys=[12])
    assert planner.in_flight == (10, 11, 12) and planner.pending == (*a, *b, *c)
    with pytest.raises(RuntimeError, match="already in flight"):
        planner.ask([LEGAL_A], keys=[11])
    with pytest.raises(RuntimeError, match="without keys"):
        planner.ask([LEGAL_A])
    planner.tell([Outcome("ok", 0.2, 0.1)], keys=[11])
    with pytest.raises(RuntimeError, match="not asked"):
        planner.tell([Outcome("ok", 0.2)], keys=[11])
    restored = make()
    restored.load_state_dict(json.loads(json.dumps(planner.state_dict())))
    assert restored.in_flight == (10, 12)
    for p in (planner, restored):
        p.tell([Outcome("failed")], keys=[12])
        p.ask([LEGAL_B], keys=[13])
        p.tell([Outcome("ok", -0.1, 0.3), Outcome("ok", 0.4, 0.2)], keys=[13, 10])
        assert p.in_flight == () and p.pending is None
    assert _drive(planner, 2, seed=4) == _drive(restored, 2, seed=4)


def test_state_of_another_planner_is_refused() -> None:
    with pytest.raises(ConfigError, match="planner state"):
        ThompsonPlanner().load_state_dict(RandomPlanner().state_dict())


def test_thompson_prefers_the_operation_that_improves() -> None:
    planner = ThompsonPlanner(seed=0, epsilon=0.0)
    legal = {"swap_module": ("vector/early/module",), "delete_module": ("vector/early/module",)}
    for _ in range(30):
        plans = planner.ask([legal] * 4)
        planner.tell([Outcome("ok", 0.5 if p.transformation == "swap_module" else -0.5) for p in plans])
    assert planner.posterior_mean("swap_module") > 0.8 > 0.2 > planner.posterior_mean("delete_module")
    plans = planner.ask([legal] * 20)
    assert sum(p.transformation == "swap_module" for p in plans) >= 18
    assert all(p.site_class is None for p in plans)


def test_optuna_scores_improvement_plus_novelty_plus_feature_gain() -> None:
    planner = OptunaPlanner(novelty_weight=0.5, feature_weight=0.25)
    assert planner.score(Outcome("ok", 0.4, 0.2)) == pytest.approx(0.5)
    assert planner.score(Outcome("ok", 0.4, 0.2, feature_gain=-0.4)) == pytest.approx(0.4)
    assert OptunaPlanner(feature_weight=0.0).score(Outcome("ok", 0.1, 0.0, 0.9)) == pytest.approx(0.1)
    assert planner.score(Outcome("failed")) == planner.score(Outcome("rejected")) == -1.0


def test_optuna_maps_an_illegal_sample_to_the_closest_legal_move() -> None:
    rng = np.random.default_rng(0)
    # same transformation kept, role matched before source kind
    assert closest_legal("swap_module", "sequence/early/module", LEGAL_A, rng) == \
        ("swap_module", "sequence/late/module")
    # an illegal transformation: the role decides
    assert closest_legal("delete_module", "image/late/fusion", LEGAL_B, rng) == \
        ("change_fusion", "fused/late/fusion")
    planner = OptunaPlanner(seed=1)
    for _ in range(5):
        plans = planner.ask([LEGAL_B])
        assert plans[0].transformation in LEGAL_B
        assert plans[0].info["mapped"] == (tuple(plans[0].info["sampled"]) !=
                                           (plans[0].transformation, plans[0].site_class))
        planner.tell([Outcome("ok", 0.0)])


def test_outcome_carries_the_probe_quality_gained_over_the_parent() -> None:
    from evo_lacer.engine._records import Candidate
    from evo_lacer.engine._tree_strategy import outcome_of
    from evo_lacer.evaluate import Feedback, Status

    def child(features: dict, parent_quality: float | None, status: Status = Status.OK) -> Candidate:
        fb = Feedback(status, fitness=1.0, features=features) if status is Status.OK else \
            Feedback.failure(status, "boom")
        return Candidate(id=1, generation=1, tree=None, tree_hash="h", parents=(0,), feedback=fb,
                         extra={"parent_fitness": 0.5, "parent_quality": parent_quality})

    probes = {"probe_r2/speed": 0.9, "probe_r2/headway": 0.5, "ego/effective_rank": 3.0}
    assert outcome_of(child(probes, 0.4), []).feature_gain == pytest.approx(0.3)
    assert outcome_of(child(probes, None), []).feature_gain is None  # the parent had no probes
    assert outcome_of(child({"ego/effective_rank": 3.0}, 0.4), []).feature_gain is None
    assert outcome_of(child(probes, 0.4, Status.FAILED), []).feature_gain is None


def test_a_study_round_trips_through_its_state_while_trials_finish() -> None:
    """study_to_state reuses the JSON of finished trials: the state written after more trials
    finish (and a trial still running) is what a fresh study rebuilt from it writes again."""
    import optuna

    from evo_lacer.engine._optuna_state import add_trials, quiet_optuna, study_to_state

    with quiet_optuna():
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
        for i in range(6):
            trial = study.ask()
            x = trial.suggest_categorical("x", ["a", "b", "c"])
            trial.suggest_float("y", 0.0, float(1 + i % 2))  # a distribution that changes
            study.tell(trial, float(len(x) + i))
            first = study_to_state(study)
        running = study.ask()
        running.suggest_categorical("x", ["a", "b", "c"])
        state = study_to_state(study)
        again = optuna.create_study(direction="maximize")
        add_trials(again, {**state, "trials": state["trials"][:-1]})
    assert state["trials"][:6] == first["trials"] and state["trials"][6]["state"] == "RUNNING"
    assert study_to_state(again) == {**state, "trials": state["trials"][:-1]}
    assert any("distributions" in t for t in state["trials"])  # y's range differs on odd trials


def test_a_study_state_converted_step_by_step_is_its_fresh_conversion() -> None:
    """study_to_state converts each finished trial once: with trials left running between finished
    ones and told later (the steady loop, a screen's kept suggestions), the state after every step
    is what a fresh study rebuilt from it writes."""
    import optuna

    from evo_lacer.engine._optuna_state import add_trials, quiet_optuna, study_to_state

    with quiet_optuna():
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=1))
        running: list[optuna.Trial] = []
        for i in range(30):
            trial = study.ask()
            trial.suggest_categorical("x", ["a", "b", "c"])
            trial.suggest_float("y", 0.0, float(1 + i % 3))
            if i % 3 == 0:
                running.append(trial)
            elif i % 3 == 1:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            else:
                study.tell(trial, float(i))
            if i % 4 == 3 and running:
                study.tell(running.pop(0), -float(i))
            state = study_to_state(study)
            assert [(t["state"], t["value"]) for t in state["trials"]] == [
                (t.state.name, t.value) for t in study.trials], f"step {i}"
            again = optuna.create_study(direction="maximize")
            add_trials(again, state)
            assert study_to_state(again) == state, f"step {i}"
        assert [t["state"] for t in state["trials"]].count("RUNNING") == len(running) > 0


def _conditional(trial: Any) -> dict:
    """A conditional space, as a flat space's families make one: depth only for gru and conv."""
    family = trial.suggest_categorical("family", ["mlp", "gru", "conv"])
    out = {"family": family, "width": trial.suggest_categorical("width", [8, 16, 32])}
    if family != "mlp":
        out[f"{family}_depth"] = trial.suggest_categorical(f"{family}_depth", [1, 2, 3])
    return out


def test_shared_space_tpe_asks_what_a_fresh_tpe_sampler_asks() -> None:
    """SharedSpaceTPE only caches the intersection search space: on a conditional space, with
    trials told out of order (steady loop) and one left running, every ask equals a plain TPE
    sampler's built for that ask with the same seed."""
    import numpy as np
    import optuna
    from optuna.search_space import IntersectionSearchSpace

    from evo_lacer.engine._optuna_state import SharedSpaceTPE, quiet_optuna

    rng = np.random.default_rng(0)
    with quiet_optuna():
        plain, shared = (optuna.create_study(direction="maximize") for _ in range(2))
        space = IntersectionSearchSpace(include_pruned=True)
        open_trials: list[tuple[optuna.Trial, optuna.Trial]] = []
        for step in range(30):
            seed = int(rng.integers(0, 2**31 - 1))
            plain.sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=4, multivariate=True,
                                                       constant_liar=True)
            shared.sampler = SharedSpaceTPE(space, seed=seed, n_startup_trials=4)
            a, b = plain.ask(), shared.ask()
            assert _conditional(a) == _conditional(b), step
            open_trials.append((a, b))
            if step % 3 != 2:  # tell the oldest but one: outcomes arrive out of order
                a, b = open_trials.pop(max(0, len(open_trials) - 2))
                value = float(rng.normal())
                plain.tell(a, value)
                shared.tell(b, value)


def test_a_study_rebuilt_from_its_state_asks_what_it_asks_though_failed_trials_lose_their_params() -> None:
    """A failed trial is written without its parameters (the hybrid's screen fails every TPE
    suggestion it does not choose, most of its study): a study rebuilt from the state after every
    step asks TPE the same as the study itself, with the same seed, and keeps every trial's number."""
    import optuna
    from optuna.search_space import IntersectionSearchSpace

    from evo_lacer.engine._optuna_state import SharedSpaceTPE, add_trials, quiet_optuna, study_to_state

    rng = np.random.default_rng(3)
    with quiet_optuna():
        study = optuna.create_study(direction="maximize")
        space = IntersectionSearchSpace(include_pruned=True)
        for step in range(40):
            state = study_to_state(study)
            again = optuna.create_study(direction="maximize")
            add_trials(again, state)
            seed = int(rng.integers(0, 2**31 - 1))
            study.sampler = SharedSpaceTPE(space, seed=seed, n_startup_trials=4)
            again.sampler = SharedSpaceTPE(IntersectionSearchSpace(include_pruned=True), seed=seed,
                                           n_startup_trials=4)
            a, b = study.ask(), again.ask()
            assert (a.number, _conditional(a)) == (b.number, _conditional(b)), step
            if step % 4 == 3:
                study.tell(a, float(rng.normal()))
            else:  # unchosen suggestions: failed, as the screen tells them
                study.tell(a, state=optuna.trial.TrialState.FAIL)
    failed = [t for t in study_to_state(study)["trials"] if t["state"] == "FAIL"]
    assert len(failed) == 30 and all(t["params"] == {} for t in failed)
