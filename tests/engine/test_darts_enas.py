"""darts and enas (LACER's NAS baselines): a supernet trained with PPO through the RL evaluator's hook,
then derived architectures evaluated like any candidate; end to end on the NumPy ring at smoke size,
refused with a fitness function, resumable after kill -9 without redoing the supernet phase."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from nas_helpers import RING, RL_OPTIONS, SlowRingEvaluator
from search_helpers import complete_lines, param_fitness, small_space

from evo_lacer.api import SearchResult, resume, search
from evo_lacer.compile import compile_tree
from evo_lacer.engine._darts import ALPHA_INIT, ALPHA_LR, DartsStrategy
from evo_lacer.engine._enas import EnasStrategy
from evo_lacer.engine._supernet_space import derived_config, representative
from evo_lacer.errors import ConfigError
from evo_lacer.flat import FlatSpace
from evo_lacer.runs import RunStore

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
STEPS = RL_OPTIONS["steps"]
COMMON: dict[str, Any] = dict(seed=0, llm="none", workers=1, executor="inprocess", batch_size=4)
SETTINGS: dict[str, dict[str, Any]] = {"darts": dict(strategy="darts", budget=3, **COMMON),
                                       "enas": dict(strategy="enas", budget=4, **COMMON)}
"""darts: 2 candidates' steps of supernet training + 1 derived; enas: 2 + 2 finalists."""


def _run(name: str, run_dir: Path) -> SearchResult:
    return search(env=RING, run_dir=run_dir, rl_options=RL_OPTIONS, progress=False, **SETTINGS[name])


def _essence(result: SearchResult) -> list[tuple]:
    return [(c.id, c.generation, c.designer, json.dumps(dict(c.choice), sort_keys=True), c.tree_hash,
             c.status.value, c.fitness, c.evaluated, json.dumps(c.extra.get(c.designer, {}), sort_keys=True))
            for c in result.history]


def _state(run_dir: Path) -> dict[str, Any]:
    state = RunStore.open(run_dir).load_state("checkpoint")["strategy"]
    state["result"].pop("phase_s")  # wall-clock seconds
    return state


@pytest.fixture(scope="module")
def darts(tmp_path_factory) -> SearchResult:
    return _run("darts", tmp_path_factory.mktemp("darts") / "run")


@pytest.fixture(scope="module")
def enas(tmp_path_factory) -> SearchResult:
    return _run("enas", tmp_path_factory.mktemp("enas") / "run")


@pytest.mark.slow
def test_darts_trains_the_supernet_for_the_budget_then_evaluates_one_derived_architecture(darts) -> None:
    (cand,) = darts.history
    assert cand.evaluated and cand.feedback.ok and cand.designer == "darts"
    acc = darts.accounting
    assert acc["evaluations"] == 1 and acc["strategy"] == "darts"
    assert acc["stop_reason"] == "darts has nothing more to propose"
    assert acc["darts"]["candidate_equivalents"] == 2 and acc["darts"]["supernet_steps"] == 2 * STEPS
    assert acc["env_steps"] == 2 * STEPS + cand.feedback.cost.env_steps
    extra = cand.extra["darts"]
    assert extra["supernet_steps"] == 2 * STEPS and extra["candidate_equivalents"] == 2
    assert (darts.run_dir / "artifacts" / "best_tree.json").is_file()
    record = json.loads((darts.run_dir / "candidates.jsonl").read_text().splitlines()[0])
    assert record["strategy"] == "darts" and record["extra"]["darts"]["alphas"] == extra["alphas"]
    state = _state(darts.run_dir)
    assert state["result"]["alpha_updates"] == 2  # one alpha step per PPO update
    generator = torch.Generator().manual_seed(0)  # alpha's start, as the strategy draws it
    start = {e: (ALPHA_INIT * torch.randn(len(a), generator=generator)).tolist()
             for e, a in extra["alphas"].items()}
    for e, a in extra["alphas"].items():  # each Adam step moves an alpha by about ALPHA_LR
        assert len(a) == 1 or max(abs(x - y) for x, y in zip(a, start[e], strict=True)) > ALPHA_LR / 3, e
    for fams in extra["betas"].values():  # beta's start (drawn after alpha's), then gamma's
        for b in fams.values():
            torch.randn(len(b), generator=generator)
    for e, fams in extra["gammas"].items():  # gamma moves too (PPO's loss reaches it through the exits)
        for f, g in fams.items():
            gamma0 = (ALPHA_INIT * torch.randn(len(g), generator=generator)).tolist()
            assert max(abs(x - y) for x, y in zip(g, gamma0, strict=True)) > ALPHA_LR / 3, (e, f)


def _argmax(values: list[float]) -> int:
    return max(range(len(values)), key=values.__getitem__)


