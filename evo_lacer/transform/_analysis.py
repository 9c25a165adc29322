"""What every transformation needs to know about a tree: the signal kind on each edge, the
signals (dimensions) the compiler infers, where a site lies (source kind, early/late), and the
structural edits (insert, remove) the transformations share.

Kind flow is pure Python over the catalog's declared `accepts`/`emits`, so listing sites and
options stays cheap; dimensions (which only a built module knows) come from the compiler's
`infer_signals`, used where a transformation needs them (composites, residual bodies, modules
with a `min_input`) and by the gate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import cast

from evo_lacer.compile import infer_signals
from evo_lacer.compile._build import bound_values
from evo_lacer.errors import EvoLacerError, MiningError, ShapeError, TreeError
from evo_lacer.signals import SIGNAL_KINDS, Signal, SignalKind
from evo_lacer.transform._base import TransformContext
from evo_lacer.tree import (
    SEQUENTIAL_KINDS,
    Node,
    Path,
    format_path,
    get,
    insert_at,
    replace_at,
    short_op,
)
from evo_lacer.zoo import Catalog, ModuleSpec

KindFlow = dict[Path, tuple[SignalKind, SignalKind]]
PLACEHOLDER = "?placeholder"
"""The op of a stand-in module whose output kind is given by an override (never built)."""


# --- catalog lookups ----------------------------------------------------------------------
def spec_of(node: Node, catalog: Catalog, path: Path) -> ModuleSpec:
    """The catalog spec of a module/fusion node; TreeError naming the path when unknown."""
    try:
        return catalog.lookup(str(node.op))
    except MiningError as exc:
        raise TreeError(f"{format_path(path)}: {exc}") from None


def op_name(spec: ModuleSpec, catalog: Catalog) -> str:
    """How a tree names `spec`: its short name when that is unique in the catalog, else its key."""
    try:
        if catalog.lookup(spec.short).key == spec.key:
            return spec.short
    except MiningError:
        pass
    return spec.key


def same_op(a: str | None, b: str | None, catalog: Catalog) -> bool:
    """Whether two op names denote the same catalog module (short name or full key)."""
    if a is None or b is None:
        return a == b
    try:
        return catalog.lookup(a).key == catalog.lookup(b).key
    except MiningError:
        return a == b


def placeable(spec: ModuleSpec) -> bool:
    """A module can be built from a tree node: every required argument is bound, searched or fixed."""
    fixed = dict(spec.fixed)
    for p in spec.params:
        if p.kind not in ("positional", "keyword") or p.has_default or p.binding or p.name in fixed:
            continue
        if p.domain is None:
            return False
    return bool(spec.accepts) and not spec.abstract


# --- kind flow ------------------------------------------------------------------------------
def _module_kind(node: Node, path: Path, kind: SignalKind, catalog: Catalog) -> SignalKind:
    spec = spec_of(node, catalog, path)
    where = format_path(path)
    if spec.role != "block":
        raise ShapeError(f"{where}: {short_op(node.op)} is a fusion module; only blocks go in a chain")
    if not spec.accepts:
        return kind  # kinds unknown (a foreign module never probed): assume it keeps the kind
    if kind not in spec.accepts:
        raise ShapeError(f"{where}: {short_op(node.op)} accepts {list(spec.accepts)}, got a {kind} signal")
    return spec.emits or kind


class _Memo:
    """A bounded memo of tree analyses. Failures are memoized too and re-raised as fresh
    exceptions of the same type; the catalog is kept alive with each entry so the `id` in the
    key cannot be reused by another catalog."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: dict[tuple[object, ...], tuple[Catalog, object, type[TreeError] | None]] = {}

    def get(self, key: tuple[object, ...], catalog: Catalog, compute: Callable[[], object]) -> object:
        full = (*key, id(catalog))
        hit = self.entries.get(full)
        if hit is None:
            try:
                hit = (catalog, compute(), None)
            except TreeError as exc:
                hit = (catalog, str(exc), type(exc))
            except EvoLacerError as exc:  # e.g. CompileError: a module that cannot be built
                hit = (catalog, str(exc), ShapeError)
            if len(self.entries) >= self.size:
                self.entries.pop(next(iter(self.entries)))
            self.entries[full] = hit
        if hit[2] is not None:
            raise hit[2](str(hit[1]))
        return hit[1]


_MEMO = _Memo(512)
_FLOWS = _Memo(2048)
"""`kind_flow` without overrides and `ok_out_kinds`: a proposal asks them of the same trees many
times (every site and every option of a move)."""


def _inputs_key(inputs: Mapping[str, Signal]) -> tuple[tuple[str, Signal], ...]:
    return tuple(sorted(inputs.items(), key=lambda kv: kv[0]))


