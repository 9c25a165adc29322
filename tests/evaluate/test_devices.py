"""Evaluator helpers follow the device of the model's tensors: GPU bugs, checked on the CPU (a tensor
subclass stands in for a CUDA tensor, the meta device for a device other than the CPU)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from gymnasium import spaces

from evo_lacer.evaluate._bc_loss import loss_for
from evo_lacer.evaluate._envtools import encoder_statistics


class _OnGpu(torch.Tensor):
    """Refuses ``numpy()`` as a CUDA tensor does; ``cpu()`` gives a plain tensor."""

    def numpy(self, *, force: bool = False) -> np.ndarray:  # type: ignore[override]
        raise TypeError("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() first.")

    def cpu(self, *args: Any, **kwargs: Any) -> torch.Tensor:  # type: ignore[override]
        return self.as_subclass(torch.Tensor)


def test_encoder_statistics_take_features_from_the_gpu() -> None:
    rng = np.random.default_rng(0)
    batch = rng.normal(size=(40, 6)).astype(np.float32)

    def encode(chunk: Any) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        x = torch.as_tensor(chunk)
        return {"a": x[:, :3].as_subclass(_OnGpu)}, x.as_subclass(_OnGpu)

    stats = encoder_statistics(encode, batch, 40, {"t": batch[:, 0].astype(np.float64)}, np.arange(40) // 4)
    assert "a/effective_rank" in stats and "fused/effective_rank" in stats and "probe_r2/t" in stats


@pytest.mark.parametrize("space", [spaces.Box(-1, 1, (2,), np.float32), spaces.Discrete(3, start=1),
                                   spaces.MultiDiscrete([3, 2])], ids=["box", "discrete", "multidiscrete"])
def test_bc_loss_moves_cpu_labels_to_the_outputs_device(space: spaces.Space[Any]) -> None:
    loss_fn = loss_for(space)
    space.seed(0)
    labels = torch.as_tensor(np.stack([space.sample() for _ in range(4)]))  # the dataset's, on the CPU
    width = 2 if isinstance(space, spaces.Box) else sum(loss_fn.nvec)
    loss = loss_fn(torch.zeros(4, width, device="meta"), labels)
    assert loss.device.type == "meta" and loss.dim() == 0


NO_GPU = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
RING_NUMPY = {"backend": "numpy", "horizon": 40}


@NO_GPU
@pytest.mark.parametrize("cls", ["RLEvaluator", "ImitationEvaluator"])
def test_a_gpu_this_machine_lacks_is_refused_before_anything_runs(cls: str) -> None:
    from evo_lacer import evaluate
    from evo_lacer.errors import EvaluationError

    make = getattr(evaluate, cls)
    refused = rf"{cls}\(device='cuda'\): torch sees no CUDA GPU.*device='cpu'"
    with pytest.raises(EvaluationError, match=refused):
        make("evo_lacer/RingTraffic-v0", env_kwargs=RING_NUMPY, device="cuda")
    with pytest.raises(EvaluationError, match=r"device='tpu'.*'cpu', 'cuda'"):
        make("evo_lacer/RingTraffic-v0", env_kwargs=RING_NUMPY, device="tpu")
    assert make("evo_lacer/RingTraffic-v0", env_kwargs=RING_NUMPY, device="cpu").device == "cpu"


@NO_GPU
def test_a_missing_gpu_stops_the_command_line_before_it_spends_budget(tmp_path, capsys) -> None:
    from evo_lacer.cli import main

    ring = '{"backend": "numpy", "horizon": 40}'
    args = ["search", "--env", "evo_lacer/RingTraffic-v0", "--env-kwargs", ring,
            "--strategy", "random", "--budget", "2", "--steps", "64", "--llm", "none", "--no-progress",
            "--no-report", "--fidelity", "cheap"]
    assert main([*args, "--device", "cuda", "--run-dir", str(tmp_path / "gpu")]) != 0
    assert "torch sees no CUDA GPU" in capsys.readouterr().err
    assert not (tmp_path / "gpu" / "candidates.jsonl").exists()
    assert main([*args, "--device", "cpu", "--run-dir", str(tmp_path / "cpu")]) == 0  # the fix it names works
