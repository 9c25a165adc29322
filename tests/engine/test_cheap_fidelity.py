"""search(fidelity="cheap" | "halving") with the default cheap fidelity, a short PPO run, and with
imitation; what the run records so that resume rebuilds the same evaluator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import evo_lacer
from evo_lacer.engine import SearchConfig
from evo_lacer.engine._loop import config_fingerprint
from evo_lacer.errors import ConfigError
from evo_lacer.evaluate import SHORT_PPO, RLEvaluator
from evo_lacer.runs._components import rebuild

RING = "evo_lacer/RingTraffic-v0"
OPTIONS: dict[str, Any] = {"steps": 128, "eval_episodes": 1,
                           "env_kwargs": {"backend": "numpy", "horizon": 30}}


def run(tmp_path: Path, **kw: Any) -> Any:
    settings = {"budget": 2, "strategy": "random", "llm": "none", "seed": 0, "workers": 1,
                "executor": "inprocess", "rl_options": OPTIONS, "run_dir": tmp_path / "run", **kw}
    return evo_lacer.search(env=RING, **settings)


def test_the_default_cheap_fidelity_is_a_short_ppo_run_that_resume_rebuilds(tmp_path: Path) -> None:
    result = run(tmp_path, fidelity="cheap")
    evaluated = [c.feedback for c in result.history if c.evaluated]
    assert evaluated and all(fb.ok and fb.fidelity == SHORT_PPO for fb in evaluated)
    assert all(32 <= fb.cost.env_steps < 128 for fb in evaluated)  # a quarter of the steps, + 30 to score
    parts = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))["config"]["components"]
    again = rebuild(parts["evaluator"], "run.json", None)
    assert isinstance(again, RLEvaluator)
    assert (again.steps, again.ppo_seeds, again.fidelity) == (32, 1, SHORT_PPO)
    resumed = evo_lacer.resume(tmp_path / "run")  # nothing left to do; rebuilt from the record alone
    assert [c.id for c in resumed.history] == [c.id for c in result.history]


def test_halving_promotes_from_short_ppo_to_full_ppo(tmp_path: Path) -> None:
    result = run(tmp_path, fidelity="halving", promote=0.5, rl_options={**OPTIONS, "steps": 64})
    cheap = [c for c in result.history if c.transformation != "promote" and c.evaluated]
    promoted = [c for c in result.history if c.transformation == "promote"]
    assert cheap and all(c.feedback.fidelity == SHORT_PPO for c in cheap)
    assert promoted and all(p.feedback.fidelity == "full" for p in promoted)
    assert all(p.feedback.cost.env_steps >= 64 for p in promoted)
    assert result.best_feedback is not None and result.best_feedback.fidelity == "full"


def test_imitation_options_under_ppo_short_name_the_setting_that_takes_them(tmp_path: Path) -> None:
    options = {**OPTIONS, "dataset_steps": 200, "grad_steps": 10}
    with pytest.raises(ConfigError, match=r"\['dataset_steps', 'grad_steps'\].*cheap_fidelity='imitation'"):
        run(tmp_path, fidelity="cheap", rl_options=options)
    result = run(tmp_path, fidelity="cheap", cheap_fidelity="imitation", rl_options=options, budget=1)
    assert result.history[0].feedback.fidelity == "imitation"


def test_cheap_fidelity_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="cheap_fidelity must be 'ppo-short' or 'imitation', got 'bc'"):
        SearchConfig(cheap_fidelity="bc")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"short_fraction must be a fraction in \(0, 1\]"):
        SearchConfig(short_fraction=0.0)


def test_a_run_recorded_before_ppo_short_resumes_as_imitation(tmp_path: Path) -> None:
    options = {**OPTIONS, "dataset_steps": 200, "grad_steps": 10}
    run(tmp_path, fidelity="cheap", cheap_fidelity="imitation", rl_options=options, budget=1)
    path = tmp_path / "run" / "run.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    del data["config"]["cheap_fidelity"]  # as older versions wrote it, their checkpoints to match
    path.write_text(json.dumps(data), encoding="utf-8")
    for name in ("checkpoint.json", "pending.json"):
        state_path = tmp_path / "run" / "state" / name
        state = json.loads(state_path.read_text(encoding="utf-8"))
        if "config" in state:
            state["config"] = config_fingerprint(data["config"])
            state_path.write_text(json.dumps(state), encoding="utf-8")
    resumed = evo_lacer.resume(tmp_path / "run")
    assert resumed.config.cheap_fidelity == "imitation"
    assert {c.feedback.fidelity for c in resumed.history} == {"imitation"}
