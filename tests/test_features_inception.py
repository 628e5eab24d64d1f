"""The inception-v3 feature space: agreement with torch-fidelity and pytorch-fid, weights lookup.

The real weights cannot be downloaded here, so every test uses randomly
initialised networks saved in both common file layouts (see
``tests/inception_weights.py``). Agreement with the reference packages on
the same random network checks the wiring (preprocessing, layers, softmax,
key mapping), which is what ganbench adds; the network itself is
torch-fidelity's. Inception at 299x299 costs ~0.1 s per image on one CPU
thread, so the images are few and their features are computed once.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from unittest import mock
from urllib.error import URLError

import numpy as np
import pytest
import pytorch_fid.inception as pytorch_fid_inception
import torch
import torch.nn.functional as F
import torch_fidelity
from inception_weights import (
    random_pytorch_fid_network,
    write_pytorch_fid_weights,
    write_torch_fidelity_weights,
)
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

from ganbench.data.types import DataInfo
from ganbench.errors import (
    GanbenchError,
    InceptionWeightsInvalidError,
    InceptionWeightsMissingError,
)
from ganbench.features.base import FeatureContext, FeatureExtractor
from ganbench.features.inception import INCEPTION_SPEC, InceptionV3Features, load_inception
from ganbench.features.inception_weights import (
    PYTORCH_FID_FILENAME,
    TORCH_FIDELITY_FILENAME,
    WEIGHTS_ENV_VAR,
    find_inception_weights,
    read_inception_weights,
)
from ganbench.metrics.frechet import fid_from_features
from ganbench.metrics.inception_score import inception_score
from ganbench.metrics.kid import kernel_inception_distance
from ganbench.registry import load_registry

N_PER_SET = 32
KID_SUBSETS, KID_SUBSET_SIZE, IS_SPLITS, RNG_SEED = 10, 20, 4, 123


def _uint8(x: torch.Tensor) -> torch.Tensor:
    """The documented conversion, written out independently of the module under test."""
    return torch.clamp(torch.round((x + 1.0) * 127.5), 0, 255).to(torch.uint8)


def _images(seed: int, n: int, noise: bool) -> torch.Tensor:
    """Smooth colour fields in [-1, 1], or uniform pixel noise.

    The two kinds are far apart in feature space, so KID is large next to
    torch-fidelity's float32 kernel arithmetic (it computes KID from float32
    features; nearby sets would leave a 1e-4 relative gap from rounding alone).
    """
    gen = torch.Generator().manual_seed(seed)
    if noise:
        x = torch.rand(n, 3, 32, 32, generator=gen)
    else:
        x = F.interpolate(torch.rand(n, 3, 4, 4, generator=gen), size=32, mode="bilinear")
    return x * 2.0 - 1.0


def _context(tmp: Path, weights: Path | None = None, **changes) -> FeatureContext:
    return FeatureContext(
        cache_dir=tmp, device=torch.device("cpu"), inception_weights=weights, **changes
    )


@pytest.fixture(scope="module")
def weights_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("inception-weights")
    return {
        "pytorch-fid": write_pytorch_fid_weights(folder / PYTORCH_FID_FILENAME, seed=0),
        "torch-fidelity": write_torch_fidelity_weights(folder / TORCH_FIDELITY_FILENAME, seed=0),
    }


@pytest.fixture(scope="module")
def extractor(weights_files: dict[str, Path], tmp_path_factory) -> InceptionV3Features:
    ctx = _context(tmp_path_factory.mktemp("cache"), weights_files["torch-fidelity"])
    return load_inception(ctx, download=False)


@pytest.fixture(scope="module")
def image_sets() -> dict[str, torch.Tensor]:
    return {"real": _images(0, N_PER_SET, noise=False), "fake": _images(1, N_PER_SET, noise=True)}


@pytest.fixture(scope="module")
def outputs(extractor: InceptionV3Features, image_sets) -> dict[str, torch.Tensor]:
    out = {}
    for name, x in image_sets.items():
        out[f"{name}_features"] = extractor.features(x)
        out[f"{name}_probs"] = extractor.class_probs(x)
    return out


@pytest.fixture()
def no_weights_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    """Empty torch hub cache, no env var, and a download that fails as offline; records calls."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv(WEIGHTS_ENV_VAR, raising=False)
    calls: list[tuple] = []

    def offline(url: str, dst: str, *args, **kwargs) -> None:
        calls.append((url, dst))
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    return calls


# --- agreement with the reference packages ----------------------------------------------


