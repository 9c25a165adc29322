"""Bad input a user may type gets a clear error (the value, where it came from, a fix that works) or,
where the search can still go on, a warning before any budget is spent -- never a traceback or a
silent success."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from gymnasium import spaces

from evo_lacer.api import search
from evo_lacer.cli import main
from evo_lacer.errors import ConfigError, RunStoreError

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["--strategy", "random", "--budget", "3", "--llm", "none", "--no-progress", "--no-report"]


def space() -> spaces.Dict:
    return spaces.Dict({"ego": spaces.Box(-1.0, 1.0, (5,)), "hist": spaces.Box(-1.0, 1.0, (6, 3))})


def failing_fitness(tree: Any, module: Any) -> float:
    raise ValueError("the sensor file is missing")


def metric_fitness(tree: Any, module: Any) -> dict[str, Any]:
    return {"fitness": 1.0, "metrics": {"acc": 0.5}}


def test_steps_below_eight_are_refused_naming_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["search", "--env", "CartPole-v1", "--steps", "0", *QUICK])
    assert exit_.value.code == 2
    assert "--steps 0 is below 8; use an integer >= 8" in capsys.readouterr().err


def test_an_env_keyword_the_env_does_not_take_is_named(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["search", "--env", "CartPole-v1", "--env-kwargs", '{"nosuchkw": 3}', *QUICK,
                 "--run-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "--env-kwargs" in err and "nosuchkw" in err and "drop or rename that keyword" in err
    assert not (tmp_path / "r").exists()  # nothing was spent


def test_a_search_where_every_candidate_failed_exits_non_zero_with_the_cause(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["search", "--fitness", "test_cli_input:failing_fitness", "--observation-space",
                 "test_cli_input:space", *QUICK, "--run-dir", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 1
    assert "no candidate was evaluated successfully" in err
    assert "3 x the fitness function raised ValueError: the sensor file is missing" in err


def test_a_misspelled_builtin_objective_is_refused_with_the_names(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["search", "--fitness", "test_cli_input:metric_fitness", "--observation-space",
                 "test_cli_input:space", "--objectives=fitness,-param", *QUICK])
    assert code == 1
    assert "did you mean '-params'?" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="did you mean '-latency_ms'"):
        search(observation_space=space(), fitness=metric_fitness, objectives=("fitness", "-latency"),
               budget=2, llm="none")


def test_an_objective_no_metric_answers_is_warned_with_the_metrics(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match=r"reports no metric 'accc' \(it reports: acc\)"):
        search(observation_space=space(), fitness=metric_fitness, objectives=("fitness", "-accc"),
               strategy="evolution", budget=4, llm="none", run_dir=tmp_path / "r")


def test_a_seed_tree_for_other_sources_is_warned_before_the_search(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match=r"does not fit this task .*sources \(ego, hist\)") as seen:
        result = search(observation_space=space(), fitness=metric_fitness, strategy="evolution", budget=3,
                        llm="none", seed_tree=str(ROOT / "trees" / "ring_lacer_expert.json"),
                        run_dir=tmp_path / "r")
    assert "ring_lacer_expert.json" in str(seen[0].message)
    assert result.history[0].status.value == "rejected" and result.accounting["evaluations"] == 3


def test_a_taken_run_folder_points_to_resume_in_both_languages(tmp_path: Path) -> None:
    search(observation_space=space(), fitness=metric_fitness, budget=2, llm="none", strategy="random",
           run_dir=tmp_path / "r")
    with pytest.raises(RunStoreError, match=r"`evo-lacer resume .*` on the command line, "
                                            r"`evo_lacer.resume\(.*\)` in Python"):
        search(observation_space=space(), fitness=metric_fitness, budget=2, llm="none", strategy="random",
               run_dir=tmp_path / "r")


def test_a_misspelt_llm_is_refused_for_every_strategy(capsys: pytest.CaptureFixture[str]) -> None:
    for strategy in ("random", "tpe", "hybrid"):
        code = main(["search", "--fitness", "test_cli_input:metric_fitness", "--observation-space",
                     "test_cli_input:space", *QUICK, "--strategy", strategy, "--llm", "bogus"])
        assert code == 1
        assert "LLM backend spec 'bogus' is not understood; use one of: auto, none" in capsys.readouterr().err


def test_config_errors_name_the_flags_typed(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["search", "--fitness", "test_cli_input:metric_fitness", "--observation-space",
                 "test_cli_input:space", *QUICK, "--max-edits", "0"])
    err = capsys.readouterr().err
    assert code == 1 and "--max-edits must be a positive integer, got 0" in err and "SearchConfig" not in err
    code = main(["search", "--fitness", "test_cli_input:metric_fitness", "--observation-space",
                 "test_cli_input:space", *QUICK, "--max-params", "0"])
    assert code == 1 and "--max-params must be a positive integer, got 0" in capsys.readouterr().err
    for argv, said in ((["search", "--env", "CartPole-v1", "--eval-max-steps", "-1"], "use an integer >= 0"),
                       (["llm-check", "--timeout", "0"], "--timeout 0 must be > 0 seconds")):
        with pytest.raises(SystemExit):
            main(argv)
        assert said in capsys.readouterr().err


def test_env_options_with_a_fitness_function_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["search", "--fitness", "test_cli_input:metric_fitness", "--observation-space",
                 "test_cli_input:space", *QUICK, "--steps", "64", "--fidelity", "cheap"])
    assert code == 1
    assert "--steps, --fidelity cheap apply with --env only" in capsys.readouterr().err


def test_a_misspelt_option_gets_its_command_usage_and_the_closest_name(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["search", "--env", "CartPole-v1", "--budgt", "5"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert ("evo-lacer search: error: unrecognized arguments: --budgt 5 "
            "(did you mean: --budgt -> --budget?)") in err
