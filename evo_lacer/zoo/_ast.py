"""Read classes from Python source as text (AST): never imported, never executed.

Besides the class statements (found at module level, inside ``if`` / ``try`` / ``with`` / loop
blocks, and nested in other classes), a file's imports are read so that base classes written
through aliases (``import torch.nn as tnn``), relative imports or star imports can be resolved.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from evo_lacer.zoo._spec import ParamSpec

DECLARED_ATTRS = ("accepts", "emits", "search_space", "layout", "output_index", "fixed_params", "min_input")


@dataclass(frozen=True)
class ClassInfo:
    """What one `class` statement says, before we know whether it is an nn.Module."""

    name: str
    qualname: str
    bases: tuple[str, ...]
    """The base expressions as written (``nn.Module``, ``Base[T]``)."""
    lineno: int
    docstring: str
    init_params: tuple[ParamSpec, ...] | None
    """None when the class defines no ``__init__`` (it inherits one)."""
    forward_params: tuple[str, ...] | None
    declared: dict[str, Any] = field(default_factory=dict)
    """Literal values of the class attributes in `DECLARED_ATTRS`."""
    is_abstract: bool = False
    base_refs: tuple[str, ...] = ()
    """Each base as a dotted name with subscripts dropped (``Base[T]`` -> ``Base``); "" when the
    base is not a name (a call, say)."""
    init_forward: tuple[int, tuple[str, ...]] | None = None
    """When ``__init__`` takes only ``*args/**kwargs`` and passes them to the base's: how many
    leading positional arguments and which keywords it supplies itself (``nn.GRU`` passes
    ``"GRU"`` as the base's ``mode``: ``(1, ())``). The base's parameters minus those apply."""
    forward_required: int | None = None
    """How many arguments ``forward`` requires (None when the class defines no forward)."""


@dataclass(frozen=True)
class FileInfo:
    """The classes of one source file and the names its imports bind."""

    classes: tuple[ClassInfo, ...]
    imports: dict[str, str] = field(default_factory=dict)
    """Local name -> dotted target; relative targets keep their leading dots (``.module.Module``)."""
    star_imports: tuple[str, ...] = ()
    """Modules imported with ``*`` (relative ones with leading dots)."""


def _literal(node: ast.expr) -> tuple[bool, Any]:
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def _unparse(node: ast.AST) -> str:
    try:
        return ast.unparse(node)
    except (RecursionError, ValueError, MemoryError):
        return "<unreadable>"


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
        ann = _unparse(arg.annotation) if arg.annotation is not None else None
        if default is None:
            return ParamSpec(name=arg.arg, annotation=ann, kind=kind)  # type: ignore[arg-type]
        ok, value = _literal(default)
        value = _freeze(value)
        if ok and _plain(value):
            return ParamSpec(arg.arg, ann, True, value, None, kind)  # type: ignore[arg-type]
        return ParamSpec(arg.arg, ann, True, None, _unparse(default), kind)  # type: ignore[arg-type]

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


def _blocks(stmt: ast.stmt) -> Iterator[list[ast.stmt]]:
    """The statement lists inside a compound statement that runs at its enclosing level."""
    if isinstance(stmt, ast.If | ast.For | ast.AsyncFor | ast.While):
        yield stmt.body
        yield stmt.orelse
    elif isinstance(stmt, ast.With | ast.AsyncWith):
        yield stmt.body
    elif isinstance(stmt, ast.Try | ast.TryStar):
        yield stmt.body
        for handler in stmt.handlers:
            yield handler.body
        yield stmt.orelse
        yield stmt.finalbody
    elif isinstance(stmt, ast.Match):
        for case in stmt.cases:
            yield case.body


def _flat(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """`body`'s statements, with those of its if/try/with/loop blocks spliced in (in order)."""
    stack: list[Iterator[ast.stmt]] = [iter(body)]
    while stack:
        stmt = next(stack[-1], None)
        if stmt is None:
            stack.pop()
            continue
        yield stmt
        blocks = list(_blocks(stmt))
        if blocks:
            stack.append(s for block in blocks for s in block)


def _decorators(node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, ...]:
    return tuple(_unparse(d) for d in node.decorator_list)


def _is_overload(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(d.rsplit(".", 1)[-1] == "overload" for d in _decorators(fn))


def _is_abstract(methods: list[ast.FunctionDef | ast.AsyncFunctionDef]) -> bool:
    return any(d.endswith("abstractmethod") for m in methods for d in _decorators(m))


def _ref(node: ast.expr) -> str:
    """``a.b.C`` for Name/Attribute chains, with a subscript dropped; "" otherwise."""
    if isinstance(node, ast.Subscript):
        node = node.value
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return ".".join([node.id, *parts])
    return ""


def _forwarding(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[int, tuple[str, ...]] | None:
    """For ``__init__(self, *args, **kwargs)``: what its call of the base ``__init__`` supplies."""
    for node in ast.walk(fn):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "__init__"):
            continue
        starred = any(isinstance(a, ast.Starred) for a in node.args)
        double = any(k.arg is None for k in node.keywords)
        if not (starred or double):
            continue
        args = list(node.args)
        if not (isinstance(node.func.value, ast.Call) and _ref(node.func.value.func) == "super"):
            args = args[1:]  # Base.__init__(self, ...)
        leading = 0
        for a in args:
            if isinstance(a, ast.Starred):
                break
            leading += 1
        return leading, tuple(k.arg for k in node.keywords if k.arg is not None)
    return None


def _dataclass_params(stmt: ast.ClassDef) -> tuple[ParamSpec, ...] | None:
    """The generated ``__init__`` of a ``@dataclass`` class (its own fields), else None."""
    refs = [_ref(d.func if isinstance(d, ast.Call) else d) for d in stmt.decorator_list]
    if not any(r.rsplit(".", 1)[-1] == "dataclass" for r in refs):
        return None
    out: list[ParamSpec] = []
    for item in stmt.body:
        if not (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)):
            continue
        ann = _unparse(item.annotation)
        if "ClassVar" in ann:
            continue
        value = item.value
        if isinstance(value, ast.Call) and _ref(value.func).rsplit(".", 1)[-1] == "field":
            kw = {k.arg: k.value for k in value.keywords if k.arg}
            if "init" in kw and _literal(kw["init"]) == (True, False):
                continue
            value = kw.get("default")
            if value is None and "default_factory" in kw:
                out.append(ParamSpec(item.target.id, ann, True, None, _unparse(kw["default_factory"]) + "()"))
                continue
        if value is None:
            out.append(ParamSpec(item.target.id, ann))
            continue
        ok, lit = _literal(value)
        lit = _freeze(lit)
        if ok and _plain(lit):
            out.append(ParamSpec(item.target.id, ann, True, lit))
        else:
            out.append(ParamSpec(item.target.id, ann, True, None, _unparse(value)))
    return tuple(out)


def _class_info(stmt: ast.ClassDef, qual: str) -> ClassInfo:
    methods = [s for s in _flat(stmt.body) if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef)]
    inits = [m for m in methods if m.name == "__init__"]
    real_inits = [m for m in inits if not _is_overload(m)] or inits
    init: tuple[ParamSpec, ...] | None = None
    init_forward = None
    if real_inits:
        init = read_params(real_inits[-1].args)
        if init and all(p.kind in ("var_positional", "var_keyword") for p in init):
            named = [read_params(m.args) for m in inits if _is_overload(m)]
            explicit = [ps for ps in named if any(p.kind in ("positional", "keyword") for p in ps)]
            if explicit:
                init = explicit[0]
            else:
                init_forward = _forwarding(real_inits[-1])
    else:
        init = _dataclass_params(stmt)
    forwards = [m for m in methods if m.name == "forward"]
    real_forwards = [m for m in forwards if not _is_overload(m)] or forwards
    forward: tuple[str, ...] | None = None
    required: int | None = None
    if real_forwards:
        fparams = read_params(real_forwards[-1].args)
        forward = tuple(p.name for p in fparams)
        required = sum(1 for p in fparams if not p.has_default and p.kind in ("positional", "keyword"))
    return ClassInfo(
        name=stmt.name,
        qualname=qual,
        bases=tuple(_unparse(b) for b in stmt.bases),
        lineno=stmt.lineno,
        docstring=(ast.get_docstring(stmt) or "").strip(),
        init_params=init,
        forward_params=forward,
        declared=_declared(stmt.body),
        is_abstract=_is_abstract(methods),
        base_refs=tuple(_ref(b) for b in stmt.bases),
        init_forward=init_forward,
        forward_required=required,
    )


def _imports(body: list[ast.stmt]) -> tuple[dict[str, str], tuple[str, ...]]:
    names: dict[str, str] = {}
    stars: list[str] = []
    for stmt in _flat(body):
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    names[top] = top
        elif isinstance(stmt, ast.ImportFrom):
            origin = "." * stmt.level + (stmt.module or "")
            for alias in stmt.names:
                if alias.name == "*":
                    stars.append(origin)
                else:
                    sep = "" if origin.endswith(".") else "."
                    names[alias.asname or alias.name] = f"{origin}{sep}{alias.name}"
    return names, tuple(stars)


def read_source(source: str, filename: str) -> FileInfo:
    """Every class (nested ones too) and the imports of `source`.

    Raises SyntaxError (or ValueError / RecursionError / MemoryError for pathological input)
    when the code cannot be parsed."""
    tree = ast.parse(source, filename=filename)
    found: list[ClassInfo] = []
    # Iterative walk (class statements in order); function bodies are not entered, as their
    # classes cannot be imported by qualified name.
    stack: list[tuple[Iterator[ast.stmt], str]] = [(_flat(tree.body), "")]
    while stack:
        body, prefix = stack[-1]
        stmt = next(body, None)
        if stmt is None:
            stack.pop()
            continue
        if isinstance(stmt, ast.ClassDef):
            qual = f"{prefix}{stmt.name}"
            found.append(_class_info(stmt, qual))
            stack.append((_flat(stmt.body), f"{qual}."))
    imports, stars = _imports(tree.body)
    return FileInfo(tuple(found), imports, stars)


def read_classes(source: str, filename: str) -> list[ClassInfo]:
    """Every class (nested ones too) in `source`. Raises SyntaxError for unparsable code."""
    return list(read_source(source, filename).classes)