@pytest.mark.slow
def test_darts_derives_a_valid_tree_whose_branches_are_the_argmax_families_and_widths(darts) -> None:
    (cand,) = darts.history
    extra = cand.extra["darts"]
    result = _state(darts.run_dir)["result"]
    families, params = result["families"], result["width_params"]
    space = FlatSpace.load().for_sources(SlowRingEvaluator().observation_space)
    argmax = {e: families[e][_argmax(a)] for e, a in extra["alphas"].items()}
    assert extra["choice"] == argmax
    assert {e: v["family"] for e, v in cand.choice.items()} == argmax
    assert all(abs(sum(w.values()) - 1) < 1e-4 for w in extra["weights"].values())
    assert all(max(w, key=w.get) == argmax[e] for e, w in extra["weights"].items())
    widths = {e: params[e][f]["options"][_argmax(extra["betas"][e][f])] for e, f in argmax.items()
              if f in params.get(e, {})}
    assert extra["widths"] == widths and widths  # the ring's argmax families have widths
    deep = result["depth_params"]
    depths = {e: deep[e][f]["options"][_argmax(extra["gammas"][e][f])] for e, f in argmax.items()
              if f in deep.get(e, {})}
    assert extra["depths"] == depths and depths  # and depths (ego's mlp at least)
    assert all(abs(sum(w.values()) - 1) < 1e-4 for fams in extra["depth_weights"].values()
               for w in fams.values())
    tree = cand.tree
    assert tree is not None
    assert space.validate(cand.choice) == dict(cand.choice)
    for b in tree.branches:  # each branch: its argmax family at the representative setting but its width
        e = str(b.name)       # and its depth
        width = {params[e][argmax[e]]["param"]: widths[e]} if e in widths else {}
        depth = {deep[e][argmax[e]]["param"]: depths[e]} if e in depths else {}
        assert b == space.entry_tree(e, representative(space, e, argmax[e], {**width, **depth}))
    assert "fusion" in widths  # the fusion's argmax width too
    fusion_width = {params["fusion"][argmax["fusion"]]["param"]: widths["fusion"]}
    assert tree.fusion == space.entry_tree("fusion", representative(space, "fusion", argmax["fusion"],
                                                                    fusion_width))
    compile_tree(tree, SlowRingEvaluator().observation_space)  # valid: it compiles


@pytest.mark.slow
def test_enas_records_controller_probabilities_and_finalists(enas) -> None:
    assert [c.designer for c in enas.history] == ["enas", "enas"]
    assert all(c.evaluated and c.feedback.ok for c in enas.history)
    assert enas.accounting["evaluations"] == 2
    acc = enas.accounting["enas"]
    assert acc["candidate_equivalents"] == 2 and acc["supernet_steps"] == 2 * STEPS and acc["score_steps"] > 0
    first, second = (c.extra["enas"] for c in enas.history)
    assert (first["rank"], second["rank"]) == (0, 1)
    assert first["finalists"] == second["finalists"] and len(first["finalists"]) == 2
    assert first["shared_score"] >= second["shared_score"]
    assert (first["choice"], first["widths"]) != (second["choice"], second["widths"])
    params = _state(enas.run_dir)["result"]["width_params"]
    deep = _state(enas.run_dir)["result"]["depth_params"]
    space = FlatSpace.load().for_sources(SlowRingEvaluator().observation_space)
    for cand, extra in zip(enas.history, (first, second), strict=True):
        assert {e: v["family"] for e, v in cand.choice.items()} == extra["choice"]
        # the sampled width and depth of every family drawn that has them, in the derived configuration
        assert set(extra["widths"]) == {e for e, f in extra["choice"].items() if f in params.get(e, {})}
        assert set(extra["depths"]) == {e for e, f in extra["choice"].items() if f in deep.get(e, {})}
        settings = {e: {params[e][extra["choice"][e]]["param"]: v} for e, v in extra["widths"].items()}
        for e, v in extra["depths"].items():
            settings.setdefault(e, {})[deep[e][extra["choice"][e]]["param"]] = v
        assert dict(cand.choice) == derived_config(space, extra["choice"], settings)
        assert all(cand.choice[e]["depth"] == v for e, v in extra["depths"].items())
    probs = first["probabilities"]
    assert all(abs(sum(p.values()) - 1) < 1e-4 for p in probs.values())
    state = _state(enas.run_dir)["result"]
    assert len(state["rewards"]) == 2  # one child sampled and rewarded per PPO update
    assert any(abs(p - 1 / len(ps)) > 1e-4 for ps in probs.values() for p in ps.values())  # REINFORCE
    scores = [s["shared_score"] for s in state["sampled"]]
    assert scores == sorted(scores, reverse=True)
    assert state["finalists"] == first["finalists"] == state["sampled"][:2]
    assert [(f["choice"], f["widths"]) for f in first["finalists"]] == [
        (extra["choice"], extra["widths"]) for extra in (first, second)]
    assert all(abs(sum(ps.values()) - 1) < 1e-4 for fams in first["width_probabilities"].values()
               for ps in fams.values())
    assert all(abs(sum(ps.values()) - 1) < 1e-4 for fams in first["depth_probabilities"].values()
               for ps in fams.values()) and first["depth_probabilities"]["ego"]["mlp"]
    assert all("depths" in s for s in state["sampled"])
    assert enas.accounting["env_steps"] == 2 * STEPS + acc["score_steps"] + sum(
        c.feedback.cost.env_steps for c in enas.history)


