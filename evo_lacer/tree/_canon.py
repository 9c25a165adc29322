"""Canonical form, hash and a cheap distance, so equal architectures are evaluated once.

Canonicalization inlines plain chains into their sequential parent, inlines ``repeat`` with
``times == 1``, drops empty residual/repeat/chain nodes, sorts branches by source, and, given
a catalog (anything with `defaults(name)` and `canonical_name(name)`), writes every module by
its full catalog key and fills its omitted parameters with their defaults.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Protocol

from evo_lacer.tree._json import node_to_dict
from evo_lacer.tree._node import SEQUENTIAL_KINDS, Node, ParamValue, freeze_params

DefaultsFn = Callable[[str], Mapping[str, ParamValue]]


class Canonicalizer(Protocol):
    """What canonicalization needs from a catalog."""

    def defaults(self, name: str) -> Mapping[str, ParamValue]: ...

    def canonical_name(self, name: str) -> str: ...


Lookup = DefaultsFn | Canonicalizer | None


def _split(lookup: Lookup) -> tuple[DefaultsFn | None, Callable[[str], str] | None]:
    if lookup is None:
        return None, None
    if hasattr(lookup, "canonical_name") and hasattr(lookup, "defaults"):
        return lookup.defaults, lookup.canonical_name
    return lookup, None  # type: ignore[return-value]


def _canon_seq(children: tuple[Node, ...], defaults: Lookup) -> tuple[Node, ...]:
    out: list[Node] = []
    for child in children:
        c = canonical(child, defaults)
        if (c.kind == "chain" and c.name is None) or (c.kind == "repeat" and c.param_dict.get("times") == 1):
            out.extend(c.children)
        elif c.kind in ("residual", "repeat", "chain") and not c.children:
            continue
        else:
            out.append(c)
    return tuple(out)


def canonical(node: Node, defaults: Lookup = None) -> Node:
    """The canonical form of `node` (see module docstring); `defaults` is a catalog or a
    function giving a module's default parameters."""
    if node.kind in ("module", "fusion"):
        fill, rename = _split(defaults)
        if node.op is None or (fill is None and rename is None):
            return node
        merged: dict[str, object] = dict(fill(node.op)) if fill is not None else {}
        merged.update(node.params)
        op = rename(node.op) if rename is not None else node.op
        return node.__class__(node.kind, op=op, params=freeze_params(merged), name=node.name)
    if node.kind == "encoder":
        kids = [canonical(c, defaults) for c in node.children]
        branches = sorted((k for k in kids if k.kind == "branch"), key=lambda b: str(b.name))
        rest = [k for k in kids if k.kind != "branch"]
        rest.sort(key=lambda k: 0 if k.kind == "fusion" else 1)
        head = [k for k in rest if k.kind == "chain"]
        if head and not head[0].children:
            rest = [k for k in rest if k.kind != "chain"]
        return node.with_children(tuple(branches + rest))
    if node.kind in SEQUENTIAL_KINDS:
        return node.with_children(_canon_seq(node.children, defaults))
    return node


def _digest(obj: object) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


_HASHES: dict[tuple[Node, int], tuple[Lookup, str]] = {}
_HASHES_MAX = 65536


def tree_hash(node: Node, defaults: Lookup = None) -> str:
    """A 16-hex-digit hash of the canonical form: equal architectures hash equal.

    Remembered per (tree, `defaults` object): a search hashes the same population members for
    every proposal. The entry keeps `defaults` itself, so a new object at a reused address misses."""
    key = (node, id(defaults))
    hit = _HASHES.get(key)
    if hit is not None and hit[0] is defaults:
        return hit[1]
    digest = _digest(node_to_dict(canonical(node, defaults)))
    if len(_HASHES) >= _HASHES_MAX:
        _HASHES.clear()
    _HASHES[key] = (defaults, digest)
    return digest


@lru_cache(maxsize=65536)
def _subtree_hashes(node: Node) -> tuple[str, ...]:
    own = _digest(node_to_dict(node))
    out = [own]
    for child in node.children:
        out.extend(_subtree_hashes(child))
    return tuple(out)


def fingerprint(node: Node) -> Counter[str]:
    """Multiset of subtree hashes of the canonical form (the basis of `distance`)."""
    return Counter(_subtree_hashes(canonical(node)))


def distance(a: Node, b: Node) -> float:
    """Weighted Jaccard distance over subtree hashes, in [0, 1]; 0 means same architecture."""
    fa, fb = fingerprint(a), fingerprint(b)
    inter = sum((fa & fb).values())
    union = sum((fa | fb).values())
    return 0.0 if union == 0 else 1.0 - inter / union
