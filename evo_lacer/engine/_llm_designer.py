"""The LLM designer: the LLM picks the site and fills the slots, among listed options only.

Each question's answer is held to a JSON schema built from the legal options (`choice_schema`)
and validated again here; a failed, timed-out or invalid answer falls back to a random legal
choice (counted), so a bad model or a dead server never stops a search. After a generation the
LLM reflects on the feedback; its insights (short strings, bounded memory) go into later
prompts as text and are never executed.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import Any

from evo_lacer.engine._accounting import LLMAccounting
from evo_lacer.engine._designer import (
    DesignContext,
    DesignDecision,
    Designer,
    RandomDesigner,
    fill_rounds,
    random_slots,
)
from evo_lacer.engine._llm_client import ExchangeSink, LLMClient
from evo_lacer.engine._prompts import (
    INSIGHT_MAX_CHARS,
    REFLECTION_SCHEMA,
    SYSTEM_DESIGN,
    SYSTEM_REFLECT,
    design_prompt,
    reflection_prompt,
)
from evo_lacer.engine._records import Candidate
from evo_lacer.evaluate import CHANNELS, check_channels
from evo_lacer.llm import LLMBackend, choice_schema
from evo_lacer.transform import Site, Slot
from evo_lacer.tree import ParamValue, render


def option_labels(options: Sequence[ParamValue]) -> list[Any]:
    """JSON-scalar labels for slot options (lists become their JSON text), all distinct."""
    labels: list[Any] = []
    for opt in options:
        label: Any = json.dumps(list(opt)) if isinstance(opt, tuple) else opt
        while any(type(label) is type(x) and label == x for x in labels):
            label = f"{label} #{len(labels)}"
        labels.append(label)
    return labels


def _label_index(labels: Sequence[Any], value: Any) -> int:
    for i, label in enumerate(labels):
        if type(label) is type(value) and label == value:
            return i
        if isinstance(label, int | float) and not isinstance(label, bool) and isinstance(value, int | float) \
                and not isinstance(value, bool) and label == value:
            return i
    raise KeyError(value)


def clean_insight(text: object) -> str:
    """One insight as a single printable line of at most INSIGHT_MAX_CHARS characters."""
    line = re.sub(r"\s+", " ", "".join(ch for ch in str(text) if ch.isprintable())).strip()
    return line[:INSIGHT_MAX_CHARS]


_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def insight_problem(line: str, vocabulary: Collection[str]) -> str:
    """Why an insight must not reach later prompts ("" when it may): degenerate text (a character
    repeated 5+ times, fewer than 3 words, mostly repeated words, under half letters) or no name
    of this search in it (a source, module, parameter or family in `vocabulary`; skipped when
    the vocabulary is empty)."""
    if re.search(r"(.)\1{4,}", line) or re.search(r"(.{2,4})\1{3,}", line):
        return "repeated characters"
    words = [w.lower() for w in _WORD.findall(line)]
    if len(words) < 3:
        return "fewer than 3 words"
    if len(set(words)) < 0.5 * len(words):
        return "mostly repeated words"
    if sum(ch.isalpha() for ch in line) < 0.5 * len(line.replace(" ", "")):
        return "mostly non-letters"
    if vocabulary:
        names = {w.lower() for w in vocabulary}
        tokens = set(words) | {w for word in words for w in word.split("_")}
        if not tokens & names and not any(n in line.lower() for n in names if len(n) >= 5):
            return "names no source, module or parameter of this search"
    return ""


class LLMDesigner(Designer):
    """Fills transformations with an LLM backend; falls back to random choices on any failure.

    ``exchange_sink``: called with every exchange (prompt, schema, answer or error, tokens,
    seconds) -- the search passes the run store's ``append_llm``.
    ``max_sites``: at most this many candidate sites are offered (a random subset).
    ``insight_memory``: how many reflection insights are kept (oldest dropped).
    ``max_unavailable``: after this many consecutive `LLMUnavailable` errors the backend is not
    asked again in this process (every later choice is a counted fallback).
    ``task``: the task description for reflection prompts.
    """

    name = "llm"

    def __init__(
        self, backend: LLMBackend, *, exchange_sink: ExchangeSink | None = None, max_sites: int = 12,
        insight_memory: int = 8, history_in_prompt: int = 6, temperature: float = 0.2,
        timeout_s: float = 60.0, max_tokens: int = 96, reflection: bool = True,
        max_unavailable: int = 3, seed: int = 0, task: str = "", channels: Sequence[str] = CHANNELS,
        vocabulary: Collection[str] = (),
    ) -> None:
        self.channels = check_channels(channels, "LLMDesigner(channels=...)")
        self.client = LLMClient(backend, exchange_sink=exchange_sink, temperature=temperature,
                                timeout_s=timeout_s, max_unavailable=max_unavailable)
        self.max_sites = max(1, max_sites)
        self.insight_memory = max(0, insight_memory)
        self.history_in_prompt = max(0, history_in_prompt)
        self.max_tokens = max_tokens
        self.reflection = reflection
        self.seed = seed
        self.task = task
        """The task description reflection prompts carry (design prompts take the context's)."""
        self.insights: list[str] = []
        self.vocabulary = frozenset(w.lower() for w in vocabulary)
        """Names an insight must mention to be kept (empty: not checked)."""

    @property
    def accounting(self) -> LLMAccounting:
        return self.client.accounting

    # --- fill ----------------------------------------------------------------------------
    def fill(self, context: DesignContext) -> DesignDecision:
        baseline = RandomDesigner().fill(replace(context, rng=copy.deepcopy(context.rng)))
        rng = context.rng
        errors: list[str] = []
        calls = 0
        fell_back = False
        history = context.history[-self.history_in_prompt:] if self.history_in_prompt else ()
        tree_text = render(context.tree, with_paths=True)

        def ask(fields: Mapping[str, Sequence[Any]], question: list[str]) -> Any:
            nonlocal calls
            prompt = design_prompt(
                task=context.task, tree_text=tree_text, parent_feedback=context.parent_feedback,
                transformation=context.transformation.name,
                description=context.transformation.description, category=context.plan.prompt_category,
                history=history, insights=self.insights, question=question, channels=self.channels)
            value, error = self.client.ask(purpose="design", system=SYSTEM_DESIGN, prompt=prompt,
                                     schema=choice_schema(fields), seed=context.seed * 16 + calls,
                                     max_tokens=self.max_tokens, candidate_id=context.candidate_id)
            calls += 1
            if error is not None:
                errors.append(error)
            return value

        sites: Sequence[Site] = context.sites
        if len(sites) > self.max_sites:
            keep = sorted(int(i) for i in rng.choice(len(sites), size=self.max_sites, replace=False))
            sites = [sites[i] for i in keep]
        site = sites[0]
        if len(sites) > 1:
            labels = option_labels([f"{s.describe()} ({s.klass})" for s in sites])
            value = ask({"site": labels}, [f"- site: where to apply the edit; one of {json.dumps(labels)}"])
            try:
                site = sites[_label_index(labels, value["site"])]
            except (KeyError, TypeError):
                fell_back = True
                site = sites[int(rng.integers(0, len(sites)))]

        def choose(slots: list[Slot], chosen: Mapping[str, ParamValue]) -> dict[str, ParamValue]:
            nonlocal fell_back
            if all(len(s.options) == 1 for s in slots):
                return {s.name: s.options[0] for s in slots}
            labels = {s.name: option_labels(s.options) for s in slots}
            question = [f"(site: {site.describe()}; already chosen: {json.dumps(dict(chosen), default=str)})"]
            question += [f"- {s.name}: {s.description or 'value'}; one of {json.dumps(labels[s.name])}"
                         for s in slots]
            value = ask(labels, question)
            try:
                return {s.name: s.options[_label_index(labels[s.name], value[s.name])] for s in slots}
            except (KeyError, TypeError):
                fell_back = True
                return random_slots(rng, slots)

        choice = fill_rounds(context, site, choose)
        differs = (site, dict(choice)) != (baseline.site, dict(baseline.choice))
        self.accounting.decisions += 1
        self.accounting.fallbacks += int(fell_back)
        self.accounting.differs_from_random += int(differs)
        return DesignDecision(site=site, choice=choice, designer=self.name, fell_back=fell_back,
                              llm_calls=calls, differs_from_random=differs, errors=tuple(errors))

    # --- reflect -------------------------------------------------------------------------
    def reflect(self, feedback_batch: Sequence[Candidate]) -> list[str]:
        if not self.reflection or not feedback_batch or self.insight_memory == 0:
            return []
        prompt = reflection_prompt(task=self.task, batch=feedback_batch, insights=self.insights,
                                   channels=self.channels)
        value, _ = self.client.ask(purpose="reflect", system=SYSTEM_REFLECT, prompt=prompt,
                             schema=REFLECTION_SCHEMA, seed=self.seed * 7919 + self.accounting.reflections,
                             max_tokens=160)
        self.accounting.reflections += 1
        if not isinstance(value, dict):
            return []
        lines = [clean_insight(t) for t in value.get("insights", [])]
        new = [line for line in lines if not insight_problem(line, self.vocabulary)]
        self.accounting.insights_rejected += len(lines) - len(new)
        new = [line for line in dict.fromkeys(new) if line not in self.insights]
        self.insights = (self.insights + new)[-self.insight_memory:]
        self.accounting.insights += len(new)
        return new

    def state_dict(self) -> dict[str, Any]:
        return {"insights": list(self.insights), "accounting": self.accounting.to_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        kept = (clean_insight(t) for t in state.get("insights", []))
        self.insights = [t for t in kept if not insight_problem(t, self.vocabulary)][-self.insight_memory:]
        if "accounting" in state:
            self.client.accounting = LLMAccounting.from_dict(state["accounting"])