@pytest.mark.parametrize("name", ["darts", "enas"])
def test_a_fitness_function_is_refused_before_any_budget_is_spent(name: str, tmp_path) -> None:
    settings = {**SETTINGS[name]}
    with pytest.raises(ConfigError, match=r"train_ppo.*FunctionEvaluator.*--strategy pepnas or tpe"):
        search(observation_space=small_space(), fitness=param_fitness, run_dir=tmp_path / "run", **settings)
    assert complete_lines(tmp_path / "run" / "candidates.jsonl") == []


@pytest.mark.parametrize("name", ["darts", "enas"])
def test_a_budget_without_room_for_the_supernet_is_refused(name: str, tmp_path) -> None:
    settings = {**SETTINGS[name], "budget": 1}
    with pytest.raises(ConfigError, match="needs budget >= 2"):
        search(env=RING, run_dir=tmp_path / "run", rl_options=RL_OPTIONS, progress=False, **settings)


SCRIPT = """
import sys
from nas_helpers import SlowRingEvaluator
from evo_lacer.api import search
search(evaluator=SlowRingEvaluator(), run_dir=sys.argv[1], progress=False, **{settings})
"""


def _kill_after_supernet(proc: Any, run_dir: Path, lines: int, limit_s: float = 120.0) -> list[str]:
    """SIGKILL `proc` once the supernet phase is in the saved state and `lines` candidates are recorded."""
    pending = run_dir / "state" / "pending.json"
    deadline = time.monotonic() + limit_s
    try:
        while True:
            assert proc.poll() is None, f"the search ended early: {proc.stderr.read().decode()[-2000:]}"
            assert time.monotonic() < deadline, "the search did not get far enough in time"
            saved = json.loads(pending.read_text() or "{}") if pending.is_file() else {}
            done = saved.get("strategy", {}).get("result")
            if done and len(complete_lines(run_dir / "candidates.jsonl")) >= lines:
                break
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    return complete_lines(run_dir / "candidates.jsonl")


@pytest.mark.slow  # a subprocess search per strategy, killed and resumed: 10-20 s each
@pytest.mark.parametrize("name", ["darts", "enas"])
def test_resume_after_kill_9_loses_and_repeats_nothing(name: str, tmp_path, monkeypatch, request) -> None:
    reference: SearchResult = request.getfixturevalue(name)
    run_dir, log = tmp_path / "run", tmp_path / "evaluations.log"
    env = dict(os.environ, EVO_TEST_LOG=str(log), EVO_TEST_SLEEP="2", OMP_NUM_THREADS="1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(HERE), env.get("PYTHONPATH", "")])
    script = SCRIPT.format(settings=SETTINGS[name])
    proc = subprocess.Popen([sys.executable, "-c", script, str(run_dir)], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    finals = reference.accounting["evaluations"]
    before = _kill_after_supernet(proc, run_dir, finals - 1)  # killed during the last finalist's evaluation
    assert len(before) == finals - 1
    strategy = {"darts": DartsStrategy, "enas": EnasStrategy}[name]

    def again(self: Any) -> Any:
        raise AssertionError("the supernet phase ran again after the resume")

    monkeypatch.setattr(strategy, "search_phase", again)
    monkeypatch.setenv("EVO_TEST_LOG", str(log))
    monkeypatch.setenv("EVO_TEST_SLEEP", "0")
    result = resume(run_dir, evaluator=SlowRingEvaluator(), progress=False)
    after = complete_lines(run_dir / "candidates.jsonl")
    assert after[: len(before)] == before  # nothing recorded was lost or rewritten
    assert len({json.loads(line)["id"] for line in after}) == len(after) == finals
    assert result.accounting["evaluations"] == finals
    assert finals <= len(log.read_text().splitlines()) <= finals + 1  # at most the one in flight ran twice
    assert _essence(result) == _essence(reference)  # deterministic: the same as the uninterrupted run
    assert _state(run_dir) == _state(reference.run_dir)
