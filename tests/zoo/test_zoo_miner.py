"""The AST miner: torch.nn, hard cases of foreign code, never importing, file errors, caching."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from _zoo_fixtures import TORCH_NN_MODULES, write_fixture

from evo_lacer.errors import MiningError
from evo_lacer.zoo import Catalog, MiningReport, ParseCache, builtin_catalog, mine, zoo_folder


@pytest.fixture(scope="module")
def torch_nn() -> MiningReport:
    return mine([TORCH_NN_MODULES])


@pytest.fixture(scope="module")
def fixture_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, MiningReport]:
    root = write_fixture(tmp_path_factory.mktemp("src"))
    return root, mine([root])


def _names(spec) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.name for p in spec.params]


# torch.nn ------------------------------------------------------------------------------
def test_torch_nn_count(torch_nn: MiningReport) -> None:
    assert torch_nn.errors == ()
    assert len(torch_nn.catalog) >= 175
    assert len(torch_nn.catalog.usable()) >= 150


def test_torch_rnns_inherit_base_parameters_without_mode(torch_nn: MiningReport) -> None:
    for name in ("GRU", "LSTM", "RNN"):
        spec = torch_nn.catalog.lookup(name)
        assert "mode" not in _names(spec)
        assert _names(spec)[:3] == ["input_size", "hidden_size", "num_layers"]
        assert spec.param("input_size").binding == "in_dim"  # type: ignore[union-attr]
        assert spec.param("hidden_size").domain  # type: ignore[union-attr]
        assert (spec.accepts, spec.emits, spec.output_index) == (("sequence",), "sequence", 0)
        assert dict(spec.fixed) == {"batch_first": True}
    assert "nonlinearity" in _names(torch_nn.catalog.lookup("RNN"))
    assert "proj_size" not in _names(torch_nn.catalog.lookup("GRU"))


@pytest.mark.parametrize(
    ("name", "accepts", "emits", "bound", "searched"),
    [
        ("Linear", ("vector", "sequence"), None, {"in_features": "in_dim"}, "out_features"),
        ("Conv1d", ("sequence",), "sequence", {"in_channels": "in_channels"}, "out_channels"),
        ("LayerNorm", ("vector", "sequence"), None, {"normalized_shape": "in_dim"}, "elementwise_affine"),
        ("GELU", ("vector", "sequence", "image"), None, {}, "approximate"),
        ("Embedding", ("tokens",), "sequence", {"num_embeddings": "vocab_size"}, "embedding_dim"),
        ("TransformerEncoderLayer", ("sequence",), "sequence", {"d_model": "in_dim"}, "nhead"),
        ("Conv2d", ("image",), "image", {"in_channels": "in_channels"}, "kernel_size"),
        ("Flatten", ("vector", "sequence", "image"), "vector", {}, None),
    ],
)
def test_torch_key_modules(torch_nn: MiningReport, name: str, accepts: tuple, emits: str | None,
                           bound: dict[str, str], searched: str | None) -> None:
    spec = torch_nn.catalog.lookup("nn." + name)
    assert spec.kinds_source == "heuristic"
    assert (spec.accepts, spec.emits) == (accepts, emits)
    assert {p.name: p.binding for p in spec.params if p.binding} == bound
    if searched:
        assert searched in [p.name for p in spec.searchable]
    assert spec.param("device") is None or spec.param("device").domain is None  # type: ignore[union-attr]


def test_torch_layouts_and_unusable(torch_nn: MiningReport) -> None:
    cat = torch_nn.catalog
    assert cat.lookup("Conv1d").layout == "channels_first"
    assert dict(cat.lookup("TransformerEncoderLayer").fixed) == {"batch_first": True}
    for name in ("MSELoss", "MultiheadAttention", "ModuleList", "Bilinear", "TransformerDecoderLayer"):
        assert cat.lookup(name).accepts == (), name
    assert cat.lookup("RNNBase").accepts == ()


def test_autograd_functions_sharing_a_module_name_are_not_modules(torch_nn: MiningReport) -> None:
    keys = set(torch_nn.catalog)
    assert "torch.nn.modules.normalization.CrossMapLRN2d" in keys
    assert "torch.nn.modules._functions.CrossMapLRN2d" not in keys


# Hard cases --------------------------------------------------------------------------------
def test_fixture_classes_found(fixture_report: tuple[Path, MiningReport]) -> None:
    _, report = fixture_report
    keys = set(report.catalog)
    expected = {
        "pkg.base.Base", "pkg.base.GenericBase", "pkg.base.WithMeta", "pkg.layers.Decorated",
        "pkg.layers.Outer", "pkg.layers.Outer.Inner", "pkg.layers.Forwarding", "pkg.layers.MyGRU",
        "pkg.layers.Varargs", "pkg.layers.IfDefined", "pkg.layers.TryDefined", "pkg.layers.WithDefined",
        "pkg.layers.Specialized", "sub.Sub", "latin.CaféFree",
    }
    assert expected <= keys
    assert not {"pkg.layers.NotAModule", "pkg.layers.AlsoNot"} & keys


def test_file_errors_reported_and_skipped(fixture_report: tuple[Path, MiningReport]) -> None:
    _, report = fixture_report
    errors = {Path(f).name: reason for f, reason in report.errors}
    assert set(errors) == {"broken.py", "binary.py", "deep_expr.py"}
    assert "syntax error at line 3" in errors["broken.py"]
    assert "binary" in errors["binary.py"]
    assert "RecursionError" in errors["deep_expr.py"]


def test_inheritance_and_signatures(fixture_report: tuple[Path, MiningReport]) -> None:
    _, report = fixture_report
    cat = report.catalog
    assert _names(cat.lookup("Forwarding")) == ["in_dim", "width"]
    assert _names(cat.lookup("Sub")) == ["in_dim", "width"]
    assert cat.lookup("Sub").docstring.startswith("Subclass")
    gru = cat.lookup("MyGRU")
    assert _names(gru) == ["input_size", "hidden_size", "num_layers"]
    assert (gru.accepts, gru.output_index) == (("sequence",), 0)
    kinds = {p.name: p.kind for p in cat.lookup("Varargs").params}
    assert kinds == {"layers": "var_positional", "scale": "keyword", "options": "var_keyword"}
    dec = cat.lookup("Decorated")
    assert _names(dec) == ["in_features", "out_features"]
    assert dec.param("in_features").binding == "in_dim"  # type: ignore[union-attr]
    assert dec.accepts == ("vector", "sequence")
    assert cat.lookup("WithMeta").abstract
    assert cat.lookup("IfDefined").forward_params == ("x",)  # the first definition wins
    assert cat.lookup("CaféFree").docstring == "Café."


def test_deeply_nested_classes(fixture_report: tuple[Path, MiningReport]) -> None:
    _, report = fixture_report
    deep = [s for s in report.catalog.specs if s.module == "deep_classes"]
    assert len(deep) == 40
    assert deep[-1].qualname.count(".") == 39


def test_mining_never_imports(fixture_report: tuple[Path, MiningReport]) -> None:
    root, report = fixture_report
    assert "sentinel_mod.Trap" in report.catalog
    assert not (root / "SENTINEL").exists()
    assert "sentinel_mod" not in sys.modules and "pkg" not in sys.modules


def test_unreadable_file_reported(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text("import torch\nclass A(torch.nn.Module):\n    pass\n")
    (tmp_path / "dangling.py").symlink_to(tmp_path / "missing.py")
    report = mine([tmp_path])
    assert "ok.A" in report.catalog
    assert [Path(f).name for f, _ in report.errors] == ["dangling.py"]
    assert "cannot read" in report.errors[0][1]


def test_bad_path_raises(tmp_path: Path) -> None:
    with pytest.raises(MiningError, match=r"neither a \.py file nor a folder"):
        mine([tmp_path / "nope"])


def test_declared_kinds_are_checked(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(
        "from torch import nn\nclass Bad(nn.Module):\n    accepts = ('pixels',)\n    emits = 'vector'\n"
    )
    report = mine([tmp_path])
    assert len(report.catalog) == 0
    assert "unknown signal kinds" in report.errors[0][1]


def test_hidden_and_cache_folders_skipped(tmp_path: Path) -> None:
    for folder in (".venv", "__pycache__", "src"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "m.py").write_text("import torch\nclass A(torch.nn.Module):\n    pass\n")
    assert list(mine([tmp_path]).catalog) == ["m.A"]


def test_parse_cache(tmp_path: Path) -> None:
    cache = ParseCache(tmp_path / "cache")
    cold = mine([TORCH_NN_MODULES], cache=cache)
    warm = mine([TORCH_NN_MODULES], cache=cache)
    assert cold.cached_files == 0 and warm.cached_files == warm.files
    assert warm.catalog == cold.catalog
    for entry in (tmp_path / "cache").iterdir():
        entry.write_text("{not json")
    again = mine([TORCH_NN_MODULES], cache=cache)
    assert again.cached_files == 0 and again.catalog == cold.catalog
    zoo = [mine([zoo_folder()], cache=cache) for _ in range(2)]
    assert zoo[1].cached_files == zoo[1].files and zoo[1].catalog == zoo[0].catalog == builtin_catalog()


def test_catalog_merge_keeps_lookup(torch_nn: MiningReport,
                                    fixture_report: tuple[Path, MiningReport]) -> None:
    merged = torch_nn.catalog.merged(fixture_report[1].catalog.specs)
    assert isinstance(merged, Catalog)
    assert merged.lookup("nn.GRU").name == "GRU" and merged.lookup("MyGRU").name == "MyGRU"


def test_subclasses_of_unmined_torch_classes(fixture_report: tuple[Path, MiningReport]) -> None:
    root, report = fixture_report
    cat = report.catalog
    linear = cat.lookup("MyLinear")
    assert _names(linear)[:3] == ["in_features", "out_features", "bias"]
    assert linear.accepts == ("vector", "sequence") and linear.module == "pkg.layers"
    layer = cat.lookup("MyEncoderLayer")
    assert layer.param("d_model").binding == "in_dim"  # type: ignore[union-attr]
    assert dict(layer.fixed) == {"batch_first": True}
    assert not any(key.startswith("torch.") for key in cat)  # torch's sources are context only
    assert "pkg.layers.MyLinear" not in mine([root / "pkg"], torch_context=False).catalog


def test_dataclass_and_foreign_module_roots(fixture_report: tuple[Path, MiningReport]) -> None:
    _, report = fixture_report
    data = report.catalog.lookup("DataModule")
    assert [(p.name, p.default) for p in data.params] == [("width", 4), ("name", "x")]
    assert "flax_like.Dense" not in report.catalog  # `nn` is flax's here, not torch's


def test_one_path_is_one_path_not_its_characters(tmp_path: Path) -> None:
    (tmp_path / "common.py").write_text("import torch.nn as nn\n\nclass A(nn.Module):\n    pass\n")
    assert "common.A" in mine(tmp_path / "common.py", torch_context=False).catalog
    assert "common.A" in mine(str(tmp_path / "common.py"), torch_context=False).catalog


@pytest.mark.parametrize("paths", [3, [Path("x.py"), 3], b"x.py"])
def test_a_non_path_is_named(paths: object) -> None:
    with pytest.raises(MiningError, match=r"is not a path; pass a \.py file or folder"):
        mine(paths, torch_context=False)  # type: ignore[arg-type]
