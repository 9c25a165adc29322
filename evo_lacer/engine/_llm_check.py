"""Can this model guide the search? Decision probes with known answers, asked as the search asks.

Each probe is a design question in the search's own prompt format (`design_prompt`, the
designer's system message, a `choice_schema` of listed options) whose answer the evidence in
the prompt determines:

- ``best``: a history of edits of one field, every option tried once, one clearly scored best;
  the answer is that option.
- ``weakest``: the parent's feature statistics give each branch's probe R²; asked which branch to
  change, the answer is the branch whose R² is lowest.
- ``trend``: a parameter was raised (or lowered) step by step and the fitness followed; offered
  one untried value on either side, the answer is the one that continues the trend.

Options are shuffled, so a model that always picks the first (or a random) option scores chance.
The result is a frozen record: valid-answer rate, accuracy with a Wilson interval against chance,
median seconds and tokens per call. Nothing is written anywhere (no model cache is touched).
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from evo_lacer.engine._prompts import SYSTEM_DESIGN, design_prompt
from evo_lacer.engine._records import Candidate
from evo_lacer.errors import ConfigError, LLMError, LLMTimeout, LLMUnavailable
from evo_lacer.evaluate import Feedback, Status
from evo_lacer.llm import LLMBackend, LLMRequest, choice_schema, validate

PROBE_KINDS: tuple[str, ...] = ("best", "weakest", "trend")
"""The kinds of probe, asked in turn."""

REFERENCE = (
    "On these probes (24, seed 0, 2026-11-30, 2 shared CPU cores) no model tried here could be told "
    "apart from chance (36%): SmolLM2-135M (the default embedded model) 12/24, Qwen2.5-Coder-1.5B-Instruct "
    "Q4_K_M 11/24 at about 30 s a call; try a larger model served by Ollama and run `evo-lacer llm-check "
    "--llm ollama:MODEL` first (README: 'Which model?')"
)
"""Which model sizes did better here (quoted in the warning a model at chance gets)."""

_TASK = ("maximize the mean episodic reward of a PPO agent whose observation has several sources; "
         "the encoder has one branch per source and a fusion node.")
_SOURCES = {
    "ego": "MLPBlock(activation=relu, depth=2, width=64)",
    "history": "GRUEncoder(hidden=32, layers=1)",
    "bev": "ConvStack(channels=32, depth=3, kernel=3, stride=2) -> [1] GlobalAvgPool()",
    "instruction": "EmbedGRU(dim=16, hidden=32)",
    "lidar": "Conv1dStack(channels=16, depth=2, kernel=5)",
    "goal": "MLPBlock(activation=tanh, depth=1, width=32)",
}
# (module path, field, description, ordered options) of the parameters the probes edit
_PARAMS = (
    ("ego.0", "width", "output width of MLPBlock", (16, 32, 64, 128, 256, 512)),
    ("history.0", "hidden", "hidden size of GRUEncoder", (8, 16, 32, 64, 128, 256)),
    ("bev.0", "channels", "channels of ConvStack", (8, 16, 32, 64, 128)),
    ("fusion", "width", "hidden width of ConcatMLP", (32, 64, 128, 256, 512, 1024)),
)
_CATEGORICAL = (
    ("ego.0", "activation", "activation of MLPBlock", ("relu", "gelu", "tanh", "silu", "elu")),
    ("fusion", "merge", "how the fusion merges branches", ("concat", "sum", "attention", "gated")),
    ("history.0", "cell", "recurrent cell", ("gru", "lstm", "rnn")),
)
_R2_NOTE = ("probe_r2/SOURCE: how well that branch's features predict the task state "
            "(1 = perfectly, 0 = not at all)")


@dataclass(frozen=True)
class Probe:
    """One question with its known answer."""

    kind: str
    system: str
    prompt: str
    field: str
    options: tuple[Any, ...]
    answer: Any
    """The option the prompt's evidence determines."""

    @property
    def chance(self) -> float:
        """The probability that a uniformly random option is the answer."""
        return 1.0 / len(self.options)

    @property
    def schema(self) -> dict[str, Any]:
        return choice_schema({self.field: list(self.options)})


