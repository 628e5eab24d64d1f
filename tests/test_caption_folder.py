"""``caption-folder``: Reed et al.'s images/ + text(_c10)/ layout, its fixed splits,
the cached text encoder, label-only caption-match, its one-line errors and a short run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from cli_helpers import one_error_line, run_cli
from PIL import Image, ImageOps
from torch import Tensor

from ganbench.api import CAPTIONS_KEY, Batch, DatasetOptions, EvalInputs, split_indices
from ganbench.errors import DataMissingError
from ganbench.registry import load_registry
from ganbench_plugins import _text_encoder, caption_folder
from ganbench_plugins._text_encoder import EncoderRecipe

COLOURS = ("red", "blue", "green", "yellow", "grey", "brown", "white", "black", "olive", "pink")
SIZE = 16


def write_caption_folder(
    root: Path, classes: int = 3, per_class: int = 6, captions: int = 3
) -> dict[str, list[str]]:
    """A tiny folder in Reed et al.'s layout; returns image path (under images/) -> its captions.

    Images alternate .jpg and .png (random 20 x 24 pixels); each caption file
    holds ``captions`` distinct captions, and the very first one also a blank
    and a punctuation-only line, which are no captions.
    """
    rng = np.random.default_rng(0)
    written: dict[str, list[str]] = {}
    for c in range(classes):
        name = f"{c + 1:03d}.{COLOURS[c].title()}_bird"
        (root / "images" / name).mkdir(parents=True, exist_ok=True)
        (root / "text" / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            stem = f"{COLOURS[c].title()}_Bird_{i:04d}"
            suffix = ".jpg" if i % 2 == 0 else ".png"
            pixels = rng.integers(0, 256, size=(20, 24, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / "images" / name / f"{stem}{suffix}")
            lines = [
                f"this {COLOURS[c]} bird number {i} has {COLOURS[(c + j + 1) % 10]} wings"
                for j in range(captions)
            ]
            extra = "\n\n...\n" if c == i == 0 else "\n"
            (root / "text" / name / f"{stem}.txt").write_text("\n".join(lines) + extra)
            written[f"{name}/{stem}{suffix}"] = lines
    return written


def _options(root: Path) -> DatasetOptions:
    return DatasetOptions(extra={"path": str(root)}, image_size=SIZE)


def caption_folder_options(root: Path) -> DatasetOptions:
    """A tiny folder written under ``root`` and the options that load it (the conformance kit's)."""
    write_caption_folder(root / "birds")
    return _options(root / "birds")


@pytest.fixture(autouse=True)
def _short_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    """digits-captions' encoder recipe, trained for fewer steps: the same code, faster."""
    monkeypatch.setattr(caption_folder, "ENCODER_RECIPE", EncoderRecipe(steps=30))


def _pixels(path: Path) -> Tensor:
    """An independent read: Pillow's centre-crop-and-bicubic fit, to [-1, 1]."""
    with Image.open(path) as img:
        square = ImageOps.fit(img.convert("RGB"), (SIZE, SIZE), method=Image.Resampling.BICUBIC)
    return torch.from_numpy(np.asarray(square).copy()).permute(2, 0, 1).float() / 127.5 - 1


def _row_texts(dataset, split: str) -> list[str]:
    table = dataset.info.extras[CAPTIONS_KEY]
    rows = torch.cdist(dataset.splits[split].text, table.embeddings).argmin(dim=1)
    return [table.texts[r] for r in rows.tolist()]


def test_images_captions_labels_and_the_image_level_split(tmp_path: Path) -> None:
    written = write_caption_folder(tmp_path / "birds")
    data = caption_folder.load_caption_folder(_options(tmp_path / "birds"))
    paths = sorted(written)  # sorted by relative path, as the loader orders them
    classes = sorted({p.split("/")[0] for p in paths})
    assert data.info.extras["classes"] == classes and data.info.num_classes == 3
    assert data.info.extras["split"].startswith("image-level")  # 3 < 10 classes
    assert data.info.fields == ("x", "y", "text") and data.info.text_dim == 64
    assert written[paths[0]] == _row_texts_of_file(tmp_path / "birds", paths[0])
    for split, idx in split_indices(len(paths), (0.8, 0.1, 0.1), seed=0).items():
        images = [paths[i] for i in idx.tolist()]
        if split == "train":  # every caption of every image, image-major
            expected_images = [p for p in images for _ in written[p]]
            expected_texts = [c for p in images for c in written[p]]
        else:  # each image once, the i-th with its caption i mod 3
            expected_images = images
            expected_texts = [written[p][i % 3] for i, p in enumerate(images)]
        batch = data.splits[split]
        assert len(batch) == len(expected_images) > 0
        assert _row_texts(data, split) == expected_texts
        labels = [classes.index(p.split("/")[0]) for p in expected_images]
        assert batch.y.tolist() == labels
        pixels = torch.stack([_pixels(tmp_path / "birds" / "images" / p) for p in expected_images])
        torch.testing.assert_close(batch.x, pixels, rtol=0, atol=1e-6)
    assert len(data.splits["train"]) == 14 * 3


def _row_texts_of_file(root: Path, image: str) -> list[str]:
    """The captions of an image's file as the loader reads them (blank and '...' lines dropped)."""
    text = root / "text" / Path(image).with_suffix(".txt")
    return list(caption_folder.read_captions(text))


def test_embeddings_are_deterministic_cached_and_keyed_by_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GANBENCH_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "birds"
    written = write_caption_folder(root)
    first = caption_folder.load_caption_folder(_options(root))
    cached = sorted((tmp_path / "cache" / "text-encoders").glob("caption-folder-*-1thread.pt"))
    assert len(cached) == 1
    table = first.info.extras[CAPTIONS_KEY]
    assert table.encoder["cache_key"] in cached[0].name
    # The same caption has the same embedding wherever it is; different ones differ.
    emb = {}
    for text, row in zip(table.texts, table.embeddings, strict=True):
        assert torch.equal(emb.setdefault(text, row), row)
    assert len({tuple(r.tolist()) for r in emb.values()}) == len(emb)

    real_train = _text_encoder.train_encoder_file

    def no_training(*_: Any) -> bytes:
        raise AssertionError("the cached encoder should have been used")

    monkeypatch.setattr(_text_encoder, "train_encoder_file", no_training)
    again = caption_folder.load_caption_folder(_options(root))
    assert again.fingerprint() == first.fingerprint()
    # The authors' folder name for the captions reads the same.
    (root / "text").rename(root / "text_c10")
    renamed = caption_folder.load_caption_folder(_options(root))
    assert renamed.info.extras["text_folder"] == "text_c10"
    assert renamed.fingerprint() == first.fingerprint()

    # Another caption in a training image: another encoder, trained and cached.
    monkeypatch.setattr(_text_encoder, "train_encoder_file", real_train)
    train_image = sorted(written)[int(split_indices(len(written), (0.8, 0.1, 0.1))["train"][0])]
    caption_file = root / "text_c10" / Path(train_image).with_suffix(".txt")
    caption_file.write_text("a bird with a very long orange beak\n")
    changed = caption_folder.load_caption_folder(_options(root))
    assert changed.info.extras[CAPTIONS_KEY].encoder["cache_key"] != table.encoder["cache_key"]
    assert len(list((tmp_path / "cache" / "text-encoders").glob("caption-folder-*"))) == 2
    assert changed.fingerprint() != first.fingerprint()


def test_enough_classes_are_split_by_class(tmp_path: Path) -> None:
    root = tmp_path / "many"
    write_caption_folder(root, classes=10, per_class=2, captions=2)
    data = caption_folder.load_caption_folder(_options(root))
    classes = data.info.extras["classes"]
    expected = split_indices(10, (0.5, 0.25, 0.25), seed=0)
    split_classes = data.info.extras["split_classes"]
    assert data.info.extras["split"].startswith("class-disjoint")
    for split, idx in expected.items():
        names = [classes[i] for i in idx.tolist()]
        assert split_classes[split] == names
        assert set(data.splits[split].y.tolist()) == set(idx.tolist())  # only its own classes
        per_image = 2 if split == "train" else 1
        assert len(data.splits[split]) == len(names) * 2 * per_image

    # The authors' class files take precedence.
    chosen = {"train": classes[4:], "val": classes[:2], "test": classes[2:4]}
    for split, names in chosen.items():
        (root / caption_folder.CLASS_FILES[split]).write_text("\n".join(names) + "\n")
    authors = caption_folder.load_caption_folder(_options(root))
    assert authors.info.extras["split_classes"] == chosen
    assert set(authors.splits["test"].y.tolist()) == {2, 3}
    (root / "valclasses.txt").unlink()
    with pytest.raises(DataMissingError, match="but not valclasses.txt; give all three"):
        caption_folder.load_caption_folder(_options(root))


class _Oracle:
    """A classifier that is exact on the dataset's own images (nearest image's label)."""

    space = "oracle"

    def __init__(self, batch: Batch, num_classes: int) -> None:
        self.x, self.y, self.k = batch.x.flatten(1), batch.y, num_classes

    def features(self, x: Tensor) -> Tensor:
        return x.flatten(1)

    def class_probs(self, x: Tensor) -> Tensor:
        nearest = torch.cdist(x.flatten(1), self.x).argmin(dim=1)
        return torch.nn.functional.one_hot(self.y[nearest], self.k).float()

    def protocol(self) -> dict[str, Any]:
        return {"name": self.space, "space": self.space, "weights_sha256": None}


def test_caption_match_checks_the_label_only(tmp_path: Path) -> None:
    write_caption_folder(tmp_path / "birds")
    data = caption_folder.load_caption_folder(_options(tmp_path / "birds"))
    metric = load_registry().metric("caption-match")
    every = Batch(
        x=torch.cat([s.x for s in data.splits.values()]),
        y=torch.cat([s.y for s in data.splits.values()]),
    )
    real = data.splits["train"]
    # Fakes: the real image of every row for even rows, another class's image for odd rows.
    other = torch.tensor([int(torch.nonzero(real.y != k)[0]) for k in real.y.tolist()])
    odd = torch.arange(len(real)) % 2 == 1
    fake = torch.where(odd[:, None, None, None], real.x[other], real.x)
    inputs = EvalInputs(
        info=data.info,
        real=real,
        fake=fake,
        fake_conditions=Batch(x=fake, y=real.y, text=real.text),
        extractor=_Oracle(every, 3),
    )
    assert metric.check(inputs) is None
    params = metric.resolve_params(inputs, {})
    assert params["real_label_acc"] == 1.0 and params["real_attribute_acc"] == {}
    result = metric.compute(inputs, params)
    expected = float((~odd).double().mean())  # odd rows show another class
    assert result["label_match"] == pytest.approx(expected)
    assert result["caption_match"] == result["label_match"]  # no attributes to check
    # A feature space of another number of classes: one line saying why not.
    inputs.extractor = _Oracle(every, 1000)
    inputs._cache.clear()
    reason = metric.check(inputs)
    assert "needs a classifier of the 3 classes of 'caption-folder'" in reason
    assert "1000 classes" in reason


def _bad_layouts(tmp_path: Path) -> list[tuple[Path, str]]:
    """(folder, what its one error line must say), one per broken layout."""
    empty = tmp_path / "empty"
    empty.mkdir()
    no_images = tmp_path / "no-images"
    (no_images / "images" / "001.Red_bird").mkdir(parents=True)
    (no_images / "text").mkdir()
    no_text = tmp_path / "no-text"
    write_caption_folder(no_text)
    for txt in sorted((no_text / "text").rglob("*.txt")):
        txt.unlink()
    (no_text / "text").rename(no_text / "captions")
    missing = tmp_path / "missing"
    written = write_caption_folder(missing)
    second = sorted(written)[1]
    (missing / "text" / Path(second).with_suffix(".txt")).unlink()
    (missing / "text" / Path(sorted(written)[3]).with_suffix(".txt")).unlink()
    blank = tmp_path / "blank"
    written = write_caption_folder(blank)
    (blank / "text" / Path(sorted(written)[2]).with_suffix(".txt")).write_text("\n  \n...\n")
    return [
        (empty, f"{empty} has no images/ folder"),
        (no_images, "no images (.png"),
        (no_text, "has no text/ or text_c10/"),
        (missing, f"{missing / 'images' / second} has no caption file "),
        (blank, f"caption file {blank / 'text' / Path(sorted(written)[2]).with_suffix('.txt')}"),
    ]


def test_a_bad_layout_is_one_error_line_naming_it(tmp_path: Path, capsys) -> None:
    base = ["run", "--plugin", "gan-int-cls", "--dataset", "caption-folder", "--steps", "1"]
    base += ["--runs-dir", str(tmp_path / "runs"), "--store", str(tmp_path / "s.sqlite")]
    for folder, needle in _bad_layouts(tmp_path):
        code, _, err = run_cli([*base, "--data-path", str(folder)], capsys)
        assert code == 2, err
        line = one_error_line(err)
        assert needle in line, line
        assert "DIR/images/<class>/<name>.jpg" in line and "text_c10/" in line


def test_a_short_gan_int_cls_run_completes(tmp_path: Path, capsys) -> None:
    write_caption_folder(tmp_path / "birds")
    argv = ["run", "--plugin", "gan-int-cls:ngf=16,ndf=8", "--dataset", "caption-folder"]
    argv += ["--data-path", str(tmp_path / "birds"), "--image-size", str(SIZE)]
    argv += ["--steps", "2", "--batch-size", "8", "--eval-samples", "8", "--threads", "1"]
    argv += ["--feature-extractor", "none", "--device", "cpu", "--json", "--quiet"]
    argv += ["--runs-dir", str(tmp_path / "runs"), "--store", str(tmp_path / "s.sqlite")]
    code, out, err = run_cli(argv, capsys)
    assert code == 0, err
    record = json.loads(out)
    assert record["status"] == "completed"
    assert record["dataset"] == "caption-folder"
    skipped = record["protocol"]["skipped_metrics"]
    assert skipped["caption-match"].startswith("does not apply")  # no feature space here
