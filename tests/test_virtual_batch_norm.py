"""The ``virtual-batch-norm`` trick: per-example independence, the combined statistics,
the checks, and gradients through the reference pass (Salimans et al. 2016, 3.4)."""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator

import pytest
import torch
from torch import Tensor, nn

from ganbench.api import Batch, IncompatibleError, TaskKind, UnconditionalGAN
from ganbench.blocks.dcgan import DCGANGenerator
from ganbench_plugins.virtual_batch_norm import (
    REFERENCE_ATTR,
    VirtualBatchNorm,
    VirtualBatchNormTrick,
    _check,
)

LATENT = 4
NO_COND = Batch(x=torch.zeros(1, 2))


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Tiny networks gain nothing from intra-op threads on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


class TinyGAN(UnconditionalGAN):
    """z (N x 4) -> 2-D points through a BatchNorm1d MLP, or 8x8 images through DCGAN's G."""

    latent_dim = LATENT

    def __init__(self, images: bool = False, batch_norm: bool = True) -> None:
        super().__init__()
        torch.manual_seed(0)
        if images:
            self.generator: nn.Module = DCGANGenerator(LATENT, 1, 8)
        else:
            norm = [nn.BatchNorm1d(8)] if batch_norm else []
            self.generator = nn.Sequential(nn.Linear(LATENT, 8), *norm, nn.ReLU(), nn.Linear(8, 2))
        self.discriminator = nn.Flatten()  # unused: the tests exercise G


def _tricked(images: bool = False, reference_size: int = 16) -> TinyGAN:
    model = TinyGAN(images)
    VirtualBatchNormTrick({"reference_size": reference_size}).transform_model(model)
    return model


