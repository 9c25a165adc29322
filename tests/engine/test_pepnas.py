"""pepnas (LACER's PEPNAS baseline): NSGA-II over flat configurations, progressive training
budgets, an archive merged back; end to end, deterministic, resumable after kill -9."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from search_helpers import complete_lines, kill_after, logging_fitness, param_fitness, small_space

from evo_lacer.api import SearchResult, resume, search
from evo_lacer.cli import main
from evo_lacer.engine import SearchConfig, build_strategy
from evo_lacer.engine._pepnas_ops import budget_fraction, mutate, planned_generations
from evo_lacer.errors import ConfigError
from evo_lacer.evaluate import FunctionEvaluator
from evo_lacer.evaluate._budget import at_budget
from evo_lacer.flat import FlatSpace
from evo_lacer.runs import RunStore

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BUDGET = 16
SETTINGS = dict(strategy="pepnas", budget=BUDGET, seed=0, llm="none", llm_check_probes=0, population_size=4,
                batch_size=4)


def _run(run_dir: Path, **kw) -> SearchResult:
    settings = {**SETTINGS, **kw}
    return search(observation_space=small_space(), fitness=settings.pop("fitness", param_fitness),
                  run_dir=run_dir, **settings)


def _essence(result: SearchResult) -> list[tuple]:
    return [(c.id, c.generation, c.parents, c.designer, json.dumps(dict(c.choice), sort_keys=True),
             c.tree_hash, c.status.value, c.fitness, c.evaluated, c.cached, c.extra.get("budget_fraction"))
            for c in result.history]


def _records(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "candidates.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> SearchResult:
    return _run(tmp_path_factory.mktemp("pepnas") / "run")


def test_pepnas_runs_end_to_end_with_the_shared_harness(run: SearchResult) -> None:
    evaluated = [c for c in run.history if c.evaluated]
    assert len(evaluated) == BUDGET == run.accounting["evaluations"]
    assert len({c.tree_hash for c in evaluated}) == BUDGET  # children avoid repeating a configuration
    assert run.accounting["strategy"] == "pepnas" and run.accounting["designer"] == "nsga2"
    assert [c.designer for c in run.history[:4]] == ["initial"] * 4
    children = run.history[4:]
    assert children and all(c.designer == "nsga2" and c.parents for c in children)
    assert all(p < c.id for c in children for p in c.parents)
    space = FlatSpace.load().for_sources(small_space())
    assert all(space.validate(c.choice) == dict(c.choice) for c in run.history)  # always valid
    assert run.best_feedback is not None and (run.run_dir / "artifacts" / "best_tree.json").is_file()
    assert all(r["strategy"] == "pepnas" for r in _records(run.run_dir))


def test_budget_fractions_grow_with_the_generation_and_are_in_the_run_folder(run: SearchResult) -> None:
    records = _records(run.run_dir)
    by_gen: dict[int, set[float]] = {}
    for r in records:
        by_gen.setdefault(r["generation"], set()).add(r["extra"]["budget_fraction"])
    assert all(len(f) == 1 for f in by_gen.values())  # one budget per generation
    fractions = [by_gen[g].pop() for g in sorted(by_gen)]
    assert fractions == sorted(fractions) and fractions[0] == 0.25 and fractions[-1] == 1.0
    assert len(set(fractions)) >= 3  # it really grows, not a jump
    assert run.accounting["pepnas"]["budget_fractions"] == fractions
    # a fitness function has no training budget: the fraction is recorded, no steps were asked
    assert all(r["extra"]["budget_steps"] is None and r["extra"]["env_steps"] == 0 for r in records)
    # nor weights: inheritance is asked, recorded as unavailable, and ignored
    assert all(r["extra"]["weights"] == "unavailable: the evaluator keeps no weights" for r in records)
    assert any(r["extra"]["inherit"] for r in records) and not (run.run_dir / "weights").exists()
    assert run.accounting["pepnas"]["inherited"] == run.accounting["pepnas"]["inherited_tensors"] == 0


def test_the_archive_is_merged_back_and_recorded(run: SearchResult) -> None:
    state = RunStore.open(run.run_dir).load_state("checkpoint")["strategy"]
    merges = state["reinjections"]
    assert merges and run.accounting["pepnas"]["reinjections"] == len(merges) >= 1
    by_id = {c.id: c for c in run.history}
    population = {m["id"] for m in state["population"]}
    archive = {m["id"] for m in state["archive"]}
    for merge in merges:
        assert merge["ids"] and len(merge["ids"]) <= 2  # at most half the population of 4
        assert all(by_id[i].generation < merge["generation"] and by_id[i].feedback.ok for i in merge["ids"])
    last = merges[-1]
    if last["generation"] == max(c.generation for c in run.history):
        assert set(last["ids"]) <= population  # merged into the final population
    assert population.isdisjoint(archive)  # every evaluated configuration is in exactly one of them
    ok_configs = {json.dumps(dict(c.choice), sort_keys=True) for c in run.history if c.feedback.ok}
    assert len(population) + len(archive) == len(ok_configs)


def test_same_seed_same_history(tmp_path, run: SearchResult) -> None:
    again = _run(tmp_path / "again")
    assert _essence(again) == _essence(run)
    other = _run(tmp_path / "other", seed=1)
    assert _essence(other) != _essence(run)


def test_state_round_trips_through_json(run: SearchResult) -> None:
    state = RunStore.open(run.run_dir).load_state("checkpoint")["strategy"]
    strategy = _strategy()
    strategy.load_state_dict(json.loads(json.dumps(state)))
    assert strategy.state_dict() == state


def _strategy(**kw):
    from evo_lacer.compile import infer_sources
    from evo_lacer.zoo import builtin_catalog

    inputs = {k: s.signal for k, s in infer_sources(small_space()).items()}
    cfg = SearchConfig(**{**SETTINGS, **kw})  # type: ignore[arg-type]
    return build_strategy(cfg, catalog=builtin_catalog(), inputs=inputs, seeds=[], backend=None,
                          space=FlatSpace.load().for_sources(small_space()), exchange_sink=None, task="")


def test_schedule_and_variation_operators() -> None:
    planned = planned_generations(budget=40, population=8, batch=4)
    assert planned == 10
    fractions = [budget_fraction(g, planned) for g in range(planned + 2)]
    assert fractions[0] == 0.25 and fractions == sorted(fractions)
    assert fractions[planned - 2:] == [1.0] * 4 and fractions[planned - 3] < 1.0
    space = FlatSpace.load().for_sources(small_space())
    rng = np.random.default_rng(0)
    parent = space.sample(rng)
    children = [mutate(space, parent, rng, at_least_one=True) for _ in range(30)]
    assert all(space.validate(c) == c for c in children)
    assert sum(c != parent for c in children) >= 25  # a forced mutation almost always changes something
    assert sum(c != parent for c in (mutate(space, parent, rng, rate=0.0) for _ in range(5))) == 0


def test_budget_hook_leaves_a_fitness_function_alone() -> None:
    evaluator = FunctionEvaluator(param_fitness, small_space())
    assert at_budget(evaluator, 0.5) == (evaluator, None)
    assert at_budget(evaluator, None) == (evaluator, None)
    with pytest.raises(Exception, match="budget fraction"):
        at_budget(evaluator, 1.5)


def test_steady_loop_and_single_objective_are_handled(tmp_path) -> None:
    with pytest.raises(ConfigError, match="generational"):
        _strategy(loop="steady")
    strategy = _strategy(objectives=("fitness", "-params", "-latency_ms"))
    assert strategy.objectives == ("fitness", "-params", "-latency_ms")  # type: ignore[attr-defined]
    assert _strategy().objectives == ("fitness", "-params")  # type: ignore[attr-defined]


def test_cli_search_with_strategy_pepnas(tmp_path, capsys) -> None:
    run_dir = tmp_path / "cli"
    args = ["--fitness", "search_helpers:param_fitness", "--observation-space", "search_helpers:small_space",
            "--strategy", "pepnas", "--budget", "4", "--batch-size", "2", "--population-size", "2",
            "--llm", "none", "--no-progress", "--no-report", "--run-dir", str(run_dir)]
    assert main(["search", *args]) == 0
    assert "4/4 evaluations" in capsys.readouterr().out
    assert json.loads((run_dir / "run.json").read_text())["config"]["strategy"] == "pepnas"


SCRIPT = """
import sys
from search_helpers import logging_fitness, small_space
from evo_lacer.api import search
search(observation_space=small_space(), fitness=logging_fitness, run_dir=sys.argv[1], **{settings})
"""


def test_resume_after_kill_9_loses_and_repeats_nothing(tmp_path, monkeypatch) -> None:
    settings = {**SETTINGS, "budget": 12}
    os.environ.pop("EVO_TEST_LOG", None)
    reference = search(observation_space=small_space(), fitness=logging_fitness, run_dir=tmp_path / "ref",
                       **settings)
    run_dir, log = tmp_path / "run", tmp_path / "evaluations.log"
    env = dict(os.environ, EVO_TEST_LOG=str(log), EVO_TEST_SLEEP="0.15")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(HERE), env.get("PYTHONPATH", "")])
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT.format(settings=settings), str(run_dir)], env=env,
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    before = kill_after(proc, run_dir / "candidates.jsonl", 6, limit_s=240)  # mid generation 1
    assert len(before) < 12, "the search finished before it was killed"
    monkeypatch.setenv("EVO_TEST_LOG", str(log))
    result = resume(run_dir, evaluator=FunctionEvaluator(logging_fitness, small_space()))
    after = complete_lines(run_dir / "candidates.jsonl")
    assert after[: len(before)] == before  # nothing recorded was lost or rewritten
    assert len({json.loads(line)["id"] for line in after}) == len(after)
    assert result.accounting["evaluations"] == 12
    assert 12 <= len(log.read_text().splitlines()) <= 13  # at most the one in flight ran twice
    assert _essence(result) == _essence(reference)
    state = RunStore.open(run_dir).load_state("checkpoint")["strategy"]
    assert state == RunStore.open(tmp_path / "ref").load_state("checkpoint")["strategy"]


def test_children_inherit_their_parents_weights_on_the_numpy_ring(tmp_path) -> None:
    result = search(
        env="evo_lacer/RingTraffic-v0", strategy="pepnas", budget=6, population_size=2, batch_size=2, seed=0,
        llm="none", workers=1, executor="inprocess", fidelity="cheap", cheap_fidelity="imitation",
        run_dir=tmp_path / "ring",
        rl_options={"env_kwargs": {"backend": "numpy", "horizon": 30}, "dataset_steps": 200, "grad_steps": 10,
                    "rollout_episodes": 0},
    )
    evaluated = [c for c in result.history if c.evaluated and not c.cached]
    assert len(evaluated) == 6 and all(c.feedback.ok for c in evaluated)
    weights = tmp_path / "ring" / "weights"
    assert sorted(p.name for p in weights.iterdir()) == sorted(c.extra["weights"][len("weights/"):]
                                                               for c in evaluated)
    assert all(c.feedback.metrics["weights_saved"] == 1.0 for c in evaluated)
    initial = [c for c in evaluated if c.designer == "initial"]
    assert initial and all(c.extra["inherit"] == {} and c.feedback.metrics["inherited_tensors"] == 0
                           for c in initial)
    children = [c for c in evaluated if c.designer == "nsga2"]
    for child in children:  # each entry from one of the child's own parents
        assert set(child.extra["inherit"].values()) <= set(child.parents)
    tensors = [c.feedback.metrics["inherited_tensors"] for c in children]
    assert any(t > 0 for t in tensors)
    assert result.accounting["pepnas"]["inherited"] == sum(t > 0 for t in tensors)
    assert result.accounting["pepnas"]["inherited_tensors"] == sum(tensors)
    stored = {r["id"]: r for r in _records(tmp_path / "ring")}  # in candidates.jsonl too
    assert [stored[c.id]["feedback"]["metrics"]["inherited_tensors"] for c in children] == tensors


def test_the_harness_maps_parents_to_the_files_of_the_candidates_evaluated(tmp_path) -> None:
    from evo_lacer.engine._records import Candidate
    from evo_lacer.engine._weights import with_weights
    from evo_lacer.evaluate import Feedback, Status
    from evo_lacer.evaluate._inherit import inheriting_copy
    from evo_lacer.tree import branch, encoder, fusion, module, tree_hash

    class Keeps(FunctionEvaluator):
        inheritance = None

        def with_inheritance(self, plan):
            return inheriting_copy(self, plan)

    trees = [encoder([branch("ego", module("MLPBlock", width=w))], fusion("ConcatMLP", width=8))
             for w in (8, 16, 32)]
    ok = Feedback(Status.OK, fitness=1.0)

    def cand(cid: int, tree, **extra) -> Candidate:
        return Candidate(id=cid, generation=0, tree=tree, tree_hash="", feedback=ok,
                         extra=extra)

    records = {0: cand(0, trees[0]), 1: cand(1, trees[2], cached_from=0)}  # 1 was answered by 0's result
    child = cand(2, trees[1], inherit={"ego": 1, "fusion": 7})  # 7: an unknown id, left fresh
    evaluator = Keeps(param_fitness, small_space())
    scaled, notes = with_weights(evaluator, [child, cand(3, trees[0])], records, tmp_path)
    h0, h1 = tree_hash(trees[0]), tree_hash(trees[1])
    assert scaled.inheritance.trees == {h1: (("encoder.branches.ego.", h0),)}  # 3 does not ask: no file
    assert scaled.inheritance.folder == str(tmp_path / "weights")
    assert notes == {2: {"weights": f"weights/{h1}.pt"}}
    assert with_weights(evaluator, [cand(3, trees[0])], records, tmp_path) == (evaluator, {})
    _, notes = with_weights(evaluator, [child], records, None)
    assert notes == {2: {"weights": "unavailable: the run has no folder"}}


@pytest.mark.slow
def test_pepnas_on_the_numpy_ring_scales_ppo_steps(tmp_path) -> None:
    result = search(
        env="evo_lacer/RingTraffic-v0", strategy="pepnas", budget=4, population_size=2, batch_size=2, seed=0,
        llm="none", workers=1, executor="inprocess", run_dir=tmp_path / "ring",
        rl_options={"steps": 128, "eval_episodes": 1, "env_kwargs": {"backend": "numpy", "horizon": 30}},
    )
    evaluated = [c for c in result.history if c.evaluated]
    assert len(evaluated) == 4 == result.accounting["evaluations"]
    fractions = [c.extra["budget_fraction"] for c in evaluated]
    assert fractions == sorted(fractions) and fractions[0] == 0.25 and fractions[-1] == 1.0
    assert all(c.extra["budget_steps"] == math.ceil(128 * c.extra["budget_fraction"]) for c in evaluated)
    assert evaluated[0].extra["budget_steps"] == 32 and evaluated[-1].extra["budget_steps"] == 128
    assert all(c.feedback.cost.env_steps == c.extra["env_steps"] >= c.extra["budget_steps"]
               for c in evaluated)
    assert result.accounting["env_steps"] == sum(c.extra["env_steps"] for c in evaluated)
    assert result.accounting["pepnas"]["inherited_tensors"] > 0  # PPO's extractor inherits too
    assert len(list((tmp_path / "ring" / "weights").iterdir())) == 4
