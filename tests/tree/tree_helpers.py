"""Trees for the tree-model tests: a fixed example and a hypothesis strategy of random trees."""

from __future__ import annotations

from hypothesis import strategies as st

from evo_lacer.tree import Node, branch, chain, encoder, fusion, module, repeat, residual

OPS = ("MLPBlock", "LinearLayer", "GRUEncoder", "LastStep", "nn.Linear")


def example_tree() -> Node:
    return encoder([
        branch("ego", module("MLPBlock", width=64, activation="gelu"),
               residual(module("MLPBlock", width=64), module("LayerNormBlock"))),
        branch("history", repeat(2, module("GRUEncoder", hidden=32)), module("LastStep")),
        branch("bev", module("ConvStack", channels=16, kernel=[3, 3]), module("GlobalAvgPool")),
    ], fusion("ConcatMLP", width=128), head=chain(module("MLPBlock", width=32)))


_scalars = st.one_of(st.integers(-5, 300), st.sampled_from(["relu", "gelu", "x"]), st.booleans(), st.none(),
                     st.floats(-2, 2, allow_nan=False).map(lambda f: round(f, 3)))
_params = st.dictionaries(st.sampled_from(["width", "depth", "act", "p", "k"]),
                          st.one_of(_scalars, st.lists(st.integers(1, 5), max_size=3)), max_size=3)
modules = st.builds(lambda op, p: module(op, **p), st.sampled_from(OPS), _params)


def _extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    kids = st.lists(children, max_size=3).map(tuple)
    return st.one_of(
        kids.map(lambda c: chain(*c)),
        kids.map(lambda c: residual(*c)),
        st.tuples(st.integers(1, 3), kids).map(lambda t: repeat(t[0], *t[1])),
    )


inner_nodes = st.recursive(modules, _extend, max_leaves=8)


@st.composite
def trees(draw: st.DrawFn) -> Node:
    names = draw(st.lists(st.sampled_from(["a", "b", "c", "ego", "obs"]), min_size=1, max_size=4,
                          unique=True))
    branches = [branch(n, *draw(st.lists(inner_nodes, max_size=3))) for n in names]
    head = draw(st.one_of(st.none(), st.lists(modules, max_size=2).map(lambda c: chain(*c))))
    return encoder(branches, fusion(draw(st.sampled_from(["ConcatMLP", "SumFusion"])), **draw(_params)), head)
