"""What `search()` and `resume()` check of their arguments beyond `SearchConfig` (the types of the
components passed in, and how they combine), and what they say when a run did not start or found
nothing."""

from __future__ import annotations

import difflib
import inspect
import os
import shutil
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from evo_lacer.engine import STRATEGY_REGISTRY, SearchConfig
from evo_lacer.errors import ConfigError
from evo_lacer.evaluate import Evaluator
from evo_lacer.tree import Node, load_tree, node_from_dict
from evo_lacer.zoo import Catalog


def check_components(*, config: Any = None, catalog: Any = None, space: Any = None, llm: Any = None,
                     rl_options: Any = None, progress: Any = False) -> None:
    """A `ConfigError` naming the argument, what was passed and what it takes."""
    if not isinstance(progress, bool):
        raise ConfigError(f"progress={progress!r} is not a bool; pass progress=True for a progress bar")
    if config is not None and not isinstance(config, SearchConfig):
        raise ConfigError(f"config={config!r} is not a SearchConfig; pass evo_lacer.SearchConfig(...) or the "
                          "settings as keywords (search(..., budget=3))")
    if catalog is not None and not isinstance(catalog, Catalog):
        raise ConfigError(f"catalog={catalog!r} is not a Catalog; pass evo_lacer.builtin_catalog() (the "
                          "default) or one from evo_lacer.mine([...])")
    from evo_lacer.flat import FlatSpace

    if space is not None and not isinstance(space, str | os.PathLike | FlatSpace):
        raise ConfigError(f"space={space!r} is neither a FlatSpace nor a space file's path; pass a path "
                          "such as 'trees/lacer_space.json', a FlatSpace, or leave it out")
    if llm is not None and not isinstance(llm, str) and not callable(getattr(llm, "complete", None)):
        raise ConfigError(f"llm={llm!r} is neither a spec string ('none', 'auto', 'embedded', "
                          "'ollama:MODEL', ...) nor an LLMBackend (with .complete)")
    if rl_options is not None and not isinstance(rl_options, Mapping):
        raise ConfigError(f"rl_options={rl_options!r} is not a mapping; pass a dict such as "
                          "rl_options={'steps': 4096}")


def check_evaluator(evaluator: Any) -> None:
    """A `ConfigError` unless `evaluator` implements the `Evaluator` protocol."""
    if not isinstance(evaluator, Evaluator):
        raise ConfigError(f"evaluator={evaluator!r} does not implement the Evaluator protocol "
                          "(observation_space, evaluate(tree, seed), describe())")


def check_rl_options(rl_options: Mapping[str, Any] | None, evaluator_class: Any,
                     extra: Iterable[str]) -> None:
    """Refuse an `rl_options` key the evaluators do not take, with the closest name and the known ones."""
    known = {p for p in inspect.signature(evaluator_class).parameters if p not in ("env", "catalog")}
    known |= set(extra)
    for key in rl_options or {}:
        if key not in known:
            close = difflib.get_close_matches(str(key), sorted(known), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise ConfigError(f"rl_options key {key!r} is not a setting of the RL evaluators; {hint}"
                              f"they take {sorted(known)}")


def check_run_dir(run_dir: Any, where: str) -> Path:
    """`run_dir` as a path; a `ConfigError` when it is not one."""
    if not isinstance(run_dir, str | os.PathLike):
        raise ConfigError(f"{where}: run_dir={run_dir!r} is not a path; pass the run folder as a str or Path")
    return Path(run_dir)


def seed_trees(seed_tree: Any, cfg: SearchConfig) -> list[Node]:
    """The user's seed trees: a `Node`, a tree dict (as a tree file holds) or a tree file's path."""
    if isinstance(seed_tree, Node):
        return [seed_tree]
    if isinstance(seed_tree, Mapping):
        return [node_from_dict(dict(seed_tree), "seed_tree")]
    if seed_tree is not None and not isinstance(seed_tree, str | os.PathLike):
        raise ConfigError(f"seed_tree={seed_tree!r} is not a tree; pass a Node, a tree dict or a tree file's "
                          "path (such as `evo-lacer export` writes)")
    if cfg.seed_tree is None:
        return []  # tree strategies start from a diverse sample of the flat space instead
    try:
        return [load_tree(cfg.seed_tree)]
    except RecursionError:
        raise ConfigError(f"seed tree {cfg.seed_tree}: nested too deeply to read; an encoder tree is "
                          "a few levels deep -- check the file") from None


def warn_unused_seeds(cfg: SearchConfig, seeds: list[Node]) -> None:
    """A seed tree given to a strategy that does not start from trees is said, not silently dropped."""
    if seeds and not STRATEGY_REGISTRY[cfg.strategy].tree_based:
        users = [name for name, spec in STRATEGY_REGISTRY.items() if spec.tree_based]
        warnings.warn(f"strategy {cfg.strategy!r} samples a flat space and does not start from seed trees: "
                      f"the seed tree is recorded but not evaluated; strategies that use it: {users}",
                      UserWarning, stacklevel=3)


def discard_unstarted(path: Path, existed: bool, store: Any) -> None:
    """Remove the run folder a search made when it stopped before its first candidate (a setting refused
    at start-up), so that the same folder can be used again once the setting is fixed."""
    if store.candidates():
        return
    if existed:
        for child in path.iterdir():  # the folder was empty when the search began
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


def failure_reasons(history: Iterable[Any]) -> list[tuple[str, int]]:
    """The distinct reasons why candidates failed or were rejected, the most frequent first."""
    counts: Counter[str] = Counter()
    for c in history:
        gate = c.gate.reason if c.gate is not None and not c.gate.ok else ""
        reason = c.feedback.error or gate or str(c.feedback.status)
        counts[reason.strip().splitlines()[0] if reason.strip() else "unknown"] += 1
    return counts.most_common()


def warn_nothing_found(history: tuple[Any, ...], run_dir: Path) -> None:
    """Say why a search (or a resumed one) ended without one successful evaluation."""
    causes = "; ".join(f"{n} x {reason}" for reason, n in failure_reasons(history)[:3])
    warnings.warn(f"no candidate was evaluated successfully ({len(history)} candidates): "
                  f"{causes or 'none ran'}. Fix the cause and search again in a new folder "
                  f"({run_dir}/candidates.jsonl holds every error)", RuntimeWarning, stacklevel=3)
