"""SRGAN (Ledig et al. 2017): figure 4's networks, and the VGG54 content loss
from a weights file, refused in one line without one."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from cli_helpers import one_error_line
from torch import nn
from torchvision.models import vgg19

from ganbench.api import DataInfo
from ganbench.cli.main import main
from ganbench_plugins import srgan

INFO = DataInfo(
    name="sr",
    kind="image",
    shape=(3, 32, 32),
    fields=("x", "source"),
    source_shape=(3, 8, 8),
)


def _convs(module: nn.Module) -> list[nn.Conv2d]:
    return [m for m in module.modules() if isinstance(m, nn.Conv2d)]


def test_the_networks_are_figure_4s() -> None:
    model = srgan.SRGAN(INFO, {"content": "mse", "blocks": 16})
    g = model.generator
    assert sum(isinstance(m, srgan.ResidualBlock) for m in g.modules()) == 16
    assert g.head[0].kernel_size == (9, 9) and g.tail[-2].kernel_size == (9, 9)
    assert sum(isinstance(m, nn.PixelShuffle) for m in g.modules()) == 2  # x4 = x2 x2
    d_convs = _convs(model.discriminator)
    assert [c.out_channels for c in d_convs] == [64, 64, 128, 128, 256, 256, 512, 512]
    assert [c.stride[0] for c in d_convs] == [1, 2, 1, 2, 1, 2, 1, 2]
    assert model.discriminator.head[1].out_features == 1024
    low = torch.rand(2, 3, 8, 8) * 2 - 1
    assert model.generator(low).shape == (2, 3, 32, 32)
    assert model.discriminator(torch.zeros(2, 3, 32, 32)).shape == (2,)
    assert srgan.check_fits(INFO) is None
    assert "16" in srgan.check_fits(DataInfo("sr", "image", (3, 24, 24), source_shape=(3, 6, 6)))


@pytest.fixture(scope="module")
def vgg_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Randomly initialised VGG19 convolutions (no weights can be downloaded here)."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("vgg") / srgan.VGG19_FILE
    features = {f"features.{k}": v for k, v in vgg19(weights=None).features.state_dict().items()}
    torch.save(features, path)
    return path


def test_vgg54_is_the_mse_of_rescaled_conv5_4_features(
    vgg_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GANBENCH_VGG19_WEIGHTS", str(vgg_file))
    model = srgan.SRGAN(INFO, {"content": "vgg54", "blocks": 1})
    reference = vgg19(weights=None).features
    reference.load_state_dict({k[9:]: v for k, v in torch.load(vgg_file).items()})
    reference = reference[:36].eval()  # up to conv5_4's ReLU
    assert isinstance(reference[34], nn.Conv2d) and isinstance(reference[35], nn.ReLU)
    gen = torch.Generator().manual_seed(1)
    fake, real = (torch.rand(2, 3, 32, 32, generator=gen) * 2 - 1 for _ in range(2))
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    phi = lambda x: reference(((x + 1) / 2 - mean) / std) / 12.75  # noqa: E731
    with torch.no_grad():
        expected = F.mse_loss(phi(fake), phi(real))
        got = model.content_loss(fake, real)
    torch.testing.assert_close(got, expected)
    assert got > 0
    # The loss network is fixed and is no part of the model's weights.
    assert not any(k.startswith("_vgg") or "features.34" in k for k in model.state_dict())
    assert not any(p.requires_grad for p in model._vgg[0].parameters())
    # The run record says which VGG19 the loss saw; the MSE model has nothing to add.
    facts = model.protocol_facts()
    assert facts["vgg19_weights_sha256"] == hashlib.sha256(vgg_file.read_bytes()).hexdigest()
    assert srgan.SRGAN(INFO, {"content": "mse", "blocks": 1}).protocol_facts() == {}


def test_vgg54_without_weights_is_one_line(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GANBENCH_VGG19_WEIGHTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    code = main(
        ["run", "--plugin", "srgan:content=vgg54", "--dataset", "sr-photos", "--steps", "1"]
    )
    assert code == 2
    line = one_error_line(capsys.readouterr().err)
    assert "vgg19-dcbedf0a.pth" in line and "GANBENCH_VGG19_WEIGHTS" in line
    assert not (tmp_path / "runs").exists()
