"""The miner: finds every ``nn.Module`` subclass in source folders by AST, without importing.

A class is a module when one of its bases resolves to ``torch.nn.Module`` or, transitively, to
another mined module class (found across all files given; see `_resolve`). A file that cannot
be read or parsed (syntax error, binary content, pathological nesting) is reported in
`MiningReport.errors` and skipped; the rest is mined.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from evo_lacer.errors import MiningError
from evo_lacer.signals import SIGNAL_KINDS
from evo_lacer.zoo._ast import FileInfo, read_source
from evo_lacer.zoo._cache import ParseCache
from evo_lacer.zoo._catalog import Catalog
from evo_lacer.zoo._heuristics import guess_domain, guess_kinds
from evo_lacer.zoo._resolve import MODULE_ROOTS, Found, Hierarchy
from evo_lacer.zoo._spec import BINDINGS, FOREIGN_BINDINGS, SOURCES_MARKER, ModuleSpec, ParamSpec

__all__ = ["MODULE_ROOTS", "MiningReport", "import_path", "mine"]

_SKIP_DIRS = frozenset({"__pycache__", "node_modules", "site-packages"})


@dataclass(frozen=True)
class MiningReport:
    """The outcome of mining: the catalog, files that failed (path, reason), and cost."""

    catalog: Catalog
    errors: tuple[tuple[str, str], ...]
    files: int
    seconds: float
    cached_files: int = 0


def import_path(file: Path) -> tuple[str, str]:
    """(dotted module path, folder to put on sys.path) for a source file."""
    parts = [] if file.stem == "__init__" else [file.stem]
    folder = file.parent
    while (folder / "__init__.py").exists():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts), str(folder)


def _files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The .py files under `paths`; below a given folder, hidden and vendored folders are skipped."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for f in sorted(p.rglob("*.py")):
                inner = f.relative_to(p).parts[:-1]
                if not any(part.startswith(".") or part in _SKIP_DIRS for part in inner):
                    out.append(f)
        elif p.suffix == ".py" and (p.is_file() or p.is_symlink()):
            out.append(p)
        else:
            raise MiningError(f"mining path {str(p)!r} is neither a .py file nor a folder")
    return out


def _path_list(paths: object) -> list[str | os.PathLike[str]]:
    """`paths` as a list: one str / PathLike is one path (not its characters)."""
    if isinstance(paths, str | os.PathLike):
        return [paths]
    items = [paths] if isinstance(paths, bytes) or not isinstance(paths, Iterable) else list(paths)
    out: list[str | os.PathLike[str]] = []
    for item in items:
        if not isinstance(item, str | os.PathLike):
            raise MiningError(f"mining paths: {item!r} ({type(item).__name__}) is not a path; pass a .py "
                              "file or folder as a str or pathlib.Path, or a list of them")
        out.append(item)
    return out


def _read(file: Path, data: bytes) -> FileInfo:
    if b"\x00" in data:
        raise ValueError("binary file (contains NUL bytes), not Python source")
    try:
        text = importlib.util.decode_source(data)
    except (UnicodeDecodeError, LookupError, SyntaxError) as exc:
        raise ValueError(f"not decodable as Python source text: {exc}") from None
    return read_source(text, str(file))


def _kinds(declared: dict[str, object], f: Found, where: str) -> tuple:
    raw_accepts = declared.get("accepts")
    accepts = tuple(raw_accepts) if isinstance(raw_accepts, list | tuple) else (raw_accepts,)
    emits = declared.get("emits")
    bad = [k for k in accepts if k not in SIGNAL_KINDS]
    if bad or (emits is not None and emits not in SIGNAL_KINDS):
        raise MiningError(
            f"{where}: class {f.info.qualname} declares unknown signal kinds "
            f"accepts={accepts!r} emits={emits!r}; use {SIGNAL_KINDS}"
        )
    layout = declared.get("layout", "channels_last")
    if layout not in ("channels_last", "channels_first"):
        raise MiningError(f"{where}: class {f.info.qualname} declares layout={layout!r}; "
                          "use 'channels_last' or 'channels_first'")
    fixed_raw = declared.get("fixed_params", {})
    fixed_raw = fixed_raw if isinstance(fixed_raw, dict) else {}
    fixed = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in fixed_raw.items()))
    return accepts, emits, layout, declared.get("output_index"), fixed


def _min_input(declared: dict[str, object], f: Found, where: str) -> tuple[tuple[str, int], ...]:
    raw = declared.get("min_input", {})
    if not isinstance(raw, dict) or not all(
        k in BINDINGS.values() and isinstance(v, int) for k, v in raw.items()
    ):
        raise MiningError(f"{where}: class {f.info.qualname} declares min_input={raw!r}; use a dict "
                          f"from a binding ({sorted(set(BINDINGS.values()))}) to an int")
    return tuple(sorted(raw.items()))


def _spec(f: Found, tree: Hierarchy) -> ModuleSpec:
    info = f.info
    where = f"{f.file}:{info.lineno}"
    params = tree.init_params(f)
    forward, forward_required = tree.forward(f)
    declared = tree.declared(f)
    is_declared = "accepts" in declared
    space = declared.get("search_space")
    space = space if isinstance(space, dict) else {}
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
        accepts, emits, layout, output_index, fixed = _kinds(declared, f, where)
        kinds_source = "declared"
    else:
        g = guess_kinds(info.name, tuple(out_params), forward or (), forward_required)
        accepts, emits, layout, output_index, fixed = g.accepts, g.emits, g.layout, g.output_index, g.fixed
        kinds_source = "heuristic" if accepts else "unknown"
    role = "fusion" if any(p.binding == "in_dims" for p in out_params) else "block"
    return ModuleSpec(
        name=info.name,
        module=f.module,
        qualname=info.qualname,
        params=tuple(out_params),
        forward_params=forward or (),
        accepts=accepts,
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
        abstract=tree.abstract(f),
        min_input=_min_input(declared, f, where),
        extra={"import_root": f.import_root},
    )


def torch_nn_folder() -> Path | None:
    """Where torch's ``nn/modules`` sources lie (found without importing torch), or None."""
    try:
        spec = importlib.util.find_spec("torch")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "nn" / "modules"
    return folder if folder.is_dir() else None