def kind_flow(
    tree: Node,
    inputs: Mapping[str, Signal],
    catalog: Catalog,
    overrides: Mapping[Path, SignalKind] | None = None,
) -> KindFlow:
    """(input kind, output kind) of every node; ShapeError naming the path when kinds clash.

    Rules: a module must accept its input kind and emits its declared kind (or the same; a
    module whose kinds are unknown is assumed to keep the kind, and left to the gate);
    residual and repeat keep the kind; every branch and the head end in a vector. `overrides`
    fixes a node's output kind without looking at it (for stand-in modules). The result is
    shared between callers: read it, do not change it.
    """
    if not overrides:
        key = ("flow", tree, _inputs_key(inputs))
        return cast(KindFlow, _FLOWS.get(key, catalog, lambda: _kind_flow(tree, inputs, catalog, {})))
    return _kind_flow(tree, inputs, catalog, overrides)


def _kind_flow(tree: Node, inputs: Mapping[str, Signal], catalog: Catalog,
               over: Mapping[Path, SignalKind]) -> KindFlow:
    out: KindFlow = {}

    def run(node: Node, path: Path, kind: SignalKind) -> SignalKind:
        for i, child in enumerate(node.children):
            kind = visit(child, (*path, str(i)), kind)
        return kind

    def visit(node: Node, path: Path, kind: SignalKind) -> SignalKind:
        if path in over:
            res = over[path]
        elif node.kind == "module":
            res = _module_kind(node, path, kind, catalog)
        elif node.kind in ("chain", "residual", "repeat"):
            res = run(node, path, kind)
            if node.kind != "chain" and res != kind:
                raise ShapeError(
                    f"{format_path(path)}: a {node.kind} must keep the signal kind ({kind} in, {res} out)"
                )
        else:
            raise TreeError(f"{format_path(path)}: a {node.kind} node cannot appear inside a chain")
        out[path] = (kind, res)
        return res

    for child in tree.children:
        name = str(child.name)
        if child.kind == "branch":
            if name not in inputs:
                raise TreeError(
                    f"{format_path((name,))}: no observation source {name!r}; sources: {sorted(inputs)}"
                )
            start = inputs[name].kind
            end = run(child, (name,), start)
            if end != "vector":
                raise ShapeError(
                    f"{format_path((name,))}: the branch ends in a {end} signal; the fusion takes vectors "
                    "(end it with a pooling/flatten module)"
                )
            out[(name,)] = (start, end)
        elif child.kind == "fusion":
            spec = spec_of(child, catalog, ("fusion",))
            if spec.role != "fusion":
                raise ShapeError(f"{format_path(('fusion',))}: {short_op(child.op)} is not a fusion module")
            out[("fusion",)] = ("vector", "vector")
        elif child.kind == "chain" and child.name == "head":
            end = run(child, ("head",), "vector")
            if end != "vector":
                raise ShapeError(f"{format_path(('head',))}: the head must end in a vector, not a {end}")
            out[("head",)] = ("vector", end)
    return out


def kinds_ok(tree: Node, inputs: Mapping[str, Signal], catalog: Catalog,
             overrides: Mapping[Path, SignalKind] | None = None) -> bool:
    try:
        kind_flow(tree, inputs, catalog, overrides)
    except ShapeError:
        return False
    return True


def ok_out_kinds(tree: Node, path: Path, ctx: TransformContext) -> tuple[SignalKind, ...]:
    """The output kinds a module at `path` may have with the rest of the tree still valid."""
    key = ("out", tree, path, _inputs_key(ctx.inputs))
    return cast(tuple[SignalKind, ...], _FLOWS.get(key, ctx.catalog, lambda: tuple(
        k for k in SIGNAL_KINDS if kinds_ok(tree, ctx.inputs, ctx.catalog, {path: k}))))


def kind_at_gap(flow: KindFlow, parent: Path, index: int) -> SignalKind:
    """The signal kind between child `index - 1` and child `index` of the sequential `parent`."""
    if index == 0:
        if parent == ("head",) and parent not in flow:
            return "vector"
        return flow[parent][0]
    return flow[(*parent, str(index - 1))][1]


def fitting_blocks(tree: Node, path: Path, in_kind: SignalKind, ctx: TransformContext,
                   exclude: str | None = None, signal: Signal | None = None) -> list[ModuleSpec]:
    """Blocks that take `in_kind` and whose output keeps the tree valid when placed at `path`
    (a node already there: its output is overridden; `exclude` drops the op now there).
    With the input `signal` known, modules whose `min_input` it falls short of are left out."""
    outs = ok_out_kinds(tree, path, ctx)
    return [
        s for s in ctx.catalog.blocks(accepting=in_kind)
        if placeable(s) and (s.emits or in_kind) in outs
        and not (exclude is not None and same_op(s.key, exclude, ctx.catalog))
        and (signal is None or meets_min_input(s, signal))
    ]


bound_sizes = bound_values  # the input quantities the compiler binds from a signal


