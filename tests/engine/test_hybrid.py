"""What makes the hybrid earn its name: a diverse start, moves that travel, arms that learn who
fills, reflection that cannot poison prompts, and sizes that scale with the budget."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from search_helpers import (
    FirstOptionBackend,
    SeededBackend,
    TimeoutBackend,
    param_fitness,
    rich_fitness,
    small_space,
)

from evo_lacer.api import search
from evo_lacer.engine import SearchConfig
from evo_lacer.engine._arms import ARMS, DESIGN_LLM, DESIGN_TPE, EDIT_LLM, EDIT_RANDOM, ArmBandit
from evo_lacer.engine._config import scaled_sizes
from evo_lacer.engine._llm_designer import LLMDesigner, insight_problem
from evo_lacer.errors import ConfigError
from evo_lacer.flat import FlatSpace


# --- sizes ---------------------------------------------------------------------------------
def test_sizes_scale_with_the_budget() -> None:
    assert scaled_sizes(6) == (4, 2, 2)
    assert scaled_sizes(12) == (4, 2, 3)
    assert scaled_sizes(24) == (6, 3, 6)
    assert scaled_sizes(48) == (12, 6, 12)
    assert scaled_sizes(200) == (16, 8, 24)
    assert scaled_sizes(12, workers=4)[1] == 4  # never fewer children per generation than workers
    cfg = SearchConfig(budget=48)
    assert (cfg.population, cfg.generation_size, cfg.initial_count) == (12, 6, 12)
    fixed = SearchConfig(budget=48, population_size=5, batch_size=7, initial_designs=0)
    assert (fixed.population, fixed.generation_size, fixed.initial_count) == (5, 7, 0)
    with pytest.raises(ConfigError, match="initial_designs"):
        SearchConfig(initial_designs=-1)
    with pytest.raises(ConfigError, match=r"arms: unknown name"):
        SearchConfig(arms=("edit:magic",))


# --- the diverse start ---------------------------------------------------------------------
def test_latin_sample_covers_every_family_evenly() -> None:
    space = FlatSpace.load().for_sources(small_space())
    n = 24
    configs = space.latin_sample(n, 0)
    assert len({json.dumps(c, sort_keys=True) for c in configs}) == n  # no duplicates
    for entry in space.entries():
        families = space._entries()[entry]
        counts = Counter(c[entry]["family"] for c in configs)
        assert set(counts) == set(families)  # every family appears ...
        assert max(counts.values()) - min(counts.values()) <= 1 + n // len(families) // 2  # ... evenly
    assert configs == space.latin_sample(n, 0) and configs != space.latin_sample(n, 1)


def test_the_first_generation_is_the_diverse_start_then_edits(tmp_path) -> None:
    seed_tree = FlatSpace.load().for_sources(small_space()).to_tree(
        FlatSpace.load().for_sources(small_space()).sample(7))
    result = search(observation_space=small_space(), fitness=param_fitness, strategy="hybrid", budget=12,
                    llm="none", seed=1, run_dir=tmp_path / "run", seed_tree=seed_tree)
    origins = [c.extra.get("origin") for c in result.history]
    start = 1 + SearchConfig(budget=12).initial_count
    assert origins[:start] == ["seed"] + ["initial"] * (start - 1)
    assert set(origins[start:]) == {EDIT_RANDOM}
    assert result.accounting["evaluations"] == 12
    arms = result.accounting["arms"]
    assert set(arms) == {EDIT_RANDOM} and arms[EDIT_RANDOM]["chosen"] == len(result.history) - start


def test_the_tpe_arm_learns_from_every_flat_design(tmp_path) -> None:
    """design:tpe (opt-in) makes whole flat designs from a study told the diverse start and its own
    outcomes; beside edit:random the bandit shares the children, deterministically without an LLM."""
    result = search(observation_space=small_space(), fitness=param_fitness, strategy="hybrid", budget=16,
                    llm="none", seed=3, run_dir=tmp_path / "run", arms=(DESIGN_TPE,))
    tpe = [c for c in result.history if c.extra.get("origin") == DESIGN_TPE]
    start = [c for c in result.history if c.extra.get("origin") == "initial"]
    assert len([c for c in tpe if c.evaluated]) == 16 - len(start) and start  # + repeats from the cache
    space = FlatSpace.load().for_sources(small_space())
    for c in tpe:
        assert c.transformation == "tpe_design" and space.validate(c.choice) == c.choice
    state = json.loads((tmp_path / "run" / "state" / "checkpoint.json").read_text())["strategy"]["tpe"]
    told = [t for t in state["study"]["trials"] if t["state"] == "COMPLETE"]
    assert len(told) == len(start) + len(tpe)  # the start's designs were added, the arm's own were told
    both = [search(observation_space=small_space(), fitness=param_fitness, strategy="hybrid", budget=14,
                   llm="none", seed=4, run_dir=tmp_path / f"both{i}", arms=(EDIT_RANDOM, DESIGN_TPE))
            for i in range(2)]
    arms = both[0].accounting["arms"]
    assert set(arms) == {EDIT_RANDOM, DESIGN_TPE} and all(a["chosen"] for a in arms.values())
    origins = [c.extra.get("origin") for c in both[0].history]
    assert all(arms[a]["chosen"] == origins.count(a) for a in arms)
    # two arms and no LLM: the bandit draws from its seeded rng only, so the run repeats exactly
    assert [(c.tree_hash, c.fitness) for c in both[0].history] == [(c.tree_hash, c.fitness)
                                                                   for c in both[1].history]


def test_compound_moves_record_every_edit(tmp_path) -> None:
    result = search(observation_space=small_space(), fitness=param_fitness, strategy="evolution", budget=16,
                    llm="none", seed=2, run_dir=tmp_path / "run", max_edits=3)
    compound = [c for c in result.history if len(c.extra.get("edits", [])) > 1]
    assert compound, "no child had more than one edit"
    assert all(c.plan["edits"] >= len(c.extra["edits"]) for c in compound)
    assert "redraw_branch" in {c.transformation for c in result.history}


# --- arms ----------------------------------------------------------------------------------
def test_arm_bandit_learns_and_weighs_time() -> None:
    bandit = ArmBandit(ARMS, seed=0, cost_weight=1.0)
    for _ in range(20):
        bandit.spent(EDIT_RANDOM, 0.01)
        bandit.scored(EDIT_RANDOM, True, eval_seconds=1.0)
        bandit.spent(EDIT_LLM, 5.0)  # five evaluations' worth of LLM time per child, no better
        bandit.scored(EDIT_LLM, True, eval_seconds=1.0)
        bandit.spent(DESIGN_LLM, 0.01)
        bandit.scored(DESIGN_LLM, False, eval_seconds=1.0)
    picks = Counter(bandit.choose() for _ in range(300))
    assert picks[EDIT_RANDOM] > 250 and picks[DESIGN_LLM] < 20
    free = ArmBandit(ARMS, seed=0, cost_weight=0.0)
    free.load_state_dict({**bandit.state_dict(), "rng": free.state_dict()["rng"]})
    picks = Counter(free.choose() for _ in range(300))
    assert 90 < picks[EDIT_LLM] < 210  # time ignored: as good as random filling, chosen as often
    again = ArmBandit(ARMS, seed=0, cost_weight=1.0)
    again.load_state_dict(bandit.state_dict())
    assert [again.choose() for _ in range(50)] == [bandit.choose() for _ in range(50)]
    assert bandit.to_dict()[EDIT_RANDOM]["improvement_rate"] == 1.0
    with pytest.raises(ConfigError):
        ArmBandit(["edit:magic"], seed=0)


def test_hybrid_with_an_llm_records_its_arms_and_calls_it_only_for_its_arms(tmp_path) -> None:
    backend = FirstOptionBackend()
    result = search(observation_space=small_space(), fitness=rich_fitness, strategy="hybrid", budget=14,
                    llm=backend, seed=0, run_dir=tmp_path / "run", arm_cost_weight=0.0, llm_initial_designs=1)
    records = [json.loads(x) for x in (result.run_dir / "candidates.jsonl").read_text().splitlines()]
    arms = Counter(r["extra"]["arm"] for r in records if "arm" in r["extra"])
    assert arms and set(arms) <= set(ARMS)
    assert sum(1 for r in records if r["extra"].get("origin") == "initial:llm") == 1
    llm_made = [r for r in records if r["extra"].get("arm") in (EDIT_LLM, DESIGN_LLM)
                or r["extra"].get("origin") == "initial:llm"]
    random_made = [r for r in records if r["extra"].get("arm") == EDIT_RANDOM]
    assert all(r["designer"] != "llm" for r in random_made)
    # the start's LLM designs are the LLM's; an LLM arm's answer was screened beside random fills
    assert all(r["designer"] == "llm" for r in llm_made if r["extra"].get("origin") == "initial:llm")
    screened = [r for r in llm_made if r["extra"].get("origin") != "initial:llm"]
    assert screened and all(r["extra"]["llm_won"] == (r["designer"] == "llm" and not r["fell_back"])
                            for r in screened)
    acc = result.accounting["arms"]
    assert {a: acc[a]["chosen"] for a in acc if acc[a]["chosen"]} == dict(arms)
    assert all(acc[a]["scored"] <= acc[a]["chosen"] for a in acc)
    for arm in (EDIT_LLM, DESIGN_LLM):  # an arm's child counts only when the screen chose the LLM's answer
        won = [r for r in screened if r["extra"]["arm"] == arm and r["extra"]["llm_won"]]
        assert acc[arm]["screen_won"] == len(won) and acc[arm]["improved"] <= acc[arm]["screen_won"]
    assert acc[EDIT_RANDOM]["screen_won"] == 0
    design_calls = sum(1 for r in backend.requests if "design space" in r.system)
    assert design_calls >= 1


def test_an_llm_arms_answer_joins_the_screen_and_counts_only_when_chosen(tmp_path) -> None:
    """With the screen, an LLM answer is one more screened child, never one that displaces them: a
    design:llm slot screens the LLM's whole design beside the random-filled edits; an arm whose
    answer the screen passed over is charged a failure, whatever that child scored."""
    result = search(observation_space=small_space(), fitness=rich_fitness, strategy="hybrid", budget=24,
                    llm=FirstOptionBackend(), seed=2, run_dir=tmp_path / "run", arm_cost_weight=0.0,
                    llm_initial_designs=0, reflection=False)
    made = [c for c in result.history if c.extra.get("arm") in (EDIT_RANDOM, EDIT_LLM, DESIGN_LLM)]
    pools = {arm: {c.extra["screen"]["variants"] for c in made if c.extra["arm"] == arm} for arm in
             (EDIT_RANDOM, EDIT_LLM, DESIGN_LLM)}
    assert pools[DESIGN_LLM] and pools[EDIT_RANDOM]
    assert pools[DESIGN_LLM] == {v + 1 for v in pools[EDIT_RANDOM]}  # the LLM's design, one more child
    assert pools[EDIT_LLM] == {v + 1 for v in pools[EDIT_RANDOM]}  # its edit, one more child too
    lost = [c for c in made if c.extra.get("llm_won") is False]
    assert lost and all(c.designer != "llm" for c in lost)
    bandit = ArmBandit(ARMS, seed=0)
    bandit.scored(EDIT_LLM, True, 1.0, won_screen=False)
    bandit.scored(DESIGN_LLM, True, 1.0, won_screen=True)
    bandit.scored(EDIT_RANDOM, True, 1.0)
    st = bandit.to_dict()
    assert (st[EDIT_LLM]["improved"], st[EDIT_LLM]["screen_won"]) == (0, 0)
    assert (st[DESIGN_LLM]["improved"], st[DESIGN_LLM]["screen_won"]) == (1, 1)
    assert (st[EDIT_RANDOM]["improved"], st[EDIT_RANDOM]["screen_won"]) == (1, 0)


@pytest.mark.parametrize("seed", [8, 9])
def test_a_model_changes_the_run_only_where_the_screen_picks_its_answer(tmp_path, seed: int) -> None:
    """A run with an LLM makes the trees of the run without one until the screen chooses the model's
    own answer: the screened pool of an LLM arm is the pool edit:random would screen, plus the
    model's answer after it. (Seed 8: when the LLM's edit took the place of a random fill, this run
    parted from the run without an LLM at its seventh candidate, the model's answer not chosen.
    Seed 9: the screen chooses the model's answer at candidate 19, where the runs part.)"""
    def run(name: str, llm: object) -> list:
        return search(observation_space=small_space(), fitness=rich_fitness, strategy="hybrid", budget=24,
                      llm=llm, seed=seed, run_dir=tmp_path / name, arm_cost_weight=0.0,
                      reflection=False).history

    plain, guided = run("none", "none"), run("llm", SeededBackend())
    won = next((i for i, c in enumerate(guided) if c.extra.get("llm_won")), len(guided))
    passed_over = [c for c in guided[:won] if c.extra.get("llm_answer") == "screened"]
    assert passed_over, "no LLM answer was screened and passed over before the first one chosen"
    assert [c.tree_hash for c in guided[:won]] == [c.tree_hash for c in plain[:won]]


