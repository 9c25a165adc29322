"""One encoder family of a flat space: its categorical parameters and its module chain."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from evo_lacer.errors import ConfigError
from evo_lacer.signals import Image, Sequence, Signal, Tokens
from evo_lacer.tree import Node, ParamValue, module
from evo_lacer.zoo import SOURCES_MARKER

Choice = ParamValue
REQUIREMENTS = ("min_height", "min_width", "min_length", "max_length", "max_vocab")


@dataclass(frozen=True)
class Step:
    """One module of a family's chain: `op` (or ``$param``) and params (values or ``$param``)."""

    op: str
    params: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Family:
    """An encoder family: name, one-line doc, parameter domains, chain template, requirements."""

    name: str
    doc: str
    params: tuple[tuple[str, tuple[Choice, ...] | str], ...]
    """(name, choices) in declaration order; choices may be `SOURCES_MARKER` until resolved."""
    chain: tuple[Step, ...]
    requires: tuple[tuple[str, int], ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def domains(self) -> dict[str, tuple[Choice, ...]]:
        return {k: v for k, v in self.params if isinstance(v, tuple)}

    def fits(self, signal: Signal) -> bool:
        """Whether the family's requirements hold for `signal` (e.g. NatureCNN's 36x36)."""
        req = dict(self.requires)
        h = signal.h if isinstance(signal, Image) else None
        w = signal.w if isinstance(signal, Image) else None
        length = signal.length if isinstance(signal, Tokens) else None
        if isinstance(signal, Sequence):
            length = signal.t
        vocab = signal.vocab if isinstance(signal, Tokens) else None
        checks = [
            ("min_height", h, lambda v, r: v >= r), ("min_width", w, lambda v, r: v >= r),
            ("min_length", length, lambda v, r: v >= r), ("max_length", length, lambda v, r: v <= r),
            ("max_vocab", vocab, lambda v, r: v <= r),
        ]
        return all(value is None or key not in req or ok(value, req[key]) for key, value, ok in checks)

    def with_sources(self, sources: tuple[str, ...]) -> Family:
        """The family with every ``@sources`` domain replaced by the source names."""
        params = tuple((k, sources if v == SOURCES_MARKER else v) for k, v in self.params)
        return Family(self.name, self.doc, params, self.chain, self.requires, self.extra)

    def nodes(self, values: Mapping[str, Choice], aliases: Mapping[str, Mapping[str, str]],
              rename: Callable[[str], str] = str) -> list[Node]:
        """The module nodes for chosen `values` (ops through `aliases`, then `rename`)."""
        out = []
        for step in self.chain:
            op = step.op
            if op.startswith("$"):
                key = op[1:]
                op = str(aliases.get(key, {}).get(str(values[key]), values[key]))
            params = {k: values[v[1:]] if isinstance(v, str) and v.startswith("$") else v
                      for k, v in step.params}
            out.append(module(rename(op), **params))
        return out


def _domain(value: object, where: str) -> tuple[Choice, ...] | str:
    if value == SOURCES_MARKER:
        return SOURCES_MARKER
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: a domain must be a non-empty list or {SOURCES_MARKER!r}, got {value!r}")
    for v in value:
        if not (v is None or isinstance(v, bool | int | float | str)):
            raise ConfigError(f"{where}: choice {v!r} is not a JSON scalar")
    return tuple(value)


def family_from_dict(name: str, data: object, where: str) -> Family:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: a family must be a JSON object, got {type(data).__name__}")
    unknown = set(data) - {"doc", "params", "chain", "requires"}
    if unknown:
        raise ConfigError(f"{where}: unknown fields {sorted(unknown)}; use doc, params, chain, requires")
    raw_params = data.get("params", {})
    if not isinstance(raw_params, dict):
        raise ConfigError(f"{where}.params: must be an object of name -> list of choices")
    if "family" in raw_params:
        raise ConfigError(f"{where}.params: 'family' is reserved")
    params = tuple((str(k), _domain(v, f"{where}.params.{k}")) for k, v in raw_params.items())
    raw_chain = data.get("chain")
    if not isinstance(raw_chain, list) or not raw_chain:
        raise ConfigError(f"{where}.chain: must be a non-empty list of steps")
    steps = []
    for i, step in enumerate(raw_chain):
        if not isinstance(step, dict) or not isinstance(step.get("op"), str):
            raise ConfigError(f"{where}.chain[{i}]: a step is an object with an 'op' string")
        step_params = step.get("params", {})
        if not isinstance(step_params, dict):
            raise ConfigError(f"{where}.chain[{i}].params: must be an object")
        values = (step["op"], *step_params.values())
        refs = [v[1:] for v in values if isinstance(v, str) and v.startswith("$")]
        missing = [r for r in refs if r not in raw_params]
        if missing:
            raise ConfigError(f"{where}.chain[{i}]: refers to undeclared parameters {missing}")
        steps.append(Step(step["op"], tuple(sorted(step_params.items()))))
    requires = data.get("requires", {})
    if not isinstance(requires, dict) or any(k not in REQUIREMENTS for k in requires):
        raise ConfigError(f"{where}.requires: keys must be among {REQUIREMENTS}, got {requires!r}")
    return Family(name, str(data.get("doc", "")), params, tuple(steps),
                  tuple(sorted((str(k), int(v)) for k, v in requires.items())))