@pytest.mark.parametrize("images", [False, True], ids=["batchnorm1d", "batchnorm2d"])
def test_in_eval_mode_a_sample_does_not_depend_on_its_batch(images: bool) -> None:
    model = _tricked(images).eval()
    z = torch.randn(8, LATENT, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        together = model.generate(z, NO_COND)
        alone = torch.cat([model.generate(z[i : i + 1], NO_COND) for i in range(len(z))])
        other_company = model.generate(torch.cat([z[:1], -z[1:]]), NO_COND)
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(together[:1], other_company[:1], rtol=1e-5, atol=1e-6)

    # What VBN replaces: BatchNorm in training mode mixes the batch into each sample.
    plain = TinyGAN(images).train()
    with torch.no_grad():
        mixed = plain.generate(z, NO_COND)[:1]
        companions = plain.generate(torch.cat([z[:1], -z[1:]]), NO_COND)[:1]
    assert not torch.allclose(mixed, companions)


def test_combined_statistics_match_a_hand_computation() -> None:
    source = nn.BatchNorm1d(1)
    with torch.no_grad():
        source.weight.fill_(2.0)
        source.bias.fill_(0.5)
    layer = VirtualBatchNorm(source)
    assert layer.weight is source.weight and layer.bias is source.bias  # affine map kept

    layer.collecting = True
    reference_out = layer(torch.tensor([[0.0], [2.0]]))
    layer.collecting = False
    # The reference batch with its own statistics: mean 1, variance 1.
    expected_ref = 2.0 * torch.tensor([[-1.0], [1.0]]) / math.sqrt(1.0 + layer.eps) + 0.5
    torch.testing.assert_close(reference_out, expected_ref)

    # x = 4 joins the reference batch {0, 2}: mean (0+2+4)/3 = 2, variance (4+0+4)/3 = 8/3,
    # i.e. weights 1/(N+1) for x and N/(N+1) for the reference (N = 2).
    out = layer(torch.tensor([[4.0]]))
    torch.testing.assert_close(out, torch.tensor([[2.0 * 2.0 / math.sqrt(8 / 3 + 1e-5) + 0.5]]))


def test_2d_statistics_are_those_of_the_reference_batch_with_the_example_added() -> None:
    gen = torch.Generator().manual_seed(0)
    layer = VirtualBatchNorm(nn.BatchNorm2d(3, affine=False))
    reference, x = torch.randn(5, 3, 4, 4, generator=gen), torch.randn(2, 3, 4, 4, generator=gen)
    layer.collecting = True
    layer(reference)
    layer.collecting = False
    out = layer(x)
    for i in range(len(x)):
        union = torch.cat([reference, x[i : i + 1]])
        mean = union.mean(dim=(0, 2, 3), keepdim=True)
        var = union.var(dim=(0, 2, 3), unbiased=False, keepdim=True)
        torch.testing.assert_close(out[i : i + 1], (x[i : i + 1] - mean) / torch.sqrt(var + 1e-5))


def test_check_refuses_what_it_cannot_support() -> None:
    assert "no BatchNorm" in (_check(TinyGAN(batch_norm=False)) or "")
    assert _check(TinyGAN()) is None and _check(TinyGAN(images=True)) is None

    conditional = TinyGAN()
    conditional.task = TaskKind.CLASS_CONDITIONAL
    assert "unconditional" in (_check(conditional) or "")
    noiseless = TinyGAN()
    noiseless.latent_dim = 0
    assert "no noise" in (_check(noiseless) or "")
    with pytest.raises(IncompatibleError, match="no BatchNorm"):
        VirtualBatchNormTrick({"reference_size": 8}).transform_model(TinyGAN(batch_norm=False))


def test_gradients_reach_g_through_the_reference_pass() -> None:
    model = _tricked()
    z = torch.randn(6, LATENT, generator=torch.Generator().manual_seed(2))

    def grads(detach_reference: bool) -> dict[str, Tensor]:
        tried = copy.deepcopy(model)
        if detach_reference:
            # Runs after the trick's pre-hook: the statistics become constants.
            def detach(module: nn.Module, args: tuple[Tensor, ...]) -> None:
                if not getattr(module, REFERENCE_ATTR).active:
                    for layer in module.modules():
                        if isinstance(layer, VirtualBatchNorm) and layer._reference:
                            mean, var, n = layer._reference
                            layer._reference = (mean.detach(), var.detach(), n)

            tried.generator.register_forward_pre_hook(detach)
        tried.generate(z, NO_COND).square().sum().backward()
        return {n: p.grad.clone() for n, p in tried.generator.named_parameters()}

    full, without = grads(False), grads(True)
    assert all(g.abs().sum() > 0 for g in full.values())
    # The first layer's weights feed the reference statistics: their gradient differs.
    assert not torch.allclose(full["0.weight"], without["0.weight"])


def test_reference_batch_is_fixed_and_leaves_the_global_rng_alone() -> None:
    first, second = _tricked(), _tricked()
    state = torch.random.get_rng_state()
    with torch.no_grad():
        first.generate(torch.zeros(2, LATENT), NO_COND)
        second.generate(torch.zeros(2, LATENT), NO_COND)
    assert torch.equal(torch.random.get_rng_state(), state)
    z1 = getattr(first.generator, REFERENCE_ATTR).latent(torch.device("cpu"), torch.float32)
    z2 = getattr(second.generator, REFERENCE_ATTR).latent(torch.device("cpu"), torch.float32)
    assert z1.shape == (16, LATENT) and torch.equal(z1, z2)


def test_checkpoint_names_keep_the_affine_parameters_and_drop_running_statistics() -> None:
    plain, tricked = TinyGAN().state_dict(), _tricked().state_dict()
    assert set(tricked) == {k for k in plain if "running" not in k and "num_batches" not in k}
    restored = _tricked()
    restored.load_state_dict(tricked)  # strict: the same names on every build path


def test_a_generator_called_with_another_input_is_refused() -> None:
    model = _tricked()
    with pytest.raises(IncompatibleError, match="width"):
        model.generator(torch.zeros(2, LATENT + 1))