def test_answers_that_fell_back_are_not_screened(tmp_path) -> None:
    """A model that never answers in time leaves the run as the run without an LLM makes it, tree
    for tree, and each of its arms' children is a failure of that arm."""
    def run(name: str, llm: object) -> list:
        return search(observation_space=small_space(), fitness=rich_fitness, strategy="hybrid", budget=20,
                      llm=llm, seed=1, run_dir=tmp_path / name, arm_cost_weight=0.0,
                      reflection=False).history

    plain, slow = run("none", "none"), run("slow", TimeoutBackend())
    asked = [c for c in slow if c.extra.get("arm") in (EDIT_LLM, DESIGN_LLM)]
    assert asked and {c.extra["llm_answer"] for c in asked} == {"fell back"}
    assert not any(c.extra["llm_won"] for c in asked)
    assert [c.tree_hash for c in slow] == [c.tree_hash for c in plain]


def test_with_a_screen_the_llm_designs_go_through_it_and_the_start_is_the_latin_sample(tmp_path) -> None:
    """By default a screened hybrid evaluates no unscreened LLM design: its start is the one the
    hybrid without an LLM evaluates, and the LLM's whole designs come through the screened
    design:llm arm. Without a screen, two LLM designs follow the Latin start, as a count given does."""
    assert SearchConfig(strategy="hybrid").llm_initial_count == 0
    assert SearchConfig(strategy="hybrid", screen_variants=1).llm_initial_count == 2
    assert SearchConfig(strategy="hybrid", llm_initial_designs=3).llm_initial_count == 3
    with pytest.raises(ConfigError, match="llm_initial_designs"):
        SearchConfig(llm_initial_designs=-1)
    start = SearchConfig(budget=16).initial_count

    def run(name: str, llm: object, **kw: object) -> list:
        return search(observation_space=small_space(), fitness=rich_fitness, strategy="hybrid", budget=16,
                      llm=llm, seed=3, run_dir=tmp_path / name, reflection=False, **kw).history

    plain, screened = run("none", "none"), run("llm", FirstOptionBackend())
    assert [c.tree_hash for c in screened[:start]] == [c.tree_hash for c in plain[:start]]
    assert not any(c.extra.get("origin") == "initial:llm" for c in screened)
    unscreened = run("unscreened", FirstOptionBackend(), screen_variants=1)
    origins = [c.extra.get("origin") for c in unscreened]
    assert origins[start:start + 2] == ["initial:llm"] * 2 and origins.count("initial:llm") == 2


