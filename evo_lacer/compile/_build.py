"""Building one catalog module for an input signal: bound arguments, adapters, shape probes.

Nothing is evaluated from text: classes come from `Catalog.resolve` (an import path), and
arguments are the node's literal parameters plus values bound from the input signal.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import torch
from torch import nn

from evo_lacer.errors import CompileError, MiningError, ShapeError
from evo_lacer.signals import Image, Sequence, Signal, Vector, dummy, signal_of
from evo_lacer.tree import ParamValue
from evo_lacer.zoo import Catalog, ModuleSpec

PROBE_BATCH = 2
DOMAIN_SLACK = 4
"""A numeric parameter may lie outside its search domain's choices -- a seed tree may use width
8 or 512 where the search offers 32 to 256 -- but not above 4 times the largest choice, nor below
1 (0) where every choice is positive (non-negative); beyond that it is refused before anything is
built (a width of 1e9 would take the machine's memory, a depth of -5 builds an empty network)."""
MAX_MODULE_PARAMS = 250_000_000
"""Most parameters one catalog module may have (1 GB of float32); larger ones are refused after
counting them on the meta device, before any memory is allocated."""
MAX_TREE_PARAMS = 1_000_000_000
"""Most parameters one compiled encoder may have (4 GB of float32), whatever its limit says."""
_LARGE_ARGUMENT = 4096
_BUDGET: ContextVar[list[int] | None] = ContextVar("evo_lacer_param_budget", default=None)
"""[parameters built so far, limit] of the encoder being compiled (see `param_budget`)."""


@contextmanager
def param_budget(limit: int | None = None) -> Iterator[None]:
    """While compiling one encoder: refuse it as soon as its modules together pass `limit`
    parameters (and never more than `MAX_TREE_PARAMS`), counting a module with a large argument
    on the meta device before its memory is allocated. (A fusion module may be counted twice:
    once for its output shape; the limit is a safety net, the gate's `max_params` the exact one.)"""
    cap = MAX_TREE_PARAMS if limit is None else min(limit, MAX_TREE_PARAMS)
    token = _BUDGET.set([0, cap])
    try:
        yield
    finally:
        _BUDGET.reset(token)


# --- adapters ---------------------------------------------------------------------------
class ChannelsFirst(nn.Module):
    """Feed a channels-first module `(B, d, T)`; turn a `(B, d', T')` output back."""

    def __init__(self, inner: nn.Module, index: int | None, back: bool) -> None:
        super().__init__()
        self.inner, self.index, self.back = inner, index, back

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.inner(x.transpose(1, 2))
        if self.index is not None:
            y = y[self.index]
        return y.transpose(1, 2) if self.back else y


class Pick(nn.Module):
    """Keep element `index` of a module's tuple output (e.g. ``nn.GRU``'s outputs)."""

    def __init__(self, inner: nn.Module, index: int) -> None:
        super().__init__()
        self.inner, self.index = inner, index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x)[self.index]


