"""Stable-Baselines3 hook: a compiled tree as the policy's features extractor.

SB3 preprocesses observations before the extractor sees them (``preprocess_obs``): uint8
image boxes arrive channels-first (``VecTransposeImage``) and divided by 255 when the policy
normalizes images; ``Discrete``/``MultiDiscrete`` arrive one-hot; every box arrives as float.
The sources are adjusted so the tree still receives vectors, CHW images and long token ids.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path as FsPath
from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.preprocessing import is_image_space, is_image_space_channels_first
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

from evo_lacer.compile._compiler import compile_tree
from evo_lacer.compile._spaces import SourceSpec, infer_sources, is_flat, source_leaves
from evo_lacer.errors import CompileError
from evo_lacer.tree import Node, check_structure, from_json, load_tree, node_from_dict, node_to_dict
from evo_lacer.zoo import Catalog


def as_tree(tree: Node | Mapping[str, Any] | str | FsPath) -> Node:
    """A tree from a Node, a JSON dict (a node or a whole tree document), JSON text or a file."""
    if isinstance(tree, Node):
        return tree
    if isinstance(tree, Mapping):
        if "format" in tree:
            return from_json(json.dumps(dict(tree)))
        node = node_from_dict(dict(tree))
        check_structure(node)
        return node
    if isinstance(tree, FsPath) or (isinstance(tree, str) and not tree.lstrip().startswith("{")):
        return load_tree(tree)
    if isinstance(tree, str):
        return from_json(tree)
    raise CompileError(f"cannot read a tree from {type(tree).__name__}; pass a Node, a JSON dict or a file")


def sb3_sources(
    space: spaces.Space, kinds: Mapping[str, str] | None = None, normalize_images: bool = True
) -> dict[str, SourceSpec]:
    """Sources as SB3's `preprocess_obs` delivers them (see the module docstring)."""
    specs = infer_sources(space, kinds, normalize_images=normalize_images)
    subs = {name: sub for name, _, sub in source_leaves(space)}
    if not is_flat(space):
        raise CompileError(
            f"Stable-Baselines3 takes no Tuple or nested Dict observation spaces ({space}); wrap the env "
            "in evo_lacer.envs.SourcesWrapper (the evaluators do it for you), which names each leaf by "
            "its path"
        )
    out: dict[str, SourceSpec] = {}
    for name, spec in specs.items():
        sub = subs[name]
        if spec.rule in ("text", "words"):
            raise CompileError(
                f"observation source {name!r}: Stable-Baselines3 does not support string spaces "
                f"({spec.space}); wrap the env in evo_lacer.envs.SourcesWrapper, which turns strings "
                "into token ids (the evaluators do it for you)"
            )
        if spec.rule == "grid" and is_image_space(sub):
            hwc = len(spec.shape) == 3 and not is_image_space_channels_first(sub)  # type: ignore[arg-type]
            spec = replace(spec, hwc=hwc, scale=255.0 if normalize_images else None)
        elif spec.rule == "image" and is_image_space(sub):
            hwc = len(spec.shape) == 3 and not is_image_space_channels_first(sub)  # type: ignore[arg-type]
            spec = replace(spec, hwc=hwc, scale=None)
        elif spec.rule == "discrete":
            spec = replace(spec, rule="onehot_ids")
        elif spec.rule == "onehot":  # shape () forces a reshape: SB3's buffers give (B, 1, n)
            spec = replace(spec, rule="float", shape=())
        out[name] = spec
    return out


class TreeFeaturesExtractor(BaseFeaturesExtractor):
    """SB3 features extractor built from an encoder tree.

    ``PPO("MultiInputPolicy", env, policy_kwargs=policy_kwargs_for(tree))``. `normalize_images`
    must match the policy's own setting (`policy_kwargs_for` passes both).
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        tree: Node | Mapping[str, Any] | str,
        catalog: Catalog | None = None,
        kinds: Mapping[str, str] | None = None,
        normalize_images: bool = True,
    ) -> None:
        node = as_tree(tree)
        encoder = compile_tree(node, sb3_sources(observation_space, kinds, normalize_images), catalog)
        super().__init__(observation_space, encoder.features_dim)
        self.encoder = encoder

    def forward(self, observations: Any) -> torch.Tensor:
        return self.encoder(observations)


def policy_kwargs_for(
    tree: Node | Mapping[str, Any] | str,
    catalog: Catalog | None = None,
    kinds: Mapping[str, str] | None = None,
    normalize_images: bool = True,
) -> dict[str, Any]:
    """``policy_kwargs`` for an SB3 policy using `tree` as its features extractor.

    The tree is stored as a JSON dict, so SB3's saved ``policy_kwargs`` stay readable.
    """
    extractor: dict[str, Any] = {"tree": node_to_dict(as_tree(tree)), "normalize_images": normalize_images}
    if catalog is not None:
        extractor["catalog"] = catalog
    if kinds:
        extractor["kinds"] = dict(kinds)
    return {
        "features_extractor_class": TreeFeaturesExtractor,
        "features_extractor_kwargs": extractor,
        "normalize_images": normalize_images,
    }