@dataclass(frozen=True)
class ProbeResult:
    """What the model answered to one probe."""

    kind: str
    answer: Any
    chosen: Any
    """The option chosen (None when the answer was missing or invalid)."""
    valid: bool
    correct: bool
    chance: float
    seconds: float
    prompt_tokens: int
    completion_tokens: int
    error: str = ""


@dataclass(frozen=True)
class LLMCheck:
    """The frozen result of `llm_check`."""

    backend: str
    model: str
    seed: int
    date: str
    results: tuple[ProbeResult, ...] = field(repr=False)
    confidence: float = 0.95

    @property
    def probes(self) -> int:
        return len(self.results)

    @property
    def valid(self) -> int:
        return sum(r.valid for r in self.results)

    @property
    def correct(self) -> int:
        return sum(r.correct for r in self.results)

    @property
    def accuracy(self) -> float:
        return self.correct / self.probes if self.probes else 0.0

    @property
    def chance(self) -> float:
        """Expected accuracy of a uniformly random chooser on these probes."""
        return statistics.fmean(r.chance for r in self.results) if self.results else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        """Wilson score interval of the accuracy at `confidence`."""
        return wilson_interval(self.correct, self.probes, self.confidence)

    @property
    def verdict(self) -> str:
        """``above chance`` / ``below chance`` when the interval excludes chance, else ``at chance``."""
        low, high = self.interval
        if low > self.chance:
            return "above chance"
        if high < self.chance:
            return "below chance"
        return "at chance"

    @property
    def median_s(self) -> float:
        return statistics.median(r.seconds for r in self.results) if self.results else 0.0

    @property
    def median_tokens(self) -> tuple[float, float]:
        """Median (prompt, completion) tokens per call."""
        if not self.results:
            return 0.0, 0.0
        return (statistics.median(r.prompt_tokens for r in self.results),
                statistics.median(r.completion_tokens for r in self.results))

    def by_kind(self) -> dict[str, tuple[int, int]]:
        """kind -> (correct, asked)."""
        out: dict[str, tuple[int, int]] = {}
        for r in self.results:
            c, n = out.get(r.kind, (0, 0))
            out[r.kind] = (c + int(r.correct), n + 1)
        return out

    def summary(self) -> str:
        """One line: what the check found."""
        low, high = self.interval
        prompt, completion = self.median_tokens
        return (f"{self.backend}:{self.model}: {self.correct}/{self.probes} correct "
                f"({100 * self.accuracy:.0f}%, {100 * self.confidence:.0f}% interval "
                f"{100 * low:.0f}-{100 * high:.0f}%; chance {100 * self.chance:.0f}%) -> {self.verdict}; "
                f"valid {self.valid}/{self.probes}; median {self.median_s:.2f} s, "
                f"{prompt:.0f}+{completion:.0f} tokens per call")

    def warning(self) -> str:
        """What a result at (or below) chance means for a search; "" above chance."""
        if self.verdict == "above chance":
            return ""
        return (f"LLM check: {self.summary()}. The model's design choices cannot be told apart from "
                "random ones on questions whose answer its prompt shows, so this run measures an LLM "
                "that designs about as a random designer would (compare it with --llm none, or use a "
                f"larger model). {REFERENCE}.")

    def to_dict(self) -> dict[str, Any]:
        low, high = self.interval
        prompt, completion = self.median_tokens
        return {
            "backend": self.backend, "model": self.model, "seed": self.seed, "date": self.date,
            "confidence": self.confidence, "probes": self.probes, "valid": self.valid,
            "correct": self.correct, "accuracy": self.accuracy, "chance": self.chance,
            "interval": [low, high], "verdict": self.verdict, "median_s": self.median_s,
            "median_prompt_tokens": prompt, "median_completion_tokens": completion,
            "by_kind": {k: list(v) for k, v in self.by_kind().items()},
            "results": [asdict(r) for r in self.results],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LLMCheck:
        try:
            results = tuple(ProbeResult(**r) for r in data["results"])
            return cls(str(data["backend"]), str(data["model"]), int(data["seed"]), str(data["date"]),
                       results, float(data.get("confidence", 0.95)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"not an llm-check record ({type(exc).__name__}: {exc}); "
                              "run `evo-lacer llm-check` again to write a new one") from None


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (0, 1 when ``n`` is 0)."""
    if n <= 0:
        return 0.0, 1.0
    if not 0 < confidence < 1:
        raise ConfigError(f"confidence must be in (0, 1); got {confidence}")
    z = statistics.NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    return low, 1.0 if successes >= n else min(1.0, centre + half)


# --- probes ---------------------------------------------------------------------------------------

def make_probes(n: int, seed: int = 0) -> list[Probe]:
    """`n` probes, the kinds in turn, each drawn from its own generator (seed, index)."""
    if n < 1:
        raise ConfigError(f"llm-check needs at least 1 probe; got {n}")
    makers = {"best": _best_probe, "weakest": _weakest_probe, "trend": _trend_probe}
    return [makers[PROBE_KINDS[i % len(PROBE_KINDS)]](np.random.default_rng([seed, i])) for i in range(n)]


def _tree_text(rng: np.random.Generator, sources: Sequence[str]) -> str:
    lines = ["encoder"] + [f"  {s}: [0] {_SOURCES[s]}" for s in sources]
    width = int(rng.choice([64, 128, 256]))
    return "\n".join([*lines, f"  fusion: ConcatMLP(activation=relu, depth=1, width={width})"])


def _sources(rng: np.random.Generator, k: int, site: str = "") -> list[str]:
    """`k` sources in a fixed order, among them the one `site` edits (if it names one)."""
    names = list(_SOURCES)
    chosen = {names[int(i)] for i in rng.choice(len(names), size=k, replace=False)}
    must = site.split(".")[0]
    if must in _SOURCES and must not in chosen:
        chosen = {*sorted(chosen)[1:], must}
    return [n for n in names if n in chosen]


def _edit(cid: int, site: str, name: str, value: Any, fitness: float, parent: float) -> Candidate:
    return Candidate(id=cid, generation=1 + cid // 4, tree=None, tree_hash="probe",
                     feedback=Feedback(Status.OK, fitness=round(fitness, 3)), transformation="change_param",
                     site=site, choice={name: value}, extra={"parent_fitness": round(parent, 3)})


def _probe(kind: str, rng: np.random.Generator, *, history: Sequence[Candidate], parent: Feedback,
           transformation: str, description: str, field_name: str, options: Sequence[Any], answer: Any,
           note: str, sources: Sequence[str]) -> Probe:
    question = [f"- {field_name}: {note}; one of {json.dumps(list(options))}"]
    prompt = design_prompt(task=_TASK, tree_text=_tree_text(rng, sources), parent_feedback=parent,
                           transformation=transformation, description=description,
                           category="rely_on_llm", history=history, insights=(), question=question)
    return Probe(kind, SYSTEM_DESIGN, prompt, field_name, tuple(options), answer)


def _best_probe(rng: np.random.Generator) -> Probe:
    """Every option of one parameter tried once; one scored clearly best."""
    site, name, note, domain = _CATEGORICAL[int(rng.integers(len(_CATEGORICAL)))]
    options = [domain[int(i)] for i in rng.permutation(len(domain))]
    answer = options[int(rng.integers(len(options)))]
    parent = float(rng.uniform(0.3, 0.5))
    tried = [options[int(i)] for i in rng.permutation(len(options))]
    history = []
    for cid, value in enumerate(tried, start=int(rng.integers(3, 40))):
        gain = rng.uniform(0.25, 0.35) if value == answer else rng.uniform(-0.15, 0.03)
        fitness = parent + float(gain)
        history.append(_edit(cid, site, name, value, fitness, parent))
    return _probe("best", rng, history=history, parent=Feedback(Status.OK, fitness=round(parent, 3)),
                  transformation="change_param", description=f"set the {note} at {site}",
                  field_name=name, options=options, answer=answer, note=f"{note} at {site}",
                  sources=_sources(rng, 3, site))


def _weakest_probe(rng: np.random.Generator) -> Probe:
    """The parent's probe R² per branch; the branch to change is the one whose R² is lowest."""
    sources = _sources(rng, int(rng.integers(3, 5)))
    weakest = sources[int(rng.integers(len(sources)))]
    r2 = {s: float(rng.uniform(0.01, 0.12)) if s == weakest else float(rng.uniform(0.55, 0.95))
          for s in sources}
    features = {f"probe_r2/{s}": round(v, 3) for s, v in r2.items()}
    parent = Feedback(Status.OK, fitness=round(float(rng.uniform(0.3, 0.6)), 3), features=features)
    options = [f"branch {s}" for s in (sources[int(i)] for i in rng.permutation(len(sources)))]
    return _probe("weakest", rng, history=(), parent=parent, transformation="swap_module",
                  description="replace the module of one branch with another module of its kind "
                              f"({_R2_NOTE})",
                  field_name="site", options=options, answer=f"branch {weakest}",
                  note="which branch to change", sources=sources)


def _trend_probe(rng: np.random.Generator) -> Probe:
    """A parameter moved step by step and the fitness followed; one untried value on each side."""
    site, name, note, domain = _PARAMS[int(rng.integers(len(_PARAMS)))]
    start = 1 + int(rng.integers(0, len(domain) - 4))
    tried = list(domain[start:start + 3])
    below, above = domain[start - 1], domain[start + 3]
    rising = bool(rng.integers(2))
    parent = float(rng.uniform(0.2, 0.4))
    steps = sorted(float(x) for x in rng.uniform(0.08, 0.15, size=3).cumsum())
    gains = steps if rising else steps[::-1]
    first = int(rng.integers(3, 40))
    history = [_edit(first + i, site, name, value, parent + gain, parent)
               for i, (value, gain) in enumerate(zip(tried, gains, strict=True))]
    if rng.integers(2):
        history = history[::-1]  # the order of the edits is no hint; the values and fitness are
    options = [below, above] if rng.integers(2) else [above, below]
    return _probe("trend", rng, history=history, parent=Feedback(Status.OK, fitness=round(parent, 3)),
                  transformation="change_param",
                  description=f"set the {note} at {site} to a value not tried yet",
                  field_name=name, options=options, answer=above if rising else below,
                  note=f"{note} at {site}", sources=_sources(rng, 3, site))


# --- the check ------------------------------------------------------------------------------------

def llm_check(backend: LLMBackend, *, probes: int = 12, seed: int = 0, temperature: float = 0.2,
              max_tokens: int = 96, timeout_s: float = 120.0, confidence: float = 0.95,
              max_failures: int = 2) -> LLMCheck:
    """Ask `backend` `probes` decision probes (see the module docstring) and score its answers.

    Every answer is validated against its schema; an invalid or failed answer counts as wrong.
    ``LLMUnavailable`` on the first probe is raised (the model cannot be reached at all), and so is
    the error of ``max_failures`` probes in a row that timed out or found the model unavailable (a
    model that slow would only make the check cost ``probes * timeout_s``).
    """
    if backend is None or not callable(getattr(backend, "complete", None)):
        raise ConfigError(f"llm_check needs an LLM backend (with .complete); got {backend!r}")
    results: list[ProbeResult] = []
    failures = 0
    for i, probe in enumerate(make_probes(probes, seed)):
        start = time.perf_counter()
        chosen: Any = None
        error = ""
        prompt_tokens = completion_tokens = 0
        try:
            reply = backend.complete(LLMRequest(system=probe.system, prompt=probe.prompt, schema=probe.schema,
                                                seed=seed * 1000 + i, temperature=temperature,
                                                max_tokens=max_tokens, timeout_s=timeout_s))
            validate(reply.value, probe.schema)
            chosen = reply.value[probe.field]
            prompt_tokens, completion_tokens = reply.prompt_tokens, reply.completion_tokens
        except LLMUnavailable:
            if not results:
                raise
            error = "LLMUnavailable"
            failures += 1
        except LLMTimeout as exc:
            error = f"LLMTimeout: {exc}"[:300]
            failures += 1
        except LLMError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
            failures = 0
        else:
            failures = 0
        if failures >= max_failures:
            kind = LLMTimeout if error.startswith("LLMTimeout") else LLMUnavailable
            raise kind(
                f"llm-check stopped: {failures} probes in a row failed ({error}); the model is unreachable "
                f"or slower than {timeout_s:g} s per answer -- raise the time limit or use a smaller model")
        valid = not error
        results.append(ProbeResult(
            kind=probe.kind, answer=probe.answer, chosen=chosen, valid=valid,
            correct=valid and _same(chosen, probe.answer), chance=probe.chance,
            seconds=time.perf_counter() - start, prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens, error=error))
    return LLMCheck(backend=str(getattr(backend, "name", "?")), model=str(getattr(backend, "model", "?")),
                    seed=seed, date=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    results=tuple(results), confidence=confidence)


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b
