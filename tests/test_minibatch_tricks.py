"""Unit tests of the minibatch tricks: minibatch discrimination and minibatch stddev.

Fast (no training): the minibatch features on constructed batches, each
wrapper against the layer it stands for (the head on the concatenated
input, built explicitly from the wrapper's weights), the build-time
transform on DCGAN (new parameters under D, in D's optimizer, checkpoint
round trip) and the refusal of a model without a discriminator.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ganbench.api import DataInfo, TrickSpec, discriminator_head
from ganbench_plugins import minibatch_discrimination as mbd
from ganbench_plugins import minibatch_stddev as mbs
from ganbench_plugins.dcgan import DCGAN


def _spec(module) -> TrickSpec:
    specs: list[TrickSpec] = []
    module.ganbench_register_tricks(specs.append)
    return specs[0]


def _dcgan() -> DCGAN:
    return DCGAN(DataInfo(name="probe", kind="image", shape=(1, 8, 8)))


def _randomise(module: nn.Module) -> None:
    # The wrappers start with small or zero projections; give them weights to compare.
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0.0, 0.3)


# -- minibatch discrimination ------------------------------------------------------


def test_identical_samples_are_close_to_every_other_sample() -> None:
    torch.manual_seed(0)
    f = torch.randn(1, 12).repeat(6, 1)
    o = mbd.minibatch_features(f, torch.randn(12, 7, 3))
    # j = i is left out, as in the authors' code: N - 1 per kernel.
    assert o.shape == (6, 7)
    assert torch.allclose(o, torch.full_like(o, 5.0))


def test_far_apart_samples_have_no_close_neighbours() -> None:
    f = torch.eye(4) * 1e3
    kernels = torch.arange(4.0)[:, None, None].expand(4, 2, 5)  # M_i = 1000 i everywhere
    o = mbd.minibatch_features(f, kernels)
    assert torch.allclose(o, torch.zeros_like(o))


def test_wrapper_is_the_linear_head_on_features_and_o() -> None:
    torch.manual_seed(0)
    head = nn.Linear(10, 3)
    wrapper = mbd.MinibatchDiscriminationHead(head, kernels=6, dims=4)
    _randomise(wrapper)
    x = torch.randn(8, 10)
    o = mbd.minibatch_features(x, wrapper.kernels)
    wide = nn.Linear(10 + 6, 3)
    with torch.no_grad():
        wide.weight.copy_(torch.cat([head.weight, wrapper.proj.weight], dim=1))
        wide.bias.copy_(head.bias)
    assert torch.allclose(wrapper(x), wide(torch.cat([x, o], dim=1)), atol=1e-5)


def test_wrapper_is_the_whole_map_conv_on_features_and_o_maps() -> None:
    torch.manual_seed(0)
    head = nn.Conv2d(5, 2, 4, 1, 0, bias=False)  # DCGAN's last layer on a 4x4 map
    wrapper = mbd.MinibatchDiscriminationHead(head, kernels=3, dims=5)
    _randomise(wrapper)
    x = torch.randn(6, 5, 4, 4)
    o = mbd.minibatch_features(x.flatten(1), wrapper.kernels)
    wide = nn.Conv2d(5 + 3, 2, 4, 1, 0, bias=False)
    with torch.no_grad():
        # Each o channel is constant over the map: its kernel sums to proj's column.
        extra = wrapper.proj.weight[:, :, None, None].expand(2, 3, 4, 4) / 16
        wide.weight.copy_(torch.cat([head.weight, extra], dim=1))
    maps = o[:, :, None, None].expand(6, 3, 4, 4)
    assert torch.allclose(wrapper(x), wide(torch.cat([x, maps], dim=1)), atol=1e-5)


def test_wrapper_starts_close_to_the_head() -> None:
    torch.manual_seed(0)
    head = nn.Linear(10, 1)
    wrapper = mbd.MinibatchDiscriminationHead(head, kernels=100, dims=5)
    x = torch.randn(1, 10).repeat(64, 1)  # a collapsed batch: o = 63 per kernel
    assert (wrapper(x) - head(x)).abs().max() < 1.0


# -- minibatch stddev ----------------------------------------------------------------


def test_stddev_of_identical_samples_is_zero_up_to_eps() -> None:
    x = torch.randn(1, 3, 4, 4).repeat(8, 1, 1, 1)
    s = mbs.minibatch_stddev(x, 4)
    assert s.shape == (8,)
    assert torch.allclose(s, torch.full_like(s, math.sqrt(mbs.EPS)))


def test_stddev_groups_are_strided_as_in_the_authors_code() -> None:
    torch.manual_seed(0)
    x = torch.randn(8, 6)
    s = mbs.minibatch_stddev(x, 4)  # 2 groups of 4: samples {0, 2, 4, 6} and {1, 3, 5, 7}
    for group in (0, 1):
        members = x[group::2]
        expected = torch.sqrt(members.var(0, unbiased=False) + mbs.EPS).mean()
        assert torch.allclose(s[group::2], expected.expand(4))


@pytest.mark.parametrize(
    ("n", "size"), [(64, 4), (12, 4), (6, 3), (10, 2), (3, 3), (1, 1), (7, 7), (13, 13)]
)
def test_group_size_divides_the_batch(n: int, size: int) -> None:
    assert mbs.group_size_for(n, 4) == size


def test_stddev_wrapper_is_the_linear_head_on_features_and_s() -> None:
    torch.manual_seed(0)
    head = nn.Linear(10, 3)
    wrapper = mbs.MinibatchStddevHead(head, group_size=4)
    _randomise(wrapper)
    x = torch.randn(8, 10)
    s = mbs.minibatch_stddev(x, 4)
    wide = nn.Linear(11, 3)
    with torch.no_grad():
        wide.weight.copy_(torch.cat([head.weight, wrapper.stddev_weight[:, None]], dim=1))
        wide.bias.copy_(head.bias)
    assert torch.allclose(wrapper(x), wide(torch.cat([x, s[:, None]], dim=1)), atol=1e-5)


# -- the tricks on a model -----------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "params"),
    [(mbd, {"kernels": 100, "dims": 5}), (mbs, {"group_size": 4})],
    ids=["minibatch-discrimination", "minibatch-stddev"],
)
def test_transform_adds_d_parameters_that_d_trains_and_checkpoints(module, params) -> None:
    spec = _spec(module)
    model = _dcgan()
    assert spec.check(model) is None
    before = {id(p) for p in model.discriminator.parameters()}
    spec.build(params).transform_model(model)
    added = [p for p in model.discriminator.parameters() if id(p) not in before]
    assert added
    # The optimizers are made after the build hooks, from D's parameters.
    d_params = {id(p) for g in model.configure_optimizers()["d"].param_groups for p in g["params"]}
    assert {id(p) for p in added} <= d_params
    x = torch.randn(4, 1, 8, 8)
    model.eval()
    assert model.discriminator(x).shape == (4,)

    # A second build, wrapped the same way, loads the first one's weights.
    again = _dcgan()
    spec.build(params).transform_model(again)
    again.load_state_dict(model.state_dict())
    again.eval()
    assert torch.equal(again.discriminator(x), model.discriminator(x))


def test_head_stays_findable_after_wrapping() -> None:
    model = _dcgan()
    name, head = discriminator_head(model)
    _spec(mbd).build({"kernels": 8, "dims": 5}).transform_model(model)
    # proj comes before the head in module order, so the head is still D's last layer.
    assert discriminator_head(model) == (f"{name}.head", head)
    _spec(mbs).build({"group_size": 4}).transform_model(model)  # the tricks stack
    assert model.discriminator(torch.randn(4, 1, 8, 8)).shape == (4,)


@pytest.mark.parametrize("module", [mbd, mbs], ids=["minibatch-discrimination", "minibatch-stddev"])
def test_check_refuses_a_model_without_a_discriminator(module) -> None:
    generator_only = nn.Module()
    generator_only.generator = nn.Linear(2, 2)
    assert isinstance(_spec(module).check(generator_only), str)


def test_check_refuses_a_padded_conv_head_for_minibatch_discrimination() -> None:
    class Padded(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.discriminator = nn.Sequential(nn.Conv2d(1, 4, 3, 1, 1))

    assert "pads" in _spec(mbd).check(Padded())
    assert _spec(mbs).check(Padded()) is None
