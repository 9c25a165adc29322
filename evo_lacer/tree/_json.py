"""JSON round-trip of trees, with errors that name the file and the node path."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path as FsPath
from typing import Any

from evo_lacer.errors import TreeError
from evo_lacer.tree._node import NODE_KINDS, Node, check_structure, freeze_params

FORMAT = "evo-lacer/tree"
VERSION = 1


def node_to_dict(node: Node) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": node.kind}
    if node.name is not None:
        out["name"] = node.name
    if node.op is not None:
        out["op"] = node.op
    if node.params:
        out["params"] = {k: list(v) if isinstance(v, tuple) else v for k, v in node.params}
    if node.children:
        out["children"] = [node_to_dict(c) for c in node.children]
    return out


def node_from_dict(data: object, where: str = "encoder") -> Node:
    if not isinstance(data, dict):
        raise TreeError(f"{where}: expected a JSON object for a node, got {type(data).__name__}")
    unknown = set(data) - {"kind", "name", "op", "params", "children"}
    if unknown:
        raise TreeError(f"{where}: unknown node fields {sorted(unknown)}")
    kind = data.get("kind")
    if kind not in NODE_KINDS:
        raise TreeError(f"{where}: unknown node kind {kind!r}; expected one of {NODE_KINDS}")
    params = data.get("params", {})
    if not isinstance(params, dict):
        raise TreeError(f"{where}: `params` must be an object, got {params!r}")
    children_data = data.get("children", [])
    if not isinstance(children_data, list):
        raise TreeError(f"{where}: `children` must be a list")
    children = []
    for i, child in enumerate(children_data):
        seg = child.get("name") if isinstance(child, dict) and kind == "encoder" else str(i)
        children.append(node_from_dict(child, f"{where}/{seg}"))
    name = data.get("name")
    op = data.get("op")
    if name is not None and not isinstance(name, str):
        raise TreeError(f"{where}: `name` must be a string, got {name!r}")
    if op is not None and not isinstance(op, str):
        raise TreeError(f"{where}: `op` must be a string, got {op!r}")
    try:
        return Node(kind, op=op, params=freeze_params(params, where), children=tuple(children), name=name)
    except TreeError as exc:
        raise TreeError(f"{where}: {exc}") from None


def to_json(root: Node, indent: int | None = 2) -> str:
    return json.dumps({"format": FORMAT, "version": VERSION, "tree": node_to_dict(root)}, indent=indent)


def from_json(text: str, source: str = "<string>") -> Node:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TreeError(f"{source}: not valid JSON ({exc})") from None
    if isinstance(data, dict) and "format" in data:
        if data["format"] != FORMAT:
            raise TreeError(f"{source}: format {data['format']!r} is not {FORMAT!r}")
        if data.get("version") != VERSION:
            raise TreeError(f"{source}: tree format version {data.get('version')!r} is not supported")
        data = data.get("tree")
    try:
        root = node_from_dict(data)
        check_structure(root)
    except TreeError as exc:
        raise TreeError(f"{source}: {exc}") from None
    return root


def load_tree(path: str | FsPath) -> Node:
    p = FsPath(path)
    if p.is_dir():
        raise TreeError(_folder_message(p))
    if not p.is_file():
        raise TreeError(f"tree file {str(p)!r} does not exist")
    return from_json(p.read_text(encoding="utf-8"), source=str(p))


def _folder_message(p: FsPath) -> str:
    if (p / "run.json").is_file():  # a run folder (evo_lacer.runs' manifest)
        return (f"{str(p)!r} is a run folder, not a tree file; get its best tree with "
                f"evo_lacer.runs.best_of_run({str(p)!r}).tree, or write it to a tree file with "
                f"`evo-lacer export {p}` and load_tree({str(p / 'best.json')!r})")
    return (f"{str(p)!r} is a folder, not a tree file; pass a tree file (JSON written by save_tree or "
            "`evo-lacer export RUN_DIR`)")


def save_tree(root: Node | Mapping[str, Any], path: str | FsPath) -> None:
    """Write `root` (a Node, or a node dict as `node_to_dict` gives) as a tree file."""
    if isinstance(root, Mapping):
        data = root.get("tree") if "format" in root else root
        root = node_from_dict(dict(data) if isinstance(data, Mapping) else data, "save_tree: the tree dict")
    if not isinstance(root, Node):
        raise TreeError(f"save_tree: got {type(root).__name__} {root!r:.80}, not a tree; pass a tree Node "
                        "or a node dict (evo_lacer.tree.node_to_dict)")
    FsPath(path).write_text(to_json(root) + "\n", encoding="utf-8")