def test_features_and_probs_match_torch_fidelity(
    extractor: InceptionV3Features, weights_files, image_sets
) -> None:
    x = image_sets["real"][:6].clone()
    reference = FeatureExtractorInceptionV3(
        "inception-v3-compat",
        ["2048", "logits_unbiased", "logits"],
        feature_extractor_weights_path=str(weights_files["torch-fidelity"]),
    )
    with torch.no_grad():
        pool, logits_unbiased, logits = reference(_uint8(x))

    features = extractor.features(x)
    probs = extractor.class_probs(x)
    assert features.dtype == torch.float32 and features.shape == (6, 2048)
    torch.testing.assert_close(features, pool, rtol=1e-6, atol=1e-6)
    assert probs.dtype == torch.float32 and probs.shape == (6, 1008)
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(6), rtol=0, atol=1e-6)
    torch.testing.assert_close(probs, logits_unbiased.double().softmax(dim=1).float())
    # The classifier bias is non-zero in this network, so the biased softmax is detectably other.
    assert (probs - logits.double().softmax(dim=1).float()).abs().max() > 1e-3


def test_both_file_layouts_give_identical_features(weights_files, image_sets, tmp_path) -> None:
    assert read_inception_weights(weights_files["pytorch-fid"]).layout == "pytorch-fid"
    assert read_inception_weights(weights_files["torch-fidelity"]).layout == "torch-fidelity"
    x = image_sets["fake"][:4]
    from_fid = load_inception(_context(tmp_path, weights_files["pytorch-fid"]), download=False)
    from_fidelity = load_inception(
        _context(tmp_path, weights_files["torch-fidelity"]), download=False
    )
    assert torch.equal(from_fid.features(x), from_fidelity.features(x))
    assert torch.equal(from_fid.class_probs(x), from_fidelity.class_probs(x))
    assert from_fid.protocol()["weights_sha256"] != from_fidelity.protocol()["weights_sha256"]


def test_pytorch_fid_file_agrees_with_pytorch_fid_network(weights_files, tmp_path) -> None:
    # At 299x299 neither library resizes, so pytorch-fid's own network (given the
    # same file through its loader) must produce the features ganbench does.
    state = torch.load(weights_files["pytorch-fid"], weights_only=True)
    with mock.patch.object(
        pytorch_fid_inception, "load_state_dict_from_url", lambda *a, **k: state
    ):
        reference = pytorch_fid_inception.InceptionV3([3]).eval()
    pixels = torch.randint(0, 256, (2, 3, 299, 299), generator=torch.Generator().manual_seed(5))
    # pytorch-fid maps [0, 1] with 2x - 1; torch-fidelity maps bytes with (x - 128) / 128.
    unit = ((pixels.double() - 128.0) / 128.0 + 1.0) / 2.0
    with torch.no_grad():
        expected = reference(unit.float())[0].flatten(1)
    ours = load_inception(_context(tmp_path, weights_files["pytorch-fid"]), download=False)
    features = ours.features(pixels.float() / 127.5 - 1.0)
    torch.testing.assert_close(features, expected, rtol=1e-4, atol=1e-5)


def test_helper_files_are_what_the_libraries_load(weights_files) -> None:
    # The pytorch-fid file loads strictly into pytorch-fid's network, the other one
    # into torch-fidelity's: the layouts tested are the libraries' own.
    net = random_pytorch_fid_network(seed=1)
    net.load_state_dict(torch.load(weights_files["pytorch-fid"], weights_only=True))
    FeatureExtractorInceptionV3(
        "inception-v3-compat",
        ["2048"],
        feature_extractor_weights_path=str(weights_files["torch-fidelity"]),
    )


class _Uint8Images(torch.utils.data.Dataset):
    def __init__(self, images: torch.Tensor) -> None:
        self.images = _uint8(images)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.images[i]


def test_metrics_match_torch_fidelity(outputs, image_sets, weights_files) -> None:
    real, fake = outputs["real_features"], outputs["fake_features"]
    # Random weights can give near-constant features; these must carry signal.
    assert real.std(dim=0).mean() > 2e-3 and fake.std(dim=0).mean() > 2e-3

    reference = torch_fidelity.calculate_metrics(
        input1=_Uint8Images(image_sets["fake"]),
        input2=_Uint8Images(image_sets["real"]),
        feature_extractor_weights_path=str(weights_files["torch-fidelity"]),
        fid=True,
        kid=True,
        isc=True,
        kid_subsets=KID_SUBSETS,
        kid_subset_size=KID_SUBSET_SIZE,
        isc_splits=IS_SPLITS,
        rng_seed=RNG_SEED,
        cuda=False,
        verbose=False,
        cache=False,
        save_cpu_ram=True,
    )

    fid = fid_from_features(real, fake)
    assert fid > 10.0
    assert fid == pytest.approx(reference["frechet_inception_distance"], rel=1e-4)

    # torch-fidelity draws input1's subset first: pass fake first so the draws line up.
    kid = kernel_inception_distance(
        fake, real, subsets=KID_SUBSETS, subset_size=KID_SUBSET_SIZE, seed=RNG_SEED
    )
    assert kid.mean > 0.05
    assert kid.mean == pytest.approx(reference["kernel_inception_distance_mean"], rel=1e-4)
    assert kid.std == pytest.approx(reference["kernel_inception_distance_std"], rel=1e-3)

    # torch-fidelity shuffles before splitting IS; reproduce its permutation.
    order = np.random.RandomState(RNG_SEED).permutation(N_PER_SET)
    is_mean, is_std = inception_score(outputs["fake_probs"][order], splits=IS_SPLITS)
    assert is_mean > 1.1
    assert is_mean == pytest.approx(reference["inception_score_mean"], rel=1e-3)
    assert is_std == pytest.approx(reference["inception_score_std"], rel=1e-2)


