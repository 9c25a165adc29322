"""Catalogs as JSON files: what ``evo-lacer mine --out FILE`` writes and a search loads back.

The format is ``{"format": "evo-lacer-catalog", "version": 1, "modules": [spec, ...]}`` with
one object per `ModuleSpec` (its fields by name; tuples as lists). A bare list of such objects
(what ``mine --json`` prints) loads too. Loading validates every field and names the file,
the module and the field when something is wrong.
"""

from __future__ import annotations

import json
import typing
from collections import Counter
from dataclasses import fields
from pathlib import Path
from typing import Any

from evo_lacer.errors import MiningError
from evo_lacer.signals import SIGNAL_KINDS
from evo_lacer.zoo._catalog import Catalog
from evo_lacer.zoo._spec import KindsSource, Layout, ModuleSpec, ParamKind, ParamSpec

FORMAT = "evo-lacer-catalog"
VERSION = 1
_PARAM_KINDS = typing.get_args(ParamKind)
_KINDS_SOURCES = typing.get_args(KindsSource)
_LAYOUTS = typing.get_args(Layout)


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def param_to_dict(p: ParamSpec) -> dict[str, Any]:
    out = {f.name: getattr(p, f.name) for f in fields(ParamSpec)}
    for name in ("default", "domain"):
        if isinstance(out[name], tuple):
            out[name] = list(out[name])
    return out


def spec_to_dict(spec: ModuleSpec) -> dict[str, Any]:
    """A JSON-ready dict of every field of `spec` (plus its `key` and `short`, for reading)."""
    out: dict[str, Any] = {"key": spec.key, "short": spec.short}
    for f in fields(ModuleSpec):
        value = getattr(spec, f.name)
        if f.name == "params":
            value = [param_to_dict(p) for p in value]
        elif f.name in ("fixed", "min_input"):
            value = [[k, list(v) if isinstance(v, tuple) else v] for k, v in value]
        elif f.name == "extra":
            value = {k: v for k, v in value.items() if _jsonable(v)}
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def catalog_to_json(catalog: Catalog, indent: int | None = 1) -> str:
    """The catalog as JSON text (loadable with `catalog_from_json`)."""
    data = {"format": FORMAT, "version": VERSION, "modules": [spec_to_dict(s) for s in catalog.specs]}
    return json.dumps(data, indent=indent)


