"""BabyAI's bot (``minigrid.utils.baby_ai_bot.BabyAIBot``) as a scripted expert.

The bot plans from the env's state (the grid, the agent, the parsed instructions), not from
the observation, so the expert is bound to one env. It makes a new bot at the start of each
episode, and is told the action really executed (``executed``) so that it replans after a
noisy step, as in BabyAI's advising mode (DAgger-style data).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym


def is_babyai(env: gym.Env) -> bool:  # type: ignore[type-arg]
    """True for a BabyAI level (a MiniGrid env with parsed instructions the bot can follow)."""
    base = env.unwrapped
    if not type(base).__module__.startswith("minigrid."):
        return False
    from minigrid.envs.babyai.core.roomgrid_level import RoomGridLevel

    return isinstance(base, RoomGridLevel)


class BabyAIExpert:
    """``obs -> action`` from BabyAI's bot, for the env it was made with (module docstring)."""

    def __init__(self, env: gym.Env) -> None:  # type: ignore[type-arg]
        if not is_babyai(env):
            raise TypeError(f"BabyAIExpert needs a BabyAI level, got {type(env.unwrapped).__name__}")
        self.env = env
        self._bot: Any = None
        self._taken: int | None = None
        self._episode: Any = None

    def executed(self, action: Any) -> None:
        """The action the agent really took after the last call (may differ from the advice)."""
        self._taken = int(action)

    def __call__(self, obs: Any) -> int:
        from minigrid.utils.baby_ai_bot import BabyAIBot

        base: Any = self.env.unwrapped
        episode = getattr(base, "instrs", None)
        fresh = self._bot is None or base.step_count == 0 or self._episode is not episode
        if not fresh:
            try:
                return self._advise(self._taken)
            except Exception:  # the bot gave up (e.g. a noisy step opened a box): plan afresh
                pass
        self._bot = BabyAIBot(base)
        self._episode = base.instrs
        return self._advise(None)

    def _advise(self, taken: int | None) -> int:
        self._taken = None
        return int(self._bot.replan(taken))
