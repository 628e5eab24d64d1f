"""``digits-captions``: captions written from measured attributes, a cached
deterministic text encoder, and the ``caption-match`` metric."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from ganbench.api import CAPTIONS_KEY, DatasetOptions
from ganbench.registry import load_registry
from ganbench.testing import failures
from ganbench.testing.captions import caption_inputs, toy_caption_table
from ganbench.testing.metric_checks import MetricCase, check_metric
from ganbench_plugins import _text_encoder, digits_captions


@pytest.fixture(scope="module")
def dataset():
    return load_registry().dataset("digits-captions").load(DatasetOptions())


def test_attributes_are_measured_as_documented() -> None:
    x = -torch.ones(2, 1, 8, 8)
    x[0, 0, :, 3] = 1.0  # an upright bar, 8 pixels of ink
    for row in range(8):  # a bar leaning right: further right towards the top
        x[1, 0, row, 7 - row // 2] = 1.0
    values = digits_captions.measure(x)
    torch.testing.assert_close(values["thickness"], torch.tensor([8 / 64, 8 / 64]).double())
    assert abs(float(values["slant"][0])) < 1e-12 and float(values["slant"][1]) > 0.3
    spread = np.sqrt(np.var(np.arange(8.0))) / 8  # the bar's rows only: no column spread
    assert float(values["size"][0]) == pytest.approx(spread)


def test_captions_say_what_is_measured_on_each_image(dataset) -> None:
    table = dataset.info.extras[CAPTIONS_KEY]
    words = digits_captions.WORDS
    for name, split in dataset.splits.items():
        rows = torch.cdist(split.text, table.embeddings).argmin(dim=1)
        assert torch.equal(table.labels[rows], split.y)
        # An independent binning: terciles / median of the train images' own measures.
        train = digits_captions.measure(
            dataset.splits["train"].x[:: len(digits_captions.TEMPLATES)]
        )
        for i, attribute in enumerate(digits_captions.ATTRIBUTES):
            k = len(words[attribute])
            cuts = np.quantile(train[attribute].numpy(), np.arange(1, k) / k)
            value = digits_captions.measure(split.x)[attribute].numpy()
            expected = (value[:, None] >= cuts[None, :]).sum(axis=1)
            assert np.array_equal(table.attributes[rows, i].numpy(), expected), (name, attribute)
            said = [table.texts[r] for r in rows[:50].tolist()]
            assert all(words[attribute][b] in s for b, s in zip(expected[:50], said, strict=True))
    # Each phrasing of a training image in turn; one per image elsewhere.
    assert len(dataset.splits["train"]) == 5 * 1078 and len(dataset.splits["test"]) == 360
    assert len(set(map(tuple, dataset.splits["train"].text[:5].tolist()))) == 5


def test_the_dataset_and_its_captions_are_deterministic(dataset) -> None:
    again = load_registry().dataset("digits-captions").load(DatasetOptions())
    assert again.fingerprint() == dataset.fingerprint()
    table = dataset.info.extras[CAPTIONS_KEY]
    assert table.texts[:2] == (
        "a small thin left-leaning zero",
        "the digit 0, written thin, left-leaning and small",
    )
    assert dataset.info.text_dim == table.embeddings.shape[1] == 64


def test_the_encoder_trains_to_the_same_weights_and_is_cached(tmp_path, monkeypatch) -> None:
    gen = torch.Generator().manual_seed(0)
    corpus = _text_encoder.CaptionCorpus(
        captions=["a thin one", "a thick one", "a thin two", "a thick two"],
        caption_class=torch.arange(4),
        images=torch.rand(12, 1, 8, 8, generator=gen) * 2 - 1,
        image_class=torch.arange(12) % 4,
    )
    recipe = _text_encoder.EncoderRecipe(steps=5, batch_classes=4)
    first = _text_encoder.train_encoder_file(corpus, recipe)
    assert _text_encoder.train_encoder_file(corpus, recipe) == first  # same bytes, same weights
    monkeypatch.setenv("GANBENCH_CACHE_DIR", str(tmp_path))
    encoder = _text_encoder.load_or_train_encoder("toy", corpus, recipe)
    files = list((tmp_path / "text-encoders").iterdir())
    assert [f.name for f in files] == [f"toy-{encoder.cache_key}-1thread.pt"]
    assert files[0].read_bytes() == first
    monkeypatch.setattr(_text_encoder, "train_encoder_file", lambda *a: pytest.fail("retrained"))
    cached = _text_encoder.load_or_train_encoder("toy", corpus, recipe)
    assert cached.sha256 == encoder.sha256 == encoder.record()["sha256"]
    assert torch.equal(cached.encode(corpus.captions), encoder.encode(corpus.captions))


def test_the_shipped_encoder_is_the_one_the_dataset_uses(dataset) -> None:
    """One ruler on every machine: the package's encoder file, never a local training.

    A change to the captions, the images or the recipe changes the cache key,
    and this fails until the shipped file is trained again and replaced.
    """
    record = dataset.info.extras[CAPTIONS_KEY].encoder
    shipped = _text_encoder.SHIPPED_WEIGHTS / f"digits-captions-{record['cache_key']}-1thread.pt"
    assert shipped.is_file(), (
        f"no shipped encoder for the current key: train and ship {shipped.name}"
    )
    assert record["sha256"] == hashlib.sha256(shipped.read_bytes()).hexdigest()


def test_symmetric_hinge_is_zero_only_when_every_diagonal_wins_by_the_margin() -> None:
    scores = 2.0 * torch.eye(3)
    assert float(_text_encoder.symmetric_hinge(scores, 1.0)) == 0.0
    scores[0, 1] = 1.5  # row 0: 1 - 2 + 1.5 = 0.5 on one of 6 wrong entries, both directions
    assert float(_text_encoder.symmetric_hinge(scores, 1.0)) == pytest.approx(2 * 0.5 / 6)


def _independent_shares(inputs) -> tuple[float, float]:
    table = toy_caption_table()
    caption = inputs.fake_conditions.text.argmax(dim=1)  # one-hot captions
    label_ok = inputs.fake[:, 0].flatten(1)[:, :4].argmax(1) == table.labels[caption]
    bright_ok = (inputs.fake.mean(dim=(1, 2, 3)) > 0).long() == table.attributes[caption, 0]
    return float((label_ok & bright_ok).double().mean()), float(label_ok.double().mean())


def test_caption_match_counts_fakes_that_show_their_caption() -> None:
    spec = load_registry().metric("caption-match")
    inputs = caption_inputs()
    both, label = _independent_shares(inputs)
    values = spec.compute(inputs, {})
    assert values["caption_match"] == pytest.approx(both)
    assert values["label_match"] == pytest.approx(label)
    assert 0 < both < label < 1
    n = len(inputs.fake)
    rows = torch.arange(n)
    assert label == pytest.approx(float((rows % 3 != 0).double().mean()))
    assert both == pytest.approx(float(((rows % 3 != 0) & (rows % 5 != 0)).double().mean()))
    resolved = spec.resolve_params(inputs, {})
    assert resolved["real_label_acc"] == 1.0 and resolved["real_attribute_acc"] == {"bright": 1.0}
    assert spec.compute(inputs, resolved) == values


def test_caption_match_refuses_text_that_is_no_caption() -> None:
    from ganbench.api import IncompatibleError

    spec = load_registry().metric("caption-match")
    inputs = caption_inputs()
    inputs.fake_conditions.text = inputs.fake_conditions.text * 0.5
    with pytest.raises(IncompatibleError, match="caption embeddings"):
        spec.compute(inputs, {})


def test_caption_match_passes_the_kit_with_known_answers() -> None:
    inputs = caption_inputs()
    both, label = _independent_shares(inputs)
    case = MetricCase(inputs, {"caption_match": both, "label_match": label})
    results = check_metric(load_registry().metric("caption-match"), [case])
    assert not failures(results), [(r.check, r.detail) for r in failures(results)]
    assert any(r.status == "passed" and r.check.startswith("known answer") for r in results)