class _Reader:
    """Field validation with error messages that say where the bad value is."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.where = ""

    def fail(self, what: str) -> MiningError:
        return MiningError(f"catalog {self.source}: {self.where}{what}. Re-create it with "
                           "`evo-lacer mine PATH... --out FILE`.")

    def get(self, d: dict[str, Any], name: str, types: tuple[type, ...], default: Any = ...) -> Any:
        if name not in d:
            if default is ...:
                raise self.fail(f"missing field {name!r}")
            return default
        value = d[name]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            names = " or ".join("null" if t is type(None) else t.__name__ for t in types)
            raise self.fail(f"field {name!r} should be {names}, got {value!r}")
        return value

    def choice(self, d: dict[str, Any], name: str, options: tuple[Any, ...], default: Any = ...) -> Any:
        value = self.get(d, name, (str, type(None)), default)
        if value not in options:
            raise self.fail(f"field {name!r} is {value!r}, expected one of {list(options)}")
        return value

    def value(self, raw: Any, name: str) -> Any:
        """A parameter value: a scalar, or a flat list of scalars (-> tuple)."""
        scalar = (bool, int, float, str, type(None))
        if isinstance(raw, scalar):
            return raw
        if isinstance(raw, list) and all(isinstance(v, scalar) for v in raw):
            return tuple(raw)
        raise self.fail(f"{name} {raw!r} is not a scalar or a flat list of scalars")

    def pairs(self, d: dict[str, Any], name: str) -> tuple[tuple[str, Any], ...]:
        raw = self.get(d, name, (list,), [])
        out = []
        for item in raw:
            if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
                raise self.fail(f"field {name!r} should hold [name, value] pairs, got {item!r}")
            out.append((item[0], self.value(item[1], name)))
        return tuple(out)

    def param(self, d: Any, i: int) -> ParamSpec:
        if not isinstance(d, dict):
            raise self.fail(f"parameter #{i} should be an object, got {d!r}")
        domain = d.get("domain")
        if isinstance(domain, list):
            domain = self.value(domain, "domain")
        elif domain is not None and not isinstance(domain, str):
            raise self.fail(f"parameter #{i}: domain {domain!r} should be a list, a string or null")
        return ParamSpec(
            name=self.get(d, "name", (str,)),
            annotation=self.get(d, "annotation", (str, type(None)), None),
            has_default=self.get(d, "has_default", (bool,), False),
            default=self.value(d.get("default"), "default"),
            default_text=self.get(d, "default_text", (str, type(None)), None),
            kind=self.choice(d, "kind", _PARAM_KINDS, "positional"),
            domain=domain,
            binding=self.get(d, "binding", (str, type(None)), None),
        )

    def spec(self, d: Any, i: int) -> ModuleSpec:
        self.where = f"module #{i}: "
        if not isinstance(d, dict):
            raise self.fail(f"should be an object, got {type(d).__name__}")
        name = self.get(d, "name", (str,))
        self.where = f"module #{i} ({name}): "
        accepts = self.get(d, "accepts", (list,), [])
        bad = [k for k in accepts if k not in SIGNAL_KINDS]
        if bad:
            raise self.fail(f"field 'accepts' has unknown kinds {bad}; expected {list(SIGNAL_KINDS)}")
        params = self.get(d, "params", (list,), [])
        return ModuleSpec(
            name=name,
            module=self.get(d, "module", (str,)),
            qualname=self.get(d, "qualname", (str,), name),
            params=tuple(self.param(p, j) for j, p in enumerate(params)),
            forward_params=tuple(str(x) for x in self.get(d, "forward_params", (list,), [])),
            accepts=tuple(accepts),
            emits=self.choice(d, "emits", (*SIGNAL_KINDS, None), None),
            role=self.choice(d, "role", ("block", "fusion"), "block"),
            layout=self.choice(d, "layout", _LAYOUTS, "channels_last"),
            output_index=self.get(d, "output_index", (int, type(None)), None),
            kinds_source=self.choice(d, "kinds_source", _KINDS_SOURCES, "unknown"),
            docstring=self.get(d, "docstring", (str,), ""),
            source_file=self.get(d, "source_file", (str,), ""),
            source_hash=self.get(d, "source_hash", (str,), ""),
            lineno=self.get(d, "lineno", (int,), 0),
            bases=tuple(str(x) for x in self.get(d, "bases", (list,), [])),
            fixed=self.pairs(d, "fixed"),
            abstract=self.get(d, "abstract", (bool,), False),
            min_input=tuple((k, int(v)) for k, v in self.pairs(d, "min_input")),
            extra=dict(self.get(d, "extra", (dict,), {})),
        )


def catalog_from_json(text: str, source: str = "<string>") -> Catalog:
    """Parse a catalog written by `catalog_to_json` (or ``mine --json``); `source` names the
    file in error messages. Raises MiningError when the text is not such a catalog."""
    reader = _Reader(source)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise reader.fail(f"is not valid JSON ({exc})") from None
    if isinstance(data, dict):
        if data.get("format") != FORMAT:
            raise reader.fail(f"is not an evo-lacer catalog (expected \"format\": {FORMAT!r}, "
                              f"got {data.get('format')!r})")
        version = data.get("version")
        if not isinstance(version, int) or version > VERSION:
            raise reader.fail(f"has catalog version {version!r}; this evo-lacer reads up to {VERSION}")
        modules = data.get("modules")
    else:
        modules = data
    if not isinstance(modules, list):
        raise reader.fail(f"should hold a list of modules, got {type(modules).__name__}")
    specs = [reader.spec(d, i) for i, d in enumerate(modules)]
    dupes = sorted(k for k, n in Counter(s.key for s in specs).items() if n > 1)
    if dupes:
        reader.where = ""
        raise reader.fail(f"lists modules more than once: {dupes}")
    return Catalog(tuple(specs))


def save_catalog(catalog: Catalog, path: str | Path) -> None:
    """Write `catalog` as JSON to `path`."""
    try:
        Path(path).write_text(catalog_to_json(catalog) + "\n", encoding="utf-8")
    except OSError as exc:
        raise MiningError(f"cannot write catalog to {str(path)!r}: {exc.strerror or exc}") from None


def load_catalog(path: str | Path) -> Catalog:
    """Read a catalog JSON file; MiningError names the file and what is wrong."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MiningError(f"cannot read catalog {str(path)!r}: {exc}") from None
    return catalog_from_json(text, str(path))