class Residual(nn.Module):
    """``x + body(x)``."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ProjectedResidual(nn.Module):
    """``skip(x) + body(x)`` where `skip` projects the width (Linear) or channels (1x1 conv)."""

    def __init__(self, body: nn.Module, skip: nn.Module) -> None:
        super().__init__()
        self.body, self.skip = body, skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.skip(x) + self.body(x)


def sequential(mods: list[nn.Module]) -> nn.Module:
    """One module for a list: the module itself, an identity, or an `nn.Sequential`."""
    if len(mods) == 1:
        return mods[0]
    return nn.Sequential(*mods) if mods else nn.Identity()


def residual_skip(inp: Signal, out: Signal, where: str) -> nn.Module | None:
    """None when shapes agree, a projection when only the width/channels change, else error."""
    if inp == out:
        return None
    if isinstance(inp, Vector) and isinstance(out, Vector):
        return nn.Linear(inp.d, out.d)
    if isinstance(inp, Sequence) and isinstance(out, Sequence) and inp.t == out.t:
        return nn.Linear(inp.d, out.d)
    if isinstance(inp, Image) and isinstance(out, Image) and (inp.h, inp.w) == (out.h, out.w):
        return nn.Conv2d(inp.c, out.c, kernel_size=1)
    raise ShapeError(
        f"{where}: residual body maps {inp} to {out}; a residual may change only the width "
        "(vector/sequence) or the channels (image), which adds a projection of the skip"
    )


# --- arguments --------------------------------------------------------------------------
def bound_values(signal: Signal) -> dict[str, int]:
    """What the compiler passes to bound parameters, for an input `signal`."""
    if isinstance(signal, Vector):
        return {"in_dim": signal.d}
    if isinstance(signal, Sequence):
        return {"in_dim": signal.d, "in_channels": signal.d, "seq_len": signal.t}
    if isinstance(signal, Image):
        return {"in_dim": signal.c, "in_channels": signal.c, "in_height": signal.h, "in_width": signal.w}
    return {"seq_len": signal.length, "vocab_size": signal.vocab}


def _param_hint(spec: ModuleSpec) -> str:
    parts = []
    for p in spec.params:
        if p.binding is not None or p.kind in ("var_positional", "var_keyword"):
            continue
        text = p.name
        if p.has_default:
            text += f"={p.default_text if p.default_text is not None else p.default!r}"
        if isinstance(p.domain, tuple):
            text += " in " + "|".join(str(v) for v in p.domain)
        parts.append(text)
    return ", ".join(parts) or "none"


def lookup(catalog: Catalog, op: str, where: str) -> ModuleSpec:
    try:
        return catalog.lookup(op)
    except MiningError as exc:
        raise CompileError(f"{where}: {exc}") from None


def module_kwargs(
    spec: ModuleSpec, params: Mapping[str, ParamValue], bound: Mapping[str, Any], where: str
) -> dict[str, Any]:
    """Constructor arguments: bound values, the spec's fixed arguments, the node's params."""
    names = {p.name for p in spec.params}
    var_kw = any(p.kind == "var_keyword" for p in spec.params)
    unknown = sorted(k for k in params if k not in names)
    if unknown and not var_kw:
        raise CompileError(
            f"{where}: {spec.short} has no parameter {', '.join(map(repr, unknown))}; "
            f"valid parameters: {_param_hint(spec)}"
        )
    fixed = dict(spec.fixed)
    kwargs: dict[str, Any] = {}
    for p in spec.params:
        if p.kind in ("var_positional", "var_keyword"):
            continue
        if p.binding is not None:
            if p.name in params:
                raise CompileError(
                    f"{where}: {spec.short}.{p.name} is set by the compiler from the input "
                    f"({p.binding}); remove it from the node's params"
                )
            if p.binding in bound:
                kwargs[p.name] = bound[p.binding]
            elif not p.has_default:
                raise ShapeError(f"{where}: {spec.short} needs {p.name} (the input's {p.binding}), "
                                 "which its input lacks")
        elif p.name in fixed:
            if p.name in params and params[p.name] != fixed[p.name]:
                raise CompileError(f"{where}: {spec.short}.{p.name} is fixed to {fixed[p.name]!r}")
            kwargs[p.name] = fixed[p.name]
        elif p.name in params:
            check_domain(spec, p.name, p.domain, params[p.name], where)
            kwargs[p.name] = params[p.name]
        elif not p.has_default:
            raise CompileError(
                f"{where}: {spec.short} needs parameter {p.name!r}; valid parameters: {_param_hint(spec)}"
            )
    kwargs.update({k: v for k, v in params.items() if k not in names})
    return kwargs


def check_domain(spec: ModuleSpec, name: str, domain: Any, value: Any, where: str) -> None:
    """Refuse a numeric value outside `domain` (see `DOMAIN_SLACK`) before the module is built."""
    if not isinstance(domain, tuple) or not domain or value in domain:
        return
    numbers = [v for v in domain if isinstance(v, int | float) and not isinstance(v, bool)]
    choices = "|".join(str(v) for v in domain)
    if len(numbers) != len(domain):
        return  # a name or a flag: the module itself says what it accepts; only sizes can exhaust memory
    integral = all(isinstance(v, int) for v in numbers)
    if integral and (not isinstance(value, int) or isinstance(value, bool)):
        raise CompileError(f"{where}: {spec.short}.{name} must be an integer, got the "
                           f"{type(value).__name__} {value!r} (choices {choices})")
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise CompileError(f"{where}: {spec.short}.{name}={value!r} must be a number (choices {choices})")
    high = max(numbers) * DOMAIN_SLACK
    least = min(numbers)
    low = (1 if integral else 0) if least > 0 else 0 if least == 0 else least * DOMAIN_SLACK
    if not low <= value <= high or (least > 0 and value <= 0):
        raise CompileError(
            f"{where}: {spec.short}.{name}={value!r} is outside its domain (choices {choices}; accepted: "
            f"{'above' if least > 0 and not integral else 'from'} {low:g} to {high:g}); use one of the "
            "choices")


def _check_size(cls: type, kwargs: dict[str, Any], spec: ModuleSpec, where: str) -> None:
    """Count the parameters on the meta device before a module with a large argument is allocated
    (against `MAX_MODULE_PARAMS` and what is left of the encoder's `param_budget`)."""
    if not any(isinstance(v, int | float) and not isinstance(v, bool) and abs(v) >= _LARGE_ARGUMENT
               for v in kwargs.values()):
        return
    try:
        with torch.device("meta"):
            mod = cls(**kwargs)
    except Exception:
        return  # the real build reports the error
    if isinstance(mod, nn.Module):
        _refuse_huge(mod, spec, kwargs, where)
        _spend(sum(p.numel() for p in mod.parameters()), where, commit=False)


def _spend(count: int, where: str, *, commit: bool = True) -> None:
    """Add `count` parameters to the encoder's budget (when one is open); over it, a CompileError."""
    budget = _BUDGET.get()
    if budget is None:
        return
    if budget[0] + count > budget[1]:
        raise CompileError(f"{where}: the encoder passes {budget[1]:,} parameters here ({budget[0]:,} before "
                           f"this module, {count:,} in it); use smaller modules or raise max_params")
    if commit:
        budget[0] += count


def _refuse_huge(mod: nn.Module, spec: ModuleSpec, kwargs: dict[str, Any], where: str) -> None:
    count = sum(p.numel() for p in mod.parameters())
    if count > MAX_MODULE_PARAMS:
        args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        raise CompileError(f"{where}: {spec.short}({args}) would have {count:,} parameters, more than the "
                           f"{MAX_MODULE_PARAMS:,} one module may have; use smaller values")


def instantiate(cls: type, kwargs: dict[str, Any], spec: ModuleSpec, where: str, *,
                count: bool = True) -> nn.Module:
    """Build one module; `count`: its parameters go to the encoder's `param_budget` (not for a
    module built only to learn its output shape)."""
    _check_size(cls, kwargs, spec, where)
    try:
        mod = cls(**kwargs)
    except Exception as exc:
        args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        raise CompileError(
            f"{where}: building {spec.short}({args}) failed: {type(exc).__name__}: {exc}; "
            f"valid parameters: {_param_hint(spec)}"
        ) from None
    if not isinstance(mod, nn.Module):
        raise CompileError(f"{where}: {spec.key} is not a torch.nn.Module")
    if count:
        _spend(sum(p.numel() for p in mod.parameters()), where)
    return mod


def resolve(catalog: Catalog, spec: ModuleSpec, where: str) -> type:
    try:
        return catalog.resolve(spec.key)
    except MiningError as exc:
        raise CompileError(f"{where}: {exc}") from None


# --- one module node --------------------------------------------------------------------
def check_accepts(spec: ModuleSpec, signal: Signal, where: str) -> None:
    if spec.accepts and signal.kind not in spec.accepts:
        raise ShapeError(f"{where}: {spec.short} expects {' or '.join(spec.accepts)}, got {signal}")


def wrap(mod: nn.Module, spec: ModuleSpec, inp: Signal, out_rank: int) -> nn.Module:
    """Apply the layout/tuple adapters a spec asks for."""
    if spec.layout == "channels_first" and isinstance(inp, Sequence):
        return ChannelsFirst(mod, spec.output_index, back=out_rank == 3)
    if spec.output_index is not None:
        return Pick(mod, spec.output_index)
    return mod


@contextmanager
def probing() -> Iterator[None]:
    """No gradients and one intra-op thread, for a shape probe's forward (a batch of 2): with
    torch's two threads such forwards took 3-4x longer on 2 shared cores (0.6-0.9 ms against 0.2 ms
    for a 128 -> 256 linear), and a probe's output shape does not depend on the thread count."""
    threads = torch.get_num_threads()
    if threads > 1:
        torch.set_num_threads(1)
    try:
        with torch.no_grad():
            yield
    finally:
        if threads > 1:
            torch.set_num_threads(threads)


def _probe_forward(mod: nn.Module, spec: ModuleSpec, inp: Signal) -> torch.Tensor:
    x = dummy(inp, batch=PROBE_BATCH)
    if spec.layout == "channels_first" and isinstance(inp, Sequence):
        x = x.transpose(1, 2)
    mod.eval()
    with probing():
        y = mod(x)
    if spec.output_index is not None and isinstance(y, tuple | list):
        y = y[spec.output_index]
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"returned {type(y).__name__}, expected a tensor")
    if spec.layout == "channels_first" and isinstance(inp, Sequence) and y.dim() == 3:
        y = y.transpose(1, 2)
    return y


