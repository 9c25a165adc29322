"""Evaluators: a tree in, a Feedback out (RL training, or a user's fitness function)."""

from evo_lacer.evaluate._base import Evaluator
from evo_lacer.evaluate._feedback import Cost, Feedback, Status

__all__ = ["Cost", "Evaluator", "Feedback", "Status"]
