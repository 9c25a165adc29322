"""Shape inference through a tree, and the walk the compiler shares with it.

The output signal of a module node depends only on (catalog, node, input signal), so it is
cached: listing the legal modules at a site, or re-checking a mutated tree, probes each
(module, input) pair once per process.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import Any, NamedTuple

import torch
from torch import nn

from evo_lacer.compile._build import (
    PROBE_BATCH,
    ProjectedResidual,
    Residual,
    bound_values,
    check_accepts,
    instantiate,
    lookup,
    module_kwargs,
    probe,
    probing,
    residual_skip,
    resolve,
    sequential,
    wrap,
)
from evo_lacer.compile._spaces import as_sources
from evo_lacer.errors import CompileError, EvoLacerError, ShapeError, TreeError
from evo_lacer.signals import Signal, Vector
from evo_lacer.tree import Node, Path, check_structure, format_path
from evo_lacer.zoo import Catalog, builtin_catalog

_HERE = "\x00here\x00"  # placeholder for the node path in cached error messages
_MAX_ENTRIES = 50_000
_CACHES: dict[int, tuple[weakref.ref[Catalog], dict[Any, Any]]] = {}


def _cache_for(catalog: Catalog) -> dict[Any, Any]:
    entry = _CACHES.get(id(catalog))
    if entry is None or entry[0]() is not catalog:
        for key in [k for k, (ref, _) in _CACHES.items() if ref() is None]:
            del _CACHES[key]
        entry = (weakref.ref(catalog), {})
        _CACHES[id(catalog)] = entry
    cache = entry[1]
    if len(cache) > _MAX_ENTRIES:
        cache.clear()
    return cache


def _typed(params: tuple[tuple[str, Any], ...]) -> tuple[tuple[str, type, Any], ...]:
    """Params with their types: ``64``, ``64.0`` and ``True`` compare equal but build differently."""
    return tuple((k, type(v), v) for k, v in params)


def _cached(cache: dict[Any, Any], key: Any, where: str, compute: Any) -> Signal:
    hit = cache.get(key)
    if hit is None:
        try:
            with torch.random.fork_rng(devices=[]):  # probes must not shift the caller's seeding
                hit = compute()
        except EvoLacerError as exc:
            hit = (type(exc), str(exc))
        cache[key] = hit
    if isinstance(hit, tuple):
        raise hit[0](hit[1].replace(_HERE, where))
    return hit  # type: ignore[no-any-return]


def module_signal(node: Node, inp: Signal, catalog: Catalog | None = None, where: str = "module") -> Signal:
    """The signal a module node emits for input `inp` (cached; raises ShapeError/CompileError)."""
    catalog = catalog if catalog is not None else builtin_catalog()

    def compute() -> Signal:
        spec = lookup(catalog, str(node.op), _HERE)
        if spec.role == "fusion":
            raise CompileError(f"{_HERE}: {spec.short} is a fusion module; it belongs in the fusion node")
        check_accepts(spec, inp, _HERE)
        kwargs = module_kwargs(spec, node.param_dict, bound_values(inp), _HERE)
        return probe(inp, spec, resolve(catalog, spec, _HERE), kwargs, _HERE)

    return _cached(_cache_for(catalog), (node.op, _typed(node.params), inp), where, compute)


def _fusion_args(inputs: tuple[Vector, ...], names: tuple[str, ...]) -> dict[str, Any]:
    return {"in_dims": tuple(v.d for v in inputs), "sources": names}


def fusion_signal(
    node: Node, inputs: tuple[Vector, ...], names: tuple[str, ...], catalog: Catalog, where: str = "fusion"
) -> Vector:
    """The vector a fusion node emits for branch outputs `inputs` (in branch order)."""

    def compute() -> Signal:
        spec = lookup(catalog, str(node.op), _HERE)
        if spec.role != "fusion":
            raise CompileError(
                f"{_HERE}: {spec.short} is not a fusion module (it takes no in_dims); "
                f"fusion modules: {sorted(s.short for s in catalog.fusions())}"
            )
        kwargs = module_kwargs(spec, node.param_dict, _fusion_args(inputs, names), _HERE)
        mod = instantiate(resolve(catalog, spec, _HERE), kwargs, spec, _HERE)
        mod.eval()
        try:
            with probing():
                y = mod([torch.randn(PROBE_BATCH, v.d) for v in inputs])
        except Exception as exc:
            raise ShapeError(f"{_HERE}: {spec.short} failed on inputs {list(map(str, inputs))}: "
                             f"{type(exc).__name__}: {exc}") from None
        if not isinstance(y, torch.Tensor) or y.dim() != 2 or y.shape[0] != PROBE_BATCH:
            shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
            raise ShapeError(f"{_HERE}: {spec.short} must return a vector (B, d), returned {shape}")
        return Vector(int(y.shape[1]))

    out = _cached(_cache_for(catalog), (node.op, _typed(node.params), inputs, names), where, compute)
    assert isinstance(out, Vector)
    return out


_POOL_HINT = {
    "sequence": "LastStep, MeanPool or AttentionPool",
    "image": "GlobalAvgPool",
    "tokens": "EmbedMeanPool or EmbedGRU",
}


class Walked(NamedTuple):
    """What walking an encoder gives: the modules are empty/None unless the walk builds."""

    names: tuple[str, ...]
    branch_mods: dict[str, list[nn.Module]]
    fusion: nn.Module | None
    head_mods: list[nn.Module]
    features: Vector


class Walker:
    """Walks a tree carrying signals; records (input, output) per path; builds when asked."""

    def __init__(self, catalog: Catalog, build: bool) -> None:
        self.catalog, self.build = catalog, build
        self.signals: dict[Path, tuple[Signal, Signal]] = {}
        self.modules: dict[Path, nn.Module] = {}

    def _leaf(self, node: Node, path: Path, inp: Signal) -> tuple[Signal, list[nn.Module]]:
        where = format_path(path)
        out = module_signal(node, inp, self.catalog, where)
        self.signals.setdefault(path, (inp, out))
        if not self.build:
            return out, []
        spec = lookup(self.catalog, str(node.op), where)
        kwargs = module_kwargs(spec, node.param_dict, bound_values(inp), where)
        mod = wrap(instantiate(resolve(self.catalog, spec, where), kwargs, spec, where), spec, inp,
                   len(out.shape()) + 1)
        self.modules.setdefault(path, mod)
        return out, [mod]

    def seq(self, children: tuple[Node, ...], path: Path, inp: Signal) -> tuple[Signal, list[nn.Module]]:
        sig, mods = inp, []
        for i, child in enumerate(children):
            sig, more = self.node(child, (*path, str(i)), sig)
            mods.extend(more)
        return sig, mods

    def node(self, node: Node, path: Path, inp: Signal) -> tuple[Signal, list[nn.Module]]:
        where = format_path(path)
        if node.kind == "module":
            return self._leaf(node, path, inp)
        mods: list[nn.Module] = []
        if node.kind == "chain":
            out, mods = self.seq(node.children, path, inp)
        elif node.kind == "residual":
            out, body = self.seq(node.children, path, inp)
            if node.children:
                skip = residual_skip(inp, out, where)
                if self.build:
                    mods = [Residual(sequential(body)) if skip is None
                            else ProjectedResidual(sequential(body), skip)]
                    self.modules.setdefault(path, mods[0])
        elif node.kind == "repeat":
            times = int(node.param_dict.get("times", 1))  # type: ignore[arg-type]
            out = inp
            for k in range(times):
                try:
                    out, more = self.seq(node.children, path, out)
                except ShapeError as exc:
                    if k == 0:
                        raise
                    raise ShapeError(
                        f"{exc} (in repeat copy {k + 1} of {times}, whose input is {out})"
                    ) from None
                mods.extend(more)
        else:
            raise TreeError(f"{where}: a {node.kind} node cannot appear inside a branch")
        self.signals.setdefault(path, (inp, out))
        return out, mods

    def encoder(self, tree: Node, sources: Mapping[str, Signal]) -> Walked:
        """Walk the whole tree (branches in source-name order, fusion, head)."""
        check_structure(tree)
        branches = sorted(tree.branches, key=lambda b: str(b.name))
        names = tuple(str(b.name) for b in branches)
        outs: list[Vector] = []
        branch_mods: dict[str, list[nn.Module]] = {}
        for b in branches:
            name = str(b.name)
            if name not in sources:
                raise CompileError(
                    f"encoder/{name}: the tree has a branch for source {name!r}, which the observation "
                    f"lacks; sources: {sorted(sources)}"
                )
            out, branch_mods[name] = self.seq(b.children, (name,), sources[name])
            if not isinstance(out, Vector):
                hint = _POOL_HINT.get(out.kind, "a pooling module")
                raise ShapeError(f"encoder/{name}: branch ends in {out}; add a pooling module such as {hint}")
            self.signals[(name,)] = (sources[name], out)
            outs.append(out)
        fnode = tree.fusion
        fused = fusion_signal(fnode, tuple(outs), names, self.catalog, "encoder/fusion")
        total = Vector(sum(v.d for v in outs))
        self.signals[("fusion",)] = (total, fused)
        fusion_mod = None
        if self.build:
            spec = lookup(self.catalog, str(fnode.op), "encoder/fusion")
            kwargs = module_kwargs(spec, fnode.param_dict, _fusion_args(tuple(outs), names),
                                   "encoder/fusion")
            fusion_mod = instantiate(resolve(self.catalog, spec, "encoder/fusion"), kwargs, spec,
                                     "encoder/fusion")
            self.modules[("fusion",)] = fusion_mod
        final = fused
        head_mods: list[nn.Module] = []
        head = tree.head
        if head is not None:
            out, head_mods = self.seq(head.children, ("head",), fused)
            if not isinstance(out, Vector):
                raise ShapeError(f"encoder/head: the head ends in {out}; it must end in a vector")
            final = out
            self.signals[("head",)] = (fused, final)
        self.signals[()] = (total, final)
        return Walked(names, branch_mods, fusion_mod, head_mods, final)


def infer_signals(
    tree: Node,
    observation_space_or_inputs: Any,
    catalog: Catalog | None = None,
    *,
    kinds: Mapping[str, str] | None = None,
) -> dict[Path, tuple[Signal, Signal]]:
    """(input signal, output signal) of every node path, raising ShapeError at the first problem.

    Inside a ``repeat`` the signals are those of the first copy (later copies are checked).
    For ``fusion`` and the root the input is the concatenated branch width, ``Vector(sum d)``.
    """
    catalog = catalog if catalog is not None else builtin_catalog()
    sources = {k: s.signal for k, s in as_sources(observation_space_or_inputs, kinds).items()}
    walker = Walker(catalog, build=False)
    walker.encoder(tree, sources)
    return walker.signals

