"""Strategy comparisons: strategies x seeds x budget through `evo_lacer.search` (``evo-lacer compare``).

A caller of the search, so it lives above the API: nothing below it imports this package."""

from evo_lacer.compare._comparison import CompareConfig, CompareResult, Reference, RunRow, run_comparison

__all__ = ["CompareConfig", "CompareResult", "Reference", "RunRow", "run_comparison"]
