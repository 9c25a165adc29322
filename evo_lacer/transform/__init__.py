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

__all__ = [
    "DEPTHS",
    "ROLES",
    "SITE_CLASSES",
    "SOURCE_KINDS",
    "Choice",
    "Site",
    "Slot",
    "TransformContext",
    "Transformation",
    "site_class",
]
