"""Every strategy end to end on a cheap fitness, offline (llm="none"), through one harness."""

from __future__ import annotations

import json

import pytest
from search_helpers import FirstOptionBackend, failing_fitness, param_fitness, rich_fitness, small_space

from evo_lacer.api import SearchResult, resume, search
from evo_lacer.engine import STRATEGIES, STRATEGY_REGISTRY, SearchConfig
from evo_lacer.engine._population import MISSING_OBJECTIVE, infeasible_values
from evo_lacer.errors import ConfigError, RunStoreError
from evo_lacer.evaluate import Status
from evo_lacer.transform import GateResult
from evo_lacer.tree import tree_hash

BUDGET = 8
ON_A_FITNESS = tuple(s for s in STRATEGIES if not STRATEGY_REGISTRY[s].trains_supernet)
"""darts and enas need the RL evaluator (tests/engine/test_darts_enas.py)."""


def _run(tmp_path, strategy: str, name: str = "", **kw) -> SearchResult:
    kw.setdefault("llm", "none")
    kw.setdefault("llm_check_probes", 0)  # the LLM tests count the search's own requests
    return search(observation_space=small_space(), fitness=kw.pop("fitness", param_fitness),
                  strategy=strategy, budget=kw.pop("budget", BUDGET), seed=kw.pop("seed", 0),
                  run_dir=tmp_path / (name or strategy), population_size=4, batch_size=4, **kw)


def _essence(result: SearchResult) -> list[tuple]:
    """The history without timings: what must be identical for the same seed."""
    return [(c.id, c.generation, c.parents, c.transformation, c.site,
             json.dumps(dict(c.choice), sort_keys=True), c.tree_hash, c.status.value, c.fitness,
             c.evaluated, c.cached) for c in result.history]


