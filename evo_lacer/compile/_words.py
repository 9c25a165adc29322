"""Word tokenizer for string observation sources (MiniGrid missions, instructions, any ``str``).

Ids: 0 pads; ``1..len(words)`` are the known words (sorted, so every process agrees); a word
outside them lands in one of ``buckets`` hashed ids after them (CRC-32, stable across runs).
"""

from __future__ import annotations

import re
import zlib

WORD_LENGTH = 32
"""Words kept per string (longer strings are cut)."""
WORD_BUCKETS = 64
"""Hashed ids for words outside the known vocabulary."""

MINIGRID_WORDS: tuple[str, ...] = (
    "a", "after", "and", "avoid", "ball", "behind", "blue", "box", "door", "find", "front", "get",
    "go", "goal", "green", "grey", "in", "key", "lava", "left", "next", "of", "on", "open", "pick",
    "purple", "put", "red", "right", "square", "the", "then", "to", "up", "use", "you", "your",
    "yellow", "wall", "object", "room", "rooms", "traverse", "unlock", "match", "same", "color",
    "as", "move", "fetch", "other", "dead", "end", "agent", "corridor", "toggle", "objects",
)
"""Words of MiniGrid's and BabyAI's mission templates (BabyAI's missions are generated at reset,
so its mission space cannot list them)."""

_WORD = re.compile(r"[a-z0-9]+")


def words_of(text: str) -> list[str]:
    """Lower-case alphanumeric words of ``text``."""
    return _WORD.findall(text.lower())


class WordTokenizer:
    """Strings -> ``length`` word ids (see the module docstring)."""

    def __init__(self, words: tuple[str, ...], length: int = WORD_LENGTH,
                 buckets: int = WORD_BUCKETS) -> None:
        self.index = {w: i + 1 for i, w in enumerate(words)}
        self.length = length
        self.buckets = buckets
        self.vocab = len(words) + 1 + buckets

    def word_id(self, word: str) -> int:
        known = self.index.get(word)
        if known is not None:
            return known
        return len(self.index) + 1 + zlib.crc32(word.encode("utf-8")) % self.buckets

    def encode(self, text: str) -> list[int]:
        ids = [self.word_id(w) for w in words_of(text)[: self.length]]
        return ids + [0] * (self.length - len(ids))
