"""Build a backend from a one-line spec (what the CLI and run configs carry)."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from evo_lacer.errors import ConfigError, LLMUnavailable
from evo_lacer.llm._embedded import EmbeddedBackend
from evo_lacer.llm._ollama import OllamaBackend, resolve_host
from evo_lacer.llm._protocol import LLMBackend

MODEL_ENV = "EVO_LACER_OLLAMA_MODEL"
"""Environment variable naming the Ollama model ``"auto"`` should use."""

SPEC_FORMS = (
    "auto",
    "none",
    "embedded",
    "embedded:/path/model.gguf",
    "ollama:MODEL",
    "ollama:MODEL@http://host:port",
)
"""The accepted forms of a backend spec."""

_log = logging.getLogger(__name__)


def make_backend(
    spec: str,
    *,
    n_threads: int | None = None,
    n_ctx: int = 8192,
    probe_timeout_s: float = 0.5,
    env: Mapping[str, str] | None = None,
) -> LLMBackend | None:
    """The backend ``spec`` names, or None for ``"none"`` (the caller designs at random).

    ``"auto"`` uses Ollama when a server (``$OLLAMA_HOST`` or 127.0.0.1:11434) answers
    ``/api/version`` within ``probe_timeout_s`` and lists a model (``$EVO_LACER_OLLAMA_MODEL``
    if set, else the first), otherwise the embedded model. ``n_threads`` / ``n_ctx`` configure
    the embedded backend. Nothing is loaded or downloaded here.
    """
    env = os.environ if env is None else env
    kind, model, host = parse_spec(spec)
    if kind == "none":
        return None
    if kind == "auto":
        return _auto(n_threads=n_threads, n_ctx=n_ctx, timeout_s=probe_timeout_s, env=env)
    if kind == "embedded":
        return EmbeddedBackend(model or None, n_threads=n_threads, n_ctx=n_ctx)
    return OllamaBackend(model, host=resolve_host(host or None, env))


def parse_spec(spec: str) -> tuple[str, str, str]:
    """(kind, model or path, host) of a backend spec, or a ConfigError listing `SPEC_FORMS`; nothing
    is loaded or reached, so every strategy's config can be checked with it."""
    text = spec.strip() if isinstance(spec, str) else ""
    kind, sep, rest = text.partition(":")
    kind, rest = kind.lower(), rest.strip()
    if kind in ("none", "auto") and not sep:
        return kind, "", ""
    if kind == "embedded" and (not sep or rest):
        return kind, rest, ""
    if kind == "ollama" and rest:
        model, at, host = rest.partition("@")
        if model.strip() and (not at or host.strip()):
            return kind, model.strip(), host.strip()
    raise ConfigError(
        f"LLM backend spec {spec!r} is not understood; use one of: {', '.join(SPEC_FORMS)}"
    )


def probe_ollama(host: str, timeout_s: float = 0.5) -> list[str] | None:
    """The models of the Ollama server at ``host``, or None if it does not answer in time."""
    import httpx

    try:
        with httpx.Client(base_url=host, timeout=timeout_s) as client:
            client.get("/api/version").raise_for_status()
            tags = client.get("/api/tags")
            tags.raise_for_status()
            models = tags.json().get("models") or []
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    return [str(m.get("model") or m.get("name")) for m in models if isinstance(m, dict)]


def _auto(
    *, n_threads: int | None, n_ctx: int, timeout_s: float, env: Mapping[str, str]
) -> LLMBackend:
    host = resolve_host(None, env)
    models = probe_ollama(host, timeout_s)
    wanted = (env.get(MODEL_ENV) or "").strip()
    if models and wanted:
        if wanted not in models and f"{wanted}:latest" not in models:
            raise LLMUnavailable(
                f"{MODEL_ENV}={wanted!r} but the Ollama server at {host} has only: "
                f"{', '.join(models)}; run `ollama pull {wanted}` or change {MODEL_ENV}"
            )
        _log.info("LLM backend: Ollama at %s, model %s (from %s)", host, wanted, MODEL_ENV)
        return OllamaBackend(wanted, host=host)
    if models:
        _log.info("LLM backend: Ollama at %s, model %s (first listed)", host, models[0])
        return OllamaBackend(models[0], host=host)
    why = "has no models" if models == [] else "did not answer"
    try:
        backend = EmbeddedBackend(n_threads=n_threads, n_ctx=n_ctx)
    except LLMUnavailable as exc:
        raise LLMUnavailable(
            f"no usable LLM: the Ollama server at {host} {why}, and the embedded backend "
            f"is unavailable ({exc}); or pass 'none' to design at random"
        ) from None
    _log.info("LLM backend: embedded %s (Ollama at %s %s)", backend.model, host, why)
    return backend


def verify_backend(backend: LLMBackend, timeout_s: float = 5.0) -> None:
    """Fail now (``LLMUnavailable``) when a backend the user named cannot answer: an Ollama server
    that does not answer within `timeout_s` or lacks the model. The embedded backend checked its
    model file when it was made."""
    if not isinstance(backend, OllamaBackend):
        return
    models = backend.available_models(timeout_s)
    if backend.model not in models and f"{backend.model}:latest" not in models:
        listed = ", ".join(models) or "none"
        raise LLMUnavailable(
            f"model {backend.model!r} is not on the Ollama server at {backend.host} (available: {listed}); "
            f"fetch it with `ollama pull {backend.model}`, name one of the available models, or pass "
            "--llm auto / none"
        )
