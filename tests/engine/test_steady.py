"""The steady-state loop (``loop="steady"``): deterministic with one worker, every outcome observed
once in the order it arrived, and a run killed with SIGKILL resumes with no evaluation lost or
repeated -- exactly as an uninterrupted run with one worker, consistently with two."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from search_helpers import (
    SeededBackend,
    complete_lines,
    cut_run,
    kill_after,
    logging_fitness,
    param_fitness,
    record_checkpoints,
    small_space,
)

from evo_lacer.api import resume, search
from evo_lacer.errors import ConfigError, RunStoreError
from evo_lacer.evaluate import FunctionEvaluator

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BUDGET = 10
SETTINGS = dict(strategy="hybrid", budget=BUDGET, seed=3, llm="none", population_size=4, batch_size=4,
                loop="steady")

SCRIPT = """
import sys
from search_helpers import logging_fitness, small_space
from evo_lacer.api import search
if __name__ == "__main__":
    search(observation_space=small_space(), fitness=logging_fitness, run_dir=sys.argv[1], **{settings})
"""

RESUME_SCRIPT = """
import sys
from search_helpers import logging_fitness, small_space
from evo_lacer.api import resume
from evo_lacer.evaluate import FunctionEvaluator
if __name__ == "__main__":
    resume(sys.argv[1], evaluator=FunctionEvaluator(logging_fitness, small_space()))
