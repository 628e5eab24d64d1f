"""The attack metric's cost: images per side sized from a pixel budget, recorded as used."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import Tensor, nn

from ganbench.data.types import Batch, DataInfo
from ganbench.eval.inputs import EvalInputs
from ganbench.eval.metrics_runner import compute_metrics
from ganbench.metrics.attack_metric import ATTACK_METRIC
from ganbench.metrics.attacks import ATTACK_PARAMS, resolved_attack_params
from ganbench.model import UnconditionalGAN


@pytest.mark.parametrize(
    ("shape", "n_images", "bound"),
    [
        ((1, 8, 8), 256, "max_images"),  # digits
        ((3, 32, 32), 256, "max_images"),  # CIFAR-10: exactly the budget
        ((3, 64, 64), 64, "pixel_budget"),  # a quarter of the images at four times the pixels
        ((3, 1024, 1024), 1, "pixel_budget"),  # never none
    ],
)
def test_images_per_side_follow_the_pixel_budget(shape, n_images: int, bound: str) -> None:
    params = resolved_attack_params({}, shape)
    assert (params["n_images"], params["n_images_from"]) == (n_images, bound)
    assert params["n_images"] * torch.Size(shape).numel() <= max(
        ATTACK_PARAMS["pixel_budget"], torch.Size(shape).numel()
    )


def test_a_given_image_count_is_kept() -> None:
    params = resolved_attack_params({"n_images": 500}, (3, 64, 64))
    assert (params["n_images"], params["n_images_from"]) == (500, "given")


def test_default_bisection_resolves_one_grey_level() -> None:
    # eps_max / 2**bisection_steps in units of 1/255: finer than one 8-bit level is wasted work.
    assert ATTACK_PARAMS["eps_max"] / 2 ** ATTACK_PARAMS["bisection_steps"] == 1


class _CountingD(nn.Module):
    def __init__(self, n_inputs: int) -> None:
        super().__init__()
        self.linear = nn.Linear(n_inputs, 1)
        self.rows_seen: list[int] = []

    def forward(self, x: Tensor) -> Tensor:
        self.rows_seen.append(x.shape[0])
        return self.linear(x.flatten(1)).squeeze(1)


class _TinyGAN(UnconditionalGAN):
    latent_dim = 2
    loss = "non-saturating"

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.generator = nn.Linear(2, torch.Size(shape).numel())
        self.discriminator = _CountingD(torch.Size(shape).numel())


def test_the_protocol_record_shows_the_images_attacked() -> None:
    shape = (3, 16, 16)
    values = torch.Size(shape).numel()
    cheap = {**ATTACK_PARAMS, "pixel_budget": 5 * values, "eps": (8,), "pgd_steps": 1}
    spec = dataclasses.replace(ATTACK_METRIC, params={**cheap, "bisection_steps": 0})
    model = _TinyGAN(shape)
    real = torch.rand(40, *shape) * 2 - 1
    fake = torch.rand(30, *shape) * 2 - 1
    inputs = EvalInputs(
        info=DataInfo(name="toy", kind="image", shape=shape),
        real=Batch(x=real),
        fake=fake,
        fake_conditions=Batch(x=fake),
        extractor=None,
        model=model,
    )
    results = compute_metrics([spec], inputs)
    recorded = results.params["attack-robustness"]
    assert (recorded["n_images"], recorded["n_images_from"]) == (5, "pixel_budget")
    assert max(model.discriminator.rows_seen) == 5  # 5 real, then 5 fake rows per batch
