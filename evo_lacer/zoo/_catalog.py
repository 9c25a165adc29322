"""The catalog: mined module specs, looked up by key or short name, resolved by import path."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from evo_lacer.errors import MiningError
from evo_lacer.signals import SignalKind
from evo_lacer.tree import ParamValue
from evo_lacer.zoo._spec import ModuleSpec


@dataclass(frozen=True)
class Catalog(Mapping[str, ModuleSpec]):
    """An immutable collection of `ModuleSpec`s keyed by ``module.qualname``."""

    specs: tuple[ModuleSpec, ...] = ()
    _by_key: dict[str, ModuleSpec] = field(default_factory=dict, init=False, repr=False, compare=False)
    _by_short: dict[str, list[ModuleSpec]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for spec in self.specs:
            self._by_key[spec.key] = spec
            self._by_short.setdefault(spec.name, []).append(spec)
            if spec.short != spec.name:
                self._by_short.setdefault(spec.short, []).append(spec)

    # Mapping interface -----------------------------------------------------------------
    def __getitem__(self, key: str) -> ModuleSpec:
        return self.lookup(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_key)

    def __len__(self) -> int:
        return len(self._by_key)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        return key in self._by_key or len(self._by_short.get(key, [])) == 1

    def lookup(self, name: str) -> ModuleSpec:
        """A spec by full key (``modules_zoo.vector.MLPBlock``) or unique short name."""
        if name in self._by_key:
            return self._by_key[name]
        hits = self._by_short.get(name, [])
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            keys = sorted(h.key for h in hits)
            raise MiningError(f"module name {name!r} is ambiguous in the catalog; use one of {keys}")
        close = sorted(k for k in self._by_short if k.lower().startswith(name.lower()[:3]))[:8]
        hint = f"; similar names: {close}" if close else ""
        raise MiningError(
            f"module {name!r} is not in the catalog ({len(self)} modules){hint}. "
            "Mine the folder that defines it (`evo-lacer mine PATH`) and pass the catalog in."
        )

    # Queries ---------------------------------------------------------------------------
    def usable(self) -> list[ModuleSpec]:
        """Specs that may be placed in trees (not abstract/private)."""
        return [s for s in self.specs if not s.abstract]

    def blocks(self, accepting: SignalKind | None = None) -> list[ModuleSpec]:
        """Usable non-fusion modules, optionally only those that take `accepting` signals."""
        return [
            s
            for s in self.usable()
            if s.role == "block" and (accepting is None or accepting in s.accepts)
        ]

    def fusions(self) -> list[ModuleSpec]:
        return [s for s in self.usable() if s.role == "fusion"]

    def defaults(self, name: str) -> dict[str, ParamValue]:
        """Literal defaults of `name`'s unbound parameters ({} for unknown modules)."""
        try:
            return self.lookup(name).defaults()
        except MiningError:
            return {}

    def canonical_name(self, name: str) -> str:
        """The full key of `name` (a short name or a key); unknown names are kept as given."""
        try:
            return self.lookup(name).key
        except MiningError:
            return name

    def merged(self, other: Iterable[ModuleSpec]) -> Catalog:
        """A new catalog with `other`'s specs added (same key: `other` wins)."""
        keep = {s.key: s for s in self.specs}
        keep.update({s.key: s for s in other})
        return Catalog(tuple(keep.values()))

    # JSON --------------------------------------------------------------------------------
    def to_json(self) -> str:
        """The catalog as JSON text (see `evo_lacer.zoo.catalog_to_json`)."""
        from evo_lacer.zoo._io import catalog_to_json

        return catalog_to_json(self)

    @classmethod
    def from_json(cls, text: str, source: str = "<string>") -> Catalog:
        """Parse `to_json` output; `source` (a file name) is named in MiningError messages."""
        from evo_lacer.zoo._io import catalog_from_json

        return catalog_from_json(text, source)

    def resolve(self, name: str) -> type:
        """Import the class of `name` by its recorded import path (never evaluates text)."""
        spec = self.lookup(name)
        root = spec.extra.get("import_root")
        if root and importlib.util.find_spec(spec.module.split(".")[0]) is None:
            # A user's folder mined by path: make it importable for building its modules.
            sys.path.append(str(root))
        try:
            obj: object = importlib.import_module(spec.module)
        except Exception as exc:
            raise MiningError(
                f"cannot import module {spec.module!r} for {spec.key} "
                f"(from {spec.source_file or 'unknown file'}): {exc}. "
                "Make the folder importable (install it or add it to PYTHONPATH)."
            ) from exc
        for part in spec.qualname.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                raise MiningError(f"{spec.module!r} has no attribute {spec.qualname!r} (source changed?)")
        import torch

        if not isinstance(obj, type) or not issubclass(obj, torch.nn.Module):
            # checked before anything calls it: a planted catalog naming e.g. subprocess.Popen stops here
            raise MiningError(
                f"{spec.key} (from {spec.source_file or 'the catalog'}) is not a torch.nn.Module subclass "
                f"but {obj!r}; a catalog may only name nn.Module classes -- re-mine the source with "
                "`evo-lacer mine`, or remove this entry")
        return obj
