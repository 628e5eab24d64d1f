"""``caption-folder``: text-to-image data in the layout of Reed et al. 2016 (CUB-200, Oxford-102).

Reed et al. 2016 ("Generative Adversarial Text to Image Synthesis", ICML,
section 5) train on CUB-200-2011 and Oxford-102 with the ten captions per
image of Reed et al. 2016 (CVPR, "Learning Deep Representations of
Fine-Grained Visual Descriptions"). The authors distribute those captions
as one text file per image in a folder per class, ``text_c10/``, whose paths
mirror the images' (reedscot/cvpr2016's data, ``text_c10/<class>/<name>.txt``;
``text_c10/001.Black_footed_Albatross/Black_Footed_Albatross_0001_796111.txt``
for ``images/001.Black_footed_Albatross/Black_Footed_Albatross_0001_796111.jpg``).
This dataset reads that layout from ``--data-path DIR`` (or ``--data-dir``)::

    DIR/images/<class>/<name>.jpg     any suffix of ganbench.api.IMAGE_SUFFIXES
    DIR/text/<class>/<name>.txt       or DIR/text_c10/...: one caption per line

* **Images.** Found recursively below ``images/`` (hidden files skipped,
  sorted by relative path) and read as ``image-folder`` reads them: RGB,
  center-cropped to a square, resized to ``--image-size`` (default 64, the
  paper's) with Pillow's antialiased bicubic filter. (The authors' loader
  scales to 76 and takes random 64 px crops and flips: augmentation, left to
  the model as in ``cyclegan-folder``.)
* **Captions.** Each image's caption file is its relative path under
  ``text/`` (or ``text_c10/``) with the suffix ``.txt``; every line holding
  a word (:func:`ganbench_plugins._text_encoder.tokenize`: runs of a-z and
  0-9, lower-cased) is a caption, in file order.
* **Classes.** The sub-folders of ``images/`` that hold images, sorted,
  give ``y`` (``extras["classes"]``), as in torchvision's ``ImageFolder``.
* **Splits (fixed).** Reed et al. split by class for zero-shot synthesis:
  the test classes are never trained on. In order of precedence:

  1. ``DIR/trainclasses.txt``, ``valclasses.txt`` and ``testclasses.txt``
     (one class folder name per line, the authors' files: CUB 100/50/50,
     Oxford-102 62/20/20) give class-disjoint splits;
  2. else, with at least :data:`MIN_DISJOINT_CLASSES` classes, the classes
     are split 50/25/25 (CUB's proportions) by ``split_indices`` with seed 0
     over the sorted class names: class-disjoint, the same on every machine;
  3. else images are split 80/10/10 (``split_indices``, seed 0, by file
     order), as ``image-folder`` splits, every class in every split.

  ``extras["split"]`` says which applied and ``extras["split_classes"]``
  lists each split's classes. A deviation: the paper's GAN trains on the
  train *and* val classes (``trainvalids.txt``); here val is held out, since
  ganbench selects checkpoints on it and a val of seen classes would not
  select for unseen ones.
* **Rows (as ``digits-captions``).** ``train`` holds every image once per
  caption (the image repeated, image-major), so a uniformly drawn batch
  pairs an image with one of its captions drawn uniformly, as the authors'
  loader samples one of an image's captions each time it uses the image.
  ``val`` and ``test`` hold every image once, the i-th image of the split
  with its caption ``i mod (its number of captions)``. Memory: the train
  split is ``captions x 3 x S x S`` float32, about 2.9 GB for CUB's 100
  train classes (5,900 images x 10 captions) at 64 px.
* **Text.** ``text`` is the caption's embedding (64-d) by the same encoder
  as ``digits-captions`` (:mod:`ganbench_plugins._text_encoder`, the CVPR
  paper's symmetric structured joint-embedding loss, scaled down), trained
  once on this folder's train images and the captions of their class
  (a caption's class is its image's) and cached under
  ``text-encoders/caption-folder-<key>``: the key hashes the recipe, every
  caption and the resized train images with their labels, so another
  folder, another caption or another ``--image-size`` trains another
  encoder. Val and test captions join the vocabulary with the class -1,
  which no image has: they are embedded, never trained on (their words that
  no train caption uses keep their initial vectors, as unknown words).
  Deviation: the paper's encoder is a char-CNN-RNN (1,024-d) trained on
  GoogLeNet features; this one is word-level, 64-d and trained for the
  recipe's 400 steps, the same encoder across ganbench's captioned datasets.
* **caption-match.** The captions are free text: there are no attributes a
  program could check. ``extras["captions"]`` is a
  :class:`ganbench.api.CaptionTable` of every caption a split row holds,
  with its class and no attributes (``attribute_names`` empty), so the
  metric checks the label only: ``caption_match`` equals ``label_match``
  and ``attribute_match`` is 1 by construction. It applies when the feature
  space classifies this folder's classes (``--feature-extractor
  evaluator``, trained on the train split: with class-disjoint splits it
  has never seen a test class, and the recorded ``real_label_acc`` shows
  it); with the default ``inception-v3`` (1,000 ImageNet classes) it says
  in one line that it does not apply.
* **Feature space.** ``inception-v3``, the literature's FID space, as for
  ``cyclegan-folder``: a folder has no shipped domain evaluator.
* **Errors** (one line, exit 2): no ``images/``, no ``text/`` or
  ``text_c10/`` (or both), no images, an image directly in ``images/``, an
  image without its caption file or a caption file without a caption (the
  first such file, in path order), one or two of the three class files
  only, a class file naming an unknown class or none, a class in no or two
  class files, fewer than 2 train classes, too few images for an
  image-level split, or an unreadable image.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import Tensor

import ganbench
from ganbench.api import (
    CAPTIONS_KEY,
    IMAGE_SUFFIXES,
    Batch,
    CaptionTable,
    DataInfo,
    DataMissingError,
    DatasetOptions,
    DatasetSpec,
    GanbenchError,
    GanDataset,
    split_indices,
)
from ganbench_plugins._image_utils import uint8_to_images
from ganbench_plugins._text_encoder import (
    CaptionCorpus,
    EncoderRecipe,
    load_or_train_encoder,
    tokenize,
)
from ganbench_plugins.image_folder import find_images

NAME = "caption-folder"
IMAGES = "images"
#: Caption folders, in order of preference: ours, then the authors' name.
TEXT_FOLDERS = ("text", "text_c10")
LAYOUT = (
    "DIR/images/<class>/<name>.jpg with one caption file per image, "
    "DIR/text/<class>/<name>.txt or DIR/text_c10/<class>/<name>.txt (one caption per line)"
)
#: The authors' class lists (reedscot/cvpr2016 data), split name -> file.
CLASS_FILES = {"train": "trainclasses.txt", "val": "valclasses.txt", "test": "testclasses.txt"}
#: Fewer classes than this: an image-level split (a class split would leave
#: a split one class, or the text encoder one class to contrast).
MIN_DISJOINT_CLASSES = 10
#: CUB's 100/50/50 train/val/test classes.
CLASS_FRACTIONS = (0.5, 0.25, 0.25)
IMAGE_FRACTIONS = (0.8, 0.1, 0.1)
SPLIT_SEED = 0
DEFAULT_IMAGE_SIZE = 64
#: Captions embedded per call: bounds the padded token tensor at CUB's ~100k captions.
ENCODE_CHUNK = 4096
#: The train caption class of captions that are embedded but never trained on.
UNTRAINED_CLASS = -1
#: digits-captions' recipe (the default), read at load time so tests can shorten it.
ENCODER_RECIPE = EncoderRecipe()


@dataclass(frozen=True)
class CaptionedImage:
    """One image of the folder, its class and its captions."""

    path: Path
    label: int
    captions: tuple[str, ...]


@dataclass(frozen=True)
class Split:
    """Which images go where, and how that was decided."""

    rows: dict[str, Tensor]
    how: str
    classes: dict[str, list[str]]


def _root(options: DatasetOptions) -> Path:
    raw = options.extra.get("path") or options.data_dir
    if not raw:
        raise DataMissingError(f"{NAME}: no folder given; pass --data-path DIR with {LAYOUT}")
    root = Path(raw).expanduser()
    if not root.is_dir():
        raise DataMissingError(f"{NAME}: {root} is not a folder; expected {LAYOUT}")
    return root


def text_folder(root: Path) -> Path:
    """``root/text`` or ``root/text_c10``, whichever exists (one of them must)."""
    found = [root / name for name in TEXT_FOLDERS if (root / name).is_dir()]
    if not found:
        raise DataMissingError(f"{NAME}: {root} has no text/ or text_c10/; expected {LAYOUT}")
    if len(found) > 1:
        raise GanbenchError(
            f"{NAME}: {root} has both text/ and text_c10/; keep the one holding the captions"
        )
    return found[0]


def read_captions(path: Path) -> tuple[str, ...]:
    """The captions of one file: its lines holding a word, stripped, in order."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise GanbenchError(f"{NAME}: cannot read caption file {path}: {err}") from err
    return tuple(line.strip() for line in text.splitlines() if tokenize(line))


