"""repeat_previous: apply the most recent operation again, with the same choice, elsewhere
(LLMasTool's "repeat previous operation": a good edit is often good at a sibling site)."""

from __future__ import annotations

from collections.abc import Mapping

from evo_lacer.errors import TreeError
from evo_lacer.transform._base import Choice, Site, Slot, Transformation, TransformContext
from evo_lacer.transform._choices import check_choice, resolve_site, same_place
from evo_lacer.tree import Node


class RepeatPrevious(Transformation):
    """Sites: those of the previous operation's transformation, other than the previous site,
    where the previous choice is legal. No slots: the choice is the previous one.

    The previous operation is the newest `ctx.history` entry naming one of `registry`'s
    transformations (entries of repeat_previous itself are skipped: record the operation that
    was really applied, e.g. via `resolve`)."""

    name = "repeat_previous"
    description = "apply the previous operation again at another site"

    def __init__(self, registry: Mapping[str, Transformation]) -> None:
        self.registry = registry

    def resolve(self, ctx: TransformContext) -> tuple[Transformation, Site, Choice] | None:
        """The transformation, site and choice this would repeat, or None without history."""
        for name, site, choice in reversed(ctx.history):
            if name in self.registry and name != self.name:
                return self.registry[name], site, choice
        return None

    def sites(self, tree: Node, ctx: TransformContext) -> list[Site]:
        prev = self.resolve(ctx)
        if prev is None:
            return []
        t, last, choice = prev
        out = []
        for site in t.sites(tree, ctx):
            if same_place(site, last):
                continue
            try:
                check_choice(t, tree, site, choice, ctx)
            except TreeError:
                continue
            out.append(site)
        return out

    def slots(
        self, tree: Node, site: Site, ctx: TransformContext, chosen: Choice | None = None
    ) -> list[Slot]:
        return []

    def apply(self, tree: Node, site: Site, choice: Choice, ctx: TransformContext) -> Node:
        if choice:
            raise TreeError(f"{self.name}: takes no choices (it reuses the previous one), got {dict(choice)}")
        prev = self.resolve(ctx)
        if prev is None:
            raise TreeError(f"{self.name}: the history holds no operation to repeat")
        t, _, previous_choice = prev
        site = resolve_site(self, tree, site, ctx)
        return t.apply(tree, site, previous_choice, ctx)