def _meta_build(cls: type, kwargs: dict[str, Any], spec: ModuleSpec, where: str) -> nn.Module | None:
    """Build on the meta device (no weight init), count the parameters (refusing a huge module
    before any memory is allocated), then allocate uninitialized CPU memory.

    Plain meta forwards are 20-60x slower than CPU for RNNs and attention, so only the
    construction happens on meta; the forward runs on CPU with garbage weights.
    """
    try:
        with torch.device("meta"):
            mod = cls(**kwargs)
    except Exception:
        return None
    if not isinstance(mod, nn.Module):
        return None
    _refuse_huge(mod, spec, kwargs, where)
    try:  # what `Module.to_empty` does, with torch.empty: its empty_like of a meta tensor is ~9x slower
        return mod._apply(lambda t: torch.empty(t.shape, dtype=t.dtype, device="cpu"))
    except Exception:
        return None


def probe(inp: Signal, spec: ModuleSpec, cls: type, kwargs: dict[str, Any], where: str) -> Signal:
    """The output signal of `spec` built with `kwargs` for input `inp` (ShapeError/CompileError)."""
    check_accepts(spec, inp, where)
    if spec.emits == "tokens":
        raise ShapeError(f"{where}: {spec.short} emits token ids, which the compiler cannot size")
    y: torch.Tensor | None = None
    mod = _meta_build(cls, kwargs, spec, where)
    if mod is not None:
        try:
            y = _probe_forward(mod, spec, inp)
        except Exception:
            y = None  # retry with properly initialized weights before blaming the input
    if y is None:
        mod = instantiate(cls, kwargs, spec, where, count=False)
        try:
            y = _probe_forward(mod, spec, inp)
        except Exception as exc:
            raise ShapeError(
                f"{where}: {spec.short} cannot take {inp}: {type(exc).__name__}: {exc}"
            ) from None
    if y.dim() < 2 or y.shape[0] != PROBE_BATCH:
        raise ShapeError(f"{where}: {spec.short} returned shape {tuple(y.shape)}, "
                         "which lost the batch dimension")
    out = signal_of(y, where)
    if spec.emits is not None and out.kind != spec.emits:
        raise ShapeError(f"{where}: {spec.short} declares it emits {spec.emits} but returned {out}")
    return out
