"""Text rendering (for prompts and people) and the networkx view."""

from __future__ import annotations

from tree_helpers import example_tree

from evo_lacer.tree import leaf_paths, module, render, render_node, repeat, residual, short_op, to_networkx


def test_render_one_line_per_branch() -> None:
    text = render(example_tree())
    assert text.splitlines() == [
        "encoder",
        "  ego: MLPBlock(activation=gelu, width=64) -> Residual[MLPBlock(width=64) -> LayerNormBlock()]",
        "  history: Repeat x2[GRUEncoder(hidden=32)] -> LastStep()",
        "  bev: ConvStack(channels=16, kernel=[3,3]) -> GlobalAvgPool()",
        "  fusion: ConcatMLP(width=128)",
        "  head: MLPBlock(width=32)",
    ]


def test_render_with_paths_and_nodes() -> None:
    text = render(example_tree(), with_paths=True)
    assert "  history: [0] Repeat x2[GRUEncoder(hidden=32)] -> [1] LastStep()" in text
    assert "  head: [0] MLPBlock(width=32)" in text
    assert render_node(residual()) == "Residual[identity]"
    assert render_node(repeat(3, module("A", p=0.5))) == "Repeat x3[A(p=0.5)]"
    assert short_op("modules_zoo.vector.MLPBlock") == "MLPBlock"
    assert short_op("torch.nn.Linear") == "nn.Linear" and short_op(None) == "?"


def test_networkx_view_and_leaves() -> None:
    tree = example_tree()
    graph = to_networkx(tree)
    assert graph.number_of_nodes() == graph.number_of_edges() + 1
    assert graph.nodes["encoder/ego/1/0"]["op"] == "MLPBlock"
    assert ("encoder/ego/1", "encoder/ego/1/1") in graph.edges
    leaves = leaf_paths(tree)
    assert ("fusion",) in leaves and ("history", "0", "0") in leaves and ("ego", "1") not in leaves
