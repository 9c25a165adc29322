"""The SB3 features extractor: PPO trains with it; SB3's preprocessing is undone correctly."""

from __future__ import annotations

import pickle
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from compile_helpers import ROOT
from gymnasium import spaces
from stable_baselines3 import PPO
from stable_baselines3.common.preprocessing import preprocess_obs
from stable_baselines3.common.vec_env import VecTransposeImage

from evo_lacer.compile import TreeFeaturesExtractor, compile_tree, policy_kwargs_for, sb3_sources
from evo_lacer.errors import CompileError
from evo_lacer.tree import Node, branch, encoder, fusion, module, node_to_dict, to_json


class TinyEnv(gym.Env):  # type: ignore[type-arg]
    """Random observations of a given space, reward = action, 8 steps per episode."""

    def __init__(self, space: spaces.Space) -> None:  # type: ignore[type-arg]
        self.observation_space = space
        self.action_space = spaces.Discrete(2)
        self.t = 0

    def reset(self, *, seed: int | None = None, options: Any = None) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        self.observation_space.seed(seed)
        self.t = 0
        return self.observation_space.sample(), {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        self.t += 1
        return self.observation_space.sample(), float(action), self.t >= 8, False, {}


VEC_SPACE = spaces.Dict({
    "ego": spaces.Box(-1, 1, (4,), np.float32),
    "history": spaces.Box(-1, 1, (6, 2), np.float32),
    "instruction": spaces.Box(0, 9, (5,), np.int64),
})
IMG_SPACE = spaces.Dict({
    "bev": spaces.Box(0, 255, (12, 12, 3), np.uint8),
    "mode": spaces.Discrete(3),
    "codes": spaces.MultiDiscrete([3, 5]),
})


def vec_tree() -> Node:
    return encoder([
        branch("ego", module("MLPBlock", width=8)),
        branch("history", module("GRUEncoder", hidden=8), module("LastStep")),
        branch("instruction", module("EmbedMeanPool", dim=4)),
    ], fusion("ConcatMLP", width=16))


def img_tree() -> Node:
    return encoder([
        branch("bev", module("ConvStack", channels=4, depth=1), module("GlobalAvgPool")),
        branch("mode", module("EmbedMeanPool", dim=4)),
        branch("codes", module("OneHot")),
    ], fusion("SumFusion", width=8))


def _ppo(space: spaces.Dict, tree: Node | dict[str, Any]) -> PPO:
    return PPO("MultiInputPolicy", TinyEnv(space), n_steps=32, batch_size=16, n_epochs=1, seed=0,
               device="cpu", policy_kwargs=policy_kwargs_for(tree))


@pytest.mark.parametrize(("space", "tree"), [(VEC_SPACE, vec_tree()), (IMG_SPACE, img_tree())],
                         ids=["vector-sequence-tokens", "image-discrete"])
def test_ppo_learns_with_the_tree_extractor(space: spaces.Dict, tree: Node) -> None:
    model = _ppo(space, tree)
    model.learn(total_timesteps=64)
    extractor = model.policy.features_extractor
    assert isinstance(extractor, TreeFeaturesExtractor)
    assert extractor.features_dim == extractor.encoder.features_dim


def test_model_save_and_load(tmp_path: Any) -> None:
    model = _ppo(IMG_SPACE, node_to_dict(img_tree()))
    obs = IMG_SPACE.sample()
    path = tmp_path / "ppo.zip"
    model.save(path)
    loaded = PPO.load(path, device="cpu")
    assert loaded.predict(obs, deterministic=True)[0] == model.predict(obs, deterministic=True)[0]
    pickle.dumps(model.policy)  # SB3 may pickle policies (e.g. for subprocess evaluation)


@pytest.mark.parametrize(("space", "tree"), [(VEC_SPACE, vec_tree()), (IMG_SPACE, img_tree())],
                         ids=["vector-sequence-tokens", "image-discrete"])
def test_sb3_inputs_give_the_same_features_as_raw_inputs(space: spaces.Dict, tree: Node) -> None:
    """SB3 transposes and scales images, one-hots discrete ids and floats token ids; the
    extractor must undo exactly that."""
    raw_enc = compile_tree(tree, space)
    sb3_space = VecTransposeImage.transpose_space(space["bev"]) if "bev" in space.spaces else None
    policy_space = spaces.Dict({**space.spaces, **({"bev": sb3_space} if sb3_space else {})})
    extractor = TreeFeaturesExtractor(policy_space, tree=tree)
    extractor.encoder.load_state_dict(raw_enc.state_dict())
    space.seed(3)
    rows = [space.sample() for _ in range(4)]
    raw = {k: np.stack([r[k] for r in rows]) for k in space.spaces}
    seen = {k: torch.as_tensor(v) for k, v in raw.items()}
    if sb3_space is not None:
        seen["bev"] = seen["bev"].permute(0, 3, 1, 2)
    pre = preprocess_obs(seen, policy_space, normalize_images=True)
    raw_enc.eval()
    extractor.eval()
    assert torch.allclose(extractor(pre), raw_enc(raw), atol=1e-6)


def test_sb3_sources_rules() -> None:
    got = sb3_sources(spaces.Dict({"bev": VecTransposeImage.transpose_space(IMG_SPACE["bev"]),
                                   "mode": spaces.Discrete(3), "codes": spaces.MultiDiscrete([3, 5])}))
    assert (got["bev"].hwc, got["bev"].scale) == (False, None)
    assert got["mode"].rule == got["codes"].rule == "onehot_ids"
    vec = sb3_sources(spaces.Dict({"mode": spaces.Discrete(3)}), kinds={"mode": "vector"})
    assert vec["mode"].rule == "float"
    with pytest.raises(CompileError, match=r"does not support string spaces.*SourcesWrapper"):
        sb3_sources(spaces.Dict({"t": spaces.Text(5)}))
    with pytest.raises(CompileError, match=r"no Tuple or nested Dict.*SourcesWrapper"):
        sb3_sources(spaces.Tuple([spaces.Discrete(3)]))


def test_policy_kwargs_are_plain_data() -> None:
    kwargs = policy_kwargs_for(vec_tree(), kinds={"history": "vector"}, normalize_images=False)
    assert kwargs["normalize_images"] is False
    assert kwargs["features_extractor_kwargs"]["tree"] == node_to_dict(vec_tree())
    assert pickle.loads(pickle.dumps(kwargs))["features_extractor_class"] is TreeFeaturesExtractor
    # the extractor also reads JSON text and files
    flat = encoder([branch("history", module("MLPBlock", width=8))], fusion("ConcatMLP", width=8))
    ext = TreeFeaturesExtractor(VEC_SPACE, tree=to_json(flat), kinds={"history": "vector"})
    assert ext.encoder.sources["history"].signal.shape() == (12,)
    path = ROOT / "trees" / "ring_lacer_expert.json"
    assert TreeFeaturesExtractor(_ring_sb3_space(), tree=str(path)).features_dim > 0


def _ring_sb3_space() -> spaces.Dict:
    return spaces.Dict({
        "ego": spaces.Box(-3, 3, (3,), np.float32),
        "history": spaces.Box(-3, 3, (16, 3), np.float32),
        "bev": spaces.Box(0, 255, (3, 40, 40), np.uint8),
        "instruction": spaces.Box(0, 39, (8,), np.int64),
    })


def test_discrete_sources_from_sb3_buffers_have_an_extra_axis() -> None:
    """Rollout buffers store a Discrete observation as (B, 1); one-hot makes it (B, 1, n)."""
    space = spaces.Dict({"mode": spaces.Discrete(3), "codes": spaces.MultiDiscrete([3, 5])})
    obs = {"mode": torch.tensor([[2.0], [0.0]]), "codes": torch.tensor([[1.0, 4.0], [0.0, 0.0]])}
    pre = preprocess_obs(obs, space)
    assert pre["mode"].shape == (2, 1, 3)
    tokens = encoder([branch("mode", module("EmbedMeanPool", dim=4)), branch("codes", module("OneHot"))],
                     fusion("ConcatMLP", width=8))
    assert TreeFeaturesExtractor(space, tree=tokens)(pre).shape == (2, 8)
    mlp = module("MLPBlock", width=4)
    vectors = encoder([branch("mode", mlp), branch("codes", mlp)], fusion("ConcatMLP", width=8))
    ext = TreeFeaturesExtractor(space, tree=vectors, kinds={"mode": "vector", "codes": "vector"})
    assert ext(pre).shape == (2, 8)
