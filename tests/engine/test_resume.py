"""Resume: a run killed with SIGKILL mid-generation continues with no evaluation lost or
repeated, and (offline) ends exactly as an uninterrupted run with the same seed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from search_helpers import complete_lines, kill_after, logging_fitness, small_space

from evo_lacer.api import resume, search
from evo_lacer.cli import main
from evo_lacer.evaluate import FunctionEvaluator

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
BUDGET = 12
SETTINGS = dict(strategy="hybrid", budget=BUDGET, seed=3, llm="none", population_size=4, batch_size=4)

SCRIPT = """
import sys
from search_helpers import logging_fitness, small_space
from evo_lacer.api import search
search(observation_space=small_space(), fitness=logging_fitness, run_dir=sys.argv[1], **{settings})
"""


def _essence(result) -> list[tuple]:
    return [(c.id, c.transformation, c.site, json.dumps(dict(c.choice), sort_keys=True), c.tree_hash,
             c.status.value, c.fitness, c.evaluated, c.cached) for c in result.history]


def _env(log: Path, workers: int = 1) -> dict[str, str]:
    env = dict(os.environ, EVO_TEST_LOG=str(log), EVO_TEST_SLEEP="0.15")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(HERE), env.get("PYTHONPATH", "")])
    return env


def _kill_mid_run(run_dir: Path, log: Path, after: int, workers: int = 1) -> list[str]:
    settings = {**SETTINGS, "workers": workers}
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT.format(settings=settings), str(run_dir)],
                            env=_env(log, workers), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    return kill_after(proc, run_dir / "candidates.jsonl", after, limit_s=240)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("ref") / "run"
    os.environ.pop("EVO_TEST_LOG", None)
    return search(observation_space=small_space(), fitness=logging_fitness, run_dir=run_dir, **SETTINGS)


@pytest.mark.parametrize("after", [3, pytest.param(7, marks=pytest.mark.slow)])  # 7: CI runs it
def test_resume_after_kill_9(tmp_path, monkeypatch, reference, after: int) -> None:
    run_dir, log = tmp_path / "run", tmp_path / "evaluations.log"
    before = _kill_mid_run(run_dir, log, after)
    assert len(before) < BUDGET + 2, "the search finished before it was killed"
    monkeypatch.setenv("EVO_TEST_LOG", str(log))
    result = resume(run_dir, evaluator=FunctionEvaluator(logging_fitness, small_space()))
    after_lines = complete_lines(run_dir / "candidates.jsonl")
    assert after_lines[: len(before)] == before  # nothing recorded was lost or rewritten
    evaluated = [c for c in result.history if c.evaluated]
    assert len(evaluated) == BUDGET == result.accounting["evaluations"]
    assert len({c.tree_hash for c in evaluated}) == BUDGET
    assert len({json.loads(line)["id"] for line in after_lines}) == len(after_lines)
    calls = log.read_text().splitlines()
    # each architecture evaluated once; at most the one in flight at the kill ran twice
    assert BUDGET <= len(calls) <= BUDGET + 1
    assert _essence(result) == _essence(reference)


def test_cli_search_then_resume(tmp_path, capsys) -> None:
    run_dir = tmp_path / "cli"
    args = ["--fitness", "search_helpers:param_fitness", "--observation-space", "search_helpers:small_space",
            "--strategy", "evolution", "--budget", "4", "--batch-size", "2", "--llm", "none",
            "--objectives=fitness,-params", "--no-progress", "--no-report"]
    assert main(["search", *args, "--run-dir", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "4/4 evaluations" in out and "best fitness" in out
    assert json.loads((run_dir / "run.json").read_text())["config"]["objectives"] == ["fitness", "-params"]
    assert main(["resume", str(run_dir), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "4/4 evaluations" in out and (run_dir / "report.md").is_file()
    # the time limit of an LLM call is the one setting of the search a resume may raise (the report
    # names it when calls timed out); the override reaches SearchConfig's own check
    assert main(["resume", str(run_dir), "--llm-timeout-s", "300", "--no-progress", "--no-report"]) == 0
    capsys.readouterr()
    assert main(["resume", str(run_dir), "--llm-timeout-s", "0", "--no-progress", "--no-report"]) != 0
    assert "llm_timeout_s must be > 0, got 0" in capsys.readouterr().err
    assert main(["search", "--budget", "2", "--no-progress"]) == 1
    assert "--fitness" in capsys.readouterr().err
