"""change_fusion: replace the module that merges the branch vectors."""

from __future__ import annotations

from evo_lacer.transform._analysis import geometry, placeable, same_op
from evo_lacer.transform._base import Choice, Site, Slot, Transformation, TransformContext
from evo_lacer.transform._choices import module_node, module_slots, resolve
from evo_lacer.tree import Node, replace_at
from evo_lacer.zoo import ModuleSpec


class ChangeFusion(Transformation):
    """Slots: `module` (another catalog fusion), then its searchable parameters (unset ones
    carry over from the old fusion when legal, else default)."""

    name = "change_fusion"
    context_free = True
    description = "replace the fusion module"

    def _options(self, tree: Node, ctx: TransformContext) -> list[ModuleSpec]:
        now = tree.fusion.op
        return [s for s in ctx.catalog.fusions() if placeable(s) and not same_op(s.key, now, ctx.catalog)]

    def sites(self, tree: Node, ctx: TransformContext) -> list[Site]:
        if not self._options(tree, ctx):
            return []
        return [Site(("fusion",), "fusion", *geometry(tree, ("fusion",), ctx.inputs))]

    def slots(
        self, tree: Node, site: Site, ctx: TransformContext, chosen: Choice | None = None
    ) -> list[Slot]:
        return module_slots(self._options(tree, ctx), tree, ctx, chosen or {}, "the fusion",
                            replaced=tree.fusion)

    def apply(self, tree: Node, site: Site, choice: Choice, ctx: TransformContext) -> Node:
        site, chosen = resolve(self, tree, site, choice, ctx)
        return replace_at(tree, ("fusion",), module_node("fusion", chosen, tree, ctx, replaced=tree.fusion))
