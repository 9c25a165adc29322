"""`evo-lacer llm-check`: can this model guide the search? Decision probes with known answers."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from evo_lacer.cli._arg_types import at_least
from evo_lacer.errors import ConfigError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "llm-check", help="score a model on decision probes whose answers its prompts show",
        description="Ask the model decision probes in the search's own prompt format (the option that "
                    "scored best in the history shown, the branch with the lowest probe R², the "
                    "direction of a parameter trend) and score its answers against chance.")
    p.add_argument("--llm", default="auto", help="auto | embedded | embedded:/path/model.gguf | "
                                                "ollama:MODEL | ollama:MODEL@http://host:port")
    p.add_argument("--probes", type=int, default=12, help="probes to ask (default: 12)")
    p.add_argument("--seed", type=int, default=0, help="seed of the probes and of sampling (default: 0)")
    p.add_argument("--temperature", type=float, default=0.2, help="sampling temperature (default: 0.2)")
    p.add_argument("--timeout", type=at_least(0, "--timeout", kind=float, strict=True, unit="seconds"),
                   default=120.0, help="seconds one answer may take (default: 120)")
    p.add_argument("--threads", type=int, default=None, help="llama.cpp threads (embedded models)")
    p.add_argument("--json", action="store_true", help="print the result record as JSON")
    p.add_argument("--out", default=None, help="also write the result record (JSON) to this file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from evo_lacer.engine._llm_check import llm_check
    from evo_lacer.llm import make_backend, verify_backend

    if args.probes < 1:
        raise ConfigError(f"--probes {args.probes}: ask at least 1 probe")
    backend = make_backend(args.llm, n_threads=args.threads)
    if backend is None:
        raise ConfigError("--llm none: there is no model to check; name one, e.g. --llm embedded")
    verify_backend(backend)
    result = llm_check(backend, probes=args.probes, seed=args.seed, temperature=args.temperature,
                       timeout_s=args.timeout)
    record = result.to_dict()
    if args.out:
        Path(args.out).write_text(json.dumps(record, indent=2) + "\n")
    if args.json:
        print(json.dumps(record, indent=2))
        return 0
    low, high = result.interval
    prompt, completion = result.median_tokens
    print(f"llm-check {result.backend}:{result.model} ({result.probes} probes, seed {result.seed}, "
          f"{result.date})")
    print("| kind | correct | asked |\n| --- | --- | --- |")
    for kind, (correct, asked) in result.by_kind().items():
        print(f"| {kind} | {correct} | {asked} |")
    print(f"valid answers {result.valid}/{result.probes}; accuracy {100 * result.accuracy:.0f}% "
          f"({100 * result.confidence:.0f}% Wilson interval {100 * low:.0f}-{100 * high:.0f}%) vs chance "
          f"{100 * result.chance:.0f}%: {result.verdict}")
    print(f"median {result.median_s:.2f} s per call, {prompt:.0f} prompt + {completion:.0f} answer tokens")
    if result.warning():
        print(result.warning())
    return 0
