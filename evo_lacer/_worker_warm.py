"""Imported once by the process pool's fork server (named in its preload list, never imported by
evo_lacer itself), so that every worker forked from it starts warm.

Without it, each new worker paid ~0.3 s importing the search API when the evaluator it was sent
was unpickled (a user's fitness module typically imports evo_lacer), and ~0.35 s on its first
compiled tree, where torch imports sympy for its symbolic shapes and the built-in zoo's modules
are imported.
"""

import importlib

import torch.fx.experimental.symbolic_shapes  # noqa: F401

import evo_lacer.api  # noqa: F401

for _name in ("discrete", "fusion", "image", "sequence", "text", "vector"):
    importlib.import_module(f"modules_zoo.{_name}")
