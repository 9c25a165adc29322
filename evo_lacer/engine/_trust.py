"""Whether an LLM arm's answer skips the hybrid's screen: Thompson sampling, the model against the screen.

With the screen, an LLM arm's answer joins the random fills of its slot and is evaluated only
when the screen's model picks it. That is safe with a model at chance, but it also silences a
model that knows better than the screen: on a task whose best options a stand-in model knows
(``benchmarks/helpful_model.py``) the screen never picked its answers, so the arm never
succeeded and was rarely called. With ``llm_trust="learned"`` each LLM slot whose model answered
first asks whether to take the answer as it is: it draws a rate from Beta(1 + wins, 1 + losses)
of that arm's evaluated answers and one from the screen's evaluated picks among random fills, and
takes the answer when the model's draw is higher. Both records use the arms' yardstick (the child
beats the population's median), so a model whose answers do better than the screen's picks is
trusted more and more, and one at chance less and less. ``"screen"`` never trusts: the answer only
joins the screen, and a run makes the trees of the run without a model until the screen picks an
answer (the default). ``"auto"`` is ``"learned"`` when the search's LLM check (`llm_check`, run
before the first call) found the model above chance, and ``"screen"`` otherwise (at or below
chance, or no check). The draws use their own generator, so they move nothing else of the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np

from evo_lacer.errors import ConfigError

TrustSetting = Literal["auto", "screen", "learned"]
"""What a user sets (`SearchConfig.llm_trust`)."""

TRUST_MODES: tuple[str, ...] = ("screen", "learned")
"""What `AnswerTrust` does; ``llm_trust="auto"`` becomes one of them (`resolve_trust`)."""


def resolve_trust(setting: TrustSetting, check: Mapping[str, Any] | None) -> TrustSetting:
    """The trust mode of a search: `setting` itself unless it is ``"auto"``, which is ``"learned"``
    when the LLM check's verdict (`check`, ``artifacts/llm_check.json``) is above chance, else
    ``"screen"``."""
    if setting != "auto":
        return setting
    verdict = check.get("verdict") if isinstance(check, Mapping) else None
    return "learned" if verdict == "above chance" else "screen"


class AnswerTrust:
    """Wins and losses of the model's evaluated answers (per arm) and of the screen's picks."""

    def __init__(self, mode: str, *, seed: int) -> None:
        if mode not in TRUST_MODES:
            raise ConfigError(f"llm_trust must be one of {TRUST_MODES}, got {mode!r}")
        self.mode = mode
        self.rng = np.random.default_rng([seed, 0x7A57])
        self.model: dict[str, list[int]] = {}
        """Arm -> [wins, losses] of its evaluated answers (chosen by the screen or trusted)."""
        self.screen = [0, 0]
        """[wins, losses] of the children the screen chose among random fills."""
        self.trusted = 0
        """Answers taken without the screen."""

    def trusts(self, arm: str) -> bool:
        """Whether this slot takes `arm`'s answer as it is (one draw each; never with ``"screen"``)."""
        if self.mode == "screen":
            return False
        wins, losses = self.model.get(arm, [0, 0])
        model = float(self.rng.beta(1 + wins, 1 + losses))
        screen = float(self.rng.beta(1 + self.screen[0], 1 + self.screen[1]))
        trusted = model > screen
        self.trusted += int(trusted)
        return trusted

    def answer_scored(self, arm: str, won: bool) -> None:
        record = self.model.setdefault(arm, [0, 0])
        record[0 if won else 1] += 1

    def pick_scored(self, won: bool) -> None:
        self.screen[0 if won else 1] += 1

    def to_dict(self) -> dict[str, Any]:
        """The run summary's figures: mode, answers trusted, and both records."""
        return {"mode": self.mode, "trusted": self.trusted,
                "answers": {a: {"wins": w, "losses": lo} for a, (w, lo) in self.model.items()},
                "screen_picks": {"wins": self.screen[0], "losses": self.screen[1]}}

    def state_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "rng": dict(self.rng.bit_generator.state), "trusted": self.trusted,
                "model": {a: list(r) for a, r in self.model.items()}, "screen": list(self.screen)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if state.get("mode") != self.mode:
            raise ConfigError(f"the checkpoint's llm_trust is {state.get('mode')!r}, this search's "
                              f"{self.mode!r}; resume with the same setting")
        self.rng.bit_generator.state = dict(state["rng"])
        self.trusted = int(state["trusted"])
        self.model = {str(a): [int(r[0]), int(r[1])] for a, r in state["model"].items()}
        self.screen = [int(state["screen"][0]), int(state["screen"][1])]
