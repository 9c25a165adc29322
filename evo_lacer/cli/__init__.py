"""The `evo-lacer` command line."""

from evo_lacer.cli._dataclass_args import add_dataclass_args, dataclass_from_args, field_docs
from evo_lacer.cli._main import build_parser, main

__all__ = ["add_dataclass_args", "build_parser", "dataclass_from_args", "field_docs", "main"]