def find_captioned_images(root: Path) -> tuple[list[CaptionedImage], list[str], Path]:
    """Every image with its captions, the class names, and the caption folder.

    Raises:
        DataMissingError: a part of the layout is missing (see the module docstring).
    """
    images_root = root / IMAGES
    if not images_root.is_dir():
        raise DataMissingError(f"{NAME}: {root} has no images/ folder; expected {LAYOUT}")
    paths = find_images(images_root)
    if not paths:
        suffixes = ", ".join(IMAGE_SUFFIXES)
        raise DataMissingError(
            f"{NAME}: no images ({suffixes}) below {images_root}; expected {LAYOUT}"
        )
    relative = [p.relative_to(images_root) for p in paths]
    loose = next((r for r in relative if len(r.parts) == 1), None)
    if loose is not None:
        raise DataMissingError(
            f"{NAME}: {images_root / loose} is not in a class folder; expected {LAYOUT}"
        )
    text_root = text_folder(root)
    classes = sorted({r.parts[0] for r in relative})
    index = {name: i for i, name in enumerate(classes)}
    found = []
    for path, rel in zip(paths, relative, strict=True):
        caption_file = text_root / rel.with_suffix(".txt")
        if not caption_file.is_file():
            raise DataMissingError(
                f"{NAME}: {path} has no caption file {caption_file}; expected {LAYOUT}"
            )
        captions = read_captions(caption_file)
        if not captions:
            raise DataMissingError(
                f"{NAME}: caption file {caption_file} holds no caption (a line with words); "
                f"expected {LAYOUT}"
            )
        found.append(CaptionedImage(path, index[rel.parts[0]], captions))
    return found, classes, text_root