# --- one forward pass, inputs ------------------------------------------------------------


def test_features_then_probs_runs_the_network_once(extractor, image_sets) -> None:
    calls = []
    hook = extractor.net.register_forward_hook(lambda *args: calls.append(1))
    try:
        x = image_sets["real"][:2].clone()
        features = extractor.features(x)
        extractor.class_probs(x)
        assert len(calls) == 1
        # Again in the other order, on another tensor.
        y = image_sets["fake"][:2].clone()
        extractor.class_probs(y)
        extractor.features(y)
        assert len(calls) == 2
        # Same values in a new tensor, or the same tensor changed in place: run again.
        torch.testing.assert_close(extractor.features(x.clone()), features)
        assert len(calls) == 3
        x.mul_(-1.0)
        changed = extractor.features(x)
        assert not torch.equal(changed, features)
        assert len(calls) == 4
        # A caller that modifies a returned tensor in place does not corrupt the next answer.
        changed.zero_()
        assert extractor.class_probs(x).sum() > 0 and len(calls) == 5
        assert extractor.features(x).abs().sum() > 0 and len(calls) == 5
    finally:
        hook.remove()


def test_batches_follow_the_context(weights_files, image_sets, tmp_path) -> None:
    x = image_sets["real"][:3]
    small = load_inception(
        _context(tmp_path, weights_files["torch-fidelity"], batch_size=2), download=False
    )
    default = load_inception(_context(tmp_path, weights_files["torch-fidelity"]), download=False)
    assert small.batch_size == 2 and default.batch_size == 64
    calls = []
    small.net.register_forward_hook(lambda *args: calls.append(1))
    torch.testing.assert_close(small.features(x), default.features(x), rtol=1e-5, atol=1e-5)
    assert len(calls) == 2


def test_grayscale_is_repeated_to_three_channels(extractor, image_sets) -> None:
    gray = image_sets["real"][:2, :1].clone()
    torch.testing.assert_close(
        extractor.features(gray), extractor.features(gray.repeat(1, 3, 1, 1)), rtol=0, atol=0
    )


def test_bad_inputs_are_rejected(extractor) -> None:
    with pytest.raises(ValueError, match="C = 1 or 3"):
        extractor.features(torch.zeros(1, 2, 8, 8))
    with pytest.raises(ValueError, match="NaN"):
        extractor.features(torch.full((1, 3, 8, 8), float("nan")))
    assert extractor.features(torch.zeros(0, 3, 8, 8)).shape == (0, 2048)


# --- protocol, spec ----------------------------------------------------------------------


def test_protocol_records_the_file_sha256(extractor, weights_files) -> None:
    protocol = extractor.protocol()
    expected = hashlib.sha256(weights_files["torch-fidelity"].read_bytes()).hexdigest()
    assert protocol["weights_sha256"] == expected
    assert protocol["name"] == protocol["space"] == extractor.space == "inception-v3"
    assert "round((x + 1) * 127.5)" in protocol["preprocessing"]
    assert "299x299" in protocol["preprocessing"]
    assert isinstance(extractor, FeatureExtractor)


def test_spec_is_registered_and_checks_the_data() -> None:
    assert load_registry(include_entry_points=False).feature_extractor("inception-v3") is (
        INCEPTION_SPEC
    )
    assert INCEPTION_SPEC.check(DataInfo(name="toy", kind="vector", shape=(2,))) is not None
    assert INCEPTION_SPEC.check(DataInfo(name="x", kind="image", shape=(4, 32, 32))) is not None
    assert INCEPTION_SPEC.check(DataInfo(name="x", kind="image", shape=(1, 28, 28))) is None
    assert INCEPTION_SPEC.check(DataInfo(name="x", kind="image", shape=(3, 32, 32))) is None


# --- finding the weights -----------------------------------------------------------------


