"""LACER's flat per-source search space, as data: one encoder family per source plus a fusion.

A configuration is a JSON object with one entry per source and one for the fusion::

    {"ego": {"family": "mlp", "activation": "gelu", "width": 64, "ratio": 2, "depth": 1},
     "history": {"family": "attention", "heads": 4, ...},
     "fusion": {"family": "concat", "width": 128, "depth": 1, "activation": "relu"}}

The `tpe`, `lacer`, `genius` and `random` strategies search it; `to_tree` turns a
configuration into an encoder tree the compiler builds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from evo_lacer.compile import as_sources
from evo_lacer.errors import ConfigError
from evo_lacer.flat._family import Choice, Family, family_from_dict
from evo_lacer.signals import SIGNAL_KINDS, Signal
from evo_lacer.tree import Node, branch, encoder, fusion
from evo_lacer.zoo import Catalog, builtin_catalog

FORMAT = "evo-lacer/flat-space"
FUSION = "fusion"
FAMILY = "family"


def default_space_path() -> Path:
    """``trees/lacer_space.json`` of this checkout."""
    return Path(__file__).resolve().parents[2] / "trees" / "lacer_space.json"


@dataclass(frozen=True)
class FlatSpace:
    """Per signal kind, the families a source may use; the fusion families; op aliases.

    `sources` is empty for the template (as loaded) and set by `for_sources`, which also
    drops families a source cannot use and resolves ``@sources`` domains. `sample`,
    `suggest`, `to_tree`, `validate` and `json_schema` need the sub-space for sources.
    """

    kinds: dict[str, dict[str, Family]]
    fusion: dict[str, Family]
    aliases: dict[str, dict[str, str]] = field(default_factory=dict)
    name: str = "flat"
    description: str = ""
    sources: dict[str, Signal] = field(default_factory=dict)
    per_source: dict[str, dict[str, Family]] = field(default_factory=dict)

    # --- loading -----------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path | None = None) -> FlatSpace:
        """Read a space file (default: ``trees/lacer_space.json``)."""
        p = Path(path) if path is not None else default_space_path()
        if not p.is_file():
            raise ConfigError(f"flat space file {str(p)!r} does not exist")
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{p}: not valid JSON ({exc})") from None
        return cls.from_dict(data, str(p))

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> FlatSpace:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ConfigError(f"{source}: not a flat space (needs \"format\": {FORMAT!r})")
        raw_kinds = data.get("kinds", {})
        if not isinstance(raw_kinds, dict) or not raw_kinds:
            raise ConfigError(f"{source}: 'kinds' must map signal kinds to families")
        bad = sorted(set(raw_kinds) - set(SIGNAL_KINDS))
        if bad:
            raise ConfigError(f"{source}: unknown signal kinds {bad}; use {SIGNAL_KINDS}")
        kinds = {
            kind: {n: family_from_dict(n, f, f"{source}: kinds.{kind}.{n}") for n, f in fams.items()}
            for kind, fams in raw_kinds.items()
        }
        raw_fusion = data.get("fusion", {})
        fusions = {n: family_from_dict(n, f, f"{source}: fusion.{n}") for n, f in raw_fusion.items()}
        if not fusions:
            raise ConfigError(f"{source}: needs at least one fusion family")
        for n, fam in fusions.items():
            if len(fam.chain) != 1:
                raise ConfigError(f"{source}: fusion.{n} must have exactly one step")
        aliases = data.get("aliases", {})
        if not isinstance(aliases, dict):
            raise ConfigError(f"{source}: 'aliases' must be an object")
        return cls(kinds, fusions, aliases, str(data.get("name", "flat")), str(data.get("description", "")))

    def for_sources(self, signals: Mapping[str, Signal] | Any) -> FlatSpace:
        """The sub-space for an observation: a gymnasium space or source name -> Signal."""
        if not isinstance(signals, Mapping) or not all(hasattr(s, "kind") for s in signals.values()):
            signals = {k: s.signal for k, s in as_sources(signals).items()}
        names = tuple(sorted(signals))
        if FUSION in names or "head" in names:
            raise ConfigError(f"source names 'fusion' and 'head' are reserved; got {list(names)}")
        per_source: dict[str, dict[str, Family]] = {}
        for name in names:
            sig = signals[name]
            fams = {n: f.with_sources(names) for n, f in self.kinds.get(sig.kind, {}).items() if f.fits(sig)}
            if not fams:
                raise ConfigError(
                    f"flat space {self.name!r} has no family for source {name!r} ({sig}); "
                    f"it covers kinds {sorted(self.kinds)}"
                )
            per_source[name] = fams
        fusion_fams = {n: f.with_sources(names) for n, f in self.fusion.items()}
        return FlatSpace(self.kinds, fusion_fams, self.aliases, self.name, self.description,
                         {n: signals[n] for n in names}, per_source)

    # --- the space ---------------------------------------------------------------------
    def _entries(self) -> dict[str, dict[str, Family]]:
        if not self.sources:
            raise ConfigError("this flat space is a template; call .for_sources(observation) first")
        return {**self.per_source, FUSION: self.fusion}

    def size(self) -> int:
        """The number of distinct configurations."""
        total = 1
        for fams in self._entries().values():
            total *= sum(int(np.prod([len(d) for d in f.domains.values()])) for f in fams.values())
        return total

    def sample(self, rng: np.random.Generator | int | None = None) -> dict[str, dict[str, Choice]]:
        """A uniformly random family per entry, then uniform parameter choices."""
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        config: dict[str, dict[str, Choice]] = {}
        for entry, fams in self._entries().items():
            names = list(fams)
            fam = fams[names[int(gen.integers(len(names)))]]
            values = {k: d[int(gen.integers(len(d)))] for k, d in fam.domains.items()}
            config[entry] = {FAMILY: fam.name, **values}
        return config

    def suggest(self, trial: Any) -> dict[str, dict[str, Choice]]:
        """A configuration from an Optuna trial: categorical suggestions only, with fixed
        choice lists (``"<entry>.family"``, then ``"<entry>.<family>.<param>"``)."""
        return {entry: self.suggest_entry(entry, trial) for entry in self._entries()}

    def entries(self) -> tuple[str, ...]:
        """The configuration's entries: the sources, then ``"fusion"``."""
        return tuple(self._entries())

    def suggest_entry(self, entry: str, trial: Any) -> dict[str, Choice]:
        """One entry of `suggest`: its family, then that family's parameters."""
        fams = self._entries()[entry]
        name = trial.suggest_categorical(f"{entry}.{FAMILY}", list(fams))
        fam = fams[name]
        values = {k: trial.suggest_categorical(f"{entry}.{name}.{k}", list(d))
                  for k, d in fam.domains.items()}
        return {FAMILY: name, **values}

    def latin_sample(self, n: int, rng: np.random.Generator | int | None = None) -> list[dict[str, Any]]:
        """`n` space-filling configurations: a Latin hypercube over the categorical choices, so
        each choice of every decision (family per entry, then the family's parameters) appears
        about equally often across the `n` designs (conditional decisions are stratified over
        the designs that reach them). Duplicates are replaced by random draws where possible."""
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        strata: dict[str, list[int]] = {}
        used: dict[str, int] = {}

        class _Latin:
            def suggest_categorical(self, name: str, choices: Any) -> Any:
                options = list(choices)
                if name not in strata:  # one stratum per design, shuffled
                    strata[name] = [int(v) for v in gen.permutation(n)]
                    used[name] = 0
                k = strata[name][used[name] % n]
                used[name] += 1
                return options[min(len(options) - 1, int((k + gen.random()) * len(options) / n))]

        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for _ in range(n):
            config = self.suggest(_Latin())
            for _ in range(16):
                if json.dumps(config, sort_keys=True, default=str) not in seen:
                    break
                config = self.sample(gen)
            seen.add(json.dumps(config, sort_keys=True, default=str))
            out.append(config)
        return out

    def validate(self, config: Any) -> dict[str, dict[str, Choice]]:
        """Check a configuration; returns it normalized (values as the domain spells them)."""
        entries = self._entries()
        if not isinstance(config, Mapping):
            raise ConfigError(f"a configuration is a JSON object, got {type(config).__name__}")
        missing = [e for e in entries if e not in config]
        extra = [str(k) for k in config if k not in entries]
        if missing or extra:
            raise ConfigError(
                f"configuration entries must be exactly {list(entries)}; "
                f"missing {missing}, unexpected {extra}"
            )
        out: dict[str, dict[str, Choice]] = {}
        for entry, fams in entries.items():
            given = config[entry]
            if not isinstance(given, Mapping):
                raise ConfigError(f"{entry}: expected an object with a 'family', got {given!r}")
            fam_name = given.get(FAMILY)
            if fam_name not in fams:
                raise ConfigError(f"{entry}: family {fam_name!r} is not one of {list(fams)}")
            fam = fams[str(fam_name)]
            domains = fam.domains
            unknown = sorted(str(k) for k in given if k != FAMILY and k not in domains)
            if unknown:
                raise ConfigError(f"{entry} ({fam.name}): unknown parameters {unknown}; "
                                  f"parameters: {list(domains)}")
            values: dict[str, Choice] = {FAMILY: fam.name}
            for key, domain in domains.items():
                if key not in given:
                    raise ConfigError(
                        f"{entry} ({fam.name}): missing parameter {key!r}; choices {list(domain)}"
                    )
                values[key] = _match(given[key], domain, f"{entry} ({fam.name}).{key}")
            out[entry] = values
        return out

    def to_tree(self, config: Any, catalog: Catalog | None = None) -> Node:
        """The encoder tree of a configuration (ops by short name when unique in the catalog)."""
        valid = self.validate(config)
        branches = [self.entry_tree(name, valid[name], catalog) for name in self.sources]
        return encoder(branches, self.entry_tree(FUSION, valid[FUSION], catalog))

    def entry_tree(self, entry: str, values: Mapping[str, Choice], catalog: Catalog | None = None) -> Node:
        """The subtree of one entry's values: a source's branch, or the fusion node."""
        cat = catalog if catalog is not None else builtin_catalog()
        rename = partial(_tree_name, cat)
        fam = self._entries()[entry][str(values[FAMILY])]
        nodes = fam.nodes(values, self.aliases, rename)
        if entry == FUSION:
            return fusion(str(nodes[0].op), **nodes[0].param_dict)
        return branch(entry, *nodes)

    # --- text for people and LLMs ------------------------------------------------------
    def describe(self) -> str:
        """The space as text: per source its signal and families with their choices."""
        lines = [f"Flat encoder space {self.name!r}: {self.description}".rstrip()]
        for entry, fams in self._entries().items():
            head = f"source {entry!r} ({self.sources[entry]})" if entry != FUSION else "fusion of the sources"
            lines.append(f"{head}: choose one family")
            for fam in fams.values():
                params = "; ".join(f"{k} in {{{', '.join(map(_fmt, d))}}}" for k, d in fam.domains.items())
                lines.append(f"  - {fam.name}: {fam.doc}" + (f" [{params}]" if params else ""))
        entries = ", ".join(f'"{e}": {{"family": ..., <its parameters>}}' for e in self._entries())
        lines.append(f"Answer with one JSON object: {{{entries}}}")
        return "\n".join(lines)

    def json_schema(self) -> dict[str, Any]:
        """A JSON schema of valid configurations (for schema-constrained LLM output)."""
        props: dict[str, Any] = {}
        for entry, fams in self._entries().items():
            options = []
            for fam in fams.values():
                fprops: dict[str, Any] = {FAMILY: {"const": fam.name}}
                fprops.update({k: {"enum": list(d)} for k, d in fam.domains.items()})
                options.append({"type": "object", "properties": fprops, "required": list(fprops),
                                "additionalProperties": False})
            props[entry] = options[0] if len(options) == 1 else {"anyOf": options}
        return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


def _tree_name(catalog: Catalog, op: str) -> str:
    """How trees name an op: its short name when unique in the catalog, else its full key (the
    transformations' convention, so equal architectures hash equal); unknown names stay."""
    if op not in catalog:
        return op
    spec = catalog.lookup(op)
    return spec.short if spec.short in catalog and catalog.lookup(spec.short).key == spec.key else spec.key


def _fmt(v: Choice) -> str:
    return v if isinstance(v, str) else json.dumps(v)


def _match(value: Any, domain: tuple[Choice, ...], where: str) -> Choice:
    for choice in domain:
        if isinstance(choice, bool) != isinstance(value, bool):
            continue
        if value == choice:
            return choice
    raise ConfigError(f"{where}: {value!r} is not one of the choices {list(domain)}")


def seed_tree(observation: Mapping[str, Signal] | Any, path: str | Path | None = None,
              catalog: Catalog | None = None) -> Node:
    """A minimal seed encoder for any observation (``trees/generic_seed.json``: a flat space
    with a single configuration, so the seed is deterministic)."""
    p = Path(path) if path is not None else default_space_path().with_name("generic_seed.json")
    space = FlatSpace.load(p).for_sources(observation)
    return space.to_tree(space.sample(0), catalog)
