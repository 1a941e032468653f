"""The device switch: cpu, cuda, auto; CPU and GPU results agree within a stated tolerance."""

from __future__ import annotations

import pytest
import torch

from mic.device import resolve_device
from mic.model.inverse import InverseSettings, inverse_classify
from mic.model.training import TrainSettings, train_generators

HAS_CUDA = torch.cuda.is_available()
# Bit-identity across devices is not promised by PyTorch; these are the margins we hold it to.
LOSS_RTOL = 1e-3
LOSS_ATOL = 1e-5


def test_cpu_and_auto_without_gpu() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cuda" if HAS_CUDA else "cpu")


@pytest.mark.skipif(HAS_CUDA, reason="this machine has a GPU")
def test_cuda_without_gpu_is_an_error_not_a_fallback() -> None:
    with pytest.raises(RuntimeError, match="'cuda' was requested but torch sees no GPU"):
        resolve_device("cuda")


def test_unknown_device() -> None:
    with pytest.raises(ValueError, match="device must be one of"):
        resolve_device("tpu")


def small_problem() -> torch.Tensor:
    t = torch.linspace(0, 1, 30)
    curves = [
        torch.stack([torch.sin(6 * t + p), torch.cos(4 * t * (1 + g))], dim=1) for g in range(2) for p in range(4)
    ]
    return torch.stack(curves).view(2, 4, 30, 2)


@pytest.mark.skipif(not HAS_CUDA, reason="needs a CUDA GPU (run on a GPU machine)")
def test_cpu_and_gpu_agree() -> None:
    prototypes = small_problem()
    settings = TrainSettings(hidden_size=8, episodes=400)
    cpu = train_generators(prototypes, settings, [1, 2], device="cpu")
    gpu = train_generators(prototypes, settings, [1, 2], device="cuda")
    assert gpu.device.startswith("cuda")
    torch.testing.assert_close(gpu.clean_loss, cpu.clean_loss, rtol=LOSS_RTOL, atol=LOSS_ATOL)
    targets = prototypes.reshape(8, 30, 2)
    inverse = InverseSettings(iterations=10)
    on_cpu = inverse_classify(cpu.bank, targets, inverse)
    on_gpu = inverse_classify(cpu.bank.to("cuda"), targets.cuda(), inverse)
    torch.testing.assert_close(on_gpu.final_losses.cpu(), on_cpu.final_losses, rtol=LOSS_RTOL, atol=LOSS_ATOL)
    assert torch.equal(on_gpu.predictions().cpu(), on_cpu.predictions())
