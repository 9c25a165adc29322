"""Behaviour-cloning losses per action space, and the loss of the best constant guess."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces

from evo_lacer.errors import EvaluationError


class BCLoss:
    """Behaviour-cloning loss for an action space, and the loss of the best constant guess:
    MSE for Box actions, summed cross-entropy over the components of (Multi)Discrete ones."""

    def __init__(self, kind: str, nvec: tuple[int, ...] = (), start: tuple[int, ...] = ()) -> None:
        self.kind, self.nvec = kind, nvec
        self.start = torch.tensor(start or (0,) * len(nvec), dtype=torch.long)

    def ids(self, labels: torch.Tensor) -> torch.Tensor:
        return labels.reshape(len(labels), -1).long() - self.start.to(labels.device)

    def __call__(self, out: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The loss of outputs `out` for `labels` (the dataset's, on the CPU: moved to `out`'s device)."""
        labels = labels.to(out.device)
        if self.kind == "mse":
            return F.mse_loss(out, labels.reshape(out.shape).to(out.dtype))
        ids = self.ids(labels)
        parts = out.split(list(self.nvec), dim=1)
        return sum((F.cross_entropy(p, ids[:, i]) for i, p in enumerate(parts)), out.new_zeros(()))

    def constant(self, train: torch.Tensor, test: torch.Tensor) -> float:
        if self.kind == "mse":
            mean = train.reshape(len(train), -1).double().mean(dim=0)
            return float(((test.reshape(len(test), -1).double() - mean) ** 2).mean())
        tr, te = self.ids(train), self.ids(test)
        total = 0.0
        for i, n in enumerate(self.nvec):
            prior = (torch.bincount(tr[:, i], minlength=n).double() + 1.0) / (len(tr) + n)
            total += float(-torch.log(prior[te[:, i]]).mean())
        return total


def loss_for(space: gym.Space) -> BCLoss:
    if isinstance(space, spaces.Box):
        return BCLoss("mse")
    if isinstance(space, spaces.Discrete):
        return BCLoss("ce", (int(space.n),), (int(space.start),))
    if isinstance(space, spaces.MultiDiscrete) and space.nvec.ndim == 1:
        start = np.broadcast_to(space.start, space.nvec.shape)
        return BCLoss("ce", tuple(int(n) for n in space.nvec), tuple(int(s) for s in start))
    raise EvaluationError(f"behaviour cloning supports Box, Discrete and MultiDiscrete actions, not {space}")
