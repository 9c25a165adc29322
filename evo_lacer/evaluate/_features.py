"""Feature statistics of an encoder (LACER's feature-information feedback).

Given a batch of per-branch outputs, the fused features and ground-truth quantities, report:

- ``<name>/effective_rank``: Roy & Vetterli's entropy-based effective rank of the centered
  feature matrix, ``exp(H(p))`` with ``p = s / sum(s)`` over its singular values ``s``
  (1 for a rank-one batch, up to ``min(batch, width)``; 0 for a constant batch);
- ``<name>/dead_units``: the fraction of units (columns) that are constant over the batch —
  a ReLU that never fires, a saturated tanh, a unit that does not depend on the input;
- ``redundancy/<a>~<b>``: linear CKA (Kornblith et al. 2019) between two branches' features,
  0 (unrelated) to 1 (the same information up to a rotation and scale); ``redundancy/max`` and
  ``redundancy/mean`` summarize the pairs;
- ``probe_r2/<target>``: held-out R² of a ridge regression from the fused features to a
  ground-truth quantity (e.g. the leader's speed), clipped to [0, 1]: how linearly decodable
  the quantity is. ``<branch>/probe_r2_mean`` averages a branch's own probes over targets.

Every value is finite: NaN / inf features are zeroed first; a target that is constant on the
held-out data says nothing and is left out. Matrix products and SVDs run in torch (float64),
which honours ``torch.set_num_threads``; NumPy's OpenBLAS would start a thread per core in
every worker process and slow small problems down by 30x on a busy machine.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

DEAD_TOLERANCE = 1e-6
"""A unit whose standard deviation over the batch is below this (relative to its scale, at
least 1) counts as dead."""


def as_matrix(x: Any) -> FloatArray:
    """A ``(batch, features)`` float64 matrix from an array or tensor ``(B, ...)``; NaN and
    inf become 0 so that no statistic propagates them."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 0:
        arr = arr.reshape(1, 1)
    elif arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    else:
        arr = arr.reshape(arr.shape[0], -1)
    return np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)


def _t(x: FloatArray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x))


def _matmul(a: FloatArray, b: FloatArray) -> FloatArray:
    return (_t(a) @ _t(b)).numpy()


def _live_columns(x: FloatArray) -> NDArray[np.bool_]:
    scale = np.maximum(np.abs(x).max(axis=0, initial=0.0), 1.0)
    return x.std(axis=0) > DEAD_TOLERANCE * scale


def effective_rank(x: Any) -> float:
    """Entropy-based effective rank (Roy & Vetterli 2007) of the centered batch ``x``."""
    m = as_matrix(x)
    if m.shape[0] < 2 or m.shape[1] == 0:
        return 0.0
    m = m - m.mean(axis=0)
    try:
        s = torch.linalg.svdvals(_t(m)).numpy()
    except RuntimeError:  # torch's LinAlgError (no convergence)
        return 0.0
    total = float(s.sum())
    if not math.isfinite(total) or total <= 1e-12 * max(1.0, float(np.abs(m).max())):
        return 0.0
    p = s[s > 0] / total
    return float(np.exp(-(p * np.log(p)).sum()))


def dead_units(x: Any) -> float:
    """Fraction of units that are constant over the batch ``x`` (0 when every unit varies)."""
    m = as_matrix(x)
    if m.shape[1] == 0:
        return 0.0
    if m.shape[0] < 2:
        return 1.0
    return float(1.0 - _live_columns(m).mean())


def linear_cka(x: Any, y: Any) -> float:
    """Linear centered kernel alignment between two feature batches with the same rows, in
    [0, 1]; 0 when either batch is constant."""
    a, b = as_matrix(x), as_matrix(y)
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"linear_cka needs the same batch, got {a.shape[0]} and {b.shape[0]} rows")
    if a.shape[0] < 2:
        return 0.0
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    n = a.shape[0]
    if a.shape[1] * b.shape[1] > n * n:  # Gram form is cheaper for wide features
        ka, kb = _matmul(a, a.T), _matmul(b, b.T)
        cross, na, nb = (ka * kb).sum(), np.linalg.norm(ka), np.linalg.norm(kb)
    else:
        cross = float(np.square(_matmul(a.T, b)).sum())
        na, nb = np.linalg.norm(_matmul(a.T, a)), np.linalg.norm(_matmul(b.T, b))
    denom = float(na * nb)
    if not math.isfinite(denom) or denom <= 1e-20:
        return 0.0
    return float(min(max(cross / denom, 0.0), 1.0))


def split_indices(n: int, groups: Any = None, holdout: float = 0.25) -> tuple[NDArray[np.intp], ...]:
    """Train / held-out row indices. With ``groups`` (e.g. episode ids) whole groups are held
    out (the last ones), otherwise the last rows: consecutive steps of one episode are nearly
    identical, so a random row split would leak."""
    idx = np.arange(n)
    if groups is not None:
        g = np.asarray(groups).reshape(-1)
        order = list(dict.fromkeys(g.tolist()))
        if len(order) >= 2:
            n_test = max(1, round(holdout * len(order)))
            test_groups = set(order[-n_test:])
            mask = np.fromiter((v in test_groups for v in g.tolist()), bool, count=n)
            return idx[~mask], idx[mask]
    n_test = min(max(1, round(holdout * n)), n - 1)
    return idx[: n - n_test], idx[n - n_test:]


ALPHAS: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0, 10.0)
"""Ridge strengths tried, relative to the mean squared singular value of the features."""


def _svd(x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray] | None:
    if x.shape[1] == 0 or x.shape[0] == 0:
        return None
    try:
        u, s, vh = torch.linalg.svd(_t(x), full_matrices=False)
    except RuntimeError:  # torch's LinAlgError (no convergence)
        return None
    return u.numpy(), s.numpy(), vh.numpy()


