"""`evo-lacer export` and `evo_lacer.sb3_policy_kwargs`: the README's "Train your own agent with
the encoder found" run as written (PPO from Stable-Baselines3 on the ring road), and the edges."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import gymnasium as gym
import pytest

import evo_lacer
from evo_lacer.cli import main
from evo_lacer.compile import TreeFeaturesExtractor, as_tree, parameter_count
from evo_lacer.errors import RunStoreError
from evo_lacer.evaluate import Status
from evo_lacer.runs import RunStore, best_of_run, export_best, sb3_policy_kwargs
from evo_lacer.tree import load_tree, tree_hash

from ._records import candidate, tree

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Train your own agent with the encoder found"


def readme_blocks() -> tuple[str, str]:
    """The section's shell line and Python block, as the README shows them."""
    text = README.read_text(encoding="utf-8")
    assert SECTION in text, f"README lost its section {SECTION!r}"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    shell = re.findall(r"```bash\n(.*?)```", section, re.S)
    python = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(shell) == 1 and len(python) == 1, "the section shows one shell block and one Python block"
    return shell[0].strip(), python[0]


def size_fitness(tree: object, module: object) -> float:
    """A fitness that needs no training: smaller encoders are better."""
    return -parameter_count(module) / 1e5  # type: ignore[arg-type]


def test_readme_trains_an_sb3_agent_with_the_encoder_found(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    shell, code = readme_blocks()
    monkeypatch.chdir(tmp_path)
    space = gym.make(evo_lacer.RING_ENV_ID).observation_space
    evo_lacer.search(fitness=size_fitness, observation_space=space, strategy="random", llm="none", budget=3,
                     seed=0, workers=0, run_dir="runs/ring-demo")

    argv = shlex.split(shell)
    assert argv[:2] == ["evo-lacer", "export"]
    assert main(argv[1:]) == 0
    exported = load_tree("best.json")
    assert tree_hash(exported) == tree_hash(best_of_run("runs/ring-demo").tree)

    # The README's lines, with the training shortened: 64 steps in rollouts of 64.
    for literal in ("total_timesteps=100_000", 'PPO("MultiInputPolicy", env,'):
        assert code.count(literal) == 1, f"the README's Python block changed: {literal!r}"
    code = code.replace("total_timesteps=100_000", "total_timesteps=64").replace(
        'PPO("MultiInputPolicy", env,', 'PPO("MultiInputPolicy", env, n_steps=64, batch_size=32, n_epochs=1,')
    namespace: dict[str, object] = {}
    exec(compile(code, str(README), "exec"), namespace)

    model = namespace["model"]
    extractor = model.policy.features_extractor  # type: ignore[attr-defined]
    assert isinstance(extractor, TreeFeaturesExtractor)
    kwargs = model.policy_kwargs["features_extractor_kwargs"]  # type: ignore[attr-defined]
    assert tree_hash(as_tree(kwargs["tree"])) == tree_hash(exported)
    assert model.num_timesteps >= 64  # type: ignore[attr-defined]
    from stable_baselines3 import PPO

    agent = PPO.load(tmp_path / "ring_agent.zip")
    env = namespace["env"]
    obs, _ = env.reset(seed=0)  # type: ignore[attr-defined]
    action, _ = agent.predict(obs, deterministic=True)
    assert env.action_space.contains(action)  # type: ignore[attr-defined]
    env.close()  # type: ignore[attr-defined]


def test_a_run_folder_gives_its_best_tree_and_the_kinds_it_forced(tmp_path: Path) -> None:
    recipe = {"rebuild": True, "kind": "rl", "options": {"kinds": {"history": "vector"}}}
    config = {"strategy": "random", "components": {"evaluator": recipe}}
    store = RunStore.create(tmp_path / "run", config)
    for i, fitness in enumerate([1.0, 3.0, 2.0]):
        store.append_candidate(candidate(i, fitness=fitness))
    store.append_candidate(candidate(3, Status.FAILED))
    kwargs = sb3_policy_kwargs(tmp_path / "run")
    assert kwargs["features_extractor_class"] is TreeFeaturesExtractor
    assert kwargs["features_extractor_kwargs"]["kinds"] == {"history": "vector"}
    assert tree_hash(as_tree(kwargs["features_extractor_kwargs"]["tree"])) == tree_hash(tree(8 + 1))
    found = best_of_run(tmp_path / "run")
    assert (found.candidate, found.fitness, found.source) == (1, 3.0, "candidates.jsonl")

    # A finished search names its best in artifacts/best_tree.json: that one wins.
    store.write_artifact("best_tree.json", evo_lacer.tree.to_json(tree(8 + 2)))
    found = best_of_run(tmp_path / "run")
    assert (found.candidate, found.fitness, found.source) == (2, 2.0, "artifacts/best_tree.json")
    assert best_of_run(tmp_path / "run", candidate=0).fitness == 1.0


def test_export_cli_and_its_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = RunStore.create(tmp_path / "run", {"strategy": "random"})
    assert main(["export", str(tmp_path / "run")]) == 1
    assert "no candidate was evaluated successfully yet" in capsys.readouterr().err
    store.append_candidate(candidate(0, fitness=0.5))
    store.append_candidate(candidate(1, fitness=0.25))
    assert main(["export", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "candidate 0, fitness 0.5" in out and "sb3_policy_kwargs" in out
    assert tree_hash(load_tree(tmp_path / "run" / "best.json")) == tree_hash(tree(8))
    path, found = export_best(tmp_path / "run", tmp_path / "other.json", candidate=1)
    assert path == tmp_path / "other.json" and found.fitness == 0.25
    assert main(["export", str(tmp_path / "run"), "--candidate", "7"]) == 1
    assert "no candidate '7'; ids run from 0 to 1" in capsys.readouterr().err
    (tmp_path / "plain").mkdir()
    with pytest.raises(RunStoreError, match="not an evo-lacer run"):
        sb3_policy_kwargs(tmp_path / "plain")
    with pytest.raises(evo_lacer.EvoLacerError, match="does not exist"):
        sb3_policy_kwargs(tmp_path / "missing.json")


def test_load_tree_of_a_run_folder_says_how_to_get_its_tree(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "run", {"strategy": "random"})
    store.append_candidate(candidate(0, fitness=0.5))
    with pytest.raises(evo_lacer.EvoLacerError, match="is a run folder, not a tree file") as err:
        load_tree(tmp_path / "run")
    message = str(err.value)
    assert f"evo_lacer.runs.best_of_run({str(tmp_path / 'run')!r}).tree" in message
    assert f"`evo-lacer export {tmp_path / 'run'}`" in message
    assert main(["export", str(tmp_path / "run")]) == 0  # the fixes it names work
    assert load_tree(tmp_path / "run" / "best.json") == evo_lacer.runs.best_of_run(tmp_path / "run").tree


def test_export_into_an_existing_folder_writes_best_json_there(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    store = RunStore.create(tmp_path / "run", {"strategy": "random"})
    store.append_candidate(candidate(0, fitness=0.5))
    (tmp_path / "plain").mkdir()
    path, _ = export_best(tmp_path / "run", tmp_path / "plain")
    assert path == tmp_path / "plain" / "best.json"
    assert tree_hash(load_tree(path)) == tree_hash(tree(8))
    (tmp_path / "cli").mkdir()
    assert main(["export", str(tmp_path / "run"), "--out", str(tmp_path / "cli")]) == 0
    assert f"wrote {tmp_path / 'cli' / 'best.json'}" in capsys.readouterr().out
