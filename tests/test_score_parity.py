"""``ganbench score`` against torch-fidelity, pytorch-fid and prdc on the same images and weights.

Nothing can be downloaded here, so a randomly initialised Inception-v3
weights file is written in torch-fidelity's format (see
``tests/inception_weights.py``); both tools read the same PNG folders with it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import prdc
import pytest
import torch
import torch_fidelity
from inception_weights import write_torch_fidelity_weights
from PIL import Image
from pytorch_fid.fid_score import calculate_frechet_distance

from ganbench.cli.main import main
from ganbench.eval.reference_stats import load_or_compute_reference_stats

N = 32
SEED = 2020  # torch-fidelity's default rng_seed: KID subsets and the IS shuffle line up
SPACE = "inception-v3"


def _write_pngs(folder: Path, seed: int, high: int) -> np.ndarray:
    # Uniform noise of different brightness: random Inception weights separate the sets.
    images = np.random.default_rng(seed).integers(0, high, size=(N, 32, 32, 3), dtype=np.uint8)
    folder.mkdir()
    for i, image in enumerate(images):
        Image.fromarray(image, mode="RGB").save(folder / f"{i:03d}.png")
    return images


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("parity")
    weights = write_torch_fidelity_weights(root / "weights-inception-2015-12-05-6726825d.pth")
    _write_pngs(root / "real", 0, high=256)
    _write_pngs(root / "fake", 1, high=128)
    return {"real": root / "real", "fake": root / "fake", "weights": weights}


@pytest.fixture(scope="module")
def scored(folders: dict[str, Path]) -> dict:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            [
                "score",
                str(folders["real"]),
                str(folders["fake"]),
                "--metric",
                "fid,kid,is,prdc",
                "--inception-weights",
                str(folders["weights"]),
                "--seed",
                str(SEED),
                "--device",
                "cpu",
                "--json",
                "--quiet",
            ]
        )
    assert code == 0
    return json.loads(out.getvalue())


@pytest.fixture(scope="module")
def fidelity(folders: dict[str, Path]) -> dict:
    # torch-fidelity computes IS on input1: the fakes go first.
    return torch_fidelity.calculate_metrics(
        input1=str(folders["fake"]),
        input2=str(folders["real"]),
        feature_extractor_weights_path=str(folders["weights"]),
        fid=True,
        kid=True,
        isc=True,
        kid_subset_size=N,
        rng_seed=SEED,
        cuda=False,
        verbose=False,
        cache=False,
    )


def _fidelity_features(folder: Path, weights: Path) -> np.ndarray:
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    net = FeatureExtractorInceptionV3(
        "inception-v3-compat", ["2048"], feature_extractor_weights_path=str(weights)
    ).eval()
    files = sorted(folder.glob("*.png"))
    images = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files])
    with torch.no_grad():
        (features,) = net(torch.from_numpy(images).permute(0, 3, 1, 2).contiguous())
    return features.double().numpy()


@pytest.fixture(scope="module")
def fidelity_features(folders: dict[str, Path]) -> dict[str, np.ndarray]:
    """Each folder's pool features from torch-fidelity's own network."""
    return {
        side: _fidelity_features(folders[side], folders["weights"]) for side in ("real", "fake")
    }


def test_fid_kid_is_equal_torch_fidelity(scored: dict, fidelity: dict) -> None:
    metrics = scored["metrics"]
    assert metrics[f"fid[{SPACE}]"] > 10  # far from 0: the comparison means something
    assert metrics[f"fid[{SPACE}]"] == pytest.approx(
        fidelity["frechet_inception_distance"], rel=1e-4
    )
    assert metrics[f"kid[{SPACE}]"] == pytest.approx(
        fidelity["kernel_inception_distance_mean"], rel=1e-4
    )
    assert metrics[f"kid_subset_size[{SPACE}]"] == N  # 1,000 clipped to the set sizes
    assert metrics[f"is[{SPACE}]"] > 1.01  # IS is 1 for identical predictions
    assert metrics[f"is[{SPACE}]"] == pytest.approx(fidelity["inception_score_mean"], rel=1e-3)


def test_frechet_distance_equals_pytorch_fid_on_the_same_statistics(
    scored: dict, fidelity_features: dict[str, np.ndarray]
) -> None:
    real, fake = fidelity_features["real"], fidelity_features["fake"]
    mu1, sigma1 = real.mean(0), np.cov(real, rowvar=False)
    mu2, sigma2 = fake.mean(0), np.cov(fake, rowvar=False)
    from ganbench.metrics.frechet import frechet_distance

    ours = frechet_distance(mu1, sigma1, mu2, sigma2)
    reference = calculate_frechet_distance(mu1, sigma1, mu2, sigma2)
    assert ours == pytest.approx(reference, rel=1e-6)
    assert scored["metrics"][f"fid[{SPACE}]"] == pytest.approx(reference, rel=1e-4)


def test_prdc_equals_the_prdc_package(
    scored: dict, fidelity_features: dict[str, np.ndarray]
) -> None:
    real, fake = fidelity_features["real"], fidelity_features["fake"]
    pr = prdc.compute_prdc(real_features=real, fake_features=fake, nearest_k=3)
    dc = prdc.compute_prdc(real_features=real, fake_features=fake, nearest_k=5)
    metrics = scored["metrics"]
    assert metrics[f"precision[{SPACE}]"] == pytest.approx(pr["precision"], abs=1e-6)
    assert metrics[f"recall[{SPACE}]"] == pytest.approx(pr["recall"], abs=1e-6)
    assert metrics[f"density[{SPACE}]"] == pytest.approx(dc["density"], abs=1e-6)
    assert metrics[f"coverage[{SPACE}]"] == pytest.approx(dc["coverage"], abs=1e-6)


def test_protocol_records_the_weights_and_the_sources(scored: dict, folders: dict) -> None:
    import hashlib

    protocol = scored["protocol"]
    extractor = protocol["feature_extractor"]
    assert (
        extractor["weights_sha256"] == hashlib.sha256(folders["weights"].read_bytes()).hexdigest()
    )
    assert protocol["real"]["kind"] == "folder" and protocol["real"]["files"] == N
    assert protocol["n_real"] == protocol["n_fake"] == N
    assert protocol["metric_params"]["kid"]["subsets"] == 100
    assert protocol["seed"] == SEED


def test_reference_stats_are_rebuilt_when_the_weights_change(tmp_path: Path) -> None:
    from ganbench.data.types import Batch, DataInfo, GanDataset
    from ganbench.features.base import FeatureContext
    from ganbench.features.inception import build_inception

    images = torch.rand(4, 3, 16, 16) * 2 - 1
    batch = Batch(x=images)
    dataset = GanDataset(
        info=DataInfo(name="noise", kind="image", shape=(3, 16, 16)),
        splits={"train": batch, "val": batch, "test": batch},
    )
    keys = []
    for seed in (0, 0, 1):
        weights = write_torch_fidelity_weights(tmp_path / f"w{seed}.pth", seed=seed)
        ctx = FeatureContext(tmp_path, torch.device("cpu"), inception_weights=weights)
        stats = load_or_compute_reference_stats(
            dataset, "test", build_inception(dataset, ctx), tmp_path
        )
        keys.append((stats.key, stats.loaded))
    assert keys[0][0] == keys[1][0] and keys[1][1] is True  # same weights: read back
    assert keys[2][0] != keys[0][0] and keys[2][1] is False  # new weights: rebuilt
