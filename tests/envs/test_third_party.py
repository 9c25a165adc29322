"""The environments users bring, each given only its id on the command line: MiniGrid with its
mission string, BabyAI, a Text instruction, a Tuple space (Blackjack) and a Dict of Boxes train
under PPO; one that cannot train fails before any budget is spent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from evo_lacer.cli._main import main

HERE = Path(__file__).resolve().parent
SEARCH = ["search", "--strategy", "evolution", "--budget", "2", "--steps", "256", "--llm", "none",
          "--no-progress", "--no-report", "--eval-episodes", "2"]


def records(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "candidates.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def search_in_process(env: str, run_dir: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    code = main([*SEARCH, "--env", env, "--run-dir", str(run_dir), "--executor", "inprocess", *extra])
    out = capsys.readouterr().out
    assert code == 0, out
    evaluated = [r for r in records(run_dir) if r["feedback"]["status"] != "rejected"]
    assert len(evaluated) == 2 and all(r["feedback"]["status"] == "ok" for r in evaluated), evaluated
    assert all(r["feedback"]["cost"]["env_steps"] >= 256 for r in evaluated)  # PPO really trained
    return out


@pytest.mark.slow
def test_minigrid_with_its_mission_from_the_id_alone(tmp_path: Path) -> None:
    """A real user's path: the console script in a fresh process, a worker process per evaluation."""
    cli = "import sys; from evo_lacer.cli import main; sys.exit(main())"
    proc = subprocess.run([sys.executable, "-c", cli, *SEARCH, "--env", "MiniGrid-Empty-5x5-v0",
                           "--run-dir", str(tmp_path / "run")], capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "mission: Tokens(32" in proc.stdout and "MissionSpace (words:" in proc.stdout
    assert "image: Image(48, 7, 7)" in proc.stdout and "object, colour and state ids" in proc.stdout
    for rec in records(tmp_path / "run"):
        assert rec["feedback"]["status"] == "ok"
        assert any(b["name"] == "mission" for b in rec["tree"]["children"])  # the tokens branch reads it


@pytest.mark.slow
def test_babyai_level_trains(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = search_in_process("BabyAI-GoToLocal-v0", tmp_path / "run", capsys)
    assert "mission: Tokens(32" in out and "BabyAIMissionSpace" in out
    assert "image: Image(48, 7, 7)" in out  # a categorical grid: 16 one-hot channels per id channel
    out = search_in_process("BabyAI-GoToLocal-v0", tmp_path / "pixels", capsys, "--kinds", "image=image")
    assert "image: Image(3, 7, 7)" in out and "forced by kinds=" in out


def test_text_space_env_trains(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = search_in_process("third_party_envs:TextTask-v0", tmp_path / "run", capsys,
                            "--env-kwargs", '{"length": 1000}')
    assert "say: Tokens(5, vocab=9) <- Text(" in out and "characters over the space's charset" in out
    for rec in records(tmp_path / "run"):  # held-out episodes are cut at --steps by default
        assert rec["feedback"]["metrics"]["episode_length"] == 256


def test_tuple_env_blackjack_trains(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = search_in_process("Blackjack-v1", tmp_path / "run", capsys)
    for line in ("0: Tokens(1, vocab=32)", "1: Tokens(1, vocab=11)", "2: Tokens(1, vocab=2)"):
        assert line in out


def test_dict_of_box_env_trains(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = search_in_process("third_party_envs:DictBoxTask-v0", tmp_path / "run", capsys)
    assert "trail: Sequence(4, 2)" in out and "goal: Vector(2)" in out


def test_cli_env_options_reach_the_evaluator(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = search_in_process(
        "third_party_envs:TextTask-v0", tmp_path / "run", capsys,
        "--env-kwargs", '{"length": 500}', "--kinds", "pos=sequence", "--eval-max-steps", "7",
        "--wrapper", "gymnasium.wrappers:RecordEpisodeStatistics")
    assert "pos: Sequence(2, 1)" in out and "forced by kinds=" in out
    data = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    config = data.get("config", data)
    assert "{'length': 500}" in config["task"] and "cut at 7 steps" in config["task"]
    assert "pos: Sequence(2, 1)" in config["task"]  # the search and the gate see the forced kind
    for rec in records(tmp_path / "run"):
        assert rec["feedback"]["metrics"]["episode_length"] == 7  # 500-step episodes cut at 7
        assert rec["feedback"]["cost"]["env_steps"] == 256 + 2 * 7


def test_env_that_cannot_train_fails_before_the_budget(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    code = main([*SEARCH, "--env", "third_party_envs:BrokenObs-v0", "--run-dir", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 1
    assert "'third_party_envs:BrokenObs-v0' cannot train under PPO" in err and "--kinds" in err
    assert not (tmp_path / "run" / "candidates.jsonl").exists()


@pytest.mark.parametrize(("args", "needle"), [
    (["--env-kwargs", "[1]"], "not an object"),
    (["--env-kwargs", "{bad"], "not JSON"),
    (["--kinds", "pos=graph"], "NAME=KIND"),
])
def test_bad_env_options_are_refused_with_the_fix(args: list[str], needle: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main([*SEARCH, "--env", "CartPole-v1", *args])
    assert needle in capsys.readouterr().err


def test_a_wrapper_that_does_not_import_names_itself(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code = main([*SEARCH, "--env", "CartPole-v1", "--wrapper", "gymnasium.wrappers:NoSuchWrapper",
                 "--run-dir", str(tmp_path / "run")])
    assert code == 1 and "wrapper 'gymnasium.wrappers:NoSuchWrapper'" in capsys.readouterr().err


def test_cheap_fidelity_without_an_expert_refuses_or_runs_the_named_proxy(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    imitation = ["--fidelity", "cheap", "--cheap-fidelity", "imitation"]
    code = main([*SEARCH, "--env", "CartPole-v1", *imitation, "--run-dir", str(tmp_path / "a")])
    err = capsys.readouterr().err
    assert code == 1 and "knows none for env 'CartPole-v1'" in err and "--expert none" in err
    assert "--cheap-fidelity ppo-short" in err
    search_in_process("CartPole-v1", tmp_path / "b", capsys, *imitation, "--expert", "none")
    assert {r["feedback"]["fidelity"] for r in records(tmp_path / "b")} == {"probe"}
    # the fix it names first: the default cheap fidelity, a short PPO run, needs no expert
    code = main([*SEARCH, "--env", "CartPole-v1", "--fidelity", "cheap", "--executor", "inprocess",
                 "--run-dir", str(tmp_path / "c")])
    assert code == 0, capsys.readouterr()
    evaluated = [r for r in records(tmp_path / "c") if r["feedback"]["status"] != "rejected"]
    assert evaluated and {r["feedback"]["fidelity"] for r in evaluated} == {"ppo-short"}
    assert all(r["feedback"]["status"] == "ok" for r in evaluated)
