"""The hybrid's surrogate screen: of several children a planned edit could make, evaluate the one
a Gaussian process over tree features expects to improve most.

Every evaluated tree (with its fitness) trains the model. A child is described by `tree_features`:
per part of the encoder (each source's branch, the fusion, the head) the count of each module, each
categorical parameter value, and log2(1 + value) of each numeric one, plus the number of modules.
The GP has an RBF kernel on standardized features (length scale: the median pairwise distance) and a
fixed noise share; its expected improvement over the best fitness so far picks the child. Several
children are picked at once by the "kriging believer": after each pick the model is told the pick's
predicted mean, so the next pick looks elsewhere (the screen's steer toward diversity).

With fewer than `min_train` evaluated trees the screen picks uniformly (a model on two points knows
nothing). The model holds no state of its own: it is refit from the observations on every call, so
a resumed search screens exactly as the uninterrupted one would.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np
from scipy.special import ndtr

from evo_lacer.tree import Node, walk

NOISE = 0.1
"""Noise variance of the GP on standardized fitness (evaluations are seeded but short trainings vary)."""


def tree_features(tree: Node) -> dict[str, float]:
    """The features the screen's model reads (see module docstring)."""
    out: dict[str, float] = defaultdict(float)
    for path, node in walk(tree):
        if node.kind not in ("module", "fusion"):
            continue
        part = path[0] if path else "root"
        if node.kind == "fusion":
            part = "fusion"
        out[f"{part}|modules"] += 1.0
        out[f"{part}|{node.op}"] += 1.0
        for key, value in node.params:
            if isinstance(value, bool) or not isinstance(value, int | float):
                out[f"{part}|{node.op}|{key}={value}"] += 1.0
            else:
                out[f"{part}|{node.op}|{key}"] += math.log2(1.0 + abs(float(value)))
    return dict(out)


class GPModel:
    """An exact GP with an RBF kernel on standardized features (see module docstring)."""

    def __init__(self, rows: Sequence[Mapping[str, float]], y: Sequence[float],
                 keys: Sequence[str] | None = None) -> None:
        self.keys = sorted({k for r in rows for k in r}) if keys is None else list(keys)
        x = self._matrix(rows)
        self.mean = x.mean(axis=0)
        std = x.std(axis=0)
        self.scale = np.where(std > 1e-9, std, 1.0)
        """A feature constant in the training data keeps its raw scale: dividing by its (zero) spread
        would put any child that has it infinitely far from everything evaluated."""
        self.x = (x - self.mean) / self.scale
        ys = np.asarray(y, dtype=float)
        self.y_mean, self.y_std = float(ys.mean()), float(ys.std()) or 1.0
        self.y = (ys - self.y_mean) / self.y_std
        d = _sqdist(self.x, self.x)
        off = d[np.triu_indices(len(ys), 1)]
        self.length2 = float(np.median(off)) if off.size and np.median(off) > 0 else 1.0
        k = np.exp(-d / (2 * self.length2)) + NOISE * np.eye(len(ys))
        self.chol = np.linalg.cholesky(k + 1e-9 * np.eye(len(ys)))
        self.alpha = np.linalg.solve(self.chol.T, np.linalg.solve(self.chol, self.y))

    def _matrix(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        return np.array([[r.get(k, 0.0) for k in self.keys] for r in rows], dtype=float).reshape(
            len(rows), len(self.keys))

    def predict(self, rows: Sequence[Mapping[str, float]]) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of the fitness at `rows` (in fitness units)."""
        x = (self._matrix(rows) - self.mean) / self.scale
        ks = np.exp(-_sqdist(x, self.x) / (2 * self.length2))
        mu = ks @ self.alpha
        v = np.linalg.solve(self.chol, ks.T)
        var = np.clip(1.0 - (v * v).sum(axis=0), 1e-12, None)
        return self.y_mean + self.y_std * mu, self.y_std * np.sqrt(var)


def _sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.clip((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0.0, None)


def expected_improvement(mu: np.ndarray, sd: np.ndarray, best: float) -> np.ndarray:
    z = (mu - best) / sd
    return (mu - best) * ndtr(z) + sd * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


class Screen:
    """Picks one child per slot (see module docstring)."""

    def __init__(self, variants: int = 8, *, min_train: int = 4) -> None:
        self.variants = variants
        self.min_train = min_train

    def choose(self, slots: Sequence[Sequence[Node]], observed: Sequence[tuple[Mapping[str, float], float]],
               rng: np.random.Generator) -> list[tuple[int, dict[str, float]]]:
        """Per slot, the index of the child to evaluate and what the model said about it
        (``{}`` when it picked uniformly). Empty slots get index -1."""
        rows = [dict(r) for r, _ in observed]
        ys = [float(f) for _, f in observed]
        out: list[tuple[int, dict[str, float]]] = []
        for children in slots:
            if not children:
                out.append((-1, {}))
                continue
            if len(ys) < self.min_train or len(set(ys)) < 2:
                out.append((int(rng.integers(0, len(children))), {}))
                continue
            feats = [tree_features(c) for c in children]
            model = GPModel(rows, ys, keys=sorted({k for r in rows + feats for k in r}))
            mu, sd = model.predict(feats)
            ei = expected_improvement(mu, sd, max(ys))
            best = np.flatnonzero(ei >= ei.max() - 1e-12)
            i = int(best[int(rng.integers(0, len(best)))])
            out.append((i, {"mean": float(mu[i]), "sd": float(sd[i]), "ei": float(ei[i])}))
            rows.append(feats[i])  # the kriging believer: the next pick looks elsewhere
            ys.append(float(mu[i]))
        return out