def _read_all(files: list[Path], cache: ParseCache | None,
              errors: list[tuple[str, str]]) -> tuple[list[Found], int]:
    """Every class of `files` (failures appended to `errors`) and how many came from the cache."""
    found: list[Found] = []
    cached = 0
    for file in files:
        try:
            data = file.read_bytes()
        except OSError as exc:
            errors.append((str(file), f"cannot read: {exc.strerror or exc}"))
            continue
        digest = hashlib.sha256(data).hexdigest()
        info = cache.get(digest) if cache is not None else None
        if info is None:
            try:
                info = _read(file, data)
            except SyntaxError as exc:
                errors.append((str(file), f"syntax error at line {exc.lineno}: {exc.msg}"))
                continue
            except (ValueError, RecursionError, MemoryError) as exc:
                errors.append((str(file), f"cannot parse: {type(exc).__name__}: {exc}"))
                continue
            if cache is not None:
                cache.put(digest, info)
        else:
            cached += 1
        module, root = import_path(file)
        found.extend(Found(c, module, str(file), digest, root, info) for c in info.classes)
    return found, cached


def mine(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], cache: ParseCache | None = None,
         *, torch_context: bool = True) -> MiningReport:
    """Mine every nn.Module subclass under `paths` (files or folders, or one of them) into a Catalog.

    Reads source as text only. Files that fail are listed in the report's `errors` with the
    reason; a class redefined under the same qualified name (``if``/``else`` variants) keeps
    its first definition. With `torch_context`, when a class derives from a torch.nn class
    that was not mined (``class Block(nn.TransformerEncoderLayer)``), torch's own sources are
    mined too so that the class inherits its parameters and kinds; they are not added to the
    catalog."""
    start = time.perf_counter()
    files = _files(_path_list(paths))
    errors: list[tuple[str, str]] = []
    found, cached = _read_all(files, cache, errors)
    tree = Hierarchy(found)
    folder = torch_nn_folder() if torch_context and tree.needs_torch() else None
    if folder is not None:
        mined = {Path(f).resolve() for f in files}
        extra = [f for f in _files([folder]) if f.resolve() not in mined]
        context, _ = _read_all(extra, cache, [])
        tree = Hierarchy(found + context)
    specs: dict[str, ModuleSpec] = {}
    for f in found:
        if f.key in specs or not f.info.base_refs or not tree.is_module(f):
            continue
        try:
            specs[f.key] = _spec(f, tree)
        except MiningError as exc:
            errors.append((f.file, str(exc)))
    return MiningReport(Catalog(tuple(specs.values())), tuple(errors), len(files),
                        time.perf_counter() - start, cached)