def _authors_classes(root: Path, classes: Sequence[str]) -> dict[str, list[str]] | None:
    """The split of classes the folder's class files give, or None without any."""
    present = {split: root / name for split, name in CLASS_FILES.items() if (root / name).is_file()}
    if not present:
        return None
    if len(present) < len(CLASS_FILES):
        missing = ", ".join(name for s, name in CLASS_FILES.items() if s not in present)
        raise DataMissingError(
            f"{NAME}: {root} has {', '.join(p.name for p in present.values())} but not "
            f"{missing}; give all three class files or none"
        )
    known = set(classes)
    listed: dict[str, list[str]] = {}
    owner: dict[str, str] = {}
    for split, path in present.items():
        names = [line.strip() for line in path.read_text("utf-8", "replace").splitlines()]
        listed[split] = [n for n in names if n]
        for name in listed[split]:
            if name not in known:
                raise DataMissingError(
                    f"{NAME}: {path.name} names class {name!r}, which has no images in "
                    f"{root / IMAGES}/"
                )
            if owner.setdefault(name, path.name) != path.name:
                raise GanbenchError(
                    f"{NAME}: class {name!r} is in both {owner[name]} and {path.name}"
                )
    unlisted = [name for name in classes if name not in owner]
    if unlisted:
        raise GanbenchError(
            f"{NAME}: class {unlisted[0]!r} is in none of {', '.join(CLASS_FILES.values())}"
        )
    return {split: sorted(names) for split, names in listed.items()}


