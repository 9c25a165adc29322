"""What llama.cpp's prompt (KV) cache saves on the search's own prompts.

The search's prompts put their unchanging parts first (system message, task, LACER's space
description), and llama.cpp keeps the evaluated tokens of the last call: a call whose prompt shares
a prefix with the previous one evaluates only its new tail. This replays the search's prompt
sequences on the embedded backend twice -- as the search sends them (the cache reused), and with
the cache emptied before every call (every prompt evaluated in full) -- and prints seconds, prompt
tokens and reused tokens per call. Sequences: LACER (whole designs, growing history), the hybrid's
edit questions (site, then slots, per candidate), and both interleaved (the hybrid's arms).

    python benchmarks/llm_cache.py                          # SmolLM2, 6 calls per sequence
    python benchmarks/llm_cache.py --model PATH.gguf --calls 4 --threads 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from evo_lacer.engine._prompts import SYSTEM_CONFIG, SYSTEM_DESIGN, config_prompt, design_prompt
from evo_lacer.engine._records import Candidate
from evo_lacer.errors import LLMError
from evo_lacer.evaluate import Feedback, Status
from evo_lacer.llm import EmbeddedBackend, LLMRequest, choice_schema

OUT = Path(__file__).parent / "out"
TASK = "evo_lacer/RingTraffic-v0: maximize the mean episodic reward of PPO on the mixed-autonomy ring road"


def _space() -> Any:
    import gymnasium as gym

    import evo_lacer  # noqa: F401  (registers the ring)
    from evo_lacer.flat import FlatSpace

    env = gym.make("evo_lacer/RingTraffic-v0")
    try:
        return FlatSpace.load(Path(__file__).parents[1] / "trees" / "lacer_space.json").for_sources(
            env.observation_space)
    finally:
        env.close()


def _feedback(rng: np.random.Generator, sources: list[str]) -> Feedback:
    features = {f"probe_r2/{s}": round(float(rng.uniform(0, 1)), 3) for s in sources}
    return Feedback(Status.OK, fitness=round(float(rng.uniform(5, 25)), 3),
                    metrics={"episode_reward": round(float(rng.uniform(5, 25)), 2)}, features=features)


def lacer_requests(space: Any, calls: int, seed: int) -> list[LLMRequest]:
    """LACER's whole-design prompts, the history growing by one design per call."""
    rng = np.random.default_rng(seed)
    sources = sorted(space.sample(rng))
    history: list[tuple[dict[str, Any], Feedback]] = []
    out = []
    for i in range(calls):
        history.append((space.sample(rng), _feedback(rng, sources)))
        ranked = sorted(history, key=lambda h: -(h[1].fitness or 0.0))[:3] + history[-3:]
        prompt = config_prompt(task=TASK, space=space.describe(), history=ranked,
                               channels=("reward", "metrics", "features"), this_round=[])
        out.append(LLMRequest(SYSTEM_CONFIG, prompt, space.json_schema(), seed=i, max_tokens=320,
                              timeout_s=600))
    return out


