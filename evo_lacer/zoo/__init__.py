"""The module zoo: mined module specs, the catalog, and the AST miner."""

from evo_lacer.zoo._builtin import builtin_catalog, zoo_folder
from evo_lacer.zoo._cache import ParseCache, default_cache_dir
from evo_lacer.zoo._catalog import Catalog
from evo_lacer.zoo._miner import MiningReport, mine
from evo_lacer.zoo._spec import BINDINGS, FOREIGN_BINDINGS, SOURCES_MARKER, ModuleSpec, ParamSpec

__all__ = [
    "BINDINGS",
    "FOREIGN_BINDINGS",
    "SOURCES_MARKER",
    "Catalog",
    "MiningReport",
    "ModuleSpec",
    "ParamSpec",
    "ParseCache",
    "builtin_catalog",
    "default_cache_dir",
    "mine",
    "zoo_folder",
]
