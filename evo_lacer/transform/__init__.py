"""Tree transformations (sites, slots, apply) and the gate that screens candidates."""

from evo_lacer.transform._base import (
    DEPTHS,
    ROLES,
    SITE_CLASSES,
    SOURCE_KINDS,
    Choice,
    Site,
    Slot,
    Transformation,
    TransformContext,
    site_class,
)
from evo_lacer.transform._composite import CreateComposite
from evo_lacer.transform._crossover import Crossover
from evo_lacer.transform._fusion import ChangeFusion
from evo_lacer.transform._gate import CHECKS, LATENCY_RUNS, Gate, GateResult, dummy_batch, fastest_ms
from evo_lacer.transform._modules import DeleteModule, InsertModule, SwapModule
from evo_lacer.transform._params import ChangeParameter
from evo_lacer.transform._redraw import RedrawBranch
from evo_lacer.transform._registry import ALL_TRANSFORMATIONS, legal_moves, random_move
from evo_lacer.transform._repeat import RepeatPrevious

__all__ = [
    "ALL_TRANSFORMATIONS",
    "CHECKS",
    "DEPTHS",
    "LATENCY_RUNS",
    "ROLES",
    "SITE_CLASSES",
    "SOURCE_KINDS",
    "ChangeFusion",
    "ChangeParameter",
    "Choice",
    "CreateComposite",
    "Crossover",
    "DeleteModule",
    "Gate",
    "GateResult",
    "InsertModule",
    "RedrawBranch",
    "RepeatPrevious",
    "Site",
    "Slot",
    "SwapModule",
    "TransformContext",
    "Transformation",
    "dummy_batch",
    "fastest_ms",
    "legal_moves",
    "random_move",
    "site_class",
]
