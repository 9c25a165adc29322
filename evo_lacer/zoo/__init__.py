"""The module zoo: mined module specs, the catalog, the AST miner, the opt-in probe, catalog I/O."""

from evo_lacer.zoo._builtin import builtin_catalog, zoo_folder
from evo_lacer.zoo._cache import ParseCache, ProbeCache, default_cache_dir
from evo_lacer.zoo._catalog import Catalog
from evo_lacer.zoo._io import catalog_from_json, catalog_to_json, load_catalog, save_catalog, spec_to_dict
from evo_lacer.zoo._miner import MiningReport, mine
from evo_lacer.zoo._probe import ProbeReport, ProbeResult, probe
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
    "ProbeCache",
    "ProbeReport",
    "ProbeResult",
    "builtin_catalog",
    "catalog_from_json",
    "catalog_to_json",
    "default_cache_dir",
    "load_catalog",
    "mine",
    "probe",
    "save_catalog",
    "spec_to_dict",
    "zoo_folder",
]
