"""Randomly initialised FID Inception-v3 weights files, in both common layouts.

Nothing can be downloaded in tests, so the real 2015-12-05 weights are not
available. These helpers build the same architecture with the reference
packages' own constructors, give it random weights, and save it as
pytorch-fid does (torchvision module names, with each BatchNorm's
``num_batches_tracked`` counter) and as torch-fidelity does (the same names,
no counters). Both files then hold the same network.

The random initialisation keeps activations at a useful scale through the
network's ~20 layers (He-normal convolutions, BatchNorm close to identity),
so the 2048-d pool features vary between images and metrics on them are
far from zero; PyTorch's default initialisation shrinks them towards zero.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from unittest import mock

import pytorch_fid.inception as pytorch_fid_inception
import torch
from torch import nn
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3


def _randomise_(net: nn.Module, seed: int) -> None:
    """Re-initialise ``net``'s convolutions, BatchNorms and classifier in place, seeded."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.Conv2d):
                fan_in = module.weight[0].numel()
                module.weight.normal_(0.0, math.sqrt(2.0 / fan_in), generator=gen)
            elif isinstance(module, nn.BatchNorm2d):
                # Away from identity, so that a mix-up of mean/var/weight/bias would show.
                module.weight.uniform_(0.8, 1.2, generator=gen)
                module.bias.normal_(0.0, 0.1, generator=gen)
                module.running_mean.normal_(0.0, 0.1, generator=gen)
                module.running_var.uniform_(0.8, 1.2, generator=gen)
            elif isinstance(module, nn.Linear):
                module.weight.normal_(0.0, 64.0 / math.sqrt(module.in_features), generator=gen)
                # A non-zero bias tells "logits" from "logits_unbiased" apart.
                module.bias.normal_(0.0, 1.0, generator=gen)


def _decorrelate_classifier_(net: nn.Module, seed: int) -> None:
    """Make the classifier blind to the pool features' common component.

    Random pool features are positive and mostly shared between images; a
    random classifier then gives every image nearly the same (peaked)
    distribution and an Inception Score of ~1. Projecting the mean feature
    of a few probe images out of the classifier's rows leaves logits that
    differ between images.
    """
    gen = torch.Generator().manual_seed(seed + 1)
    probe = torch.rand(4, 3, 299, 299, generator=gen) * 2 - 1
    captured: list[torch.Tensor] = []
    hook = net.fc.register_forward_hook(lambda mod, inputs, out: captured.append(inputs[0]))
    with torch.no_grad():
        net(probe)
        hook.remove()
        mean = captured[0].mean(dim=0)
        weight = net.fc.weight
        weight -= torch.outer(weight @ mean, mean) / mean.dot(mean)


def random_pytorch_fid_network(seed: int = 0) -> nn.Module:
    """pytorch-fid's FID Inception (torchvision ``Inception3`` with the FID blocks), random weights.

    ``fid_inception_v3`` downloads its weights; here the download is replaced
    by the state of a freshly built torchvision network, then re-randomised.
    """

    def _no_download(url: str, progress: bool = True) -> dict[str, torch.Tensor]:
        fresh = pytorch_fid_inception._inception_v3(
            num_classes=1008, aux_logits=False, weights=None
        )
        return fresh.state_dict()

    with mock.patch.object(pytorch_fid_inception, "load_state_dict_from_url", _no_download):
        net = pytorch_fid_inception.fid_inception_v3()
    net.eval()
    _randomise_(net, seed)
    _decorrelate_classifier_(net, seed)
    return net


def write_pytorch_fid_weights(path: Path, seed: int = 0) -> Path:
    """Save a random network as pytorch-fid's ``pt_inception-...`` file (with BN counters)."""
    state = random_pytorch_fid_network(seed).state_dict()
    assert any(key.endswith("num_batches_tracked") for key in state)
    torch.save(state, path)
    return path


def write_torch_fidelity_weights(path: Path, seed: int = 0) -> Path:
    """Save the same random network (same ``seed``) as torch-fidelity's ``weights-inception-...``.

    The network is loaded into torch-fidelity's own module, whose state dict
    is saved without the BatchNorm counters, as torch-fidelity's converter
    writes it.
    """
    buffer = io.BytesIO()
    torch.save(random_pytorch_fid_network(seed).state_dict(), buffer)
    buffer.seek(0)
    net = FeatureExtractorInceptionV3(
        "inception-v3-compat", ["2048"], feature_extractor_weights_path=buffer
    )
    state = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(state, path)
    return path
