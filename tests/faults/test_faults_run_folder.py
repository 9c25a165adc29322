"""A run folder is data: nothing in it is executed, and resume checks what it finds."""

from __future__ import annotations

import json
import os
import pickle
import warnings
from pathlib import Path

import pytest

from evo_lacer.api import resume, search
from evo_lacer.cli import main
from evo_lacer.errors import RunStoreError
from evo_lacer.evaluate import FunctionEvaluator

from .fault_helpers import SETTINGS, fitness, lines, space

BUDGET = 8


class _Planted:
    """Unpickling this runs ``os.system`` (what a malicious run folder would hold)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


def _run(folder: Path, budget: int = BUDGET, **options: object):
    return search(observation_space=space(), fitness=fitness, run_dir=folder, budget=budget,
                  **{**SETTINGS, **options})


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory):
    """A finished run to copy and damage."""
    return _run(tmp_path_factory.mktemp("finished") / "run")


def _copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    (dst / ".lock").unlink(missing_ok=True)
    return dst


def test_a_planted_pickle_is_never_loaded(finished, tmp_path: Path, record) -> None:
    run_dir = _copy(finished.run_dir, tmp_path / "run")
    marker = tmp_path / "pwned"
    (run_dir / "artifacts").mkdir(exist_ok=True)
    (run_dir / "artifacts" / "components.pkl").write_bytes(pickle.dumps({"evaluator": _Planted(marker)}))
    with pytest.raises(RunStoreError, match=r"never loaded.*evaluator=") as err:
        resume(run_dir)
    assert "components.pkl" in str(err.value) and not marker.exists()
    assert main(["resume", str(run_dir), "--no-progress", "--no-report"]) == 1
    assert not marker.exists()
    again = resume(run_dir, evaluator=FunctionEvaluator(fitness, space()))  # the way the message says
    assert again.accounting["evaluations"] == BUDGET and not marker.exists()
    record("planted components.pkl that runs os.system, resumed", "refused before reading it, the "
           "message's fix (evaluator=) works; the command never ran")


def test_resume_rebuilds_the_fitness_from_its_import_path(finished, tmp_path: Path, record) -> None:
    run_dir = _copy(finished.run_dir, tmp_path / "run")
    config = json.loads((run_dir / "run.json").read_text())["config"]
    assert config["components"]["evaluator"]["fitness"] == "faults.fault_helpers:fitness"
    assert not (run_dir / "artifacts" / "components.pkl").exists()
    assert not any(p.suffix in (".pkl", ".pickle") for p in run_dir.rglob("*"))
    again = resume(run_dir)
    assert [c.tree_hash for c in again.history] == [c.tree_hash for c in finished.history]
    record("resume with no evaluator passed", "rebuilt from the recorded import path and space")


def test_a_lambda_fitness_must_be_passed_again(tmp_path: Path, record) -> None:
    with pytest.warns(RuntimeWarning, match="pass it again"):
        search(observation_space=space(), fitness=lambda t, m: 1.0, run_dir=tmp_path / "run", budget=2,
               **SETTINGS)
    with pytest.raises(RunStoreError, match=r"cannot be rebuilt.*fitness="):
        resume(tmp_path / "run")
    assert resume(tmp_path / "run", fitness=lambda t, m: 1.0).accounting["evaluations"] == 2
    record("resume of a run whose fitness is a lambda", "refused with how to pass it; works when passed")


def test_an_emptied_candidate_log_is_refused(finished, tmp_path: Path, record) -> None:
    run_dir = _copy(finished.run_dir, tmp_path / "run")
    (run_dir / "candidates.jsonl").write_text("")
    with pytest.raises(RunStoreError, match=r"candidates.jsonl lacks \d+ candidate records"):
        resume(run_dir)
    assert (run_dir / "candidates.jsonl").read_text() == ""
    record("candidates.jsonl emptied, state kept", "RunStoreError naming the file; nothing evaluated")


def test_candidates_of_another_run_are_refused(finished, tmp_path: Path, record) -> None:
    other = _run(tmp_path / "other", seed=7)
    run_dir = _copy(finished.run_dir, tmp_path / "run")
    (run_dir / "candidates.jsonl").write_text((other.run_dir / "candidates.jsonl").read_text())
    with pytest.raises(RunStoreError, match="another run"):
        resume(run_dir)
    record("candidates.jsonl swapped with another run's", "RunStoreError: recorded trees differ",
           searches=2)


def test_a_cut_last_line_redoes_the_lost_candidate(finished, tmp_path: Path, record) -> None:
    run_dir = _copy(finished.run_dir, tmp_path / "run")
    log = run_dir / "candidates.jsonl"
    text = log.read_bytes()
    lost = json.loads(text.splitlines()[-1])
    log.write_bytes(text[: len(text) - len(text.splitlines()[-1]) // 2 - 1])  # a kill mid-write
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = resume(run_dir)
    records = lines(log)
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)) == len(finished.history)
    assert max(ids) == lost["id"]  # redone under its own id, no new candidate
    redone = next(r for r in records if r["id"] == lost["id"])
    assert redone["tree_hash"] == lost["tree_hash"]
    assert again.accounting["evaluations"] == BUDGET
    record("last line of candidates.jsonl cut mid-write", "the lost candidate evaluated again under its id",
           repeated=1)


@pytest.mark.parametrize("damage", ["garbage", "missing-keys", "swapped-config", "negative-seed", "bad-seed",
                                    "deep-seed", "duplicate-ids"])
def test_damaged_files_give_a_run_store_error(finished, tmp_path: Path, damage: str, record) -> None:
    run_dir = _copy(finished.run_dir, tmp_path / "run")
    manifest = json.loads((run_dir / "run.json").read_text())
    if damage == "garbage":
        (run_dir / "state" / "checkpoint.json").write_text("{not json")
    elif damage == "missing-keys":
        (run_dir / "state" / "checkpoint.json").write_text('{"generation": 1}')
    elif damage == "swapped-config":
        manifest["config"]["budget"] = 99
    elif damage == "negative-seed":
        manifest["config"]["seed"] = -1
    elif damage == "bad-seed":
        manifest["config"]["seed_trees"] = [{"kind": "encoder", "branches": 3}]
    elif damage == "deep-seed":
        manifest["config"]["seed_trees"] = ["DEEP"]
    elif damage == "duplicate-ids":
        log = run_dir / "candidates.jsonl"
        log.write_text(log.read_text() + log.read_text().splitlines()[0] + "\n")
    deep = '{"kind": "seq", "children": [' * 900 + '{"kind": "module", "op": "MLPBlock"}' + "]}" * 900
    (run_dir / "run.json").write_text(json.dumps(manifest).replace('"DEEP"', deep))
    with pytest.raises(RunStoreError) as err:
        resume(run_dir)
    assert str(run_dir) in str(err.value)
    assert any(word in str(err.value) for word in ("restore", "start a new search"))
    record(f"damaged run folder: {damage}", "RunStoreError naming the file and what to do")


def test_a_changed_observation_space_is_refused(finished, tmp_path: Path, record) -> None:
    from gymnasium import spaces

    run_dir = _copy(finished.run_dir, tmp_path / "run")
    other = spaces.Dict({"ego": spaces.Box(-1.0, 1.0, (9,))})
    with pytest.raises(RunStoreError, match="observation space"):
        resume(run_dir, evaluator=FunctionEvaluator(fitness, other))
    record("resume with an evaluator for another space", "RunStoreError before any evaluation")


@pytest.mark.slow
def test_resume_rebuilds_the_rl_evaluator_from_its_env_id(tmp_path: Path, record) -> None:
    first = search("CartPole-v1", rl_options={"steps": 64, "eval_episodes": 1}, strategy="evolution",
                   budget=2, batch_size=2, llm="none", run_dir=tmp_path / "rl")
    recipe = json.loads((first.run_dir / "run.json").read_text())["config"]["components"]["evaluator"]
    assert recipe["kind"] == "rl" and recipe["env"] == "CartPole-v1" and recipe["options"]["steps"] == 64
    again = resume(first.run_dir)
    assert again.accounting["evaluations"] == 2 and again.best_id == first.best_id
    record("resume of an RL run (env id) with no evaluator passed", "RLEvaluator rebuilt from the env id "
           "and its JSON settings")


@pytest.mark.slow
def test_cli_resume_imports_a_fitness_from_the_working_directory(tmp_path: Path, record) -> None:
    import subprocess
    import sys

    from .fault_helpers import ROOT

    script = Path(sys.executable).parent / "evo-lacer"  # the console script: `python -c` would import
    if not script.exists():  # from the working directory anyway
        pytest.skip("the evo-lacer console script is not installed next to this interpreter")
    cli = [str(script)]

    (tmp_path / "my_task.py").write_text(
        "from gymnasium import spaces\n"
        "def space():\n    return spaces.Dict({'ego': spaces.Box(-1.0, 1.0, (4,))})\n"
        "def fit(tree, module):\n    return -sum(p.numel() for p in module.parameters()) / 1e4\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    common = ["--no-progress", "--no-report"]
    task = ["--fitness", "my_task:fit", "--observation-space", "my_task:space", "--strategy", "random",
            "--budget", "3", "--llm", "none"]
    searched = subprocess.run([*cli, "search", *task, "--run-dir", "run", *common], cwd=tmp_path, env=env,
                              capture_output=True, text=True)
    assert searched.returncode == 0, searched.stderr
    resumed = subprocess.run([*cli, "resume", "run", *common], cwd=tmp_path, env=env, capture_output=True,
                             text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "3/3 evaluations" in resumed.stdout
    record("`evo-lacer resume` of a run whose --fitness is a module in the working directory",
           "re-imported from the working directory, as search imported it")