def split_images(root: Path, images: Sequence[CaptionedImage], classes: Sequence[str]) -> Split:
    """The fixed train/val/test image indices (see the module docstring for the precedence)."""
    labels = torch.tensor([image.label for image in images])
    by_class = _authors_classes(root, classes)
    how = f"class-disjoint, from the folder's {', '.join(CLASS_FILES.values())}"
    if by_class is None and len(classes) >= MIN_DISJOINT_CLASSES:
        picked = split_indices(len(classes), CLASS_FRACTIONS, seed=SPLIT_SEED)
        by_class = {s: [classes[i] for i in idx.tolist()] for s, idx in picked.items()}
        how = f"class-disjoint, classes split 50/25/25 by seed {SPLIT_SEED}"
    if by_class is None:
        return _image_level(root, labels, classes)
    index = {name: i for i, name in enumerate(classes)}
    rows = {
        s: torch.nonzero(torch.isin(labels, torch.tensor([index[n] for n in names]))).squeeze(1)
        for s, names in by_class.items()
    }
    empty = [CLASS_FILES[s] for s, idx in rows.items() if len(idx) == 0]
    if empty:  # only a class file can leave a split without classes
        raise DataMissingError(f"{NAME}: {root / empty[0]} names no class; each split needs one")
    return Split(rows=rows, how=how, classes=by_class)


def _image_level(root: Path, labels: Tensor, classes: Sequence[str]) -> Split:
    """80/10/10 over the images, for folders of too few classes to split by class."""
    rows = split_indices(len(labels), IMAGE_FRACTIONS, seed=SPLIT_SEED)
    if any(len(idx) == 0 for idx in rows.values()):
        raise DataMissingError(
            f"{NAME}: only {len(labels)} images in {root / IMAGES}; need at least 8 so that "
            "the train/val/test splits are all non-empty"
        )
    present = {s: sorted({classes[int(k)] for k in labels[idx]}) for s, idx in rows.items()}
    how = f"image-level 80/10/10 by seed {SPLIT_SEED} (fewer than {MIN_DISJOINT_CLASSES} classes)"
    return Split(rows=rows, how=how, classes=present)


def read_image(path: Path, size: int) -> np.ndarray:
    """One image as uint8 size x size x 3 (RGB), center-cropped and resized (bicubic)."""
    try:
        with Image.open(path) as img:
            square = ImageOps.fit(img.convert("RGB"), (size, size), method=Image.Resampling.BICUBIC)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise GanbenchError(f"{NAME}: cannot read image {path}: {err}") from err
    return np.asarray(square, dtype=np.uint8)


def read_images(images: Sequence[CaptionedImage], size: int) -> Tensor:
    """float32 N x 3 x size x size in [-1, 1]."""
    pixels = np.empty((len(images), size, size, 3), dtype=np.uint8)
    for i, image in enumerate(images):
        pixels[i] = read_image(image.path, size)
    return uint8_to_images(pixels, channels_last=True, size=None)


def no_attributes(x: Tensor) -> Tensor:
    """The attribute predictor of free-text captions: N x 0 (nothing to check)."""
    return torch.zeros(len(x), 0, dtype=torch.int64)


@dataclass(frozen=True)
class SplitRows:
    """One split's rows: which image and which of its captions each row holds."""

    image: Tensor
    texts: list[str]


