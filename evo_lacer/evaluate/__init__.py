"""Evaluators: a tree in, a Feedback out (RL training, or a user's fitness function)."""

from evo_lacer.evaluate._base import Evaluator
from evo_lacer.evaluate._clone_hook import CloneHook, CloneRun, CloneTrainer
from evo_lacer.evaluate._features import (
    dead_units,
    effective_rank,
    feature_statistics,
    linear_cka,
    probe_quality,
    ridge_r2,
)
from evo_lacer.evaluate._feedback import Cost, Feedback, Status
from evo_lacer.evaluate._fidelity import promote_record
from evo_lacer.evaluate._filter import CHANNELS, SIGNALS, check_channels, check_signals, filter_feedback
from evo_lacer.evaluate._function import FitnessRecord, FunctionEvaluator
from evo_lacer.evaluate._imitation import ImitationEvaluator, auto_expert
from evo_lacer.evaluate._ppo_hook import PPOTrainer
from evo_lacer.evaluate._ppo_runs import ppo_defaults
from evo_lacer.evaluate._rl import SHORT_PPO, RLEvaluator

__all__ = [
    "CHANNELS",
    "SHORT_PPO",
    "SIGNALS",
    "CloneHook",
    "CloneRun",
    "CloneTrainer",
    "Cost",
    "Evaluator",
    "Feedback",
    "FitnessRecord",
    "FunctionEvaluator",
    "ImitationEvaluator",
    "PPOTrainer",
    "RLEvaluator",
    "Status",
    "auto_expert",
    "check_channels",
    "check_signals",
    "dead_units",
    "effective_rank",
    "feature_statistics",
    "filter_feedback",
    "linear_cka",
    "ppo_defaults",
    "probe_quality",
    "promote_record",
    "ridge_r2",
]
