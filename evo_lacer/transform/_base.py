"""The Transformation role: legal sites, the open choices at a site, and applying a choice.

A planner picks a transformation and a *site class* (a fixed vocabulary, see `site_class`);
a designer then picks one site of that class and fills its slots (finite domains), so every
answer an LLM gives is one of the options listed here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field

from evo_lacer.signals import Signal
from evo_lacer.tree import Node, ParamValue, Path, format_path
from evo_lacer.zoo import Catalog

Choice = Mapping[str, ParamValue]

ROLES = ("module", "gap", "span", "fusion", "branch")
DEPTHS = ("early", "late")
SOURCE_KINDS = ("vector", "sequence", "image", "tokens", "fused")


def site_class(source_kind: str, depth: str, role: str) -> str:
    """The planner's vocabulary: ``"<source kind>/<early|late>/<role>"``."""
    return f"{source_kind}/{depth}/{role}"


SITE_CLASSES: tuple[str, ...] = tuple(
    site_class(k, d, r) for k in SOURCE_KINDS for d in DEPTHS for r in ROLES
)


@dataclass(frozen=True)
class Site:
    """Where a transformation acts.

    `path` is the node acted on; for insertions it is the sequential parent and `index` the
    position; for composites `index`/`span` give the wrapped run of children.
    """

    path: Path
    role: str
    source: str | None
    source_kind: str
    depth: str = "early"
    index: int | None = None
    span: int = 1

    @property
    def klass(self) -> str:
        return site_class(self.source_kind, self.depth, self.role)

    def describe(self) -> str:
        where = format_path(self.path)
        if self.index is not None and self.role == "gap":
            return f"{where} at position {self.index}"
        if self.index is not None:
            return f"{where}[{self.index}:{self.index + self.span}]"
        return where


@dataclass(frozen=True)
class Slot:
    """One open choice at a site: a name and its finite options."""

    name: str
    options: tuple[ParamValue, ...]
    description: str = ""
    required: bool = True
    """False for choices `apply` can default (a new module's parameters); designers may
    still fill them."""


@dataclass(frozen=True)
class TransformContext:
    """What transformations need to know besides the tree."""

    catalog: Catalog
    inputs: Mapping[str, Signal]
    """Signal of each observation source (from the observation space)."""
    history: tuple[tuple[str, Site, Mapping[str, ParamValue]], ...] = field(default=())
    """Previously applied (transformation name, site, choice), newest last."""
    donors: tuple[Node, ...] = ()
    """Other trees of the population (crossover takes same-source branches from them)."""


class Transformation(ABC):
    """One kind of tree edit. Implementations are stateless."""

    name: str = ""
    description: str = ""
    context_free: bool = False
    """True when `sites` depends only on the tree, ``ctx.catalog`` and ``ctx.inputs`` (not on
    the history or the donors): a search may then reuse the sites of a tree it has seen."""

    @abstractmethod
    def sites(self, tree: Node, ctx: TransformContext) -> list[Site]:
        """Every site where this transformation can act on `tree`."""

    @abstractmethod
    def slots(
        self, tree: Node, site: Site, ctx: TransformContext, chosen: Choice | None = None
    ) -> list[Slot]:
        """The choices still open at `site` given those already `chosen`; each has a non-empty
        finite domain. Slots may depend on earlier answers (a module choice opens its
        parameters), so a designer asks again until the list is empty."""

    @abstractmethod
    def apply(self, tree: Node, site: Site, choice: Choice, ctx: TransformContext) -> Node:
        """The new tree. Raises `TreeError` for a choice outside the listed slots."""