def split_rows(images: Sequence[CaptionedImage], idx: Tensor, every_caption: bool) -> SplitRows:
    """Every caption of each image (``every_caption``), else caption ``i mod k`` of image i."""
    image_rows, texts = [], []
    for i, k in enumerate(idx.tolist()):
        captions = images[k].captions
        chosen = captions if every_caption else (captions[i % len(captions)],)
        image_rows += [k] * len(chosen)
        texts += chosen
    return SplitRows(image=torch.tensor(image_rows, dtype=torch.int64), texts=texts)


def load_caption_folder(options: DatasetOptions) -> GanDataset:
    """The folder's images with their captions' embeddings; see the module docstring."""
    root = _root(options)
    size = options.image_size or DEFAULT_IMAGE_SIZE
    if size < 1:
        raise GanbenchError(f"{NAME}: image size must be a positive number of pixels, got {size}")
    images, classes, text_root = find_captioned_images(root)
    split = split_images(root, images, classes)
    if len(split.classes["train"]) < 2:
        raise DataMissingError(
            f"{NAME}: the train split holds {len(split.classes['train'])} class; the text "
            f"encoder contrasts classes and needs at least 2 class folders in {root / IMAGES}/"
        )
    x = read_images(images, size)
    labels = torch.tensor([image.label for image in images], dtype=torch.int64)
    rows = {s: split_rows(images, idx, every_caption=s == "train") for s, idx in split.rows.items()}

    # One table of every row's caption, train rows first: the encoder's corpus,
    # the embeddings the splits index and caption-match's table.
    order = ("train", "val", "test")
    texts = [t for s in order for t in rows[s].texts]
    table_labels = torch.cat([labels[rows[s].image] for s in order])
    trained = torch.arange(len(texts)) < len(rows["train"].texts)
    train_images = split.rows["train"]
    corpus = CaptionCorpus(
        captions=texts,
        caption_class=torch.where(trained, table_labels, UNTRAINED_CLASS),
        images=x[train_images],
        image_class=labels[train_images],
    )
    encoder = load_or_train_encoder(NAME, corpus, ENCODER_RECIPE)
    embeddings = torch.cat(
        [encoder.encode(texts[i : i + ENCODE_CHUNK]) for i in range(0, len(texts), ENCODE_CHUNK)]
    )
    splits, start = {}, 0
    for s in order:
        r = rows[s]
        splits[s] = Batch(
            x=x[r.image].contiguous(),
            y=labels[r.image].clone(),
            text=embeddings[start : start + len(r.texts)].clone(),
        )
        start += len(r.texts)
    table = CaptionTable(
        embeddings=embeddings,
        labels=table_labels,
        attributes=torch.zeros(len(texts), 0, dtype=torch.int64),
        attribute_names=(),
        predict_attributes=no_attributes,
        attribute_predictor="none: free-text captions name no checkable attributes (label only)",
        encoder=encoder.record(),
        texts=tuple(texts),
    )
    info = DataInfo(
        name=NAME,
        kind="image",
        shape=(3, size, size),
        fields=("x", "y", "text"),
        num_classes=len(classes),
        text_dim=int(embeddings.shape[1]),
        extras={
            "classes": classes,
            CAPTIONS_KEY: table,
            "split": split.how,
            "split_classes": split.classes,
            "text_folder": text_root.name,
            "images": {s: len(idx) for s, idx in split.rows.items()},
        },
    )
    return GanDataset(info=info, splits=splits)


SPEC = DatasetSpec(
    name=NAME,
    load=load_caption_folder,
    kind="image",
    description=(
        "text-to-image from your folder in Reed et al.'s layout (images/<class>/, text/ or "
        "text_c10/<class>/ one caption file per image, e.g. CUB-200, Oxford-102); "
        "class-disjoint splits; captions embedded by a small encoder trained once and cached"
    ),
    # No shipped evaluator for a user's folder: the literature's FID space.
    feature_extractor="inception-v3",
    primary_metric="fid",
    default_steps=10_000,
    default_batch_size=64,  # the paper's (section 5)
    eval_samples=1000,
    fields=("x", "y", "text"),
)


@ganbench.hookimpl
def ganbench_register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """Register ``caption-folder``."""
    register(SPEC)
