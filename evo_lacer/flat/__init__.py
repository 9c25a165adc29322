"""LACER's flat per-source search space (families and categorical hyper-parameters) as data."""

from evo_lacer.flat._family import Family, Step
from evo_lacer.flat._space import FlatSpace, default_space_path, seed_tree

__all__ = ["Family", "FlatSpace", "Step", "default_space_path", "seed_tree"]