"""


def _essence(result) -> list[tuple]:
    return [(c.id, c.generation, c.transformation, c.site, json.dumps(dict(c.choice), sort_keys=True),
             c.tree_hash, c.status.value, c.fitness, c.evaluated, c.cached) for c in result.history]


def _order(run_dir: Path) -> list[int]:
    return json.loads((run_dir / "state" / "checkpoint.json").read_text())["order"]


def _kill_mid_run(run_dir: Path, log: Path, after: int, **settings) -> list[str]:
    env = dict(os.environ, EVO_TEST_LOG=str(log), EVO_TEST_SLEEP="0.15")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(HERE), env.get("PYTHONPATH", "")])
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT.format(settings={**SETTINGS, **settings}),
                             str(run_dir)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    return kill_after(proc, run_dir / "candidates.jsonl", after, limit_s=240)


@pytest.mark.parametrize("strategy", ["hybrid", "evolution", "tpe", "lacer"])
def test_one_worker_is_deterministic_and_observes_every_outcome_once(tmp_path, strategy: str) -> None:
    settings = {**SETTINGS, "strategy": strategy}
    runs = [search(observation_space=small_space(), fitness=param_fitness, run_dir=tmp_path / f"r{i}",
                   **settings) for i in range(2)]
    assert _essence(runs[0]) == _essence(runs[1])
    history = runs[0].history
    assert sum(c.evaluated for c in history) == BUDGET == runs[0].accounting["evaluations"]
    records = [json.loads(line)["id"] for line in complete_lines(tmp_path / "r0" / "candidates.jsonl")]
    assert _order(tmp_path / "r0") == records == sorted(records)  # one worker: observed as proposed
    state = json.loads((tmp_path / "r0" / "state" / "checkpoint.json").read_text())
    assert state["loop"] == "steady" and not state["flying"] and not state["waiting"] and not state["ready"]
    if strategy in ("hybrid", "evolution"):
        assert state["strategy"]["planner"]["in_flight"] == []  # every plan was told its outcome
        edits = [c for c in history if "plan_index" in c.extra]
        assert edits and all(c.generation > 0 for c in edits)
        # each child is proposed from the population as it stands: after every earlier outcome
        assert all(c.generation == c.id for c in history)


def test_a_one_worker_pool_keeps_the_next_candidate_queued_and_stays_deterministic(tmp_path,
                                                                                    monkeypatch) -> None:
    """With a process pool the loop keeps one candidate queued behind each worker's, so a worker
    that finishes starts the next one while the search observes and proposes (see
    ``_pool_stream.QUEUED``); with one worker the run still repeats exactly."""
    from evo_lacer.engine._steady import SteadyLoop

    flying: list[int] = []
    save = SteadyLoop._save

    def counting_save(self, start, final=False):
        flying.append(len(self.flying))
        return save(self, start, final)

    monkeypatch.setattr(SteadyLoop, "_save", counting_save)
    monkeypatch.setenv("EVO_TEST_SLEEP", "0.02")
    settings = {**SETTINGS, "strategy": "evolution", "executor": "process", "workers": 1}
    runs = [search(observation_space=small_space(), fitness=logging_fitness, run_dir=tmp_path / f"r{i}",
                   **settings) for i in range(2)]
    assert _essence(runs[0]) == _essence(runs[1])
    assert runs[0].accounting["evaluations"] == BUDGET
    assert max(flying) == 2  # one evaluating, one queued


def test_generation_survival_selects_once_per_generation_and_stays_deterministic(tmp_path,
                                                                                 monkeypatch) -> None:
    """steady_survival="generation": survivors are selected once `generation_size` children
    waited (as the generational loop does), while each outcome still reaches the planner."""
    import evo_lacer.engine._tree_strategy as tree_strategy

    calls: list[int] = []
    survive = tree_strategy.survive

    def counting_survive(pool, mu, **kw):
        calls.append(len(pool) - mu)
        return survive(pool, mu, **kw)

    monkeypatch.setattr(tree_strategy, "survive", counting_survive)
    settings = {**SETTINGS, "budget": 16, "steady_survival": "generation"}
    runs = [search(observation_space=small_space(), fitness=param_fitness, run_dir=tmp_path / f"r{i}",
                   **settings) for i in range(2)]
    assert _essence(runs[0]) == _essence(runs[1])
    assert runs[0].accounting["evaluations"] == 16
    once = len(calls) // 2
    assert once >= 1 and all(extra >= 4 for extra in calls)  # 4 children at a time (batch_size 4)
    state = json.loads((tmp_path / "r0" / "state" / "checkpoint.json").read_text())["strategy"]
    assert state["planner"]["in_flight"] == [] and len(state["offspring"]) < 4
    calls.clear()
    search(observation_space=small_space(), fitness=param_fitness, run_dir=tmp_path / "each",
           **{**settings, "steady_survival": "each"})
    assert len(calls) > once and {extra for extra in calls if extra > 0} == {1}  # one child at a time


def test_hybrid_with_an_llm_arms_reflection_and_screen_in_steady_mode(tmp_path) -> None:
    backend = SeededBackend()
    result = search(observation_space=small_space(), fitness=param_fitness, run_dir=tmp_path / "run",
                    **{**SETTINGS, "budget": 14, "llm_check_probes": 0, "llm": backend}, workers=1)
    assert result.accounting["evaluations"] == 14
    arms = result.accounting["arms"]
    assert all(a["scored"] == a["chosen"] for a in arms.values())  # every child's outcome reached its arm
    state = json.loads((tmp_path / "run" / "state" / "checkpoint.json").read_text())["strategy"]
    assert state["planner"]["in_flight"] == []
    reflections = [r for r in backend.requests if "review the results" in r.system.lower()]
    llm_children = sum(a["chosen"] for name, a in arms.items() if "llm" in name)
    assert llm_children  # reflection comes once per batch_size observed candidates, not per candidate
    assert 1 <= len(reflections) <= 14 // 4


def test_a_generational_run_is_not_resumed_by_the_steady_loop(tmp_path) -> None:
    settings = {**SETTINGS, "loop": "generational"}
    search(observation_space=small_space(), fitness=param_fitness, run_dir=tmp_path / "run", **settings)
    state = tmp_path / "run" / "state" / "checkpoint.json"
    data = json.loads(state.read_text())
    data["loop"] = "steady"
    state.write_text(json.dumps(data))
    with pytest.raises(RunStoreError):
        resume(tmp_path / "run", evaluator=FunctionEvaluator(param_fitness, small_space()))
    with pytest.raises(ConfigError, match="loop"):
        search(observation_space=small_space(), fitness=param_fitness, run_dir=tmp_path / "x",
               **{**SETTINGS, "loop": "async"})


def test_outcomes_recorded_after_the_last_checkpoint_are_taken_first_on_resume(tmp_path, monkeypatch) -> None:
    """A kill between recording an outcome and saving the checkpoint, at every step of a run: the
    resumed run takes the recorded outcome (no evaluation) and ends as the uninterrupted run."""
    saved = record_checkpoints(monkeypatch)
    settings = {**SETTINGS, "budget": 8}
    reference = search(observation_space=small_space(), fitness=param_fitness, run_dir=tmp_path / "ref",
                       **settings)
    monkeypatch.undo()
    lines = complete_lines(tmp_path / "ref" / "candidates.jsonl")
    calls: list[int] = []

    def counted(tree, module):
        calls.append(1)
        return param_fitness(tree, module)

    for step in range(len(saved) - 1):
        recorded = saved[step + 1][1]  # the next step recorded its outcome, then the kill came
        run_dir = cut_run(tmp_path / f"killed{step}", tmp_path / "ref", (saved[step][0], recorded), lines)
        calls.clear()
        result = resume(run_dir, evaluator=FunctionEvaluator(counted, small_space()))
        assert _essence(result) == _essence(reference), f"resume from step {step}"
        assert len(calls) == 8 - sum(json.loads(line)["evaluated"] for line in lines[:recorded])


@pytest.mark.parametrize("survival", ["each", pytest.param("generation", marks=pytest.mark.slow)])
def test_resume_after_kill_9_with_one_worker_ends_as_an_uninterrupted_run(tmp_path, monkeypatch,
                                                                          survival: str) -> None:
    monkeypatch.delenv("EVO_TEST_LOG", raising=False)
    reference = search(observation_space=small_space(), fitness=logging_fitness, run_dir=tmp_path / "ref",
                       **{**SETTINGS, "steady_survival": survival})
    run_dir, log = tmp_path / "run", tmp_path / "evaluations.log"
    before = _kill_mid_run(run_dir, log, 6, steady_survival=survival)
    assert len(before) < BUDGET, "the search finished before it was killed"
    monkeypatch.setenv("EVO_TEST_LOG", str(log))
    result = resume(run_dir, evaluator=FunctionEvaluator(logging_fitness, small_space()))
    lines = complete_lines(run_dir / "candidates.jsonl")
    assert lines[: len(before)] == before  # nothing recorded was lost or rewritten
    assert _essence(result) == _essence(reference)
    assert BUDGET <= len(log.read_text().splitlines()) <= BUDGET + 1


@pytest.mark.slow  # two searches with a process pool each, in a loaded CI: 15-45 s
def test_resume_after_kill_9_with_two_process_workers_loses_and_repeats_nothing(tmp_path) -> None:
    run_dir, log = tmp_path / "run", tmp_path / "evaluations.log"
    before = _kill_mid_run(run_dir, log, 5, workers=2, executor="process")
    assert len(before) < BUDGET, "the search finished before it was killed"
    killed_order = _order(run_dir)
    # The resume runs in a fresh process too: worker processes come from a fork server that an
    # earlier test may have started, so they would not see an environment variable set here.
    env = dict(os.environ, EVO_TEST_LOG=str(log), EVO_TEST_SLEEP="0.15")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(HERE), env.get("PYTHONPATH", "")])
    subprocess.run([sys.executable, "-c", RESUME_SCRIPT, str(run_dir)], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    lines = complete_lines(run_dir / "candidates.jsonl")
    assert lines[: len(before)] == before
    records = [json.loads(line) for line in lines]
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids))
    evaluated = [r for r in records if r["evaluated"]]
    summary = json.loads((run_dir / "state" / "summary.json").read_text())
    assert len(evaluated) == BUDGET == summary["evaluations"]
    assert len({r["tree_hash"] for r in evaluated}) == BUDGET
    order = _order(run_dir)
    assert order[: len(killed_order)] == killed_order  # the resume continued the recorded order
    assert order == ids  # every outcome observed once, in the order it was recorded
    # each architecture evaluated once; at most the two in flight at the kill ran twice
    assert BUDGET <= len(log.read_text().splitlines()) <= BUDGET + 2


def test_a_cut_last_line_is_evaluated_again_under_its_id(tmp_path) -> None:
    run_dir = tmp_path / "run"
    finished = search(observation_space=small_space(), fitness=param_fitness, run_dir=run_dir, **SETTINGS)
    log = run_dir / "candidates.jsonl"
    text = log.read_bytes()
    lost = json.loads(text.splitlines()[-1])
    log.write_bytes(text[: len(text) - len(text.splitlines()[-1]) // 2 - 1])  # a kill mid-write
    with pytest.warns(RuntimeWarning, match="lost from the candidate log"):
        again = resume(run_dir, evaluator=FunctionEvaluator(param_fitness, small_space()))
    records = [json.loads(line) for line in complete_lines(log)]
    assert [r["id"] for r in records][-1] == lost["id"] and len(records) == len(finished.history)
    assert records[-1]["tree_hash"] == lost["tree_hash"]
    assert again.accounting["evaluations"] == BUDGET


def test_lacer_waits_for_its_initial_round_before_the_first_llm_design() -> None:
    from evo_lacer.engine import FlatStrategy
    from evo_lacer.engine._records import Candidate
    from evo_lacer.evaluate import Feedback, Status
    from evo_lacer.flat import FlatSpace

    space = FlatSpace.load().for_sources(small_space())
    backend = SeededBackend()
    lacer = FlatStrategy(name="lacer", space=space, seed=0, backend=backend, initial_evaluations=2,
                         await_initial=True)
    first = [lacer.propose(1, 0, i)[0] for i in range(2)]
    assert [p.designer for p in first] == ["initial", "initial"]
    assert lacer.propose(1, 0, 2) == []  # both initial configurations still evaluate

    def outcome(cid: int) -> Candidate:
        return Candidate(id=cid, generation=0, tree=None, tree_hash=f"h{cid}", choice=first[cid].choice,
                         feedback=Feedback(Status.OK, float(cid)), designer="initial", evaluated=True)

    lacer.observe([outcome(1)])
    assert lacer.propose(1, 1, 2) == []
    lacer.observe([outcome(0)])
    assert [p.designer for p in lacer.propose(1, 2, 2)] == ["llm"]
    assert "Already proposed this round" not in backend.requests[-1].prompt
    assert [p.designer for p in lacer.propose(1, 2, 3)] == ["llm"]  # while design 2 evaluates
    assert "Already proposed this round" in backend.requests[-1].prompt  # it is told about design 2


def test_loop_auto_is_steady_where_evaluations_run_beside_the_search() -> None:
    import dataclasses

    from evo_lacer.engine import SearchConfig

    hybrid = SearchConfig(strategy="hybrid")
    assert hybrid.loop == "auto" and hybrid.steady_survival == "generation"  # the defaults
    assert hybrid.resolve_loop("process") == hybrid.resolve_loop("dask") == "steady"
    assert hybrid.resolve_loop("inprocess") == "generational"  # nothing can overlap there
    assert hybrid.resolve_loop("inprocess", started="steady") == "steady"  # a resumed run keeps its loop
    assert hybrid.resolve_loop("process", started="generational") == "generational"
    assert SearchConfig(strategy="tpe", loop="generational").resolve_loop("process") == "generational"
    assert SearchConfig(strategy="tpe", loop="steady").resolve_loop("inprocess") == "steady"
    for name in ("pepnas", "darts", "enas"):
        assert SearchConfig(strategy=name).resolve_loop("process") == "generational"
        assert dataclasses.replace(SearchConfig(), strategy=name).loop_kind == "generational"
    # a run.json written before the field existed ran the generational loop, and resumes with it
    old = SearchConfig(strategy="hybrid").to_dict()
    del old["loop"], old["steady_survival"]
    assert SearchConfig.from_dict(old).resolve_loop("process") == "generational"
    stored = SearchConfig.from_dict(SearchConfig(strategy="evolution").to_dict())
    assert (stored.loop, stored.steady_survival) == ("auto", "generation")


def test_the_default_loop_follows_the_executor_and_a_resume_keeps_it(tmp_path) -> None:
    """One in-process worker: generational; a process pool: steady; resumed in process, the steady
    run stays steady (its checkpoint says how it started)."""
    from search_helpers import param_fitness, small_space

    from evo_lacer.api import resume, search

    inproc = search(observation_space=small_space(), fitness=param_fitness, strategy="evolution", budget=6,
                    llm="none", seed=0, run_dir=tmp_path / "a")
    assert inproc.accounting["loop"] == "generational"
    pooled = search(observation_space=small_space(), fitness=param_fitness, strategy="evolution", budget=6,
                    llm="none", seed=0, run_dir=tmp_path / "b", executor="process")
    assert pooled.accounting["loop"] == "steady"
    again = resume(tmp_path / "b", fitness=param_fitness, executor="inprocess")
    assert again.accounting["loop"] == "steady" and again.accounting["evaluations"] == 6
