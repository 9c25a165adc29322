"""LLM backends behind one protocol: the LLM is a tool that picks among listed options.

Every request carries the JSON schema of its answer; backends constrain generation to it
(llama.cpp grammar, Ollama ``format=``) and every answer is parsed and validated against it.
Nothing an LLM writes is executed.
"""

from evo_lacer.llm._embedded import MODEL_PACKAGE, EmbeddedBackend, default_model_path
from evo_lacer.llm._factory import MODEL_ENV, SPEC_FORMS, make_backend, probe_ollama, verify_backend
from evo_lacer.llm._loopback import LOOPBACK_VERSION, OllamaCompatServer, serve
from evo_lacer.llm._ollama import DEFAULT_OLLAMA_HOST, OllamaBackend, resolve_host
from evo_lacer.llm._protocol import Generation, LLMBackend, LLMReply, LLMRequest, TextGenerator
from evo_lacer.llm._schema import (
    REASON_FIELD,
    JSONScalar,
    check_schema,
    choice_schema,
    parse_answer,
    schema_errors,
    validate,
)

__all__ = [
    "DEFAULT_OLLAMA_HOST",
    "LOOPBACK_VERSION",
    "MODEL_ENV",
    "MODEL_PACKAGE",
    "REASON_FIELD",
    "SPEC_FORMS",
    "EmbeddedBackend",
    "Generation",
    "JSONScalar",
    "LLMBackend",
    "LLMReply",
    "LLMRequest",
    "OllamaBackend",
    "OllamaCompatServer",
    "TextGenerator",
    "check_schema",
    "choice_schema",
    "default_model_path",
    "make_backend",
    "parse_answer",
    "probe_ollama",
    "resolve_host",
    "schema_errors",
    "serve",
    "validate",
    "verify_backend",
]
