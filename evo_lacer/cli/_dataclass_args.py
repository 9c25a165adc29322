"""Generate argparse options from a frozen config dataclass, so the CLI and the API agree.

Each field becomes ``--field-name``; its help text is the field's docstring (the string literal
right after the field in the class body, read by AST from the class source).
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import itertools
import textwrap
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def field_docs(cls: type) -> dict[str, str]:
    """Docstrings of dataclass fields (the string literal following each annotated field)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return {}
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    docs: dict[str, str] = {}
    for stmt, nxt in itertools.pairwise(body):
        if (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
                and isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)
                and isinstance(nxt.value.value, str)):
            docs[stmt.target.id] = " ".join(nxt.value.value.split())
    return docs


def _base_type(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _base_type(args[0]) if len(args) == 1 else str
    if origin is typing.Literal:
        return type(typing.get_args(tp)[0])
    return tp


def add_dataclass_args(parser: argparse.ArgumentParser, cls: type, skip: tuple[str, ...] = (),
                       renamed: Mapping[str, str] | None = None) -> None:
    """Add one ``--option`` per field of dataclass `cls` (defaults are the dataclass's); `renamed`
    (old field name -> new) adds each old name's flag as an alias of the new one's."""
    aliases: dict[str, list[str]] = {}
    for old, new in (renamed or {}).items():
        aliases.setdefault(new, []).append("--" + old.replace("_", "-"))
    hints = typing.get_type_hints(cls)
    docs = field_docs(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip or not f.init:
            continue
        tp = hints.get(f.name, str)
        base = _base_type(tp)
        flags = ["--" + f.name.replace("_", "-"), *aliases.get(f.name, [])]
        default = f.default if f.default is not dataclasses.MISSING else None
        help_text = docs.get(f.name, "").replace("%", "%%")  # argparse formats help with %
        choices = None
        if typing.get_origin(tp) is typing.Literal:
            choices = list(typing.get_args(tp))
        if base is bool:
            parser.add_argument(*flags, dest=f.name, action=argparse.BooleanOptionalAction,
                                default=default, help=help_text)
        elif base in (int, float, str):
            parser.add_argument(*flags, dest=f.name, type=base, default=default, choices=choices,
                                help=f"{help_text} (default: {default})")
        elif typing.get_origin(base) in (tuple, list):
            parser.add_argument(*flags, dest=f.name, nargs="*", default=default, help=help_text)


def dataclass_from_args(cls: type[T], ns: argparse.Namespace, **overrides: Any) -> T:
    """Build `cls` from parsed options (fields absent from `ns` keep their defaults)."""
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.init and hasattr(ns, f.name) and getattr(ns, f.name) is not None:
            value = getattr(ns, f.name)
            kwargs[f.name] = tuple(value) if isinstance(value, list) else value
    kwargs.update(overrides)
    return cls(**kwargs)
