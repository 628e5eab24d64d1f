"""Drawing generated samples for evaluation, independent of training randomness."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ganbench.data.types import Batch
from ganbench.errors import PluginContractError
from ganbench.model import GANModel


def pick_conditions(reference: Batch, n: int, seed: int) -> Batch:
    """``n`` rows of ``reference`` whose conditioning the generator will use.

    Without replacement when the split is large enough, else with. The class
    labels (or captions, or low-resolution inputs) of generated samples thus
    follow the reference split's distribution.
    """
    gen = torch.Generator().manual_seed(seed)
    if n <= len(reference):
        idx = torch.randperm(len(reference), generator=gen)[:n]
    else:
        idx = torch.randint(0, len(reference), (n,), generator=gen)
    return reference.index(idx)


@torch.no_grad()
def generate_samples(
    model: GANModel,
    conditions: Batch,
    seed: int,
    device: torch.device,
    expected_shape: tuple[int, ...],
    batch_size: int = 500,
    on_batch: Callable[[int], None] | None = None,
) -> Tensor:
    """Generate one sample per row of ``conditions`` (on CPU), in eval mode.

    Latents come from a private generator seeded by ``seed``, so evaluation
    neither depends on nor disturbs the training RNG. A generator output of
    the wrong shape or with NaNs is a plugin contract error. ``on_batch``,
    if given, hears how many samples are done after each batch.
    """
    was_training = model.training
    model.eval()
    gen = torch.Generator(device=device).manual_seed(seed)
    outputs = []
    try:
        for lo in range(0, len(conditions), batch_size):
            cond = conditions.index(torch.arange(lo, min(lo + batch_size, len(conditions))))
            cond = cond.to(device)
            z = model.sample_latent(len(cond), device, generator=gen)
            fake = model.generate(z, cond)
            if tuple(fake.shape) != (len(cond), *expected_shape):
                raise PluginContractError(
                    f"generator of {type(model).__name__} returned shape {tuple(fake.shape)}, "
                    f"expected {(len(cond), *expected_shape)}"
                )
            outputs.append(fake.float().cpu())
            if on_batch is not None:
                on_batch(lo + len(cond))
    finally:
        model.train(was_training)
    return torch.cat(outputs) if outputs else torch.empty(0, *expected_shape)
