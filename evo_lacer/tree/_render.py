"""Compact text rendering (for prompts and people) and a networkx view."""

from __future__ import annotations

import networkx as nx

from evo_lacer.tree._node import Node, ParamValue, Path, format_path, walk


def short_op(op: str | None) -> str:
    """`modules_zoo.vector.MLPBlock` -> `MLPBlock`; `torch.nn.Linear` -> `nn.Linear`."""
    if not op:
        return "?"
    if op.startswith("torch.nn."):
        return "nn." + op.rsplit(".", 1)[-1]
    return op.rsplit(".", 1)[-1]


def _fmt_value(value: ParamValue) -> str:
    if isinstance(value, tuple):
        return "[" + ",".join(_fmt_value(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def render_node(node: Node) -> str:
    """One node as `Op(k=v, ...)` / `Residual[...]` / `Repeat xn[...]`, children inlined."""
    if node.kind in ("module", "fusion"):
        args = ", ".join(f"{k}={_fmt_value(v)}" for k, v in node.params)
        return f"{short_op(node.op)}({args})"
    inner = " -> ".join(render_node(c) for c in node.children) or "identity"
    if node.kind == "residual":
        return f"Residual[{inner}]"
    if node.kind == "repeat":
        return f"Repeat x{node.param_dict.get('times')}[{inner}]"
    return inner


def render(root: Node, with_paths: bool = False) -> str:
    """A few lines: one per branch, then fusion and head. `with_paths` adds site addresses."""
    lines = ["encoder"]
    for child in root.children:
        label = child.name or child.kind
        if with_paths and child.kind != "fusion":
            parts = [f"[{i}] {render_node(c)}" for i, c in enumerate(child.children)]
            body = " -> ".join(parts) or "identity"
        else:
            body = render_node(child)
        lines.append(f"  {label}: {body}")
    return "\n".join(lines)


def to_networkx(root: Node) -> nx.DiGraph:
    """A directed graph: node ids are path strings; attributes kind, op, params, name."""
    graph = nx.DiGraph()
    for path, node in walk(root):
        pid = format_path(path)
        graph.add_node(pid, kind=node.kind, op=node.op, params=dict(node.params), name=node.name)
        if path:
            graph.add_edge(format_path(path[:-1]), pid)
    return graph


def leaf_paths(root: Node) -> list[Path]:
    """Paths of all module and fusion nodes."""
    return [p for p, n in walk(root) if n.kind in ("module", "fusion")]
