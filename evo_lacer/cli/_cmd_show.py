"""`evo-lacer show TREE.json [--env ENV_ID]`: render a tree, its hash, its parameter counts."""

from __future__ import annotations

import argparse
from typing import Any

from evo_lacer.errors import EnvError
from evo_lacer.tree import load_tree, render, tree_hash


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("show", help="render an encoder tree, its canonical hash and parameter counts")
    p.add_argument("tree", help="a tree JSON file (e.g. trees/ring_lacer_expert.json)")
    p.add_argument("--env", help="gymnasium env id whose observation space the tree is compiled for")
    p.add_argument("--kind", action="append", default=[], metavar="SOURCE=KIND",
                   help="force a source's kind (vector, sequence, image, tokens); repeatable")
    p.add_argument("--paths", action="store_true", help="show the path index of every branch step")
    p.set_defaults(func=run)


def _ring_space() -> Any:
    """The ring env's observation space, or None when the env package is unavailable."""
    try:
        import gymnasium as gym

        from evo_lacer.envs import RING_ENV_ID, register_envs
    except ImportError:
        return None, None
    register_envs()
    return RING_ENV_ID, gym.make(RING_ENV_ID).observation_space


def _env_space(env_id: str) -> Any:
    import gymnasium as gym

    try:
        from evo_lacer.envs import register_envs

        register_envs()
    except ImportError:
        pass
    try:
        env = gym.make(env_id)
    except Exception as exc:
        raise EnvError(f"cannot make env {env_id!r}: {type(exc).__name__}: {exc}") from None
    try:
        return env.observation_space
    finally:
        env.close()


def run(args: argparse.Namespace) -> int:
    tree = load_tree(args.tree)
    print(render(tree, with_paths=args.paths))
    from evo_lacer.zoo import builtin_catalog

    print(f"hash {tree_hash(tree, builtin_catalog())}")  # as a search hashes it: defaults filled in
    kinds = dict(k.split("=", 1) for k in args.kind if "=" in k)
    space, origin = None, None
    if args.env:
        space, origin = _env_space(args.env), args.env
    else:
        ring_id, ring_space = _ring_space()
        names = {str(b.name) for b in tree.branches}
        if ring_space is not None and names <= set(ring_space.spaces):
            space, origin = ring_space, f"{ring_id} (inferred from the branch names)"
    if space is None:
        print("parameters: pass --env ENV_ID to compile the tree and count them")
        return 0
    from evo_lacer.compile import compile_tree, parameter_count

    enc = compile_tree(tree, space, kinds=kinds or None)
    print(f"compiled for {origin}:")
    rows = [(name, str(spec.signal), str(enc.signals[(name,)][1]), parameter_count(enc.branches[name]))
            for name, spec in enc.sources.items()]
    fin, fout = enc.signals[("fusion",)]
    rows.append(("fusion", str(fin), str(fout), parameter_count(enc.fusion)))
    if enc.head is not None:
        rows.append(("head", str(fout), str(enc.signals[("head",)][1]), parameter_count(enc.head)))
    rows.append(("total", "", f"Vector({enc.features_dim})", parameter_count(enc)))
    for name, inp, out, count in rows:
        print(f"  {name:<14} {inp:<28} -> {out:<14} {count:>10,d}")
    if enc.ignored_sources:
        print(f"  sources without a branch (ignored): {enc.ignored_sources}")
    return 0
