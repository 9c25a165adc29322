"""The hybrid's surrogate screen: of several children a planned edit could make, evaluate the one
a Gaussian process over tree features expects to improve most.

Every evaluated tree (with its fitness) trains the model. A child is described by `tree_features`:
per part of the encoder (each source's branch, the fusion, the head) the count of each module, each
categorical parameter value, and log2(1 + value) of each numeric one, plus the number of modules.
The GP has an RBF kernel on standardized features (length scale: the median pairwise distance) and a
fixed noise share; its expected improvement over the best fitness so far picks the child. Opt-in
variants: an additive kernel (one RBF per encoder part, ``kernel="additive"``) and a noise share
fitted by marginal likelihood with the improvement measured from the model's best mean
(``noise=None``). The first did not beat the default on the development task; the second is
not measured yet. Several children are picked at once by the "kriging believer": after each pick
the model is told the pick's predicted mean, so the next pick looks elsewhere (the screen's steer
toward diversity).

With fewer than `min_train` evaluated trees the screen picks uniformly (a model on two points knows
nothing). The model holds no state of its own: it is refit from the observations on every call, so
a resumed search screens exactly as the uninterrupted one would. Its linear algebra runs on one
BLAS thread: matrices of a few hundred rows solve in well under a millisecond on one core, and a
second BLAS thread beside busy evaluation workers made each solve ~30x slower (measured on 2 cores).
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np
from scipy.special import ndtr
from threadpoolctl import ThreadpoolController

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


NOISE_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)
"""Noise variances (on standardized fitness) a ``noise=None`` model chooses among by marginal
likelihood: a task whose scores move from seed to seed gets a model that smooths over them."""
KERNELS = ("rbf", "additive")
"""The screen's GP kernels: one RBF on all features, or a mean of RBFs, one per part of the
encoder (each source's branch, the fusion): a multi-source encoder's fitness is often close to a
sum of its parts' contributions, and an additive model learns each part from every tree that has
it, whatever the other parts are."""


class GPModel:
    """An exact GP with an RBF kernel on standardized features (see module docstring), or, with
    ``kernel="additive"``, the mean of one RBF per encoder part (each its own length scale)."""

    def __init__(self, rows: Sequence[Mapping[str, float]], y: Sequence[float],
                 keys: Sequence[str] | None = None, kernel: str = "rbf", noise: float | None = NOISE) -> None:
        self.keys = sorted({k for r in rows for k in r}) if keys is None else list(keys)
        self.index = {k: j for j, k in enumerate(self.keys)}
        parts = sorted({k.split("|", 1)[0] for k in self.keys}) if kernel == "additive" else [""]
        self.groups = [np.array([i for i, k in enumerate(self.keys) if not p or k.split("|", 1)[0] == p],
                                dtype=int) for p in parts]
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
        self.length2 = []
        for g in self.groups:
            d = _sqdist(self.x[:, g], self.x[:, g])
            off = d[np.triu_indices(len(ys), 1)]
            self.length2.append(float(np.median(off)) if off.size and np.median(off) > 0 else 1.0)
        k = self._kernel(self.x, self.x)
        fits = [self._fit(k, v) for v in ((noise,) if noise is not None else NOISE_GRID)]
        self.noise, self.chol, self.alpha, _ = max(fits, key=lambda f: f[3])

    def _fit(self, k: np.ndarray, noise: float) -> tuple[float, np.ndarray, np.ndarray, float]:
        """(noise, Cholesky factor, weights, log marginal likelihood) of the model with `noise`."""
        chol = np.linalg.cholesky(k + noise * np.eye(len(self.y)) + 1e-9 * np.eye(len(self.y)))
        alpha = np.linalg.solve(chol.T, np.linalg.solve(chol, self.y))
        return noise, chol, alpha, float(-0.5 * self.y @ alpha - np.log(np.diag(chol)).sum())

    def _kernel(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        out = np.zeros((len(a), len(b)))
        for g, length2 in zip(self.groups, self.length2, strict=True):
            out += np.exp(-_sqdist(a[:, g], b[:, g]) / (2 * length2))
        return out / len(self.groups)

    def _matrix(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        """One row per tree, one column per key (0 where the tree lacks it; keys not in `keys` are
        left out), filled from each row's own few features rather than every key."""
        out = np.zeros((len(rows), len(self.keys)))
        for i, row in enumerate(rows):
            for key, value in row.items():
                j = self.index.get(key)
                if j is not None:
                    out[i, j] = value
        return out

    def predict(self, rows: Sequence[Mapping[str, float]]) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of the fitness at `rows` (in fitness units)."""
        x = (self._matrix(rows) - self.mean) / self.scale
        ks = self._kernel(x, self.x)
        mu = ks @ self.alpha
        v = np.linalg.solve(self.chol, ks.T)
        var = np.clip(1.0 - (v * v).sum(axis=0), 1e-12, None)
        return self.y_mean + self.y_std * mu, self.y_std * np.sqrt(var)


@functools.cache
def _blas() -> ThreadpoolController:
    """The process's thread pools, inspected once (a fresh inspection costs ~0.3 ms, a limit through
    it ~0.01 ms)."""
    return ThreadpoolController()


def _sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.clip((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T, 0.0, None)


def expected_improvement(mu: np.ndarray, sd: np.ndarray, best: float) -> np.ndarray:
    z = (mu - best) / sd
    return (mu - best) * ndtr(z) + sd * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


class Screen:
    """Picks one child per slot (see module docstring)."""

    def __init__(self, variants: int = 8, *, min_train: int = 4, kernel: str = "rbf",
                 noise: float | None = NOISE) -> None:
        if kernel not in KERNELS:
            raise ValueError(f"Screen kernel must be one of {KERNELS}, got {kernel!r}")
        self.noise = noise
        """None: chosen by marginal likelihood (`NOISE_GRID`), and the improvement is measured
        against the model's best mean at an evaluated tree, not the luckiest score."""
        self.variants = variants
        self.min_train = min_train
        self.kernel = kernel

    def choose(self, slots: Sequence[Sequence[Node]], observed: Sequence[tuple[Mapping[str, float], float]],
               rng: np.random.Generator) -> list[tuple[int, dict[str, float]]]:
        """Per slot, the index of the child to evaluate and what the model said about it
        (``{}`` when it picked uniformly). Empty slots get index -1."""
        with _blas().limit(limits=1, user_api="blas"):
            return self._choose(slots, observed, rng)

    def _choose(self, slots: Sequence[Sequence[Node]], observed: Sequence[tuple[Mapping[str, float], float]],
                rng: np.random.Generator) -> list[tuple[int, dict[str, float]]]:
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
            model = GPModel(rows, ys, keys=sorted({k for r in rows + feats for k in r}), kernel=self.kernel,
                            noise=self.noise)
            mu, sd = model.predict(feats)
            incumbent = max(ys) if self.noise is not None else float(model.predict(rows)[0].max())
            ei = expected_improvement(mu, sd, incumbent)
            best = np.flatnonzero(ei >= ei.max() - 1e-12)
            i = int(best[int(rng.integers(0, len(best)))])
            out.append((i, {"mean": float(mu[i]), "sd": float(sd[i]), "ei": float(ei[i])}))
            rows.append(feats[i])  # the kriging believer: the next pick looks elsewhere
            ys.append(float(mu[i]))
        return out
