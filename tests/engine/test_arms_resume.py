"""The hybrid's arm choices are recorded in the run and resume exactly: a run with all four arms
(a scripted LLM, time ignored so the choices are reproducible; design:tpe's study and the learned
trust in the LLM's answers are checkpointed)
killed with SIGKILL mid-run continues to the same candidates, arms and bandit figures as an
uninterrupted run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from search_helpers import FirstOptionBackend, complete_lines, kill_after, logging_fitness, small_space

from evo_lacer.api import resume, search
from evo_lacer.evaluate import FunctionEvaluator

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BUDGET = 14
SETTINGS = dict(strategy="hybrid", budget=BUDGET, seed=5, arm_cost_weight=0.0, llm_initial_designs=1,
                batch_size=3, arms=("edit:random", "edit:llm", "design:llm", "design:tpe"),
                llm_trust="learned")

SCRIPT = """
import sys
from search_helpers import FirstOptionBackend, complete_lines, kill_after, logging_fitness, small_space
from evo_lacer.api import search
search(observation_space=small_space(), fitness=logging_fitness, run_dir=sys.argv[1],
       llm=FirstOptionBackend(), **{settings})
"""


def _essence(result) -> list[tuple]:
    return [(c.id, c.transformation, c.tree_hash, c.status.value, c.fitness, c.extra.get("arm"),
             c.extra.get("origin"), c.designer, c.extra.get("llm_answer")) for c in result.history]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    os.environ.pop("EVO_TEST_LOG", None)
    return search(observation_space=small_space(), fitness=logging_fitness, llm=FirstOptionBackend(),
                  run_dir=tmp_path_factory.mktemp("ref") / "run", **SETTINGS)


@pytest.mark.slow
def test_arms_are_recorded_and_resume_exactly_after_kill_9(tmp_path, monkeypatch, reference) -> None:
    arms = {c.extra.get("arm") for c in reference.history} - {None}
    assert len(arms) >= 2, f"the reference run used only {arms}"
    assert reference.accounting["llm_trust"]["trusted"] >= 1, "no answer was taken unscreened"
    run_dir, log = tmp_path / "run", tmp_path / "calls.log"
    env = dict(os.environ, EVO_TEST_LOG=str(log), EVO_TEST_SLEEP="0.15")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(HERE), env.get("PYTHONPATH", "")])
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT.format(settings=SETTINGS), str(run_dir)], env=env,
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    before = kill_after(proc, run_dir / "candidates.jsonl", 9)
    monkeypatch.setenv("EVO_TEST_LOG", str(log))
    result = resume(run_dir, evaluator=FunctionEvaluator(logging_fitness, small_space()),
                    llm=FirstOptionBackend())
    assert complete_lines(run_dir / "candidates.jsonl")[: len(before)] == before
    assert _essence(result) == _essence(reference)

    def counts(acc: dict) -> dict:  # seconds differ from run to run; what was chosen and scored may not
        return {arm: (st["chosen"], st["scored"], st["improved"]) for arm, st in acc["arms"].items()}

    assert counts(result.accounting) == counts(reference.accounting)
    assert result.accounting["llm_trust"] == reference.accounting["llm_trust"]
    assert BUDGET <= len(log.read_text().splitlines()) <= BUDGET + 1  # at most the one in flight twice


@pytest.mark.parametrize("started, resumed", [("none", "model"), ("model", "none")])
def test_a_run_resumes_with_another_llm_keeping_what_its_arms_learned(tmp_path, monkeypatch, started,
                                                                      resumed) -> None:
    """Resumed with another --llm, a run's arms change with the model: it says so, keeps every recorded
    candidate and the shared arm's figures, and finishes its budget."""
    settings = dict(strategy="hybrid", budget=BUDGET, seed=6, batch_size=3, arm_cost_weight=0.0)
    llm = {"none": "'none'", "model": "FirstOptionBackend()"}
    run_dir, log = tmp_path / "run", tmp_path / "calls.log"
    env = dict(os.environ, EVO_TEST_LOG=str(log), EVO_TEST_SLEEP="0.15")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(HERE), env.get("PYTHONPATH", "")])
    script = SCRIPT.replace("llm=FirstOptionBackend()", f"llm={llm[started]}").format(settings=settings)
    proc = subprocess.Popen([sys.executable, "-c", script, str(run_dir)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    before = kill_after(proc, run_dir / "candidates.jsonl", 8)
    monkeypatch.setenv("EVO_TEST_LOG", str(log))
    with pytest.warns(UserWarning, match="resumed with"):
        result = resume(run_dir, evaluator=FunctionEvaluator(logging_fitness, small_space()),
                        llm=FirstOptionBackend() if resumed == "model" else "none")
    assert complete_lines(run_dir / "candidates.jsonl")[: len(before)] == before
    assert len(result.history) == BUDGET
    arms = result.accounting["arms"]
    assert ("edit:llm" in arms) == (resumed == "model")
    chosen_before = sum(1 for line in before if '"arm": "edit:random"' in line)
    assert arms["edit:random"]["chosen"] >= chosen_before
