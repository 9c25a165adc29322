"""On-disk caches of the zoo: parsed source files (keyed by content hash) and probe results
(keyed by source hash, qualified name and the arguments probed). Unreadable entries are misses;
a cache that cannot be written only costs time."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from evo_lacer.zoo._ast import ClassInfo, FileInfo
from evo_lacer.zoo._spec import ParamSpec

CACHE_VERSION = 2


def default_cache_dir() -> Path:
    """``$EVO_LACER_CACHE`` or ``~/.cache/evo-lacer``."""
    env = os.environ.get("EVO_LACER_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "evo-lacer"


def _tuplify(value: object) -> object:
    return tuple(_tuplify(v) for v in value) if isinstance(value, list) else value


def _params(raw: list | None) -> tuple[ParamSpec, ...] | None:
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


def _info_from_dict(d: dict) -> ClassInfo:
    fwd = d.get("init_forward")
    return ClassInfo(
        name=d["name"],
        qualname=d["qualname"],
        bases=tuple(d["bases"]),
        lineno=int(d["lineno"]),
        docstring=d["docstring"],
        init_params=_params(d["init_params"]),
        forward_params=None if d["forward_params"] is None else tuple(d["forward_params"]),
        declared=d.get("declared", {}),
        is_abstract=bool(d.get("is_abstract", False)),
        base_refs=tuple(d.get("base_refs", ())),
        init_forward=None if fwd is None else (int(fwd[0]), tuple(fwd[1])),
        forward_required=d.get("forward_required"),
    )


def _write_json(path: Path, data: Any) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, path)
    except (OSError, TypeError, ValueError):
        return


class ParseCache:
    """`get`/`put` the parsed contents of one file by content hash."""

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_cache_dir() / "parse"

    def _path(self, digest: str) -> Path:
        return self.folder / f"v{CACHE_VERSION}-{digest}.json"

    def get(self, digest: str) -> FileInfo | None:
        try:
            raw = json.loads(self._path(digest).read_text(encoding="utf-8"))
            return FileInfo(
                tuple(_info_from_dict(d) for d in raw["classes"]),
                {str(k): str(v) for k, v in raw["imports"].items()},
                tuple(raw["star_imports"]),
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
            return None

    def put(self, digest: str, info: FileInfo) -> None:
        data = {
            "classes": [asdict(c) for c in info.classes],
            "imports": info.imports,
            "star_imports": list(info.star_imports),
        }
        _write_json(self._path(digest), data)


class ProbeCache:
    """`get`/`put` one probe result (a JSON object) by its key."""

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_cache_dir() / "probe"

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            raw = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return raw if isinstance(raw, dict) else None

    def put(self, key: str, result: dict[str, Any]) -> None:
        _write_json(self._path(key), result)
