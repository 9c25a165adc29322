"""`evo-lacer show`: rendering, hash and per-branch parameter counts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest
from compile_helpers import ROOT

from evo_lacer.cli._cmd_show import register
from evo_lacer.errors import EvoLacerError
from evo_lacer.tree import branch, encoder, fusion, load_tree, module, save_tree, tree_hash
from evo_lacer.zoo import builtin_catalog

EXPERT = ROOT / "trees" / "ring_lacer_expert.json"


def main(argv: list[str]) -> int:
    """`evo-lacer show ...` with only this command registered (the full CLI imports every stage)."""
    parser = argparse.ArgumentParser(prog="evo-lacer")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except EvoLacerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def test_show_renders_hash_and_counts_for_the_ring_env(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(EXPERT), "--paths"]) == 0
    out = capsys.readouterr().out
    assert "history: [0] AttentionBlock" in out
    assert f"hash {tree_hash(load_tree(EXPERT), builtin_catalog())}" in out  # the hash a search records
    assert "inferred from the branch names" in out
    for name in ("bev", "ego", "history", "instruction", "fusion", "total"):
        assert f"  {name} " in out


def test_show_with_an_env_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cartpole.json"
    save_tree(encoder([branch("obs", module("MLPBlock", width=8))], fusion("ConcatMLP", width=4)), path)
    assert main(["show", str(path), "--env", "CartPole-v1"]) == 0
    out = capsys.readouterr().out
    assert "compiled for CartPole-v1" in out and "Vector(4)" in out
    assert main(["show", str(path)]) == 0
    assert "pass --env" in capsys.readouterr().out
    assert main(["show", str(EXPERT), "--env", "CartPole-v1"]) == 1
    assert "lacks" in capsys.readouterr().err
    assert main(["show", str(tmp_path / "missing.json")]) == 1
