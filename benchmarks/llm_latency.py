"""Latency of the LLM designer's backends on constrained choice questions: the embedded model
(llama.cpp + schema grammar), the same model behind the loopback Ollama server and the real
``ollama`` client, and the same model without a grammar (how often it answers validly alone).
Prints a Markdown table and writes a plot to benchmarks/out/.

    python benchmarks/llm_latency.py                     # 6 questions per mode, < 1 min
    python benchmarks/llm_latency.py --questions 20 --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evo_lacer.errors import LLMError
from evo_lacer.llm import (
    EmbeddedBackend,
    Generation,
    LLMReply,
    LLMRequest,
    OllamaBackend,
    OllamaCompatServer,
    choice_schema,
    parse_answer,
)

SYSTEM = "You design neural-network encoders for reinforcement learning. Answer with JSON only."
QUESTIONS: list[tuple[str, dict[str, list[Any]]]] = [
    ("The source is a time series of 50 steps with 8 features. Pick the encoder module and "
     "its output width.", {"module": ["mlp", "conv1d", "gru", "attention"], "width": [32, 64, 128]}),
    ("The source is a 64x64 RGB bird's-eye image. Pick the encoder and its channels.",
     {"module": ["cnn", "vit", "mlp"], "channels": [16, 32, 64]}),
    ("An MLP branch underfits the sensor vector. Pick an activation and a depth.",
     {"activation": ["relu", "gelu", "tanh", "silu"], "layers": [1, 2, 3]}),
    ("Four branches (vector, sequence, image, text) must be merged. Pick the fusion.",
     {"fusion": ["concat", "sum", "attention", "gated"]}),
    ("The last mutation improved the reward. Pick the next operation and where to apply it.",
     {"operation": ["insert", "delete", "swap", "change_param"],
      "site": ["vector", "sequence", "image", "text"]}),
    ("A conv1d layer sees 200-step sequences. Pick its kernel size and stride.",
     {"kernel": [3, 5, 7], "stride": [1, 2]}),
]


@dataclass
class Mode:
    """Per-call measurements of one way of asking."""

    name: str
    seconds: list[float] = field(default_factory=list)
    prompt_tokens: list[int] = field(default_factory=list)
    completion_tokens: list[int] = field(default_factory=list)
    valid: int = 0
    first_option: int = 0

    def add(self, seconds: float, prompt: int, completion: int, value: Any, fields: dict) -> None:
        self.seconds.append(seconds)
        self.prompt_tokens.append(prompt)
        self.completion_tokens.append(completion)
        if value is not None:
            self.valid += 1
            self.first_option += all(value[k] == opts[0] for k, opts in fields.items())

    def row(self) -> dict[str, Any]:
        s = sorted(self.seconds)
        n = len(s)
        return {
            "mode": self.name,
            "calls": n,
            "valid_pct": 100 * self.valid / n,
            "first_pct": 100 * self.first_option / max(1, self.valid),
            "mean_s": statistics.fmean(s),
            "p50_s": s[n // 2],
            "p90_s": s[min(n - 1, int(0.9 * n))],
            "prompt_tok": statistics.fmean(self.prompt_tokens),
            "completion_tok": statistics.fmean(self.completion_tokens),
            "tok_per_s": sum(self.completion_tokens) / sum(s),
        }


def requests(n: int, seed: int, max_tokens: int) -> list[tuple[LLMRequest, dict]]:
    """``n`` questions cycling through QUESTIONS, each with its own seed."""
    out = []
    for i in range(n):
        prompt, fields = QUESTIONS[i % len(QUESTIONS)]
        options = "; ".join(f"{k}: one of {', '.join(map(str, v))}" for k, v in fields.items())
        request = LLMRequest(SYSTEM, f"{prompt} {options}.", choice_schema(fields), seed=seed + i,
                             temperature=0.7, max_tokens=max_tokens)
        out.append((request, fields))
    return out


def ask(backend: Any, mode: Mode, asked: list[tuple[LLMRequest, dict]]) -> None:
    for request, fields in asked:
        start = time.perf_counter()
        try:
            reply: LLMReply = backend.complete(request)
        except LLMError:
            mode.add(time.perf_counter() - start, 0, 0, None, fields)
            continue
        mode.add(reply.seconds, reply.prompt_tokens, reply.completion_tokens, reply.value, fields)


def ask_unconstrained(backend: EmbeddedBackend, mode: Mode, asked: list) -> None:
    """Same questions, no grammar: the model must produce valid JSON on its own."""
    for request, fields in asked:
        example = "{" + ", ".join(f'"{k}": {v[0]!r}' for k, v in fields.items()) + "}"
        messages = [{"role": "system", "content": request.system},
                    {"role": "user", "content": f"{request.prompt} Answer like {example}"}]
        start = time.perf_counter()
        out = backend.llama.create_chat_completion(
            messages=messages, seed=request.seed, temperature=request.temperature,
            max_tokens=request.max_tokens)
        seconds = time.perf_counter() - start
        try:
            value = parse_answer(out["choices"][0]["message"]["content"], request.schema)
        except LLMError:
            value = None
        usage = out["usage"]
        mode.add(seconds, usage["prompt_tokens"], usage["completion_tokens"], value, fields)


class _Instant:
    """A backend that answers at once: isolates the HTTP + client overhead."""

    name = model = "instant"

    def generate(self, request: LLMRequest) -> Generation:
        return Generation('{"fusion": "sum"}', 1, 1, 0.0, 0.0, "stop")

    def complete(self, request: LLMRequest) -> LLMReply:
        raise NotImplementedError


def http_overhead_ms(calls: int = 50) -> float:
    request = LLMRequest("", "q", choice_schema({"fusion": ["sum"]}))
    with OllamaCompatServer(_Instant()) as server:  # type: ignore[arg-type]
        client = OllamaBackend("instant", host=server.host)
        client.complete(request)
        start = time.perf_counter()
        for _ in range(calls):
            client.complete(request)
        return 1000 * (time.perf_counter() - start) / calls


def plot(modes: list[Mode], model: str, threads: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.boxplot([m.seconds for m in modes], showmeans=True)
    ax.set_xticks(range(1, len(modes) + 1), [m.name for m in modes])
    ax.set_ylabel("seconds per call")
    ax.set_title(f"Constrained choice questions: {model}, {threads} thread(s), CPU")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=6, help="questions per mode")
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--model", type=Path, default=None, help=".gguf (default: SmolLM2)")
    parser.add_argument("--no-unconstrained", action="store_true", help="skip the no-grammar run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    args = parser.parse_args(argv)

    embedded = EmbeddedBackend(args.model, n_threads=args.threads).load()
    asked = requests(args.questions, args.seed, args.max_tokens)
    modes = [Mode("embedded"), Mode("ollama-loopback")]
    ask(embedded, modes[0], asked)
    with OllamaCompatServer(embedded) as server:
        ask(OllamaBackend(server.model_name, host=server.host), modes[1], asked)
    if not args.no_unconstrained:
        modes.append(Mode("no-grammar"))
        ask_unconstrained(embedded, modes[2], asked)
    rows = [m.row() for m in modes]
    overhead = http_overhead_ms()

    print(f"model {embedded.model}, {args.threads} threads, load {embedded.load_seconds:.2f} s, "
          f"{args.questions} questions per mode")
    print("| mode | calls | valid % | all-first-option % | mean s | p50 s | p90 s | "
          "prompt tok | completion tok | tok/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['mode']} | {r['calls']} | {r['valid_pct']:.0f} | {r['first_pct']:.0f} | "
              f"{r['mean_s']:.2f} | {r['p50_s']:.2f} | {r['p90_s']:.2f} | {r['prompt_tok']:.0f} | "
              f"{r['completion_tok']:.1f} | {r['tok_per_s']:.1f} |")
    ratio = rows[1]["mean_s"] / rows[0]["mean_s"]
    print(f"loopback/embedded mean-time ratio: {ratio:.3f}; "
          f"HTTP + client overhead per call (instant backend): {overhead:.2f} ms")
    path = args.out / "llm_latency.png"
    plot(modes, embedded.model, args.threads, path)
    print(f"plot: {path}")
    return rows


if __name__ == "__main__":
    main()
