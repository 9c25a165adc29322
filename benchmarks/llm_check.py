"""llm-check for several models side by side, with a random chooser as the floor: accuracy on the
decision probes (Wilson interval) against chance, valid answers, seconds and tokens per call.
Prints a Markdown table and writes benchmarks/out/llm_check.{json,png}.

    python benchmarks/llm_check.py                                  # random + embedded SmolLM2, 12 probes
    python benchmarks/llm_check.py --llm random --llm embedded --llm embedded:/path/qwen.gguf --probes 24
    python benchmarks/llm_check.py --llm ollama:qwen@http://127.0.0.1:11435   # a served model
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from evo_lacer.engine._llm_check import LLMCheck, llm_check
from evo_lacer.llm import LLMReply, LLMRequest, make_backend, validate, verify_backend

OUT = Path(__file__).parent / "out"


class RandomChooser:
    """A chooser that never reads the prompt: a uniformly random listed option per field."""

    name = "random"
    model = "uniform"

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def complete(self, request: LLMRequest) -> LLMReply:
        props = request.schema["properties"]
        value = {k: p["enum"][int(self.rng.integers(len(p["enum"])))] for k, p in props.items()}
        validate(value, request.schema)
        return LLMReply(value, json.dumps(value), 0, 0, 0.0, self.name, self.model)


def check(spec: str, probes: int, seed: int, threads: int | None) -> LLMCheck:
    if spec == "random":
        return llm_check(RandomChooser(seed), probes=probes, seed=seed)
    backend = make_backend(spec, n_threads=threads)
    assert backend is not None, f"--llm {spec}: no model"
    verify_backend(backend)
    return llm_check(backend, probes=probes, seed=seed, timeout_s=300.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--llm", action="append", default=None,
                        help="random | a backend spec (repeat; default: random and embedded)")
    parser.add_argument("--probes", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads (embedded)")
    parser.add_argument("--out", default=str(OUT / "llm_check"), help="output path prefix (.json, .png)")
    args = parser.parse_args(argv)
    specs = args.llm or ["random", "embedded"]
    load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"llm-check, {args.probes} probes, seed {args.seed}, {date}, load {load}, {platform.machine()}")
    print("| model | correct | accuracy (95% Wilson) | chance | verdict | valid | median s/call "
          "| tokens/call |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    results = []
    for spec in specs:
        result = check(spec, args.probes, args.seed, args.threads)
        results.append({"spec": spec, **result.to_dict()})
        low, high = result.interval
        prompt, completion = result.median_tokens
        print(f"| {spec} ({result.model}) | {result.correct}/{result.probes} | {100 * result.accuracy:.0f}% "
              f"({100 * low:.0f}-{100 * high:.0f}%) | {100 * result.chance:.0f}% | {result.verdict} | "
              f"{result.valid}/{result.probes} | {result.median_s:.2f} | {prompt:.0f}+{completion:.0f} |",
              flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n")
    _plot(results, out.with_suffix(".png"))
    return 0


def _plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    x = np.arange(len(results))
    acc = np.array([r["accuracy"] for r in results])
    low = np.array([r["interval"][0] for r in results])
    high = np.array([r["interval"][1] for r in results])
    ax.bar(x, acc, yerr=[acc - low, high - acc], capsize=4)
    for i, r in enumerate(results):
        ax.hlines(r["chance"], i - 0.4, i + 0.4, colors="k", linestyles="--")
    ax.set_xticks(x, [r["spec"].split("/")[-1][:24] for r in results], rotation=15)
    ax.set_ylabel("accuracy (dashed: chance)")
    ax.set_ylim(0, 1)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
