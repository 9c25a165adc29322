"""Build an env for an evaluator: from a gymnasium id (importing the package that registers its
family) or a factory, wrapped as asked and, where its observation needs it, in
`evo_lacer.envs.SourcesWrapper`; and what an evaluator reads from one env built and closed."""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import gymnasium as gym
from gymnasium import spaces

from evo_lacer.errors import EnvError

EnvSpec = str | Callable[[], gym.Env]
"""A gymnasium id (``"CartPole-v1"``, ``"evo_lacer/RingTraffic-v0"``, ``"pkg.mod:Env-v0"``)
or a picklable zero-argument factory returning an env."""


def env_name(env: EnvSpec) -> str:
    if isinstance(env, str):
        return env
    return getattr(env, "__qualname__", None) or getattr(env, "__name__", None) or repr(env)


def make_env(env: EnvSpec, env_kwargs: Mapping[str, Any] | None = None,
             wrappers: Iterable[str] = (), kinds: Mapping[str, str] | None = None) -> gym.Env:
    """One env from an id (``gym.make`` with ``env_kwargs``) or a factory, wrapped in each of
    ``wrappers`` (``"module:Name"``, called as ``Name(env)``, in order), then in
    `evo_lacer.envs.SourcesWrapper` when its observation has strings or nested sources, or
    ``kinds`` forces the kind of some sources."""
    from evo_lacer.envs._sources import SourcesWrapper, needs_sources_wrapper

    made = _make_raw(env, env_kwargs)
    if type(made.unwrapped).__module__.startswith("minigrid.envs.babyai."):
        made = QuietReset(made)
    for ref in wrappers:
        made = load_wrapper(ref)(made)
        if not isinstance(made, gym.Env):
            raise EnvError(f"wrapper {ref!r} returned {type(made).__name__}, not a gymnasium.Env")
    kinds = {**family_kinds(made), **(kinds or {})}
    if needs_sources_wrapper(made.observation_space, kinds):
        return SourcesWrapper(made, kinds)
    return made


class QuietReset(gym.Wrapper[Any, Any, Any, Any]):
    """BabyAI levels print a line each time their rejection sampling redraws a mission ("Sampling
    rejected: unreachable object"), dozens in a search: routine, and not the user's to act on."""

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        with contextlib.redirect_stdout(io.StringIO()):
            return self.env.reset(**kwargs)


FAMILY_WHY = "MiniGrid's image holds object, colour and state ids, not pixels (--kinds image=image: pixels)"


def family_kinds(env: gym.Env) -> dict[str, str]:
    """Kinds known better than the space says: MiniGrid's ``image`` is a 7x7 grid of object,
    colour and state ids declared as uint8 pixels, so it is read as a categorical grid (with
    ``kinds={"image": "image"}`` as pixels; an RGB wrapper's image stays pixels)."""
    base = env.unwrapped
    space = env.observation_space
    if type(base).__module__.startswith("minigrid.") and isinstance(space, spaces.Dict):
        image, view = space.spaces.get("image"), getattr(base, "agent_view_size", None)
        if isinstance(image, spaces.Box) and image.shape == (view, view, 3):
            return {"image": "grid"}
    return {}


def load_wrapper(ref: str) -> Callable[[gym.Env], gym.Env]:
    """``"package.module:Name"`` -> the wrapper class or function (the working directory is
    importable, as for ``--env module:EnvId``)."""
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise EnvError(f"wrapper {ref!r} must look like 'package.module:Name' "
                       "(e.g. gymnasium.wrappers:FlattenObservation)")
    _cwd_importable()
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise EnvError(f"wrapper {ref!r}: cannot import it ({type(exc).__name__}: {exc})") from None
    if not callable(obj):
        raise EnvError(f"wrapper {ref!r} is a {type(obj).__name__}, not a class or function")
    return obj  # type: ignore[no-any-return]


def _cwd_importable() -> None:
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())


ENV_FAMILIES = {"MiniGrid-": "minigrid", "BabyAI-": "minigrid", "ALE/": "ale_py", "highway-": "highway_env",
                "merge-": "highway_env", "roundabout-": "highway_env", "parking-": "highway_env"}
"""Id prefix -> the package whose import registers those ids (gymnasium does not import it)."""


def _import_family(env: str) -> str:
    """Import the package registering ``env``'s family; '' or an install hint when it is missing."""
    for prefix, package in ENV_FAMILIES.items():
        if env.startswith(prefix) and package not in sys.modules:
            try:
                importlib.import_module(package)
            except ImportError:
                return f" {prefix}* ids need the {package} package (pip install {package.replace('_', '-')})."
    return ""


def _make_raw(env: EnvSpec, env_kwargs: Mapping[str, Any] | None) -> gym.Env:
    kwargs = dict(env_kwargs or {})
    if not isinstance(env, str):
        made = env(**kwargs)
        if not isinstance(made, gym.Env):
            raise EnvError(f"env factory {env_name(env)} returned {type(made).__name__}, not a gymnasium.Env")
        return made
    if env.startswith("evo_lacer/"):
        from evo_lacer.envs import register_envs

        register_envs()
    if ":" in env:
        _cwd_importable()  # 'module:EnvId' in the working directory, also in worker processes
    hint = _import_family(env)
    try:
        return gym.make(env, **kwargs)
    except (gym.error.Error, ModuleNotFoundError) as exc:
        unknown = isinstance(exc, gym.error.NameNotFound | gym.error.NamespaceNotFound | ModuleNotFoundError)
        fix = (" Register it first, or pass 'package.module:EnvId' so gymnasium imports the module that "
               f"registers it.{hint}") if unknown else ""
        raise EnvError(f"cannot make env {env!r} with {kwargs}: {str(exc).rstrip('.')}.{fix}") from exc
    except TypeError as exc:  # a keyword the env's constructor does not take
        raise EnvError(f"cannot make env {env!r} with env_kwargs {kwargs} (--env-kwargs on the command "
                       f"line): {exc}; drop or rename that keyword") from None


def doc_summary(doc: str | None, limit: int = 400) -> str:
    """The first prose paragraph of a docstring (headings skipped, RST/Markdown quotes
    dropped), cut at ``limit`` characters: the env's own words for LLM prompts."""
    for para in (doc or "").split("\n\n"):
        text = " ".join(para.replace("``", "").replace("`", "").split())
        if text and not text.startswith("#"):
            return text if len(text) <= limit else text[: limit - 3].rsplit(" ", 1)[0] + "..."
    return ""


def env_facts(env: EnvSpec, env_kwargs: Mapping[str, Any] | None, wrappers: Iterable[str] = (),
              kinds: Mapping[str, str] | None = None) -> tuple[gym.Space, gym.Space, str, bool]:
    """Observation space, action space, the env class's first docstring paragraph, and
    whether it runs a SUMO simulation (one per process), from one env built and closed."""
    made = make_env(env, env_kwargs, wrappers, kinds)
    try:
        unwrapped = made.unwrapped
        doc = doc_summary(type(unwrapped).__doc__)
        sumo = getattr(getattr(unwrapped, "config", None), "backend", None) == "sumo"
        return made.observation_space, made.action_space, doc, sumo
    finally:
        made.close()
