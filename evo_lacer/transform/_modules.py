"""swap_module, insert_module, delete_module: edits of single modules in branches and the head.

Legality is judged by signal kinds (what a module accepts and emits), so every listed option
keeps each branch ending in a vector. Dimensions are checked (with the compiler's shape
inference) only where a module's `min_input` or a residual's skip constrains them; the rest
is the gate's to check.
"""

from __future__ import annotations

from itertools import islice

from evo_lacer.transform._analysis import (
    PLACEHOLDER,
    containers,
    dims_ok,
    fitting_blocks,
    geometry,
    in_residual,
    insert_child,
    kind_at_gap,
    kind_flow,
    kinds_ok,
    modules_in_chains,
    op_name,
    remove_child,
    signal_before,
)
from evo_lacer.transform._base import Choice, Site, Slot, Transformation, TransformContext
from evo_lacer.transform._choices import module_node, module_slots, resolve
from evo_lacer.tree import Node, Path, format_path, get, replace_at
from evo_lacer.zoo import ModuleSpec


class SwapModule(Transformation):
    """Replace a module by another that takes the same input kind and keeps the tree valid.
    Slots: `module`, then its searchable parameters (unset ones carry over or default)."""

    name = "swap_module"
    context_free = True
    description = "replace a module by a different catalog module"

    def _options(self, tree: Node, path: Path, ctx: TransformContext,
                 first: bool = False) -> list[ModuleSpec]:
        """Legal replacements (only the first one found when `first`: enough to list a site)."""
        node = get(tree, path)
        in_kind = kind_flow(tree, ctx.inputs, ctx.catalog)[path][0]
        signal = signal_before(tree, ctx, path[:-1], int(path[-1]))
        specs = fitting_blocks(tree, path, in_kind, ctx, exclude=node.op, signal=signal)
        if in_residual(tree, path):  # the skip fixes the shape: keep what still builds
            ok = (s for s in specs if dims_ok(replace_at(tree, path, _default(s, tree, ctx, node)), ctx))
            specs = list(islice(ok, 1 if first else None))
        return specs

    def sites(self, tree: Node, ctx: TransformContext) -> list[Site]:
        out = []
        for path, _node in modules_in_chains(tree):
            if self._options(tree, path, ctx, first=True):
                out.append(Site(path, "module", *geometry(tree, path, ctx.inputs)))
        return out

    def slots(
        self, tree: Node, site: Site, ctx: TransformContext, chosen: Choice | None = None
    ) -> list[Slot]:
        node = get(tree, site.path)
        if node.kind != "module":
            return []
        options = self._options(tree, site.path, ctx)
        return module_slots(options, tree, ctx, chosen or {}, format_path(site.path), replaced=node)

    def apply(self, tree: Node, site: Site, choice: Choice, ctx: TransformContext) -> Node:
        site, chosen = resolve(self, tree, site, choice, ctx)
        old = get(tree, site.path)
        return replace_at(tree, site.path, module_node("module", chosen, tree, ctx, replaced=old))


def _gap_options(tree: Node, parent: Path, index: int, ctx: TransformContext,
                 first: bool = False) -> list[ModuleSpec]:
    probe = insert_child(tree, parent, index, Node("module", op=PLACEHOLDER))  # TreeError: no such gap
    in_kind = kind_at_gap(kind_flow(tree, ctx.inputs, ctx.catalog), parent, index)
    signal = signal_before(tree, ctx, parent, index)
    specs = fitting_blocks(probe, (*parent, str(index)), in_kind, ctx, signal=signal)
    if in_residual(probe, (*parent, str(index))):
        ok = (s for s in specs if dims_ok(insert_child(tree, parent, index, _default(s, tree, ctx)), ctx))
        specs = list(islice(ok, 1 if first else None))
    return specs


def _default(spec: ModuleSpec, tree: Node, ctx: TransformContext, replaced: Node | None = None) -> Node:
    """The node `spec` becomes when no parameter is chosen."""
    return module_node("module", {"module": op_name(spec, ctx.catalog)}, tree, ctx, replaced=replaced)


class InsertModule(Transformation):
    """Insert a module at a gap (a sequential node and a position) where some module fits.
    Slots: `module`, then its searchable parameters (unset ones default)."""

    name = "insert_module"
    context_free = True
    description = "insert a new module into a branch or the head"

    def _gaps(self, tree: Node) -> list[tuple[Path, int]]:
        gaps = [(path, i) for path, node in containers(tree) for i in range(len(node.children) + 1)]
        if tree.head is None:
            gaps.append((("head",), 0))
        return gaps

    def sites(self, tree: Node, ctx: TransformContext) -> list[Site]:
        out = []
        for parent, index in self._gaps(tree):
            if _gap_options(tree, parent, index, ctx, first=True):
                source, kind, depth = geometry(tree, parent, ctx.inputs, gap=index)
                out.append(Site(parent, "gap", source, kind, depth, index=index))
        return out

    def slots(
        self, tree: Node, site: Site, ctx: TransformContext, chosen: Choice | None = None
    ) -> list[Slot]:
        if site.index is None:
            return []
        options = _gap_options(tree, site.path, site.index, ctx)
        return module_slots(options, tree, ctx, chosen or {}, site.describe())

    def apply(self, tree: Node, site: Site, choice: Choice, ctx: TransformContext) -> Node:
        site, chosen = resolve(self, tree, site, choice, ctx)
        assert site.index is not None
        return insert_child(tree, site.path, site.index, module_node("module", chosen, tree, ctx))


class DeleteModule(Transformation):
    """Remove a module when the tree still type-checks (a branch never loses its last pooling);
    a residual or repeat left empty is removed with it. No slots."""

    name = "delete_module"
    context_free = True
    description = "remove a module from a branch or the head"

    def sites(self, tree: Node, ctx: TransformContext) -> list[Site]:
        out = []
        for path, _node in modules_in_chains(tree):
            if kinds_ok(remove_child(tree, path), ctx.inputs, ctx.catalog):
                out.append(Site(path, "module", *geometry(tree, path, ctx.inputs)))
        return out

    def slots(
        self, tree: Node, site: Site, ctx: TransformContext, chosen: Choice | None = None
    ) -> list[Slot]:
        return []

    def apply(self, tree: Node, site: Site, choice: Choice, ctx: TransformContext) -> Node:
        site, _ = resolve(self, tree, site, choice, ctx)
        return remove_child(tree, site.path)
