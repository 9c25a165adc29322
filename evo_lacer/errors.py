"""One exception root for the whole toolkit; every message names the bad value, where it came
from and how to fix it."""

from __future__ import annotations


class EvoLacerError(Exception):
    """Root of every error evo-lacer raises on purpose."""


class ConfigError(EvoLacerError, ValueError):
    """A setting or argument has a value that cannot work."""


class TreeError(EvoLacerError, ValueError):
    """A tree is malformed: unknown node kind, bad path, bad parameter."""


class ShapeError(TreeError):
    """Shape inference failed at a node path (kind or dimension mismatch)."""


class MiningError(EvoLacerError):
    """Source code could not be mined or a catalog could not be loaded."""


class CompileError(EvoLacerError):
    """A tree could not be turned into a torch module for an observation space."""


class GateRejection(EvoLacerError):
    """A candidate failed one of the gate's checks (the check is named in the message)."""


class LLMError(EvoLacerError):
    """An LLM backend failed: unreachable, missing model, timeout, or an invalid answer."""


class LLMUnavailable(LLMError):
    """The backend cannot be used at all (server down, model missing, package missing)."""


class LLMTimeout(LLMError):
    """A call did not answer within its time limit."""


class LLMInvalidAnswer(LLMError):
    """The answer did not parse or did not validate against the schema."""


class EnvError(EvoLacerError):
    """An environment is misconfigured or cannot be created."""


class EvaluationError(EvoLacerError):
    """An evaluator was misconfigured (a failing candidate is a Feedback, not this)."""


class RunStoreError(EvoLacerError):
    """A run directory is missing, corrupt or belongs to something else."""


def missing_extra(package: str, extra: str) -> EvoLacerError:
    """Error for an optional dependency that is not installed, with the install hint."""
    return EvoLacerError(
        f"optional dependency {package!r} is not installed; "
        f"install it with: pip install 'evo-lacer[{extra}]'"
    )
