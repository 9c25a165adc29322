"""Bounded memory: out-of-domain sizes refused before anything is built, worker memory limits,
and a planted catalog that names something other than an nn.Module."""

from __future__ import annotations

import json
import resource
from pathlib import Path

import pytest

from evo_lacer.api import search
from evo_lacer.compile import compile_tree
from evo_lacer.errors import CompileError, MiningError
from evo_lacer.evaluate import Cost, Feedback, Status
from evo_lacer.execute import ProcessPoolExecutor
from evo_lacer.tree import Node, node_from_dict, save_tree
from evo_lacer.zoo import Catalog, builtin_catalog

from .fault_helpers import SETTINGS, fitness, space


def _tree(**params: object) -> Node:
    return node_from_dict({"kind": "encoder", "children": [
        {"kind": "branch", "name": "ego",
         "children": [{"kind": "module", "op": "MLPBlock", "params": params}]},
        {"kind": "branch", "name": "hist", "children": [{"kind": "module", "op": "LastStep"}]},
        {"kind": "branch", "name": "code", "children": [{"kind": "module", "op": "EmbedMeanPool"}]},
        {"kind": "fusion", "name": "fusion", "op": "ConcatMLP", "params": {"width": 32}}]})


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize(("params", "needle"), [
    ({"width": 1e9}, "must be an integer"),
    ({"width": 10**9}, "outside its domain"),
    ({"depth": -5}, "outside its domain"),
    ({"width": 0}, "outside its domain"),
])
def test_out_of_domain_seed_trees_are_refused_before_building(tmp_path: Path, params: dict, needle: str,
                                                               record) -> None:
    tree = _tree(**params)
    with pytest.raises(CompileError, match=needle) as err:
        compile_tree(tree, space())
    assert "encoder/" in str(err.value) and "MLPBlock" in str(err.value)
    before = _peak_mb()
    seed_file = tmp_path / "seed.json"
    save_tree(tree, seed_file)
    result = search(observation_space=space(), fitness=fitness, run_dir=tmp_path / "r", budget=3,
                    seed_tree=str(seed_file), **SETTINGS)
    seed = result.history[0]
    assert seed.status is Status.REJECTED and needle in seed.feedback.error
    assert result.accounting["evaluations"] == 3
    assert _peak_mb() - before < 1000, "the refused tree was built anyway"
    record(f"seed tree with MLPBlock({', '.join(f'{k}={v!r}' for k, v in params.items())})",
           "rejected by the gate before building (path, value and domain named); the search went on")


def test_a_huge_module_without_a_domain_is_counted_on_meta_first() -> None:
    from evo_lacer.compile._build import MAX_MODULE_PARAMS, instantiate

    spec = builtin_catalog().lookup("LinearLayer")
    cls = builtin_catalog().resolve(spec.key)
    before = _peak_mb()
    with pytest.raises(CompileError, match="parameters, more than"):
        instantiate(cls, {"in_dim": 100_000, "width": 100_000}, spec, "encoder/x")
    assert MAX_MODULE_PARAMS < 100_000 * 100_000 and _peak_mb() - before < 1000


class _Hog:
    """An evaluator that allocates `mb` MB (evaluations of seed 0), else answers at once."""

    observation_space = space()

    def __init__(self, mb: int) -> None:
        self.mb = mb

    def describe(self) -> str:
        return "allocates memory"

    def evaluate(self, tree: Node, seed: int) -> Feedback:
        if seed == 0:
            block = bytearray(self.mb * 2**20)
            block[::4096] = b"x" * len(block[::4096])
        return Feedback(status=Status.OK, fitness=1.0, cost=Cost(seconds=0.01))


@pytest.mark.slow
def test_an_evaluation_over_the_worker_memory_limit_fails_and_the_pool_goes_on(record) -> None:
    with ProcessPoolExecutor(1, memory_mb=300) as pool:
        results = dict(pool.submit_many(_Hog(2000), [(1, _tree(width=32), 0), (2, _tree(width=32), 1)], 300))
    assert results[1].status is Status.FAILED
    assert "MemoryError" in results[1].error and "worker_memory_mb" in results[1].error
    assert results[2].ok
    record("evaluation allocating 2 GB in a worker limited to 300 MB", "FAILED naming the limit and the "
           "setting; the next evaluation in the same pool ran")


def test_a_planted_catalog_cannot_instantiate_other_classes(tmp_path: Path, record) -> None:
    marker = tmp_path / "pwned"
    entry = json.loads(builtin_catalog().to_json())
    spec = next(s for s in entry["modules"] if s["name"] == "LinearLayer")
    spec.update(key="subprocess.Popen", short="Popen", module="subprocess", qualname="Popen", name="Popen",
                fixed=[["args", ["touch", str(marker)]]],
                params=[{"name": "args", "kind": "positional"}, {"name": "in_dim", "kind": "keyword",
                                                                 "binding": "in_dim"}])
    entry["modules"] = [spec, *(s for s in entry["modules"] if s["name"] in ("LastStep", "ConcatMLP"))]
    catalog = Catalog.from_json(json.dumps(entry), "planted.json")
    with pytest.raises((MiningError, CompileError), match=r"not a torch\.nn\.Module subclass"):
        catalog.resolve("Popen")
    tree = node_from_dict({"kind": "encoder", "children": [
        {"kind": "branch", "name": "ego", "children": [{"kind": "module", "op": "Popen"}]},
        {"kind": "fusion", "name": "fusion", "op": "ConcatMLP", "params": {"width": 32}}]})
    with pytest.raises(CompileError, match="not a torch"):
        compile_tree(tree, space(), catalog)
    assert not marker.exists()
    record("planted catalog JSON naming subprocess.Popen", "refused before the class is called; the "
           "command never ran")


def test_many_large_modules_are_refused_before_the_encoder_passes_its_cap(monkeypatch, record) -> None:
    import evo_lacer.compile._build as build

    monkeypatch.setattr(build, "MAX_TREE_PARAMS", 2_000_000)  # as if the machine were 500x smaller
    chain = [{"kind": "module", "op": "MLPBlock", "params": {"width": 512, "depth": 3, "ratio": 4}}] * 4
    tree = node_from_dict({"kind": "encoder", "children": [
        {"kind": "branch", "name": "ego", "children": chain},
        {"kind": "fusion", "name": "fusion", "op": "ConcatMLP", "params": {"width": 32}}]})
    with pytest.raises(CompileError, match=r"the encoder passes 2,000,000 parameters here"):
        compile_tree(tree, space())
    record("encoder of four wide MLP blocks (3.2 M parameters) under a 2 M total cap",
           "refused while building, at the module that passes the cap", searches=0)


def test_a_900_level_seed_tree_file_is_a_config_error(tmp_path: Path, record) -> None:
    from evo_lacer.errors import ConfigError

    deep = '{"kind": "seq", "children": [' * 900 + '{"kind": "module", "op": "MLPBlock"}' + "]}" * 900
    seed = tmp_path / "deep.json"
    seed.write_text('{"format": "evo-lacer/tree", "version": 1, "tree": {"kind": "encoder", "children": ['
                    '{"kind": "branch", "name": "ego", "children": [' + deep + ']}, '
                    '{"kind": "fusion", "name": "fusion", "op": "ConcatMLP"}]}}')
    with pytest.raises(ConfigError, match="nested too deeply"):
        search(observation_space=space(), fitness=fitness, run_dir=tmp_path / "r", budget=2,
               seed_tree=str(seed), **SETTINGS)
    assert not (tmp_path / "r").exists()
    record("seed tree file nested 900 levels deep", "ConfigError naming the file, before a run folder "
           "is made")
