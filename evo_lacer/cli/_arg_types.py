"""argparse types that refuse a bad number naming the flag it came from and the range it takes."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def at_least(low: float, flag: str, *, kind: type[int] | type[float] = int, strict: bool = False,
             unit: str = "") -> Callable[[str], float]:
    """A number of `kind` >= `low` (> `low` when `strict`; in `unit`), refused naming `flag`."""
    word = "an integer" if kind is int else "a number"
    bound = f"{'>' if strict else '>='} {low:g}{' ' + unit if unit else ''}"

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag} {text!r} is not {word}; use one {bound}") from None
        if strict and value <= low:
            raise argparse.ArgumentTypeError(f"{flag} {text} must be {bound}")
        if value < low:
            raise argparse.ArgumentTypeError(f"{flag} {text} is below {low:g}; use {word} {bound}")
        return value

    return parse
