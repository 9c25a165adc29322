"""The episode's text instruction: a small fixed vocabulary, templates, tokens <-> text."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

#: Target speeds an instruction may name (m/s): multiples of 0.5 in [0.5, 15].
SPEED_TOKENS: tuple[float, ...] = tuple(0.5 * k for k in range(1, 31))

#: Sentence templates; ``{v}`` is the target speed token.
TEMPLATES: tuple[str, ...] = (
    "keep speed {v} m/s",
    "drive at {v} m/s",
    "hold a speed of {v} m/s",
    "target speed {v} m/s",
)

_WORDS: tuple[str, ...] = ("keep", "drive", "hold", "target", "at", "a", "of", "speed", "m/s")

#: Token id -> word; id 0 is padding.
VOCAB: tuple[str, ...] = ("<pad>", *_WORDS, *(f"{s:.1f}" for s in SPEED_TOKENS))

#: Characters of every instruction (for gymnasium's ``Text`` space).
CHARSET: str = "".join(sorted({c for word in VOCAB[1:] for c in word} | {" "}))

#: Longest template, in tokens.
MAX_TEMPLATE_TOKENS: int = max(len(t.split()) for t in TEMPLATES)

_IDS = {word: i for i, word in enumerate(VOCAB)}
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Instruction:
    """One episode's instruction."""

    target_speed: float
    """The speed (m/s) every vehicle should drive at."""
    text: str
    """The sentence, e.g. ``"keep speed 4.5 m/s"``."""


def make_instruction(target_speed: float, template: int = 0) -> Instruction:
    """The instruction asking for ``target_speed`` with template number ``template``."""
    return Instruction(target_speed, TEMPLATES[template].format(v=f"{target_speed:.1f}"))


def text_to_tokens(text: str, length: int) -> NDArray[np.int64]:
    """Token ids of ``text``, padded with 0 to ``length``; unknown words raise ``KeyError``."""
    ids = [_IDS[word] for word in text.split()]
    out = np.zeros(length, dtype=np.int64)
    out[: len(ids)] = ids[:length]
    return out


def tokens_to_text(tokens: NDArray[np.integer] | list[int]) -> str:
    """The sentence of a token-id array; padding and out-of-range ids are skipped."""
    words = [VOCAB[int(i)] for i in np.asarray(tokens).ravel() if 0 < int(i) < len(VOCAB)]
    return " ".join(words)


def parse_target(instruction: str | NDArray[np.integer]) -> float | None:
    """The target speed an instruction names (text or token ids), or None if it names none."""
    text = instruction if isinstance(instruction, str) else tokens_to_text(instruction)
    match = _NUMBER.search(text)
    return float(match.group()) if match else None