@pytest.mark.parametrize("strategy", ON_A_FITNESS)
def test_strategy_runs_end_to_end(tmp_path, strategy: str) -> None:
    result = _run(tmp_path, strategy)
    evaluated = [c for c in result.history if c.evaluated]
    assert len(evaluated) == BUDGET == result.accounting["evaluations"]
    assert len({c.tree_hash for c in evaluated}) == BUDGET  # never evaluated twice
    assert result.best_feedback is not None and result.best_tree is not None
    assert result.best_feedback.fitness == max(c.fitness for c in evaluated if c.fitness is not None)
    assert result.best_module is not None and result.best_module.features_dim > 0
    assert tree_hash(result.best_tree) in {tree_hash(t) for t in [result.best_tree]}
    records = [json.loads(line) for line in (result.run_dir / "candidates.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in records) == [c.id for c in result.history]
    assert all(r["strategy"] == strategy for r in records)
    assert (result.run_dir / "artifacts" / "best_tree.json").is_file()
    if strategy in ("hybrid", "evolution", "llmastool"):  # a diverse start, then edits
        start = SearchConfig(budget=BUDGET).initial_count
        assert [c.transformation for c in result.history[:start]] == ["initial"] * start
        assert len({c.tree_hash for c in result.history[:start]}) == start
        screened = {"screen_design"} if strategy == "hybrid" else set()  # TPE's designs in the screen
        assert {c.transformation for c in result.history[start:]} <= {
            "change_parameter", "swap_module", "insert_module", "delete_module", "create_composite",
            "repeat_previous", "change_fusion", "crossover", "redraw_branch", *screened}
        assert all(c.extra["arm"] == "edit:random" for c in result.history[start:])  # llm="none"


@pytest.mark.parametrize("strategy", ["hybrid", "tpe", "lacer"])
def test_same_seed_same_history(tmp_path, strategy: str) -> None:
    a = _run(tmp_path, strategy, "a", seed=5)
    b = _run(tmp_path, strategy, "b", seed=5)
    assert _essence(a) == _essence(b)
    c = _run(tmp_path, strategy, "c", seed=6)
    assert _essence(a) != _essence(c)


def test_failing_fitness_is_recorded_and_the_search_goes_on(tmp_path) -> None:
    # no diverse start: from the minimal seed tree, edits both pass and fail the size limit
    result = _run(tmp_path, "evolution", fitness=failing_fitness, initial_designs=0)
    statuses = [c.status for c in result.history if c.evaluated]
    assert len(statuses) == BUDGET and Status.FAILED in statuses and Status.OK in statuses
    failed = next(c for c in result.history if c.status is Status.FAILED)
    assert "too big" in failed.feedback.error
    assert result.accounting["failed"] == statuses.count(Status.FAILED)


def test_gate_rejections_cost_no_evaluation(tmp_path) -> None:
    result = _run(tmp_path, "evolution", max_params=4000, budget=6)
    rejected = [c for c in result.history if c.status is Status.REJECTED]
    assert rejected and all(not c.evaluated for c in rejected)
    assert any(c.gate is not None and c.gate.check == "params" for c in rejected)
    assert sum(c.evaluated for c in result.history) == 6
    assert all(c.gate is not None and c.gate.params is not None and c.gate.params <= 4000
               for c in result.history if c.evaluated)


def test_multi_objective_selection(tmp_path) -> None:
    result = _run(tmp_path, "hybrid", fitness=rich_fitness, objectives=("fitness", "-params"))
    assert result.accounting["evaluations"] == BUDGET
    assert all(c.gate is not None and c.gate.params is not None for c in result.history if c.evaluated)


def test_llm_strategies_with_a_first_option_llm(tmp_path) -> None:
    for strategy in ("hybrid", "llmastool", "lacer", "genius"):
        backend = FirstOptionBackend()
        result = _run(tmp_path, strategy, llm=backend, budget=6, initial_designs=1, llm_initial_designs=1,
                      arms=("edit:llm", "design:llm"))
        llm = result.accounting["llm"]
        assert llm["calls"] == len(backend.requests) > 0 and llm["fallbacks"] == 0
        exchanges = (result.run_dir / "llm.jsonl").read_text().splitlines()
        assert len(exchanges) == llm["calls"]
        assert result.config.llm.startswith("custom:first-option")
        if strategy == "hybrid":
            assert llm["reflections"] >= 1
        if strategy in ("lacer", "genius"):
            designers = [c.designer for c in result.history]
            assert designers[:2] == ["initial", "initial"] and set(designers[2:]) == {"llm"}
    lacer_prompt = backend.requests[-1].prompt
    assert "Evaluated designs" in lacer_prompt


def test_process_workers(tmp_path) -> None:
    result = _run(tmp_path, "random", workers=2)
    assert result.accounting["evaluations"] == BUDGET


def test_bad_calls_say_how_to_fix(tmp_path) -> None:
    with pytest.raises(ConfigError, match="exactly one of"):
        search(observation_space=small_space(), budget=2, run_dir=tmp_path / "x")
    with pytest.raises(ConfigError, match="unknown options"):
        _run(tmp_path, "random", name="y", populaton_size=3)
    with pytest.raises(ConfigError, match="strategy"):
        SearchConfig(strategy="magic")  # type: ignore[arg-type]
    _run(tmp_path, "random", name="z", budget=2)
    with pytest.raises(RunStoreError, match="already holds a run"):
        _run(tmp_path, "random", name="z", budget=2)



@pytest.mark.parametrize("settings", [{"fidelity": "cheap"}, {"fidelity": "halving"},
                                      {"rl_options": {"steps": 64}}])
def test_env_only_settings_with_a_fitness_are_refused_not_ignored(tmp_path, settings: dict) -> None:
    """With fitness= the user's function is the one fidelity: a cheap fidelity or PPO options would
    be silently dropped (and a halving run could not be resumed), so they are refused up front."""
    name = next(iter(settings))
    with pytest.raises(ConfigError, match=f"{name}=.*apply with env= only.*leave them out"):
        _run(tmp_path, "random", name="refused", budget=2, **settings)
    assert not (tmp_path / "refused").exists()  # refused before a run folder is made
    assert _run(tmp_path, "random", name="fixed", budget=2).accounting["evaluations"] == 2  # the fix

def test_seed_tree_and_resume_of_a_finished_run(tmp_path) -> None:
    first = _run(tmp_path, "evolution", budget=4)
    seeded = _run(tmp_path, "evolution", name="seeded", budget=4, seed_tree=first.best_tree)
    assert seeded.history[0].tree == first.best_tree
    again = resume(first.run_dir)
    assert _essence(again) == _essence(first)


def test_env_id_uses_the_rl_evaluator(tmp_path) -> None:
    result = search("CartPole-v1", rl_options={"steps": 64, "eval_episodes": 1}, strategy="evolution",
                    budget=3, batch_size=2, llm="none", run_dir=tmp_path / "rl", progress=True)
    assert result.accounting["evaluations"] == 3
    assert "reward" in result.best_feedback.metrics and result.best_feedback.features
    assert "RLEvaluator" in json.loads((result.run_dir / "run.json").read_text())["config"]["evaluator"]


def test_context_free_sites_are_computed_once_per_tree(tmp_path, monkeypatch) -> None:
    from collections import Counter

    import evo_lacer.engine._moves as moves

    calls: Counter[str] = Counter()
    original = moves.legal_moves

    def counting(tree, ctx, transformations=None):  # type: ignore[no-untyped-def]
        if transformations is not None and "change_parameter" in transformations:
            calls[tree_hash(tree)] += 1
        return original(tree, ctx, transformations)

    monkeypatch.setattr(moves, "legal_moves", counting)
    result = _run(tmp_path, "evolution", budget=12, max_edits=1)  # compound moves visit new trees
    parents_picked = sum(1 for c in result.history if c.parents)
    assert calls and max(calls.values()) == 1 and sum(calls.values()) < parents_picked


def test_cached_sites_equal_fresh_ones(tmp_path) -> None:
    from evo_lacer.compile import infer_sources
    from evo_lacer.engine import build_strategy, default_seed_tree
    from evo_lacer.flat import FlatSpace
    from evo_lacer.transform import TransformContext, legal_moves
    from evo_lacer.zoo import builtin_catalog

    catalog = builtin_catalog()
    inputs = {k: s.signal for k, s in infer_sources(small_space()).items()}
    tree = default_seed_tree(FlatSpace.load().for_sources(small_space()))
    strategy = build_strategy(SearchConfig(strategy="evolution"), catalog=catalog, inputs=inputs,
                              seeds=[tree], space=None, backend=None, exchange_sink=None, task="")
    ctx = TransformContext(catalog=catalog, inputs=inputs, donors=(tree,))
    fresh = legal_moves(tree, ctx)
    assert strategy.moves.legal(tree, ctx) == fresh == strategy.moves.legal(tree, ctx)  # miss, then hit
    assert list(strategy.moves.legal(tree, ctx)) == list(fresh)  # same transformation order


def test_hybrid_planner_is_told_the_feature_gain(tmp_path) -> None:
    from search_helpers import probe_fitness

    from evo_lacer.runs import RunStore

    def first_scores(feature_weight: float) -> list[float]:
        result = _run(tmp_path, "hybrid", name=f"w{feature_weight}", fitness=probe_fitness, budget=8,
                      feature_weight=feature_weight)
        children = [c for c in result.history if c.parents and c.evaluated and c.feedback.ok]
        assert children and all(isinstance(c.extra.get("parent_quality"), float) for c in children)
        state = RunStore.open(result.run_dir).load_state("checkpoint")
        return [t["value"] for t in state["strategy"]["planner"]["study"]["trials"]][:4]

    ignored, weighted = first_scores(0.0), first_scores(1.0)  # same seed: the same first plans
    assert len(ignored) == len(weighted) == 4 and ignored != weighted


@pytest.mark.parametrize("strategy", ["evolution", "hybrid"])
def test_a_start_over_the_size_limit_evolves_from_its_smallest_trees(tmp_path, strategy: str) -> None:
    """Every start design breaks max_params: rejected children then compete by parameter count
    (Deb's feasibility rule), so parents shrink until a child passes and the budget is spent."""
    result = _run(tmp_path, strategy, max_params=3000, budget=6)
    params = {c.id: c.gate.params for c in result.history if c.gate is not None and c.gate.params}
    start = [c.id for c in result.history if c.extra.get("origin") == "initial"]
    assert start and all(result.history[i].status is Status.REJECTED for i in start)
    first_ok = next(c.id for c in result.history if c.evaluated)
    parents = [c.parents[0] for c in result.history[len(start):first_ok + 1] if c.parents]
    assert parents and params[parents[-1]] < min(params[i] for i in start)  # a shrunk child's child
    assert result.accounting["evaluations"] == 6


def test_infeasible_values_rank_by_distance_to_the_limit() -> None:
    def gate(check: str, params: int | None = None, latency: float | None = None) -> GateResult:
        return GateResult(ok=False, check=check, params=params, latency_ms=latency)

    small, big = infeasible_values(1, gate("params", 5000)), infeasible_values(1, gate("params", 600_000))
    broken = infeasible_values(1, gate("forward"))
    assert MISSING_OBJECTIVE > small[0] > big[0] > broken[0]
    fast, slow = (infeasible_values(1, gate("latency", latency=t)) for t in (2.0, 9.0))
    assert fast > slow
    assert infeasible_values(2, None) == broken * 2
