"""One guarded way to ask the LLM: every exchange logged and counted, no failure ever raised."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from evo_lacer.engine._accounting import LLMAccounting
from evo_lacer.errors import LLMError, LLMUnavailable
from evo_lacer.llm import LLMBackend, LLMRequest
from evo_lacer.llm._schema import validate

ExchangeSink = Callable[[dict[str, Any]], None]


def prompt_parts(backend: Any, system: str, prompt: str) -> dict[str, Any]:
    """Size of each part of a prompt (system, then each paragraph named by its first words), in the
    model's tokens when the backend counts them (the embedded one; else characters), and the tokens
    its KV cache reused: what to shorten when a prompt nears the model's context."""
    parts = {"system": system, **{_label(p, i): p for i, p in enumerate(prompt.split("\n\n"))}}
    count = getattr(backend, "count_tokens", None)
    try:
        sizes = {k: int(count(v)) if callable(count) else len(v) for k, v in parts.items()}
    except Exception:  # a size is a diagnostic; it never fails the call
        return {}
    out: dict[str, Any] = {"prompt_parts": sizes, "parts_unit": "tokens" if callable(count) else "chars"}
    cached = getattr(backend, "last_cached_tokens", None)
    if isinstance(cached, int):
        out["cached_tokens"] = cached
    return out


def _label(part: str, index: int) -> str:
    head = part.split("\n", 1)[0].split(":", 1)[0].strip()[:32]
    return f"{index}:{head}"


class LLMClient:
    """Asks `backend` schema-constrained questions on behalf of a designer or proposer.

    Returns the validated answer or ``(None, error)``: a failed, timed-out or invalid answer is
    the caller's cue to fall back. After ``max_unavailable`` consecutive `LLMUnavailable` errors
    (server down, HTTP 5xx) the backend rests: it is not asked for ``backoff_s`` seconds (each
    skipped call is counted), then asked again; each further failure doubles the rest, up to
    ``max_backoff_s``, and one answer resets it -- a passing overload never switches it off.
    """

    def __init__(self, backend: LLMBackend, *, exchange_sink: ExchangeSink | None = None,
                 temperature: float = 0.2, timeout_s: float = 60.0, max_unavailable: int = 3,
                 backoff_s: float = 5.0, max_backoff_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.backend = backend
        self.exchange_sink = exchange_sink
        self.temperature = temperature
        self.timeout_s = timeout_s
        self.max_unavailable = max_unavailable
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.accounting = LLMAccounting()
        self._clock = clock
        self._unavailable_streak = 0
        self._rest_until = -math.inf
        self._rest_s = backoff_s

    @property
    def disabled(self) -> bool:
        """Whether the backend is resting after repeated unavailability (asked again afterwards)."""
        return self._clock() < self._rest_until

    def ask(self, *, purpose: str, system: str, prompt: str, schema: dict[str, Any], seed: int,
            max_tokens: int, candidate_id: int = -1) -> tuple[Any, str | None]:
        """The validated answer, or (None, error text)."""
        if self.disabled:
            self.accounting.skipped_calls += 1
            left = self._rest_until - self._clock()
            return None, (f"LLM resting {left:.0f} s more after {self._unavailable_streak} failed calls "
                          "in a row")
        record: dict[str, Any] = {"purpose": purpose, "candidate": candidate_id, "seed": seed,
                                  "system": system, "prompt": prompt, "schema": schema,
                                  "backend": getattr(self.backend, "name", "?"),
                                  "model": getattr(self.backend, "model", "?")}
        start = time.perf_counter()
        value: Any = None
        error: str | None = None
        try:
            request = LLMRequest(system=system, prompt=prompt, schema=schema, seed=seed,
                                 temperature=self.temperature, max_tokens=max_tokens,
                                 timeout_s=self.timeout_s)
            reply = self.backend.complete(request)
            validate(reply.value, schema)
            value = reply.value
            self._unavailable_streak = 0
            self._rest_s = self.backoff_s
            record.update(ok=True, fallback=False, value=value, text=reply.text,
                          prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens,
                          seconds=reply.seconds, model=reply.model,
                          **prompt_parts(self.backend, system, prompt))
            self.accounting.add_call(seconds=time.perf_counter() - start, prompt_tokens=reply.prompt_tokens,
                                     completion_tokens=reply.completion_tokens)
        except Exception as exc:  # a broken backend must never stop the search
            error = f"{type(exc).__name__}: {exc}"
            if isinstance(exc, LLMUnavailable):
                self._unavailable_streak += 1
                if self._unavailable_streak >= self.max_unavailable:
                    self._rest_until = self._clock() + self._rest_s
                    self._rest_s = min(self.max_backoff_s, self._rest_s * 2)
            elif not isinstance(exc, LLMError):
                error = f"backend bug: {error}"
            seconds = time.perf_counter() - start
            self.accounting.add_call(seconds=seconds, error=type(exc).__name__)
            record.update(ok=False, fallback=True, error=error[:2000], seconds=seconds)
        if self.exchange_sink is not None:
            self.exchange_sink(record)
        return value, error
