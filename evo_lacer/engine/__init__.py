"""The hybrid search: population (DEAP), planners (Optuna / Thompson / random), designers (LLM /
random), strategies, the harness and loop every strategy shares, and the session that runs them
(`run_session`)."""

from evo_lacer.engine._accounting import LLMAccounting
from evo_lacer.engine._config import (
    FLAT_STRATEGIES,
    LLM_STRATEGIES,
    STRATEGIES,
    TREE_STRATEGIES,
    SearchConfig,
)
from evo_lacer.engine._designer import DesignContext, DesignDecision, Designer, RandomDesigner
from evo_lacer.engine._flat_strategy import FlatStrategy
from evo_lacer.engine._harness import Harness, Progress, Proposal
from evo_lacer.engine._llm_client import LLMClient
from evo_lacer.engine._llm_designer import LLMDesigner
from evo_lacer.engine._loop import LoopResult, run_loop
from evo_lacer.engine._optuna_planner import OptunaPlanner
from evo_lacer.engine._planner import Planner, RandomPlanner
from evo_lacer.engine._population import FITNESS_CLASSES, Individual
from evo_lacer.engine._progress import ProgressBar
from evo_lacer.engine._records import PROMPT_CATEGORIES, Candidate, LegalMoves, Outcome, Plan, Stage
from evo_lacer.engine._registry import STRATEGY_REGISTRY, StrategySpec
from evo_lacer.engine._session import SessionOutcome, run_session
from evo_lacer.engine._strategy import Strategy
from evo_lacer.engine._thompson import ThompsonPlanner
from evo_lacer.engine._tree_strategy import TreeStrategy
from evo_lacer.engine._wiring import build_strategy, default_seed_tree, make_designer, make_planner

__all__ = [
    "FITNESS_CLASSES",
    "FLAT_STRATEGIES",
    "LLM_STRATEGIES",
    "PROMPT_CATEGORIES",
    "STRATEGIES",
    "STRATEGY_REGISTRY",
    "TREE_STRATEGIES",
    "Candidate",
    "DesignContext",
    "DesignDecision",
    "Designer",
    "FlatStrategy",
    "Harness",
    "Individual",
    "LLMAccounting",
    "LLMClient",
    "LLMDesigner",
    "LegalMoves",
    "LoopResult",
    "OptunaPlanner",
    "Outcome",
    "Plan",
    "Planner",
    "Progress",
    "ProgressBar",
    "Proposal",
    "RandomDesigner",
    "RandomPlanner",
    "SearchConfig",
    "SessionOutcome",
    "Stage",
    "Strategy",
    "StrategySpec",
    "ThompsonPlanner",
    "TreeStrategy",
    "build_strategy",
    "default_seed_tree",
    "make_designer",
    "make_planner",
    "run_loop",
    "run_session",
]