def test_the_llm_arms_can_be_switched_off(tmp_path) -> None:
    backend = FirstOptionBackend()
    result = search(observation_space=small_space(), fitness=rich_fitness, strategy="hybrid", budget=8,
                    llm=backend, seed=0, run_dir=tmp_path / "run", arms=("edit:random",),
                    llm_initial_designs=0, reflection=False)
    assert backend.requests == [] and set(result.accounting["arms"]) == {EDIT_RANDOM}


# --- reflection ----------------------------------------------------------------------------
@pytest.mark.parametrize("text, problem", [
    ("1.1.1.1.1.1.1.1.1.1.1.1.1.1", "repeated characters"),
    ("aaaaaaaaaaaaaaa wider branch", "repeated characters"),
    ("good", "fewer than 3 words"),
    ("history gru history gru history gru ego", "mostly repeated words"),
    ("the weather was nice today", "names no source"),
])
def test_degenerate_or_unrelated_insights_are_rejected(text: str, problem: str) -> None:
    vocabulary = {"ego", "history", "gru", "width", "mlp"}
    assert problem in insight_problem(text, vocabulary)


def test_useful_insights_pass() -> None:
    vocabulary = {"ego", "history", "gru", "width"}
    assert insight_problem("A GRU on the history branch beat the conv1d stack", vocabulary) == ""
    assert insight_problem("Larger width in the ego MLP helped", vocabulary) == ""


