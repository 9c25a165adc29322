"""`evo-lacer serve-ollama`: serve the embedded model over Ollama's HTTP API on loopback.

Useful to point any Ollama client (including `--llm ollama:MODEL@http://127.0.0.1:PORT`) at the
embedded model on a machine where the Ollama server cannot be installed.
"""

from __future__ import annotations

import argparse
from typing import Any

from evo_lacer.errors import ConfigError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("serve-ollama", help="serve the embedded LLM over the Ollama API on 127.0.0.1")
    p.add_argument("--port", type=int, default=11434, help="TCP port on 127.0.0.1 (default: 11434)")
    p.add_argument("--model", default="embedded", help="embedded | embedded:/path/model.gguf")
    p.add_argument("--model-name", default=None, help="the name clients use for the model")
    p.add_argument("--threads", type=int, default=None, help="llama.cpp threads")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from evo_lacer.llm import make_backend, serve

    if not str(args.model).startswith("embedded"):
        raise ConfigError(f"--model {args.model!r}: serve-ollama serves an embedded model; "
                          "use 'embedded' or 'embedded:/path/model.gguf'")
    backend = make_backend(args.model, n_threads=args.threads)
    assert backend is not None
    serve(backend, port=args.port, model_name=args.model_name)
    return 0
