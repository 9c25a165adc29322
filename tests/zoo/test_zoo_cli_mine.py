"""`evo-lacer mine`: the count on torch.nn, --json, --out, dotted package names, errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from _zoo_fixtures import TORCH_NN_MODULES

from evo_lacer.cli import main
from evo_lacer.zoo import load_catalog


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVO_LACER_CACHE", str(tmp_path / "cache"))


def test_mine_torch_nn_prints_count(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mine", str(TORCH_NN_MODULES)]) == 0
    out = capsys.readouterr().out
    found = re.search(r"mined (\d+) nn.Module classes \((\d+) usable", out)
    assert found and int(found.group(1)) >= 175 and int(found.group(2)) >= 150
    assert re.search(r"nn\.GRU\s+sequence\s+-> sequence", out)


def test_dotted_name_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mine", "torch.nn.modules", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) >= 175
    assert {"name", "module", "params", "accepts", "emits"} <= set(rows[0])
    gru = next(r for r in rows if r["name"] == "GRU")
    assert gru["accepts"] == ["sequence"] and gru["params"][0]["name"] == "input_size"


def test_out_writes_a_loadable_catalog(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "zoo.json"
    assert main(["mine", str(TORCH_NN_MODULES / "rnn.py"), "--out", str(out)]) == 0
    catalog = load_catalog(out)
    assert catalog.lookup("GRU").params[0].name == "input_size"
    assert "wrote" in capsys.readouterr().out


def test_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mine", "no_such_package_xyz"]) == 1
    assert "neither an existing file or folder" in capsys.readouterr().err
    assert main(["mine", str(tmp_path / "missing")]) == 1  # a path, not a package name
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "bad.py").write_text("class (:\n")
    assert main(["mine", str(tmp_path)]) == 0
    assert "skipped" in capsys.readouterr().err


def test_probe_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "mods.py").write_text(
        "from torch import nn\n\nclass Twice(nn.Module):\n    def forward(self, x):\n        return 2 * x\n"
    )
    out = tmp_path / "zoo.json"
    assert main(["mine", str(tmp_path), "--probe", "--probe-timeout", "20", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "probed 1 modules" in text and "ok 1" in text
    spec = load_catalog(out).lookup("Twice")
    assert spec.kinds_source == "probe" and spec.accepts == ("vector", "sequence", "image")