def test_missing_weights_is_one_line_saying_where_to_put_them(
    no_weights_anywhere, tmp_path
) -> None:
    with pytest.raises(InceptionWeightsMissingError) as info:
        load_inception(_context(tmp_path))
    message = str(info.value)
    hub = tmp_path / "torch-home" / "hub" / "checkpoints"
    assert "\n" not in message
    for needle in (PYTORCH_FID_FILENAME, TORCH_FIDELITY_FILENAME, WEIGHTS_ENV_VAR, str(hub)):
        assert needle in message
    assert "--inception-weights" in message and "download" in message
    assert isinstance(info.value, GanbenchError)
    # The download was the last resort, aimed at the hub cache.
    [(url, dst)] = no_weights_anywhere
    assert url.startswith("https://") and Path(dst) == hub / TORCH_FIDELITY_FILENAME


def test_missing_weights_without_download(no_weights_anywhere, tmp_path) -> None:
    with pytest.raises(InceptionWeightsMissingError, match=PYTORCH_FID_FILENAME):
        load_inception(_context(tmp_path), download=False)
    assert no_weights_anywhere == []


@pytest.mark.parametrize(
    "content",
    [b"", b"this is not a torch file", b"PK\x03\x04 truncated zip"],
    ids=["empty", "text", "truncated-zip"],
)
def test_corrupt_file_is_one_line_naming_it(tmp_path, content: bytes) -> None:
    path = tmp_path / TORCH_FIDELITY_FILENAME
    path.write_bytes(content)
    with pytest.raises(InceptionWeightsInvalidError) as info:
        load_inception(_context(tmp_path, path), download=False)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_wrong_torch_files_are_rejected(tmp_path, weights_files) -> None:
    other = tmp_path / "other.pth"
    torch.save({"conv.weight": torch.zeros(3, 3)}, other)
    with pytest.raises(InceptionWeightsInvalidError, match="keys are not"):
        load_inception(_context(tmp_path, other), download=False)

    not_a_dict = tmp_path / "list.pth"
    torch.save([torch.zeros(2)], not_a_dict)
    with pytest.raises(InceptionWeightsInvalidError, match="state dict"):
        load_inception(_context(tmp_path, not_a_dict), download=False)

    # Right names, wrong shape: caught by the network's strict load, still one line.
    state = torch.load(weights_files["torch-fidelity"], weights_only=True)
    state["fc.weight"] = state["fc.weight"][:10]
    bad_shape = tmp_path / "bad-shape.pth"
    torch.save(state, bad_shape)
    with pytest.raises(InceptionWeightsInvalidError) as info:
        load_inception(_context(tmp_path, bad_shape), download=False)
    assert str(bad_shape) in str(info.value) and "\n" not in str(info.value)


def test_explicit_or_env_path_that_does_not_exist(no_weights_anywhere, tmp_path, monkeypatch):
    missing = tmp_path / "nowhere.pth"
    with pytest.raises(InceptionWeightsMissingError, match="--inception-weights .*nowhere.pth"):
        find_inception_weights(missing)
    monkeypatch.setenv(WEIGHTS_ENV_VAR, str(missing))
    with pytest.raises(InceptionWeightsMissingError, match=f"{WEIGHTS_ENV_VAR}=.*nowhere.pth"):
        find_inception_weights()
    assert no_weights_anywhere == []


def test_lookup_order_flag_env_hub(no_weights_anywhere, tmp_path, monkeypatch, weights_files):
    hub = tmp_path / "torch-home" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    assert find_inception_weights() is None
    # The hub cache, under either file name.
    os.symlink(weights_files["pytorch-fid"], hub / PYTORCH_FID_FILENAME)
    assert find_inception_weights() == hub / PYTORCH_FID_FILENAME
    # The environment variable wins over the cache (a folder holding a file works too).
    monkeypatch.setenv(WEIGHTS_ENV_VAR, str(weights_files["torch-fidelity"].parent))
    assert find_inception_weights() == weights_files["torch-fidelity"]
    monkeypatch.setenv(WEIGHTS_ENV_VAR, str(weights_files["pytorch-fid"]))
    assert find_inception_weights() == weights_files["pytorch-fid"]
    # An explicit path wins over both.
    assert (
        find_inception_weights(weights_files["torch-fidelity"]) == weights_files["torch-fidelity"]
    )
    assert no_weights_anywhere == []


def test_hub_cache_file_is_used_by_the_extractor(
    no_weights_anywhere, tmp_path, weights_files
) -> None:
    hub = tmp_path / "torch-home" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    os.symlink(weights_files["torch-fidelity"], hub / TORCH_FIDELITY_FILENAME)
    ext = load_inception(_context(tmp_path))
    expected = hashlib.sha256(weights_files["torch-fidelity"].read_bytes()).hexdigest()
    assert ext.protocol()["weights_sha256"] == expected
    assert no_weights_anywhere == []