def test_reflection_keeps_only_valid_insights_and_counts_the_rest() -> None:
    class Reflector(FirstOptionBackend):
        def complete(self, request):  # type: ignore[no-untyped-def]
            from evo_lacer.llm import LLMReply

            value = {"insights": ["1.1.1.1.1.1.1.1.1.1", "a gru on history helped the most", "nice day"]}
            return LLMReply(value, json.dumps(value), 10, 5, 0.0, self.name, self.model)

    from evo_lacer.engine import Candidate
    from evo_lacer.evaluate import Feedback, Status

    fb = Feedback(Status.OK, fitness=0.5)
    batch = [Candidate(id=0, generation=1, tree=None, tree_hash="h0", feedback=fb,
                       transformation="swap_module",
                       site="encoder/history/0", choice={"module": "GRUEncoder"})]
    designer = LLMDesigner(Reflector(), vocabulary={"gru", "history"})
    assert designer.reflect(batch) == ["a gru on history helped the most"]
    assert designer.accounting.insights_rejected == 2
    assert designer.insights == ["a gru on history helped the most"]


def test_llm_none_hybrid_stays_deterministic(tmp_path) -> None:
    def run(name: str) -> list[tuple]:
        r = search(observation_space=small_space(), fitness=param_fitness, strategy="hybrid", budget=14,
                   llm="none", seed=4, run_dir=tmp_path / name)
        return [(c.id, c.tree_hash, c.transformation, c.fitness, c.extra.get("arm")) for c in r.history]

    assert run("a") == run("b")


def test_rng_independent_of_numpy_global_state(tmp_path) -> None:
    np.random.seed(1)
    a = search(observation_space=small_space(), fitness=param_fitness, strategy="hybrid", budget=6,
               llm="none", seed=9, run_dir=tmp_path / "a")
    np.random.seed(2)
    b = search(observation_space=small_space(), fitness=param_fitness, strategy="hybrid", budget=6,
               llm="none", seed=9, run_dir=tmp_path / "b")
    assert [c.tree_hash for c in a.history] == [c.tree_hash for c in b.history]


def test_the_report_shows_the_arms(tmp_path) -> None:
    from evo_lacer.runs import write_report

    result = search(observation_space=small_space(), fitness=rich_fitness, strategy="hybrid", budget=10,
                    llm=FirstOptionBackend(), seed=0, run_dir=tmp_path / "run", arm_cost_weight=0.0)
    text = write_report(result.run_dir).read_text()
    section = text.split("## Arms", 1)[1].split("##", 1)[0]
    for arm, st in result.accounting["arms"].items():
        assert f"| {arm} | {st['chosen']} | {st['scored']} | {st['improved']} |" in section
