"""What every LLM backend takes and gives: frozen records and a one-method protocol.

The LLM is a tool, never an agent: a request always carries the JSON schema of the answer, and
a reply's ``value`` has been parsed and validated against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from evo_lacer.errors import ConfigError

RAISE_LIMIT = ("raise the limit (in a search: llm_timeout_s, --llm-timeout-s; "
               "a direct request: LLMRequest.timeout_s)")
"""How a timeout message says to give a call more time (each way the limit is set)."""


@dataclass(frozen=True)
class LLMRequest:
    """One schema-constrained question to an LLM."""

    system: str
    """System message: the role and the rules of the answer."""
    prompt: str
    """User message: the question, with the options it must choose from."""
    schema: dict[str, Any] = field(hash=False)
    """JSON schema (see ``check_schema`` for the subset) the answer must match."""
    seed: int = 0
    """Sampling seed; the same seed and request give the same answer on the same backend."""
    temperature: float = 0.2
    """Sampling temperature; 0 is greedy."""
    max_tokens: int = 256
    """Most tokens the answer may have; a longer answer is cut and fails validation."""
    timeout_s: float = 60.0
    """Wall-clock limit for the call, in seconds (model loading not included)."""

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise ConfigError(f"LLMRequest.max_tokens must be >= 1; got {self.max_tokens}")
        if not self.timeout_s > 0:
            raise ConfigError(f"LLMRequest.timeout_s must be > 0; got {self.timeout_s}")
        if self.temperature < 0:
            raise ConfigError(f"LLMRequest.temperature must be >= 0; got {self.temperature}")


@dataclass(frozen=True)
class LLMReply:
    """An answer that parsed and validated against the request's schema."""

    value: Any
    """The parsed JSON answer (valid against the request's schema)."""
    text: str
    """The raw text the model produced."""
    prompt_tokens: int
    """Tokens in the prompt as the backend counted them (0 if the server cached it)."""
    completion_tokens: int
    """Tokens the model generated."""
    seconds: float
    """Wall-clock time of the call."""
    backend: str
    """Backend name, e.g. ``"embedded"`` or ``"ollama"``."""
    model: str
    """Model name as the backend knows it."""


@dataclass(frozen=True)
class Generation:
    """Raw output of one constrained generation, before parsing (what a server passes on)."""

    text: str
    """The generated text."""
    prompt_tokens: int
    """Tokens in the formatted prompt."""
    completion_tokens: int
    """Tokens generated (the end-of-sequence token not counted)."""
    seconds: float
    """Wall-clock time of the generation."""
    first_token_s: float
    """Seconds until the first generated token (roughly the prompt evaluation time)."""
    finish_reason: str
    """``"stop"`` (the model ended the answer) or ``"length"`` (cut at ``max_tokens``)."""


def chat_messages(request: LLMRequest) -> list[dict[str, str]]:
    """The chat messages of a request; an empty system message is left out so the model's
    own default system prompt applies."""
    messages = [{"role": "system", "content": request.system}] if request.system else []
    return [*messages, {"role": "user", "content": request.prompt}]


@runtime_checkable
class LLMBackend(Protocol):
    """Answers schema-constrained questions.

    ``complete`` raises ``LLMUnavailable`` (cannot be used), ``LLMTimeout`` (too slow) or
    ``LLMInvalidAnswer`` (the answer did not parse or validate).
    """

    name: str
    model: str

    def complete(self, request: LLMRequest) -> LLMReply: ...


@runtime_checkable
class TextGenerator(Protocol):
    """A backend that can also hand back the raw generation (used by the loopback server)."""

    name: str
    model: str

    def generate(self, request: LLMRequest) -> Generation: ...
