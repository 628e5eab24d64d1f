"""Precision, recall, density, coverage: equal to the authors' prdc package, exact in every path.

The reference is ``prdc.compute_prdc`` on the same features in float64
(called with nearest_k = 3 for precision and recall and 5 for density and
coverage). The chunked implementation must agree to 1e-6 however the work
is split into tiles, in float32 or float64 tiles, and on data built to
defeat float32 tiles (near duplicates, exact ties).
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch
from prdc import compute_prdc
from prdc.prdc import compute_nearest_neighbour_distances

import ganbench.metrics.prdc as prdc_module
from ganbench.data.types import Batch, DataInfo
from ganbench.errors import GanbenchError
from ganbench.eval.inputs import EvalInputs
from ganbench.metrics._pairwise import TiledDistances
from ganbench.metrics.builtin import BUILTIN_METRICS
from ganbench.metrics.prdc import (
    PRDC_METRIC,
    PRDCResult,
    TooFewSamplesError,
    nearest_neighbour_radii,
    precision_recall_density_coverage,
)

NAMES = ("precision", "recall", "density", "coverage")


def _gaussian(seed: int, n: int, dim: int, scale: float = 1.0, shift: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, dim)) * scale + shift).astype(np.float32)


def _reference(real: np.ndarray, fake: np.ndarray) -> np.ndarray:
    """prdc's values on the same features, in float64, with each pair's own k."""
    real64, fake64 = real.astype(np.float64), fake.astype(np.float64)
    with contextlib.redirect_stdout(io.StringIO()):  # prdc prints the sample counts
        pr = compute_prdc(real64, fake64, nearest_k=3)
        dc = compute_prdc(real64, fake64, nearest_k=5)
    return np.array([pr["precision"], pr["recall"], dc["density"], dc["coverage"]])


def _ours(real, fake, **kwargs) -> np.ndarray:
    result = precision_recall_density_coverage(real, fake, **kwargs)
    return np.array([getattr(result, name) for name in NAMES])


# Tiles of a few rows: many tiles per pass, and a shorter last one.
SMALL_CHUNK = 40_000


@pytest.mark.parametrize(
    ("n_real", "n_fake", "dim", "chunk"),
    [
        (200, 200, 32, None),
        (150, 230, 64, SMALL_CHUNK),
        (97, 61, 5, 2_000),
        (120, 90, 2048, None),
        (125, 90, 2048, 600_000),
    ],
)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
def test_matches_prdc(n_real: int, n_fake: int, dim: int, chunk, dtype: torch.dtype) -> None:
    real = _gaussian(0, n_real, dim)
    # Wider and shifted fakes: every value lands strictly between its extremes.
    fake = _gaussian(1, n_fake, dim, scale=1.1, shift=0.1 / dim**0.5)
    kwargs = (
        {"compute_dtype": dtype}
        if chunk is None
        else {"compute_dtype": dtype, "max_chunk_bytes": chunk}
    )
    ours = _ours(torch.from_numpy(real), torch.from_numpy(fake), **kwargs)
    np.testing.assert_allclose(ours, _reference(real, fake), rtol=0, atol=1e-6)


def test_small_chunks_really_split_the_work() -> None:
    # What the parametrised cases above rely on: many tiles and an uneven last one.
    cases = [(150, 64, SMALL_CHUNK), (230, 64, SMALL_CHUNK), (97, 5, 2_000), (61, 5, 2_000)]
    cases += [(125, 2048, 600_000), (90, 2048, 600_000)]
    for n, dim, chunk in cases:
        cpu = torch.device("cpu")
        tiles = TiledDistances(torch.zeros(n, dim), device=cpu, max_chunk_bytes=chunk)
        sizes = [block.stop - block.start for block in tiles.blocks(n)]
        assert len(sizes) >= 5 and sizes[-1] < sizes[0], (n, sizes)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_radii_match_prdc(k: int) -> None:
    x = _gaussian(2, 130, 48)
    ours = nearest_neighbour_radii(torch.from_numpy(x), k, max_chunk_bytes=SMALL_CHUNK)
    expected = compute_nearest_neighbour_distances(x.astype(np.float64), k)
    assert ours.dtype == torch.float64 and ours.shape == (130,)
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-12)


def test_radius_counts_duplicates_and_excludes_the_point_itself() -> None:
    # Points 0 and 1 coincide; 2 is at distance 1, 3 at 2, 4 at 3 (on a line).
    x = np.array([[0.0], [0.0], [1.0], [3.0], [6.0]])
    assert nearest_neighbour_radii(x, 1).tolist() == [0.0, 0.0, 1.0, 2.0, 3.0]
    assert nearest_neighbour_radii(x, 2).tolist() == [1.0, 1.0, 1.0, 3.0, 5.0]


def test_duplicates_within_and_across_sets_match_prdc() -> None:
    real = _gaussian(3, 160, 24)
    real[80:120] = real[:40]  # reals twice each (fewer copies than k: radii stay > 0)
    fake = _gaussian(4, 140, 24, scale=1.2)
    fake[:50] = real[10:60]  # fakes that are reals: distances tie with real radii
    fake[100:110] = fake[50:60]  # duplicated fakes
    for kwargs in ({}, {"max_chunk_bytes": SMALL_CHUNK}, {"compute_dtype": torch.float64}):
        ours = _ours(real, fake, **kwargs)
        np.testing.assert_allclose(ours, _reference(real, fake), rtol=0, atol=1e-6)


def test_near_duplicates_take_the_float64_path_and_match_prdc(monkeypatch) -> None:
    # A tight cluster (spread 1e-6 of the norms) is below float32 resolution:
    # its radii cannot be settled from float32 tiles.
    rng = np.random.default_rng(5)
    real = _gaussian(5, 120, 32)
    cluster = real[:1] + 1e-6 * rng.standard_normal((60, 32))
    fake = np.concatenate([_gaussian(6, 60, 32), cluster]).astype(np.float64)
    calls = _spy(monkeypatch, "_candidates_of_rows")
    ours = _ours(real, fake)
    assert calls, "the float64 retry was not needed: the test lost its point"
    np.testing.assert_allclose(ours, _reference(real, fake), rtol=0, atol=1e-6)


def test_exact_ties_on_a_lattice_match_prdc(monkeypatch) -> None:
    # Integer points: many neighbours at exactly the radius, even in float64.
    rng = np.random.default_rng(7)
    real = rng.integers(0, 3, (150, 6)).astype(np.float32)
    fake = rng.integers(0, 3, (110, 6)).astype(np.float32)
    calls = _spy(monkeypatch, "_radii_within")
    ours = _ours(real, fake, max_chunk_bytes=SMALL_CHUNK)
    assert calls, "no row needed the exact tie resolution: the test lost its point"
    np.testing.assert_allclose(ours, _reference(real, fake), rtol=0, atol=1e-6)


def _spy(monkeypatch, name: str) -> list[int]:
    calls: list[int] = []
    original = getattr(prdc_module, name)

    def wrapper(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(prdc_module, name, wrapper)
    return calls


def test_identical_sets_are_fully_precise_and_covered() -> None:
    real = _gaussian(8, 150, 16)
    result = precision_recall_density_coverage(real, real.copy())
    assert (result.precision, result.recall, result.coverage) == (1.0, 1.0, 1.0)
    assert result.density >= 1.0 / 5  # each fake lies at least in its twin's ball


def test_far_apart_sets_score_zero() -> None:
    real = _gaussian(9, 100, 16)
    result = precision_recall_density_coverage(real, _gaussian(10, 80, 16, shift=100.0))
    assert result == PRDCResult(precision=0.0, recall=0.0, density=0.0, coverage=0.0)


def test_deterministic_and_independent_of_tiling_and_dtype() -> None:
    real, fake = _gaussian(11, 140, 40), _gaussian(12, 120, 40, scale=1.1)
    first = precision_recall_density_coverage(real, fake)
    assert precision_recall_density_coverage(real, fake) == first
    assert precision_recall_density_coverage(real, fake, max_chunk_bytes=SMALL_CHUNK) == first
    assert precision_recall_density_coverage(real, fake, compute_dtype=torch.float64) == first
    # numpy and torch inputs, float32 and float64 features of the same values.
    assert (
        precision_recall_density_coverage(torch.from_numpy(real), fake.astype(np.float64)) == first
    )


def test_too_few_samples_is_a_clear_user_error() -> None:
    real, fake = _gaussian(13, 10, 4), _gaussian(14, 10, 4)
    with pytest.raises(
        TooFewSamplesError, match=r"k_density_coverage=5 needs more than 5 real samples .*, got 5"
    ):
        precision_recall_density_coverage(real[:5], fake)
    with pytest.raises(
        TooFewSamplesError, match=r"k_precision_recall=3 needs more than 3 fake samples .*, got 3"
    ):
        precision_recall_density_coverage(real, fake[:3])
    assert issubclass(TooFewSamplesError, ValueError) and issubclass(
        TooFewSamplesError, GanbenchError
    )
    # Just enough: N = k + 1 (each radius reaches the farthest other point).
    precision_recall_density_coverage(real[:6], fake[:4])


def test_bad_arguments_are_errors() -> None:
    real = _gaussian(15, 20, 4)
    with pytest.raises(ValueError, match="k_precision_recall"):
        precision_recall_density_coverage(real, real, k_precision_recall=0)
    with pytest.raises(ValueError, match="widths differ"):
        precision_recall_density_coverage(real, real[:, :3])
    bad = real.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        precision_recall_density_coverage(real, bad)
    with pytest.raises(ValueError, match="compute_dtype"):
        precision_recall_density_coverage(real, real, compute_dtype=torch.float16)


class _Identity:
    space = "identity"

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def class_probs(self, x: torch.Tensor) -> None:
        return None

    def protocol(self) -> dict:
        return {"name": self.space}


def _inputs(real: np.ndarray, fake: np.ndarray) -> EvalInputs:
    dim = real.shape[1]
    fake_t = torch.from_numpy(fake)
    return EvalInputs(
        info=DataInfo(name="toy", kind="vector", shape=(dim,)),
        real=Batch(x=torch.from_numpy(real)),
        fake=fake_t,
        fake_conditions=Batch(x=fake_t),
        extractor=_Identity(),
    )


def test_metric_spec_reads_features_and_params() -> None:
    assert PRDC_METRIC in BUILTIN_METRICS
    assert dict(PRDC_METRIC.params) == {"k_precision_recall": 3, "k_density_coverage": 5}
    assert set(PRDC_METRIC.outputs) == set(NAMES) and set(PRDC_METRIC.outputs.values()) == {
        "higher"
    }
    real, fake = _gaussian(16, 90, 8), _gaussian(17, 70, 8, scale=1.2)
    values = PRDC_METRIC.compute(_inputs(real, fake), {})
    np.testing.assert_allclose([values[n] for n in NAMES], _reference(real, fake), atol=1e-6)
    assert all(type(v) is float for v in values.values())
    # A param override reaches the computation.
    other_k = PRDC_METRIC.compute(_inputs(real, fake), {"k_density_coverage": 3})
    expected = precision_recall_density_coverage(real, fake, k_density_coverage=3)
    assert other_k["density"] == expected.density and other_k["coverage"] == expected.coverage
    with pytest.raises(ValueError, match="unknown metric params"):
        PRDC_METRIC.compute(_inputs(real, fake), {"k": 3})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_equals_cpu() -> None:
    real, fake = _gaussian(18, 300, 64), _gaussian(19, 260, 64, scale=1.1)
    on_gpu = precision_recall_density_coverage(torch.from_numpy(real).cuda(), fake, device="cuda")
    assert on_gpu == precision_recall_density_coverage(real, fake)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
def test_tile_errors_stay_within_their_bound(dtype: torch.dtype) -> None:
    # Rows of very different norms, far from the origin, some nearly equal:
    # the cases where the |x|^2 + |y|^2 - 2 x.y expansion loses the most.
    rng = np.random.default_rng(20)
    x = rng.standard_normal((64, 256)) * rng.uniform(0.01, 100, (64, 1)) + 50.0
    x[32:] = x[:32] + 1e-4 * rng.standard_normal((32, 256))
    y = rng.standard_normal((48, 256)) * 3.0 + 50.0
    tiles = TiledDistances(
        torch.from_numpy(x), torch.from_numpy(y), device=torch.device("cpu"), compute_dtype=dtype
    )
    rows, cols = slice(0, 64), slice(0, 48)
    approx = tiles.approx(tiles.row_features(rows), tiles.col_features(cols), rows, cols)
    i, j = torch.meshgrid(torch.arange(64), torch.arange(48), indexing="ij")
    exact = tiles.exact(i.reshape(-1), j.reshape(-1)).reshape(64, 48)
    error = (approx.double() - exact).abs()
    assert (error <= tiles.pair_bound(i, j)).all()
    assert (error <= tiles.row_bound(rows, cols).unsqueeze(1)).all()
    assert (error <= tiles.col_bound(rows, cols).unsqueeze(0)).all()
    # The exact distances are the float64 ones, to rounding.
    np.testing.assert_allclose(exact.numpy(), ((x[:, None] - y[None]) ** 2).sum(-1), rtol=1e-13)
