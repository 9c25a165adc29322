"""The miner: finds every ``nn.Module`` subclass in source folders by AST, without importing.

A class is a module when one of its bases is ``nn.Module`` / ``torch.nn.Module`` / ``Module``
or, transitively, another mined module class (found across all files given). A file that does
not parse is reported and skipped; the rest is mined.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from evo_lacer.errors import MiningError
from evo_lacer.zoo._ast import ClassInfo, read_classes
from evo_lacer.zoo._cache import ParseCache
from evo_lacer.zoo._catalog import Catalog
from evo_lacer.zoo._heuristics import guess_domain, guess_kinds
from evo_lacer.zoo._spec import BINDINGS, FOREIGN_BINDINGS, SOURCES_MARKER, ModuleSpec, ParamSpec

MODULE_ROOTS = frozenset({"nn.Module", "torch.nn.Module", "Module", "torch.nn.modules.module.Module"})
SIGNAL_KINDS = ("vector", "sequence", "image", "tokens")


@dataclass(frozen=True)
class MiningReport:
    """The outcome of mining: the catalog, files that failed (path, reason), and cost."""

    catalog: Catalog
    errors: tuple[tuple[str, str], ...]
    files: int
    seconds: float
    cached_files: int = 0


@dataclass(frozen=True)
class _Found:
    info: ClassInfo
    module: str
    file: str
    file_hash: str
    import_root: str


def import_path(file: Path) -> tuple[str, str]:
    """(dotted module path, folder to put on sys.path) for a source file."""
    parts = [] if file.stem == "__init__" else [file.stem]
    folder = file.parent
    while (folder / "__init__.py").exists():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts), str(folder)


def _files(paths: Iterable[str | Path]) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*.py") if "__pycache__" not in f.parts))
        elif p.is_file() and p.suffix == ".py":
            out.append(p)
        else:
            raise MiningError(f"mining path {str(p)!r} is neither a .py file nor a folder")
    return out


def _module_classes(found: list[_Found]) -> list[_Found]:
    """Those classes that derive, directly or through other found classes, from nn.Module."""
    names: set[str] = set()
    changed = True
    while changed:
        changed = False
        for f in found:
            if f.info.name in names:
                continue
            for base in f.info.bases:
                last = base.rsplit(".", 1)[-1]
                if base in MODULE_ROOTS or (last in names and last != f.info.name):
                    names.add(f.info.name)
                    changed = True
                    break
    return [f for f in found if f.info.name in names and f.info.bases]


def _inherited(f: _Found, by_name: dict[str, _Found], attr: str, seen: set[str] | None = None) -> object:
    value = getattr(f.info, attr)
    if value is not None:
        return value
    seen = seen or {f.info.qualname}
    for base in f.info.bases:
        parent = by_name.get(base.rsplit(".", 1)[-1])
        if parent is not None and parent.info.qualname not in seen:
            seen.add(parent.info.qualname)
            got = _inherited(parent, by_name, attr, seen)
            if got is not None:
                return got
    return None


def _declared(f: _Found, by_name: dict[str, _Found], depth: int = 0) -> dict[str, object]:
    merged: dict[str, object] = {}
    if depth < 20:
        for base in reversed(f.info.bases):
            parent = by_name.get(base.rsplit(".", 1)[-1])
            if parent is not None and parent is not f:
                merged.update(_declared(parent, by_name, depth + 1))
    merged.update(f.info.declared)
    return merged


def _spec(f: _Found, by_name: dict[str, _Found]) -> ModuleSpec:
    info = f.info
    params: tuple[ParamSpec, ...] = _inherited(f, by_name, "init_params") or ()  # type: ignore[assignment]
    forward: tuple[str, ...] = _inherited(f, by_name, "forward_params") or ()  # type: ignore[assignment]
    declared = _declared(f, by_name)
    is_declared = "accepts" in declared
    space = declared.get("search_space") if isinstance(declared.get("search_space"), dict) else {}
    assert isinstance(space, dict)
    bind_names = BINDINGS if is_declared else {**FOREIGN_BINDINGS, **BINDINGS}
    out_params = []
    for p in params:
        domain = space.get(p.name)
        if isinstance(domain, list | tuple):
            domain = tuple(domain)
        elif domain != SOURCES_MARKER:
            domain = None if is_declared else guess_domain(p)
        out_params.append(
            ParamSpec(p.name, p.annotation, p.has_default, p.default, p.default_text, p.kind,
                      domain, bind_names.get(p.name))
        )
    if is_declared:
        raw_accepts = declared.get("accepts")
        accepts = tuple(raw_accepts) if isinstance(raw_accepts, list | tuple) else (raw_accepts,)
        emits = declared.get("emits")
        layout = declared.get("layout", "channels_last")
        output_index = declared.get("output_index")
        fixed_raw = declared.get("fixed_params", {})
        fixed = tuple(sorted(fixed_raw.items())) if isinstance(fixed_raw, dict) else ()
        kinds_source = "declared"
    else:
        g = guess_kinds(info.name, tuple(out_params), forward)
        accepts, emits, layout, output_index, fixed = g.accepts, g.emits, g.layout, g.output_index, g.fixed
        kinds_source = "heuristic" if accepts else "unknown"
    bad = [k for k in accepts if k not in SIGNAL_KINDS]
    if bad or (emits is not None and emits not in SIGNAL_KINDS):
        raise MiningError(
            f"{f.file}:{info.lineno}: class {info.qualname} declares unknown signal kinds "
            f"accepts={accepts!r} emits={emits!r}; use {SIGNAL_KINDS}"
        )
    role = "fusion" if any(p.binding == "in_dims" for p in out_params) else "block"
    private = any(part.startswith("_") for part in info.qualname.split("."))
    return ModuleSpec(
        name=info.name,
        module=f.module,
        qualname=info.qualname,
        params=tuple(out_params),
        forward_params=forward,
        accepts=accepts,  # type: ignore[arg-type]
        emits=emits,  # type: ignore[arg-type]
        role=role,  # type: ignore[arg-type]
        layout=layout,  # type: ignore[arg-type]
        output_index=output_index,  # type: ignore[arg-type]
        kinds_source=kinds_source,  # type: ignore[arg-type]
        docstring=info.docstring,
        source_file=f.file,
        source_hash=f.file_hash,
        lineno=info.lineno,
        bases=info.bases,
        fixed=fixed,
        abstract=private or info.is_abstract,
        extra={"import_root": f.import_root},
    )


def mine(paths: Sequence[str | Path], cache: ParseCache | None = None) -> MiningReport:
    """Mine every nn.Module subclass under `paths` (files or folders) into a Catalog."""
    start = time.perf_counter()
    files = _files(paths)
    errors: list[tuple[str, str]] = []
    found: list[_Found] = []
    cached = 0
    for file in files:
        try:
            data = file.read_bytes()
        except OSError as exc:
            errors.append((str(file), f"cannot read: {exc}"))
            continue
        digest = hashlib.sha256(data).hexdigest()
        classes = cache.get(digest) if cache is not None else None
        if classes is None:
            try:
                classes = read_classes(data.decode("utf-8", errors="replace"), str(file))
            except SyntaxError as exc:
                errors.append((str(file), f"syntax error at line {exc.lineno}: {exc.msg}"))
                continue
            except (ValueError, RecursionError) as exc:
                errors.append((str(file), f"cannot parse: {exc}"))
                continue
            if cache is not None:
                cache.put(digest, classes)
        else:
            cached += 1
        module, root = import_path(file)
        found.extend(_Found(c, module, str(file), digest, root) for c in classes)
    modules = _module_classes(found)
    by_name: dict[str, _Found] = {}
    for f in modules:
        by_name.setdefault(f.info.name, f)
    specs: list[ModuleSpec] = []
    for f in modules:
        try:
            specs.append(_spec(f, by_name))
        except MiningError as exc:
            errors.append((f.file, str(exc)))
    return MiningReport(Catalog(tuple(specs)), tuple(errors), len(files),
                        time.perf_counter() - start, cached)
