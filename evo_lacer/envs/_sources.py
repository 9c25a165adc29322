"""SourcesWrapper: any observation the compiler reads, as Stable-Baselines3 can take it.

SB3 takes a Box / Discrete / MultiDiscrete / MultiBinary or a flat Dict of them. This wrapper
names each leaf of a ``Tuple`` or nested ``Dict`` by its path (``"0"``, ``"obs:pos"``) in one
flat Dict, and turns string sources (``Text``, MiniGrid's ``MissionSpace``, any space whose
samples are ``str``) into fixed-length token ids -- ``Box(0, vocab - 1, (length,), int64)``,
with the tokenizer of the compiler's ``text`` / ``words`` rule -- so the encoder's tokens branch
reads them. With ``kinds`` it also reshapes the sources whose kind is forced (``_kinds``), so
the search, the gate and SB3 all see a space whose inferred kinds are the forced ones.
`needs_sources_wrapper` says when an env needs it; the evaluators apply it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from evo_lacer.compile import SINGLE_SOURCE, infer_sources, make_input
from evo_lacer.compile._spaces import is_flat, is_string_space, source_leaves
from evo_lacer.envs._kinds import forced_kind


def needs_sources_wrapper(space: gym.Space, kinds: Mapping[str, str] | None = None) -> bool:  # type: ignore[type-arg]
    """True when ``space`` has string leaves, leaves nested in a Tuple / Dict, or forced kinds."""
    strings = any(is_string_space(sub) for _, _, sub in source_leaves(space))
    return bool(kinds) or not is_flat(space) or strings


class SourcesWrapper(gym.ObservationWrapper):  # type: ignore[type-arg]
    """Flatten nested observations to path-named sources; strings -> token ids; forced kinds
    reshaped (module docstring)."""

    def __init__(self, env: gym.Env, kinds: Mapping[str, str] | None = None) -> None:  # type: ignore[type-arg]
        super().__init__(env)
        kinds = dict(kinds or {})
        self.kinds = kinds
        specs = infer_sources(env.observation_space, kinds)  # checks the names and kinds
        self._plan: list[tuple[str, tuple[str | int, ...], Callable[[Any], Any] | None]] = []
        out: dict[str, gym.Space] = {}  # type: ignore[type-arg]
        for name, path, sub in source_leaves(env.observation_space):
            spec = specs[name]
            convert: Callable[[Any], Any] | None = None
            if spec.rule in ("text", "words"):
                encode = make_input(spec).encode  # type: ignore[attr-defined]
                length, vocab = spec.signal.shape()[0], spec.signal.vocab  # type: ignore[union-attr]
                sub = spaces.Box(0, vocab - 1, (length,), np.int64)
                convert = _Encode(encode)
            elif name in kinds:
                sub, convert = forced_kind(name, sub, kinds[name])
            self._plan.append((name, path, convert))
            out[name] = sub
        single = list(out) == [SINGLE_SOURCE] and not isinstance(env.observation_space, spaces.Dict)
        self.observation_space = out[SINGLE_SOURCE] if single else spaces.Dict(out)
        self._single = single

    def observation(self, observation: Any) -> Any:
        out: dict[str, Any] = {}
        for name, path, convert in self._plan:
            value = observation
            for key in path:
                value = value[key]
            out[name] = convert(value) if convert is not None else value
        return out[SINGLE_SOURCE] if self._single else out


class _Encode:
    def __init__(self, encode: Callable[[str], list[int]]) -> None:
        self.encode = encode

    def __call__(self, value: Any) -> np.ndarray:
        return np.asarray(self.encode(str(value)), np.int64)