def meets_min_input(spec: ModuleSpec, signal: Signal) -> bool:
    """Whether `signal` satisfies the lower bounds a module declares (e.g. NatureCNN's 36x36)."""
    sizes = bound_sizes(signal)
    return all(sizes.get(name, bound) >= bound for name, bound in getattr(spec, "min_input", ()))


# --- tree edits -----------------------------------------------------------------------------
def containers(tree: Node) -> Iterator[tuple[Path, Node]]:
    """Every sequential node where children may be inserted or wrapped (branches, head, nested)."""
    def inner(node: Node, path: Path) -> Iterator[tuple[Path, Node]]:
        if node.kind in SEQUENTIAL_KINDS:
            yield path, node
            for i, child in enumerate(node.children):
                yield from inner(child, (*path, str(i)))

    for child in tree.children:
        yield from inner(child, (str(child.name),))


def modules_in_chains(tree: Node) -> Iterator[tuple[Path, Node]]:
    """Every module node in a branch or the head (fusion excluded)."""
    for path, node in containers(tree):
        for i, child in enumerate(node.children):
            if child.kind == "module":
                yield (*path, str(i)), child


def insert_child(tree: Node, parent: Path, index: int, new: Node) -> Node:
    """`new` inserted as child `index` of `parent`; a missing head is created."""
    if parent == ("head",) and tree.head is None:
        if index != 0:
            raise TreeError(f"{format_path(parent)}: the tree has no head; insert at position 0")
        head = Node("chain", children=(new,), name="head")
        return tree.with_children((*tree.children, head))
    return insert_at(tree, parent, index, new)


def remove_child(tree: Node, path: Path) -> Node:
    """`tree` without the node at `path`; a residual/repeat/chain left empty goes too."""
    parent_path = path[:-1]
    parent = get(tree, parent_path)
    idx = int(path[-1])
    kids = parent.children[:idx] + parent.children[idx + 1:]
    if not kids and len(parent_path) > 1:
        return remove_child(tree, parent_path)
    return replace_at(tree, parent_path, parent.with_children(kids))


# --- site geometry --------------------------------------------------------------------------
def _early(pos: int, n: int) -> str:
    return "early" if n <= 0 or 2 * pos < n else "late"


def geometry(tree: Node, path: Path, inputs: Mapping[str, Signal],
             gap: int | None = None) -> tuple[str | None, str, str]:
    """(source, source kind, depth) of a node path, or of gap `gap` of the sequential `path`.

    Depth is "early" in the first half of the branch's top-level chain, else "late"; the fused
    part is the chain fusion -> head modules.
    """
    top = path[0]
    if top in ("fusion", "head"):
        head = tree.head
        n = 1 + (len(head.children) if head is not None else 0)
        if top == "fusion":
            return None, "fused", _early(0, n)
        if len(path) == 1 and gap is not None:
            return None, "fused", _early(gap + 1, n + 1)
        return None, "fused", _early(int(path[1]) + 1 if len(path) > 1 else 0, n)
    if top not in inputs:
        raise TreeError(f"{format_path((top,))}: no observation source {top!r}; sources: {sorted(inputs)}")
    kind = inputs[top].kind
    n = len(get(tree, (top,)).children)
    if len(path) == 1:
        return top, kind, _early(gap, n + 1) if gap is not None else "early"
    return top, kind, _early(int(path[1]), n)


# --- dimensions (from the compiler) ---------------------------------------------------------
def node_signals(tree: Node, ctx: TransformContext) -> dict[Path, tuple[Signal, Signal]]:
    """(input, output) signal of every node, from the compiler's `infer_signals` (memoized:
    treat as read-only); ShapeError naming the path when the tree does not type-check."""
    key = ("signals", tree, _inputs_key(ctx.inputs))
    signals = _MEMO.get(key, ctx.catalog, lambda: dict(infer_signals(tree, ctx.inputs, ctx.catalog)))
    return cast(dict[Path, tuple[Signal, Signal]], signals)


def signal_before(tree: Node, ctx: TransformContext, parent: Path, index: int) -> Signal | None:
    """The signal entering child `index` of `parent` (or leaving the last child when `index`
    equals the child count); None when the compiler cannot infer the tree's signals."""
    try:
        signals = node_signals(tree, ctx)
    except ShapeError:
        return None
    if index == 0:
        if parent == ("head",) and parent not in signals:
            return signals[("fusion",)][1] if ("fusion",) in signals else None
        return signals[parent][0] if parent in signals else None
    prev = (*parent, str(index - 1))
    return signals[prev][1] if prev in signals else None


def in_residual(tree: Node, path: Path) -> bool:
    """Whether the node at `path` lies inside a residual block (whose skip fixes the shape)."""
    return any(get(tree, path[:k]).kind == "residual" for k in range(2, len(path)))


def dims_ok(tree: Node, ctx: TransformContext) -> bool:
    """Whether the compiler can infer every signal of `tree` (dimensions included)."""
    try:
        node_signals(tree, ctx)
    except TreeError:
        return False
    return True
