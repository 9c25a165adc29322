"""Resolve base classes across the mined files, decide which classes are nn.Modules, and work
out what each class inherits (constructor parameters, forward signature, declarations).

A base written in a file is resolved through that file's imports (aliases, relative imports,
star imports), then against the classes of the same file, then by class name among all mined
classes (preferring the closest module path). Nothing is imported.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evo_lacer.zoo._ast import ClassInfo, FileInfo
from evo_lacer.zoo._spec import ParamSpec

ROOT_PATHS = frozenset({"torch.nn.Module", "torch.nn.modules.module.Module", "torch.nn.modules.Module"})
# Written forms accepted as nn.Module when a file's imports do not say what they are.
MODULE_ROOTS = frozenset({"nn.Module", "torch.nn.Module", "Module", "torch.nn.modules.module.Module"})
_MAX_DEPTH = 64


@dataclass(frozen=True)
class Found:
    """One class statement with where it was found."""

    info: ClassInfo
    module: str
    file: str
    file_hash: str
    import_root: str
    source: FileInfo

    @property
    def key(self) -> str:
        return f"{self.module}.{self.info.qualname}"


def absolute(target: str, module: str, is_package: bool) -> str:
    """Turn a relative import target (``.module.Module``) into a dotted path from `module`."""
    if not target.startswith("."):
        return target
    level = len(target) - len(target.lstrip("."))
    rest = target[level:]
    parts = module.split(".") if is_package else module.split(".")[:-1]
    parts = parts[: max(0, len(parts) - (level - 1))]
    return ".".join([*parts, rest] if rest else parts)


class Hierarchy:
    """The mined classes with their resolved bases."""

    def __init__(self, found: list[Found]) -> None:
        self.found = found
        self._by_key: dict[str, Found] = {}
        self._by_name: dict[str, list[Found]] = {}
        for f in found:
            self._by_key.setdefault(f.key, f)
            self._by_name.setdefault(f.info.name, []).append(f)
        self._parents: dict[int, list[Found | str | None]] = {}
        self._is_module: dict[int, bool] = {}
        self.missing: set[str] = set()
        """Dotted names of bases that matched no mined class (filled as bases are resolved)."""

    # Base resolution -------------------------------------------------------------------
    def _candidates(self, f: Found, ref: str) -> list[str]:
        head, _, rest = ref.partition(".")
        src = f.source
        is_package = Path(f.file).stem == "__init__"
        if head in src.imports:
            target = absolute(src.imports[head], f.module, is_package)
            return [f"{target}.{rest}" if rest else target]
        scope = f.info.qualname.split(".")[:-1]
        for depth in range(len(scope), -1, -1):
            local = ".".join([*scope[:depth], ref])
            key = f"{f.module}.{local}" if f.module else local
            if key in self._by_key:
                return [key]
        stars = [absolute(s, f.module, is_package) for s in src.star_imports]
        return [f"{s}.{ref}" if s else ref for s in stars] + [ref]

    def _lookup(self, f: Found, full: str) -> Found | None:
        hit = self._by_key.get(full)
        if hit is not None:
            return hit if hit is not f else None
        named = [c for c in self._by_name.get(full.rsplit(".", 1)[-1], []) if c is not f]
        if not named:
            return None
        parts = full.split(".")

        def shared(c: Found) -> int:
            n = 0
            for a, b in zip(c.module.split("."), parts):
                if a != b:
                    break
                n += 1
            return n

        return max(named, key=lambda c: (c.module == f.module, shared(c)))

    def parents(self, f: Found) -> list[Found | str | None]:
        """Each base of `f`: a mined class, ``"root"`` for nn.Module, or None (unknown)."""
        cached = self._parents.get(id(f))
        if cached is not None:
            return cached
        out: list[Found | str | None] = []
        for ref in f.info.base_refs:
            if not ref:
                out.append(None)
                continue
            resolved: Found | str | None = None
            for full in self._candidates(f, ref):
                if full in ROOT_PATHS:
                    resolved = "root"
                    break
                hit = self._lookup(f, full)
                if hit is not None:
                    resolved = hit
                    break
            if resolved is None:
                if ref in MODULE_ROOTS and ref.split(".")[0] not in f.source.imports:
                    resolved = "root"
                else:
                    self.missing.update(self._candidates(f, ref)[:1])
            out.append(resolved)
        self._parents[id(f)] = out
        return out

    def needs_torch(self) -> bool:
        """Whether some base names a torch class that was not mined (e.g. ``nn.Linear``)."""
        for f in self.found:
            self.parents(f)
        return any(m.startswith("torch.nn.") for m in self.missing)

    def is_module(self, f: Found) -> bool:
        """Whether `f` derives, directly or through mined classes, from nn.Module."""
        known = self._is_module.get(id(f))
        if known is not None:
            return known
        self._is_module[id(f)] = False  # guards against cycles
        result = False
        for p in self.parents(f):
            if p == "root" or (isinstance(p, Found) and self.is_module(p)):
                result = True
                break
        self._is_module[id(f)] = result
        return result

    def _module_parents(self, f: Found) -> list[Found]:
        return [p for p in self.parents(f) if isinstance(p, Found) and self.is_module(p)]

    # Inheritance -----------------------------------------------------------------------
    def init_params(self, f: Found, depth: int = 0) -> tuple[ParamSpec, ...]:
        """Constructor parameters, with those of a base for ``(*args, **kwargs)`` forwarders."""
        info = f.info
        if info.init_params is not None and info.init_forward is None:
            return info.init_params
        parents = self._module_parents(f)
        if not parents or depth > _MAX_DEPTH:
            return info.init_params or ()
        base = self.init_params(parents[0], depth + 1)
        if info.init_forward is None:
            return base
        leading, keywords = info.init_forward
        out: list[ParamSpec] = []
        for p in base:
            if p.kind == "positional" and leading > 0:
                leading -= 1
                continue
            if p.name in keywords:
                continue
            out.append(p)
        return tuple(out)

    def forward(self, f: Found, depth: int = 0) -> tuple[tuple[str, ...] | None, int | None]:
        """(forward parameter names, number required), from the nearest class defining it."""
        if f.info.forward_params is not None:
            return f.info.forward_params, f.info.forward_required
        if depth > _MAX_DEPTH:
            return None, None
        for p in self._module_parents(f):
            got = self.forward(p, depth + 1)
            if got[0] is not None:
                return got
        return None, None

    def declared(self, f: Found, depth: int = 0) -> dict[str, object]:
        """Declared class attributes, a subclass's overriding its bases'."""
        merged: dict[str, object] = {}
        if depth < _MAX_DEPTH:
            for p in reversed(self._module_parents(f)):
                merged.update(self.declared(p, depth + 1))
        merged.update(f.info.declared)
        return merged

    def abstract(self, f: Found) -> bool:
        """Private (``_Name`` anywhere in the qualname) or declaring an abstract method."""
        return any(part.startswith("_") for part in f.info.qualname.split(".")) or f.info.is_abstract
