"""evo-lacer: evolve multi-source state encoders for RL agents, with a local LLM as a tool."""

from evo_lacer.errors import EvoLacerError

__version__ = "0.1.0"

__all__ = ["EvoLacerError", "__version__"]
