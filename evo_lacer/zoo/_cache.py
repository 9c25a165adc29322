"""On-disk cache of parsed source files, keyed by the file's content hash."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from evo_lacer.zoo._ast import ClassInfo
from evo_lacer.zoo._spec import ParamSpec

CACHE_VERSION = 1


def default_cache_dir() -> Path:
    """``$EVO_LACER_CACHE`` or ``~/.cache/evo-lacer``."""
    env = os.environ.get("EVO_LACER_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "evo-lacer"


def _tuplify(value: object) -> object:
    return tuple(_tuplify(v) for v in value) if isinstance(value, list) else value


def _info_from_dict(d: dict) -> ClassInfo:
    def params(raw: list | None) -> tuple[ParamSpec, ...] | None:
        if raw is None:
            return None
        out = []
        for p in raw:
            p = dict(p)
            p["default"] = _tuplify(p.get("default"))
            dom = p.get("domain")
            p["domain"] = _tuplify(dom) if isinstance(dom, list) else dom
            out.append(ParamSpec(**p))
        return tuple(out)

    return ClassInfo(
        name=d["name"],
        qualname=d["qualname"],
        bases=tuple(d["bases"]),
        lineno=int(d["lineno"]),
        docstring=d["docstring"],
        init_params=params(d["init_params"]),
        forward_params=None if d["forward_params"] is None else tuple(d["forward_params"]),
        declared=d.get("declared", {}),
        is_abstract=bool(d.get("is_abstract", False)),
    )


class ParseCache:
    """`get`/`put` the classes of one file by content hash. Unreadable entries are misses."""

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_cache_dir() / "parse"

    def _path(self, digest: str) -> Path:
        return self.folder / f"v{CACHE_VERSION}-{digest}.json"

    def get(self, digest: str) -> list[ClassInfo] | None:
        try:
            raw = json.loads(self._path(digest).read_text(encoding="utf-8"))
            return [_info_from_dict(d) for d in raw]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, digest: str, classes: list[ClassInfo]) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self._path(digest).with_suffix(".tmp")
            tmp.write_text(json.dumps([asdict(c) for c in classes]), encoding="utf-8")
            os.replace(tmp, self._path(digest))
        except (OSError, TypeError, ValueError):
            return  # a cache that cannot be written only costs time
