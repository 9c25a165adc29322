"""LACER's flat per-source space: load, sub-space per observation, sample / suggest / validate,
configuration -> tree -> compiled encoder for every source kind."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import optuna
import pytest
from gymnasium import spaces

from evo_lacer.compile import compile_tree
from evo_lacer.errors import ConfigError
from evo_lacer.flat import FlatSpace, default_space_path, seed_tree
from evo_lacer.signals import Image, Sequence, Tokens, Vector
from evo_lacer.tree import tree_hash

SOURCES = {"ego": Vector(3), "history": Sequence(16, 3), "bev": Image(3, 40, 40),
           "instruction": Tokens(8, 40), "mode": Tokens(1, 3)}


@pytest.fixture(scope="module")
def space() -> FlatSpace:
    return FlatSpace.load().for_sources(SOURCES)


def test_the_lacer_space_file_loads_with_lacer_table_choices() -> None:
    template = FlatSpace.load(default_space_path())
    assert set(template.kinds) == {"vector", "sequence", "image", "tokens"}
    attention = template.kinds["sequence"]["attention"].domains
    assert attention["heads"] == (2, 4, 8) and attention["dim"] == (8, 16, 32)
    assert attention["ratio"] == (1, 2, 4) and attention["depth"] == (1, 2, 3)
    assert attention["pooling"] == ("last", "mean", "attention")
    assert template.kinds["vector"]["mlp"].domains["activation"] == ("relu", "gelu", "swish")
    assert set(template.fusion) == {"concat", "sum", "gated", "cross_attention", "film"}
    with pytest.raises(ConfigError, match="for_sources"):
        template.sample(0)


def test_sub_space_per_source(space: FlatSpace) -> None:
    assert list(space.sources) == sorted(SOURCES)
    assert set(space.per_source["history"]) == {"attention", "gru", "conv1d"}
    assert space.fusion["film"].domains["condition_source"] == tuple(sorted(SOURCES))
    small = FlatSpace.load().for_sources({"cam": Image(3, 16, 16), "text": Tokens(64, 500)})
    assert "nature_cnn" not in small.per_source["cam"]  # needs 36x36 pixels
    assert "onehot" not in small.per_source["text"]  # vocabulary too large
    gym_space = spaces.Dict({"a": spaces.Box(-1, 1, (4,), np.float32), "b": spaces.Discrete(5)})
    assert FlatSpace.load().for_sources(gym_space).sources == {"a": Vector(4), "b": Tokens(1, 5)}


@pytest.mark.parametrize("seed", range(6))
def test_sample_to_tree_compiles_for_every_source_kind(space: FlatSpace, seed: int) -> None:
    config = space.sample(np.random.default_rng(seed))
    assert space.validate(config) == config
    tree = space.to_tree(config)
    enc = compile_tree(tree, SOURCES)
    assert enc.features_dim > 0 and set(enc.branches) == set(SOURCES)


def test_every_family_compiles(space: FlatSpace) -> None:
    base = space.sample(0)
    fusion_names = list(space.fusion)
    for entry, fams in [*space.per_source.items(), ("fusion", space.fusion)]:
        for name, fam in fams.items():
            config = {**base, entry: {"family": name, **{k: d[-1] for k, d in fam.domains.items()}}}
            compile_tree(space.to_tree(config), SOURCES, check=False)
    assert fusion_names


def test_suggest_uses_fixed_categorical_choices(space: FlatSpace) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen: dict[str, list[object]] = {}
    for _ in range(4):
        trial = study.ask()
        config = space.suggest(trial)
        assert space.validate(config) == config
        for name, dist in trial.distributions.items():
            assert isinstance(dist, optuna.distributions.CategoricalDistribution)
            assert seen.setdefault(name, list(dist.choices)) == list(dist.choices)
        study.tell(trial, 0.0)
    assert "history.family" in seen and "fusion.family" in seen


@pytest.mark.parametrize(("mutate", "needle"), [
    (lambda c: c.pop("ego"), "missing ['ego']"),
    (lambda c: c.update(extra={}), "unexpected ['extra']"),
    (lambda c: c.update(ego={"family": "cnn"}), "ego: family 'cnn' is not one of ['mlp']"),
    (lambda c: c["ego"].pop("width"), "missing parameter 'width'"),
    (lambda c: c["ego"].update(widht=3), "unknown parameters ['widht']"),
    (lambda c: c["ego"].update(width=33), "ego (mlp).width: 33 is not one of the choices"),
    (lambda c: c["ego"].update(width=True), "is not one of the choices"),
    (lambda c: c.update(ego=3), "expected an object"),
])
def test_validate_errors_are_clear(space: FlatSpace, mutate: object, needle: str) -> None:
    config = json.loads(json.dumps(space.sample(1)))
    config["ego"] = {"family": "mlp", "activation": "relu", "width": 32, "ratio": 1, "depth": 1}
    mutate(config)  # type: ignore[operator]
    with pytest.raises(ConfigError) as err:
        space.validate(config)
    assert needle in str(err.value)


def test_validate_normalizes_numbers(space: FlatSpace) -> None:
    config = space.sample(2)
    config["ego"] = {"family": "mlp", "activation": "relu", "width": 64.0, "ratio": 1, "depth": 1}
    assert space.validate(config)["ego"]["width"] == 64
    assert isinstance(space.validate(config)["ego"]["width"], int)


def test_describe_and_schema(space: FlatSpace) -> None:
    text = space.describe()
    assert "source 'history' (Sequence(16, 3))" in text and "pooling in {last, mean, attention}" in text
    assert "heads in {2, 4, 8}" in text and text.count("\n") < 40
    schema = space.json_schema()
    assert schema["required"] == [*sorted(SOURCES), "fusion"]
    ego = schema["properties"]["ego"]
    assert ego["properties"]["width"]["enum"] == [32, 64, 128, 256]
    assert len(schema["properties"]["history"]["anyOf"]) == 3
    assert space.size() > 10**6


def test_to_tree_names_ops_like_the_transformations(space: FlatSpace) -> None:
    tree = space.to_tree(space.sample(3))
    ops = [n.op for b in tree.branches for n in b.children]
    assert all(op and "." not in op for op in ops)  # unique short names, as trees spell them
    assert tree_hash(tree) == tree_hash(space.to_tree(space.sample(3)))


def test_generic_seed_is_deterministic_for_any_observation() -> None:
    a = seed_tree(SOURCES)
    assert a == seed_tree(SOURCES)
    enc = compile_tree(a, SOURCES)
    assert enc.features_dim == 64
    single = seed_tree(spaces.Box(0, 255, (20, 20, 3), np.uint8))
    assert [b.name for b in single.branches] == ["obs"]


def test_bad_space_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    for text, needle in [
        ("{", "not valid JSON"),
        ('{"format": "x"}', "not a flat space"),
        ('{"format": "evo-lacer/flat-space", "kinds": {"graph": {}}}', "unknown signal kinds"),
        ('{"format": "evo-lacer/flat-space", "kinds": {"vector": {"m": {"params": {}, "chain": '
         '[{"op": "$w"}]}}}, "fusion": {}}', "undeclared parameters ['w']"),
        ('{"format": "evo-lacer/flat-space", "kinds": {"vector": {"m": {"params": {"w": []}, '
         '"chain": [{"op": "A"}]}}}}', "non-empty list"),
    ]:
        bad.write_text(text)
        with pytest.raises(ConfigError, match=needle.replace("[", r"\[").replace("]", r"\]")):
            FlatSpace.load(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        FlatSpace.load(tmp_path / "none.json")
    only_vectors = {"format": "evo-lacer/flat-space", "kinds": {"vector": {"m": {
        "params": {}, "chain": [{"op": "MLPBlock"}]}}}, "fusion": {"c": {"params": {}, "chain": [
            {"op": "ConcatMLP"}]}}}
    with pytest.raises(ConfigError, match="no family for source 'x'"):
        FlatSpace.from_dict(only_vectors).for_sources({"x": Tokens(3, 10)})
