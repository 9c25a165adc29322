"""crossover: take one branch from another tree of the population (same source)."""

from __future__ import annotations

from evo_lacer.errors import TreeError
from evo_lacer.transform._analysis import geometry, kinds_ok
from evo_lacer.transform._base import Choice, Site, Slot, Transformation, TransformContext
from evo_lacer.transform._choices import resolve
from evo_lacer.tree import Node, replace_at, tree_hash


class Crossover(Transformation):
    """Sites: branches for which some donor in `ctx.donors` has a different branch of the same
    source that type-checks here. Slot: `donor` (an index into `ctx.donors`)."""

    name = "crossover"
    description = "replace a branch by the same-source branch of another tree"

    def _donors(self, tree: Node, source: str, ctx: TransformContext) -> tuple[int, ...]:
        mine = tree_hash(tree.branch(source), ctx.catalog)
        out = []
        for i, donor in enumerate(ctx.donors):
            try:
                theirs = donor.branch(source)
            except TreeError:
                continue
            if tree_hash(theirs, ctx.catalog) == mine:
                continue
            try:
                ok = kinds_ok(replace_at(tree, (source,), theirs), ctx.inputs, ctx.catalog)
            except TreeError:
                ok = False
            if ok:
                out.append(i)
        return tuple(out)

    def sites(self, tree: Node, ctx: TransformContext) -> list[Site]:
        out = []
        for b in tree.branches:
            source = str(b.name)
            if self._donors(tree, source, ctx):
                _, kind, _ = geometry(tree, (source,), ctx.inputs)
                out.append(Site((source,), "branch", source, kind, "early"))
        return out

    def slots(
        self, tree: Node, site: Site, ctx: TransformContext, chosen: Choice | None = None
    ) -> list[Slot]:
        if "donor" in (chosen or {}) or site.source is None:
            return []
        donors = self._donors(tree, site.source, ctx)
        return [Slot("donor", donors, f"which tree (index among the donors) gives its {site.source} branch")]

    def apply(self, tree: Node, site: Site, choice: Choice, ctx: TransformContext) -> Node:
        site, chosen = resolve(self, tree, site, choice, ctx)
        donor = chosen["donor"]
        assert isinstance(donor, int) and site.source is not None
        return replace_at(tree, site.path, ctx.donors[donor].branch(site.source))
