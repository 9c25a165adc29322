"""Catalog JSON files: round trips, and clear errors for corrupt or foreign files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _zoo_fixtures import TORCH_NN_MODULES

from evo_lacer.errors import MiningError
from evo_lacer.zoo import Catalog, builtin_catalog, catalog_to_json, load_catalog, mine, save_catalog


@pytest.fixture(scope="module")
def torch_catalog() -> Catalog:
    return mine([TORCH_NN_MODULES]).catalog


def test_round_trip_builtin_and_torch(torch_catalog: Catalog, tmp_path: Path) -> None:
    for catalog in (builtin_catalog(), torch_catalog):
        assert Catalog.from_json(catalog.to_json()) == catalog
        save_catalog(catalog, tmp_path / "c.json")
        loaded = load_catalog(tmp_path / "c.json")
        assert loaded == catalog
        assert [s.extra for s in loaded.specs] == [s.extra for s in catalog.specs]
    film = Catalog.from_json(builtin_catalog().to_json()).lookup("FiLMFusion")
    assert film.param("condition_source").domain == "@sources"  # type: ignore[union-attr]
    nature = Catalog.from_json(builtin_catalog().to_json()).lookup("NatureCNN")
    assert nature.min_input == (("in_height", 36), ("in_width", 36))


def test_bare_list_loads(torch_catalog: Catalog) -> None:
    rows = json.loads(catalog_to_json(torch_catalog))["modules"]
    assert Catalog.from_json(json.dumps(rows)) == torch_catalog


def _modules() -> list[dict]:
    return json.loads(builtin_catalog().to_json())["modules"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not valid JSON"),
        ('{"format": "something-else", "modules": []}', "is not an evo-lacer catalog"),
        ('{"format": "evo-lacer-catalog", "version": 99, "modules": []}', "version 99"),
        ('{"format": "evo-lacer-catalog", "version": 1, "modules": {}}', "list of modules"),
        ('"just a string"', "list of modules"),
        ("[42]", "module #0: should be an object"),
        ('[{"module": "m"}]', "missing field 'name'"),
    ],
)
def test_corrupt_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(MiningError, match=message) as info:
        load_catalog(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("accepts", ["pixels"], "unknown kinds"),
        ("emits", "pixels", "field 'emits' is 'pixels'"),
        ("lineno", "seven", "field 'lineno' should be int"),
        ("abstract", 1, "field 'abstract' should be bool"),
        ("params", [{"name": "x", "domain": {"a": 1}}], "domain"),
        ("params", [{"name": "x", "default": [[1]]}], "not a scalar"),
        ("fixed", [["a"]], "pairs"),
    ],
)
def test_bad_fields_name_module_and_field(field: str, value: object, message: str) -> None:
    modules = _modules()
    modules[2][field] = value
    with pytest.raises(MiningError, match=message) as info:
        Catalog.from_json(json.dumps(modules), "zoo.json")
    assert "zoo.json" in str(info.value) and f"module #2 ({modules[2]['name']})" in str(info.value)


def test_duplicates_and_unreadable(tmp_path: Path) -> None:
    modules = _modules()
    with pytest.raises(MiningError, match="more than once"):
        Catalog.from_json(json.dumps(modules + modules[:1]))
    with pytest.raises(MiningError, match="cannot read catalog"):
        load_catalog(tmp_path / "missing.json")
