"""Immutable tree nodes and path addressing.

One node class for every kind keeps transformations, hashing and JSON uniform:

- ``encoder``  the root: one ``branch`` per observation source, one ``fusion``, an optional
  ``chain`` named ``head`` applied to the fused vector;
- ``branch``   a chain of nodes applied to one source (``name`` is the source);
- ``chain``    nodes applied one after another;
- ``residual`` ``x + body(x)`` over its children (projected when the width changes);
- ``repeat``   its children applied ``times`` times in sequence (weights not shared);
- ``module``   a leaf: the catalog module ``op`` built with ``params``;
- ``fusion``   the catalog module ``op`` that merges the branch outputs into one vector.

A path is a tuple of segments from the root: an encoder child is named by its ``name``
(the source, ``fusion`` or ``head``), a child of any other node by its index.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from evo_lacer.errors import TreeError

NodeKind = Literal["encoder", "branch", "chain", "residual", "repeat", "module", "fusion"]
NODE_KINDS: tuple[str, ...] = ("encoder", "branch", "chain", "residual", "repeat", "module", "fusion")
SEQUENTIAL_KINDS: tuple[str, ...] = ("branch", "chain", "residual", "repeat")

Scalar = int | float | str | bool | None
ParamValue = Scalar | tuple[Scalar, ...]
Path = tuple[str, ...]


def _freeze_value(value: object, where: str) -> ParamValue:
    if isinstance(value, list | tuple):
        items = tuple(_freeze_value(v, where) for v in value)
        if any(isinstance(v, tuple) for v in items):
            raise TreeError(f"{where}: nested sequences are not allowed in parameters: {value!r}")
        return items  # type: ignore[return-value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TreeError(
        f"{where}: parameter value {value!r} of type {type(value).__name__} is not allowed; "
        "use int, float, str, bool, None or a list of those"
    )


def freeze_params(params: Mapping[str, object], where: str = "node") -> tuple[tuple[str, ParamValue], ...]:
    """Parameters as a sorted tuple of (name, value) pairs, so nodes hash and compare by value."""
    return tuple(sorted((str(k), _freeze_value(v, f"{where}.{k}")) for k, v in params.items()))


@dataclass(frozen=True)
class Node:
    """One node of an encoder tree (see the module docstring for the kinds)."""

    kind: str
    op: str | None = None
    params: tuple[tuple[str, ParamValue], ...] = ()
    children: tuple[Node, ...] = ()
    name: str | None = None
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in NODE_KINDS:
            raise TreeError(f"unknown node kind {self.kind!r}; expected one of {NODE_KINDS}")
        if self.kind in ("module", "fusion") and not self.op:
            raise TreeError(f"a {self.kind} node needs an `op` (a catalog module name)")
        if self.kind in ("module", "fusion") and self.children:
            raise TreeError(f"a {self.kind} node ({self.op}) cannot have children")
        object.__setattr__(self, "_hash", hash((self.kind, self.op, self.params, self.children, self.name)))

    def __hash__(self) -> int:
        return self._hash

    @property
    def param_dict(self) -> dict[str, ParamValue]:
        return dict(self.params)

    def with_params(self, **updates: object) -> Node:
        merged: dict[str, object] = dict(self.params)
        merged.update(updates)
        return replace(self, params=freeze_params(merged, self.op or self.kind))

    def with_children(self, children: tuple[Node, ...]) -> Node:
        return replace(self, children=tuple(children))

    # --- encoder accessors -------------------------------------------------------------
    @property
    def branches(self) -> tuple[Node, ...]:
        return tuple(c for c in self.children if c.kind == "branch")

    @property
    def fusion(self) -> Node:
        for c in self.children:
            if c.kind == "fusion":
                return c
        raise TreeError("encoder has no fusion node")

    @property
    def head(self) -> Node | None:
        for c in self.children:
            if c.kind == "chain" and c.name == "head":
                return c
        return None

    def branch(self, source: str) -> Node:
        for c in self.branches:
            if c.name == source:
                return c
        names = [b.name for b in self.branches]
        raise TreeError(f"encoder has no branch for source {source!r}; branches: {names}")


# --- constructors -----------------------------------------------------------------------
def module(op: str, **params: object) -> Node:
    return Node("module", op=op, params=freeze_params(params, op))


def fusion(op: str, **params: object) -> Node:
    return Node("fusion", op=op, params=freeze_params(params, op), name="fusion")


def chain(*children: Node, name: str | None = None) -> Node:
    return Node("chain", children=tuple(children), name=name)


def residual(*children: Node) -> Node:
    return Node("residual", children=tuple(children))


def repeat(times: int, *children: Node) -> Node:
    if not isinstance(times, int) or isinstance(times, bool) or times < 1:
        raise TreeError(f"repeat times must be an int >= 1, got {times!r}")
    return Node("repeat", params=(("times", times),), children=tuple(children))


def branch(source: str, *children: Node) -> Node:
    return Node("branch", children=tuple(children), name=source)


def encoder(branches: tuple[Node, ...] | list[Node], fusion_node: Node, head: Node | None = None) -> Node:
    kids = [*branches, fusion_node]
    if head is not None:
        kids.append(replace(head, kind="chain", name="head"))
    root = Node("encoder", children=tuple(kids))
    check_structure(root)
    return root


def check_structure(root: Node) -> None:
    """Raise TreeError unless `root` is a well-formed encoder (kinds in the right places)."""
    if root.kind != "encoder":
        raise TreeError(f"the root must be an encoder node, got {root.kind!r}")
    names: set[str] = set()
    n_fusion = 0
    for child in root.children:
        if child.kind == "branch":
            if not child.name:
                raise TreeError("encoder: a branch has no source name")
            if child.name in names or child.name in ("fusion", "head"):
                raise TreeError(f"encoder: duplicate or reserved branch name {child.name!r}")
            names.add(child.name)
        elif child.kind == "fusion":
            n_fusion += 1
        elif not (child.kind == "chain" and child.name == "head"):
            raise TreeError(f"encoder: unexpected child {child.kind!r} named {child.name!r}")
    if not names:
        raise TreeError("encoder: needs at least one branch")
    if n_fusion != 1:
        raise TreeError(f"encoder: needs exactly one fusion node, found {n_fusion}")
    for path, node in walk(root):
        misplaced = (node.kind == "encoder" and path) or (
            node.kind in ("branch", "fusion") and len(path) != 1
        )
        if misplaced:
            raise TreeError(f"{format_path(path)}: a {node.kind} node may only appear at the top level")
        if node.kind == "repeat":
            times = node.param_dict.get("times")
            if not isinstance(times, int) or isinstance(times, bool) or times < 1:
                raise TreeError(f"{format_path(path)}: repeat times must be an int >= 1, got {times!r}")


# --- paths ------------------------------------------------------------------------------
def format_path(path: Path) -> str:
    return "/".join(("encoder", *path))


def parse_path(text: str) -> Path:
    parts = [p for p in text.strip("/").split("/") if p]
    if parts and parts[0] == "encoder":
        parts = parts[1:]
    return tuple(parts)


def _child_index(node: Node, segment: str, path: Path) -> int:
    if node.kind == "encoder":
        for i, c in enumerate(node.children):
            if c.name == segment:
                return i
    elif segment.isdigit() and int(segment) < len(node.children):
        return int(segment)
    raise TreeError(f"{format_path(path)}: no child {segment!r} under a {node.kind} node")


def child_segment(parent: Node, index: int) -> str:
    if parent.kind == "encoder":
        return str(parent.children[index].name)
    return str(index)


def get(root: Node, path: Path) -> Node:
    node = root
    for depth, seg in enumerate(path):
        node = node.children[_child_index(node, seg, path[: depth + 1])]
    return node


def replace_at(root: Node, path: Path, new: Node | None) -> Node:
    """A copy of `root` with the node at `path` replaced by `new` (or removed when None)."""
    if not path:
        if new is None:
            raise TreeError("cannot delete the root")
        return new
    idx = _child_index(root, path[0], path[:1])
    kids = list(root.children)
    if len(path) == 1:
        if new is None:
            del kids[idx]
        else:
            kids[idx] = new
    else:
        kids[idx] = replace_at(kids[idx], path[1:], new)
    return root.with_children(tuple(kids))


def insert_at(root: Node, parent: Path, index: int, new: Node) -> Node:
    """A copy of `root` with `new` inserted as child `index` of the sequential node at `parent`."""
    target = get(root, parent)
    if target.kind not in SEQUENTIAL_KINDS:
        raise TreeError(f"{format_path(parent)}: cannot insert into a {target.kind} node")
    if not 0 <= index <= len(target.children):
        raise TreeError(f"{format_path(parent)}: insert position {index} out of 0..{len(target.children)}")
    kids = list(target.children)
    kids.insert(index, new)
    return replace_at(root, parent, target.with_children(tuple(kids)))


def walk(root: Node, prefix: Path = ()) -> Iterator[tuple[Path, Node]]:
    """Every (path, node) pair, parents before children."""
    yield prefix, root
    for i, child in enumerate(root.children):
        yield from walk(child, (*prefix, child_segment(root, i)))


def source_of(path: Path) -> str | None:
    """The branch (source) a path lies in, or None for fusion / head / root."""
    if path and path[0] not in ("fusion", "head"):
        return path[0]
    return None