def design_requests(space: Any, calls: int, seed: int) -> list[LLMRequest]:
    """The hybrid's edit questions: per candidate a site question, then a slot question."""
    from evo_lacer.tree import render

    rng = np.random.default_rng(seed + 1)
    sources = sorted(space.sample(rng))
    history = [Candidate(id=i, generation=1, tree=None, tree_hash="x", feedback=_feedback(rng, sources),
                         transformation="change_param", site=f"{sources[i % len(sources)]}.0",
                         choice={"width": int(rng.choice([32, 64, 128]))}) for i in range(6)]
    out = []
    for i in range((calls + 1) // 2):
        tree = render(space.to_tree(space.sample(rng)), with_paths=True)
        common = dict(task=TASK, tree_text=tree, parent_feedback=_feedback(rng, sources),
                      transformation="change_param", description="change one parameter of a module",
                      category="rely_on_llm", history=history, insights=())
        sites = [f"{s}.0 (module)" for s in sources]
        out.append(LLMRequest(SYSTEM_DESIGN, design_prompt(**common, question=[  # type: ignore[arg-type]
            f"- site: where to apply the edit; one of {json.dumps(sites)}"]),
            choice_schema({"site": sites}), seed=2 * i, max_tokens=96, timeout_s=600))
        widths = [32, 64, 128, 256]
        out.append(LLMRequest(SYSTEM_DESIGN, design_prompt(**common, question=[  # type: ignore[arg-type]
            f"(site: {sources[0]}.0; already chosen: {{}})", f"- width: output width; one of {widths}"]),
            choice_schema({"width": widths}), seed=2 * i + 1, max_tokens=96, timeout_s=600))
    return out[:calls]


def replay(backend: EmbeddedBackend, requests: list[LLMRequest], *, reuse: bool) -> dict[str, Any]:
    """Ask `requests` in order; without `reuse`, empty llama.cpp's cache before each call."""
    seconds, prompt, cached, valid = [], [], [], 0
    backend.llama.reset()
    for request in requests:
        if not reuse:
            backend.llama.reset()
        start = time.perf_counter()
        try:
            reply = backend.complete(request)
            valid += 1
            prompt.append(reply.prompt_tokens)
        except LLMError:
            prompt.append(0)
        seconds.append(time.perf_counter() - start)
        cached.append(backend.last_cached_tokens)
    return {"calls": len(requests), "valid": valid, "median_s": statistics.median(seconds),
            "mean_s": statistics.fmean(seconds), "prompt_tokens": statistics.fmean(prompt),
            "cached_tokens": statistics.fmean(cached), "seconds": seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="a GGUF file (default: the embedded SmolLM2)")
    parser.add_argument("--calls", type=int, default=6, help="calls per sequence (default: 6)")
    parser.add_argument("--threads", type=int, default=None, help="llama.cpp threads")
    parser.add_argument("--sequences", nargs="*", default=["lacer", "hybrid edits", "interleaved"],
                        help="which sequences to replay (default: all three)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(OUT / "llm_cache"), help="output path prefix (.json, .png)")
    args = parser.parse_args(argv)

    backend = EmbeddedBackend(args.model, n_threads=args.threads).load()
    space = _space()
    lacer = lacer_requests(space, args.calls, args.seed)
    design = design_requests(space, args.calls, args.seed)
    mixed = [r for pair in zip(lacer, design, strict=False) for r in pair][: args.calls]
    rows = []
    sequences = {"lacer": lacer, "hybrid edits": design, "interleaved": mixed}
    for name in args.sequences:
        requests = sequences[name]
        for reuse in (True, False):
            row = {"sequence": name, "cache": "reused" if reuse else "emptied", **replay(backend, requests,
                                                                                          reuse=reuse)}
            rows.append(row)
            print(f"| {backend.model} | {name} | {row['cache']} | {row['calls']} | {row['valid']} | "
                  f"{row['median_s']:.2f} | {row['mean_s']:.2f} | {row['prompt_tokens']:.0f} | "
                  f"{row['cached_tokens']:.0f} |", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"model": backend.model, "rows": rows}, indent=2) + "\n")
    _plot(rows, out.with_suffix(".png"), backend.model)
    return 0


def _plot(rows: list[dict[str, Any]], path: Path, model: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r["sequence"] for r in rows))
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for k, cache in enumerate(("reused", "emptied")):
        vals = [next(r["mean_s"] for r in rows if r["sequence"] == n and r["cache"] == cache) for n in names]
        ax.bar(np.arange(len(names)) + 0.4 * k, vals, width=0.4, label=f"cache {cache}")
    ax.set_xticks(np.arange(len(names)) + 0.2, names)
    ax.set_ylabel("mean seconds per call")
    ax.set_title(f"llama.cpp prompt cache, {model}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