def _ridge_predict(svd: tuple[FloatArray, FloatArray, FloatArray] | None, y: FloatArray,
                   x_new: FloatArray, alpha: float) -> FloatArray:
    if svd is None:
        return np.full(x_new.shape[0], y.mean())
    u, s, vt = svd
    lam = alpha * float(np.square(s).mean()) + 1e-12
    coef = _matmul(vt.T, (s / (np.square(s) + lam)) * _matmul(u.T, y - y.mean()))
    return _matmul(x_new, coef) + y.mean()


def _sse(y: FloatArray, pred: FloatArray) -> float:
    return float(np.square(y - pred).sum())


def ridge_r2(
    features: Any,
    targets: Mapping[str, Any],
    *,
    groups: Any = None,
    holdout: float = 0.25,
    alphas: tuple[float, ...] = ALPHAS,
) -> dict[str, float]:
    """Held-out R² of ridge regressions from ``features`` to each target, clipped to [0, 1].

    Features are standardized on the training rows. The ridge strength is chosen per target
    from ``alphas`` (relative to the mean squared singular value, so scale-free) on a second,
    inner split of the training rows (by group too), then refit on all training rows.
    Targets that are constant (or non-finite) on the held-out rows are left out.
    """
    x = as_matrix(features)
    n = x.shape[0]
    if n < 4 or not targets:
        return {}
    grp = None if groups is None else np.asarray(groups).reshape(-1)
    train, test = split_indices(n, grp, holdout)
    mu, sd = x[train].mean(axis=0), x[train].std(axis=0)
    live = _live_columns(x[train])
    xs = (x[:, live] - mu[live]) / sd[live]
    inner_fit, inner_val = (train[i] for i in split_indices(len(train), None if grp is None else grp[train],
                                                            holdout))
    full_svd, inner_svd = _svd(xs[train]), _svd(xs[inner_fit])
    out: dict[str, float] = {}
    for name, raw in targets.items():
        y = np.asarray(raw, dtype=np.float64).reshape(-1)
        if y.shape[0] != n or not np.isfinite(y).all():
            continue
        y_test = y[test]
        sst = float(np.square(y_test - y_test.mean()).sum())
        if sst <= 1e-12 * max(1.0, float(np.square(y_test).sum())):
            continue
        alpha = min(alphas, key=lambda a: _sse(y[inner_val], _ridge_predict(inner_svd, y[inner_fit],
                                                                              xs[inner_val], a)))
        r2 = 1.0 - _sse(y_test, _ridge_predict(full_svd, y[train], xs[test], alpha)) / sst
        out[str(name)] = float(min(max(r2, 0.0), 1.0)) if math.isfinite(r2) else 0.0
    return out


def feature_statistics(
    branches: Mapping[str, Any],
    fused: Any = None,
    targets: Mapping[str, Any] | None = None,
    *,
    groups: Any = None,
    holdout: float = 0.25,
    branch_probes: bool = True,
    max_rows: int = 4096,
    seed: int = 0,
) -> dict[str, float]:
    """The flat statistics dict described in the module docstring.

    ``branches`` maps a source to its branch output ``(B, ...)``; ``fused`` is the fusion
    output ``(B, d)``; ``targets`` maps a quantity name to ``(B,)`` ground truth; ``groups``
    (``(B,)``, e.g. episode ids) decides the held-out split of the probes. Batches larger
    than ``max_rows`` are subsampled (with ``seed``), keeping row order.
    """
    mats = {str(k): as_matrix(v) for k, v in branches.items()}
    if fused is not None:
        mats["fused"] = as_matrix(fused)
    if not mats:
        return {}
    n = min(m.shape[0] for m in mats.values())
    rows = np.arange(n)
    if n > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(n, max_rows, replace=False))
    mats = {k: m[rows] for k, m in mats.items()}
    tgt = {k: np.asarray(v, dtype=np.float64).reshape(-1)[rows] for k, v in (targets or {}).items()
           if np.asarray(v).reshape(-1).shape[0] >= n}
    grp = None if groups is None else np.asarray(groups).reshape(-1)[rows]

    out: dict[str, float] = {}
    for name, m in mats.items():
        out[f"{name}/effective_rank"] = effective_rank(m)
        out[f"{name}/dead_units"] = dead_units(m)
    names = [k for k in mats if k != "fused"]
    pairs = {f"redundancy/{a}~{b}": linear_cka(mats[a], mats[b]) for a, b in itertools.combinations(names, 2)}
    out.update(pairs)
    if pairs:
        out["redundancy/max"] = max(pairs.values())
        out["redundancy/mean"] = float(np.mean(list(pairs.values())))
    if tgt:
        probe_on = mats.get("fused")
        if probe_on is None:
            probe_on = np.concatenate([mats[k] for k in names], axis=1)
        for key, r2 in ridge_r2(probe_on, tgt, groups=grp, holdout=holdout).items():
            out[f"probe_r2/{key}"] = r2
        if branch_probes and fused is not None:
            for name in names:
                r2s = ridge_r2(mats[name], tgt, groups=grp, holdout=holdout)
                if r2s:
                    out[f"{name}/probe_r2_mean"] = float(np.mean(list(r2s.values())))
    return out


def probe_quality(features: Mapping[str, float]) -> float | None:
    """One number for how much the fused features know: the mean of the ``probe_r2/<target>``
    statistics (each in [0, 1]); None when the feedback has no probes."""
    values = [float(v) for k, v in features.items() if k.startswith("probe_r2/") and math.isfinite(v)]
    return float(np.mean(values)) if values else None
