"""Tree -> `torch.nn.Module`: one branch per source, a fusion, an optional head."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from evo_lacer.compile._build import param_budget, sequential
from evo_lacer.compile._infer import Walker
from evo_lacer.compile._inputs import Converter, make_input
from evo_lacer.compile._spaces import SINGLE_SOURCE, SourceSpec, as_sources, nested_paths
from evo_lacer.errors import CompileError
from evo_lacer.signals import Signal, dummy
from evo_lacer.tree import Node, Path
from evo_lacer.zoo import Catalog, builtin_catalog


class TreeEncoder(nn.Module):
    """A compiled encoder tree: observations (a dict of tensors/arrays, or one tensor for a
    single-source space) -> features `(B, features_dim)`. For a Tuple or nested Dict space it
    takes the flat dict keyed by path names (what `evo_lacer.envs.SourcesWrapper` gives) or the
    observation as the space nests it, each leaf batched (read through `paths`).

    Attributes: `features_dim`; `sources` (name -> SourceSpec, the inputs' signals and rules);
    `signals` (node path -> (input, output) signal); `branches` (ModuleDict by source);
    `fusion`; `head` (or None); `node_modules` (node path -> module, for inspection);
    `ignored_sources` (observation sources the tree has no branch for); `paths` (source name ->
    keys / indices of its leaf in a nested observation; empty for a flat space).
    """

    _ref: torch.Tensor

    def __init__(
        self,
        tree: Node,
        sources: Mapping[str, SourceSpec],
        branches: Mapping[str, nn.Module],
        fusion: nn.Module,
        head: nn.Module | None,
        features_dim: int,
        signals: dict[Path, tuple[Signal, Signal]],
        node_modules: dict[Path, nn.Module],
        paths: Mapping[str, tuple[str | int, ...]] | None = None,
    ) -> None:
        super().__init__()
        self.tree = tree
        self.sources = dict(sources)
        self.features_dim = features_dim
        self.signals = signals
        self.branches = nn.ModuleDict(dict(branches))
        self.fusion = fusion
        self.head = head
        self.node_modules = node_modules
        self.ignored_sources: list[str] = []
        self.paths = {name: path for name, path in (paths or {}).items() if name in self.branches}
        self.register_buffer("_ref", torch.empty(0), persistent=False)
        self._single = next(iter(self.sources)) if list(self.sources) == [SINGLE_SOURCE] else None
        self._plan: list[tuple[str, Converter, nn.Module]] = [
            (name, make_input(self.sources[name]), self.branches[name]) for name in self.branches
        ]

    def _flat(self, obs: Any) -> Any:
        """`obs` as a mapping of source names (a lone tensor named, a nested observation read by paths)."""
        if self._single is not None and not isinstance(obs, Mapping):
            return {self._single: obs}
        if self.paths and not (isinstance(obs, Mapping) and all(name in obs for name in self.paths)):
            return {name: _leaf(obs, name, path) for name, path in self.paths.items()}
        return obs

    def forward(self, obs: Any) -> torch.Tensor:
        obs = self._flat(obs)
        ref = self._ref
        device, dtype = ref.device, ref.dtype
        try:
            feats = [branch(convert(obs[name], device, dtype)) for name, convert, branch in self._plan]
        except KeyError:
            missing = [name for name, _, _ in self._plan if name not in obs]
            if missing:
                raise CompileError(f"observation lacks sources {missing}; the encoder reads "
                                   f"{list(self.sources)}") from None
            raise
        z = self.fusion(feats)
        return z if self.head is None else self.head(z)

    def encode_sources(self, obs: Any) -> dict[str, torch.Tensor]:
        """The converted inputs of every branch (what each branch's first module receives)."""
        obs = self._flat(obs)
        ref = self._ref
        return {name: convert(obs[name], ref.device, ref.dtype) for name, convert, _ in self._plan}

    def branch_features(self, obs: Any) -> dict[str, torch.Tensor]:
        """Each branch's output vector (the fusion's inputs), e.g. for feature statistics."""
        return {name: self.branches[name](x) for name, x in self.encode_sources(obs).items()}

    def extra_repr(self) -> str:
        return f"features_dim={self.features_dim}, sources={list(self.sources)}"


def _leaf(obs: Any, name: str, path: tuple[str | int, ...]) -> Any:
    value = obs
    for depth, key in enumerate(path):
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            where = "".join(f"[{k!r}]" for k in path[:depth])
            raise CompileError(
                f"observation source {name!r}: the observation{where} has no {key!r} (a "
                f"{type(value).__name__}); pass the observation as the space nests it, each leaf "
                "batched, or a dict keyed by the source names") from None
    return value


def parameter_count(module: nn.Module) -> int:
    """Number of scalar parameters (shared tensors counted once)."""
    return sum(p.numel() for p in module.parameters())


def compile_tree(
    tree: Node,
    observation_space: Any,
    catalog: Catalog | None = None,
    *,
    kinds: Mapping[str, str] | None = None,
    normalize_images: bool = True,
    check: bool = True,
) -> TreeEncoder:
    """Build `tree` for an observation space into a `TreeEncoder`.

    `observation_space` is a gymnasium space, or a mapping of source names to `Signal`s /
    `SourceSpec`s. `kinds` forces source kinds (see `infer_sources`); `normalize_images=False`
    means uint8 images arrive already scaled. `check` runs one dummy forward of the whole
    encoder (eval mode, no grad) after building.
    """
    if not isinstance(tree, Node):
        raise CompileError(f"compile_tree needs a tree Node, got {type(tree).__name__}; load JSON with "
                           "evo_lacer.tree.load_tree / from_json first")
    catalog = catalog if catalog is not None else builtin_catalog()
    sources = as_sources(observation_space, kinds, normalize_images=normalize_images)
    walker = Walker(catalog, build=True)
    with param_budget():  # never allocate a machine-sized encoder, whatever the tree says
        out = walker.encoder(tree, {k: s.signal for k, s in sources.items()})
    branches = {name: sequential(mods) for name, mods in out.branch_mods.items()}
    head = sequential(out.head_mods) if out.head_mods else None
    assert out.fusion is not None
    encoder = TreeEncoder(tree, {k: sources[k] for k in out.names}, branches, out.fusion, head,
                          out.features.d, walker.signals, walker.modules, nested_paths(observation_space))
    encoder.ignored_sources = sorted(set(sources) - set(out.names))
    if check:
        _check(encoder)
    return encoder


def _check(encoder: TreeEncoder) -> None:
    was_training = encoder.training
    encoder.eval()
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            feats = [encoder.branches[n](dummy(s.signal, batch=2)) for n, s in encoder.sources.items()]
            z = encoder.fusion(feats)
            y = z if encoder.head is None else encoder.head(z)
    except Exception as exc:
        raise CompileError(
            f"encoder: the compiled module fails a dummy forward: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        encoder.train(was_training)
    if tuple(y.shape) != (2, encoder.features_dim):
        raise CompileError(
            f"encoder: dummy forward gave {tuple(y.shape)}, expected (2, {encoder.features_dim})"
        )

