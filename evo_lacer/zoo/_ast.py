"""Read classes from Python source as text (AST): never imported, never executed."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from evo_lacer.zoo._spec import ParamSpec

DECLARED_ATTRS = ("accepts", "emits", "search_space", "layout", "output_index", "fixed_params")


@dataclass(frozen=True)
class ClassInfo:
    """What one `class` statement says, before we know whether it is an nn.Module."""

    name: str
    qualname: str
    bases: tuple[str, ...]
    lineno: int
    docstring: str
    init_params: tuple[ParamSpec, ...] | None
    """None when the class defines no ``__init__`` (it inherits one)."""
    forward_params: tuple[str, ...] | None
    declared: dict[str, Any] = field(default_factory=dict)
    """Literal values of the class attributes in `DECLARED_ATTRS`."""
    is_abstract: bool = False


def _literal(node: ast.expr) -> tuple[bool, Any]:
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def _freeze(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    return value


def _plain(value: Any) -> bool:
    if isinstance(value, tuple):
        return all(_plain(v) and not isinstance(v, tuple) for v in value)
    return value is None or isinstance(value, bool | int | float | str)


def read_params(args: ast.arguments, skip_self: bool = True) -> tuple[ParamSpec, ...]:
    """Constructor/forward parameters with annotations and literal defaults."""
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += list(args.defaults)
    if skip_self and positional:
        positional, defaults = positional[1:], defaults[1:]
    out: list[ParamSpec] = []

    def make(arg: ast.arg, default: ast.expr | None, kind: str) -> ParamSpec:
        ann = ast.unparse(arg.annotation) if arg.annotation is not None else None
        if default is None:
            return ParamSpec(name=arg.arg, annotation=ann, kind=kind)  # type: ignore[arg-type]
        ok, value = _literal(default)
        value = _freeze(value)
        if ok and _plain(value):
            return ParamSpec(arg.arg, ann, True, value, None, kind)  # type: ignore[arg-type]
        return ParamSpec(arg.arg, ann, True, None, ast.unparse(default), kind)  # type: ignore[arg-type]

    for arg, default in zip(positional, defaults):
        out.append(make(arg, default, "positional"))
    if args.vararg is not None:
        out.append(ParamSpec(args.vararg.arg, kind="var_positional"))
    for arg, kw_default in zip(args.kwonlyargs, args.kw_defaults):
        out.append(make(arg, kw_default, "keyword"))
    if args.kwarg is not None:
        out.append(ParamSpec(args.kwarg.arg, kind="var_keyword"))
    return tuple(out)


def _declared(body: list[ast.stmt]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for stmt in body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        for target in targets:
            if isinstance(target, ast.Name) and target.id in DECLARED_ATTRS and value is not None:
                ok, lit = _literal(value)
                if ok:
                    out[target.id] = lit
    return out


def _is_abstract(node: ast.ClassDef) -> bool:
    for stmt in node.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            for dec in stmt.decorator_list:
                if ast.unparse(dec).endswith("abstractmethod"):
                    return True
    return False


def read_classes(source: str, filename: str) -> list[ClassInfo]:
    """Every class (nested ones too) in `source`. Raises SyntaxError for unparsable code."""
    tree = ast.parse(source, filename=filename)
    found: list[ClassInfo] = []

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for stmt in body:
            if not isinstance(stmt, ast.ClassDef):
                continue
            qual = f"{prefix}{stmt.name}"
            init: tuple[ParamSpec, ...] | None = None
            forward: tuple[str, ...] | None = None
            for item in stmt.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    init = read_params(item.args)
                elif isinstance(item, ast.FunctionDef) and item.name == "forward":
                    forward = tuple(p.name for p in read_params(item.args))
            found.append(
                ClassInfo(
                    name=stmt.name,
                    qualname=qual,
                    bases=tuple(ast.unparse(b) for b in stmt.bases),
                    lineno=stmt.lineno,
                    docstring=(ast.get_docstring(stmt) or "").strip(),
                    init_params=init,
                    forward_params=forward,
                    declared=_declared(stmt.body),
                    is_abstract=_is_abstract(stmt),
                )
            )
            visit(stmt.body, f"{qual}.")

    visit(tree.body, "")
    return found
