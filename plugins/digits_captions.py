"""The ``digits-captions`` dataset: text-to-image on the digits, offline.

Reed et al. 2016 ("Generative Adversarial Text to Image Synthesis", ICML)
train on CUB and Oxford-102 with ten human captions per image. Here each of
scikit-learn's 8 x 8 digits (the ``digits`` dataset's fixed splits) gets
captions written from facts measured on the image itself, so a program can
check whether a generated image shows what its caption says (the
``caption-match`` metric):

* **Attributes** (:func:`measure`, on ink = (x + 1) / 2):
  - thickness: the mean ink over the image (heavier strokes hold more ink);
  - slant: the shear of the ink's second moments, ``-mu_rc / mu_rr`` (column
    shift per row going down, negated so that a top leaning right is
    positive);
  - size: the ink's radius of gyration ``sqrt(mu_rr + mu_cc)`` over the
    image height (a measure of ink extent).
* **Words.** Thickness and slant are cut at the training split's terciles
  (thin / medium / thick; left-leaning / upright / right-leaning), size at
  its median (small / large), so every bin holds about the same share of
  the training images. The cuts are computed once from the train split,
  then applied to every split and, by the metric, to generated images.
* **Captions.** Five templates (:data:`TEMPLATES`) each name the digit (as
  a word or a numeral) and all three attribute words: "a large thick
  upright seven", "the digit 7, written thick, upright and large", ...
* **Text.** ``text`` is the caption's embedding by the dataset's text
  encoder (:mod:`ganbench_plugins._text_encoder`: trained once on the
  training images and all captions, cached), 64-d; ``y`` is the digit.
* **Which phrasing a row carries.** The training split holds every image
  once per template (5 x 1,078 rows, the image repeated): a uniformly drawn
  training batch thus pairs each image drawn with a phrasing drawn
  uniformly, as the paper's training samples one of an image's captions
  each time the image is used. Validation and test hold each image once,
  with template ``i mod 5`` for the i-th image of the split, so the
  reference statistics see each test image once. (A consequence: the
  ``real-data`` row draws its train "fakes" from the repeated rows, so some
  images appear more than once in it.)
* **Evaluator.** The dataset declares ``digits`` as its base
  (``extras["stacked_base"]`` with one channel), so its feature space is the
  shipped ``digits-evaluator`` itself (the same weights; the record notes it
  is applied "per channel", here one), and FID is measured with the ruler
  of the ``digits`` leaderboard. Its classifier is caption-match's label
  predictor.
* **Metric facts.** ``extras["captions"]`` is a
  :class:`ganbench.api.CaptionTable` of every possible caption (10 digits x
  18 attribute combinations x 5 templates) with its embedding, label and
  attribute bins, and :func:`measure` with the cuts as the attribute
  predictor (exact on real images: the captions were made by it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

import ganbench
from ganbench.api import (
    CAPTIONS_KEY,
    STACKED_BASE_KEY,
    Batch,
    CaptionTable,
    DataInfo,
    DatasetOptions,
    DatasetSpec,
    GanDataset,
)
from ganbench_plugins._text_encoder import CaptionCorpus, load_or_train_encoder
from ganbench_plugins.digits import load_digits

NAME = "digits-captions"
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
#: Attribute name -> its words, in bin order (low to high measured value).
WORDS: Mapping[str, tuple[str, ...]] = {
    "thickness": ("thin", "medium", "thick"),
    "slant": ("left-leaning", "upright", "right-leaning"),
    "size": ("small", "large"),
}
ATTRIBUTES = tuple(WORDS)
#: Phrasings; ``{name}`` is the digit's word, ``{digit}`` its numeral.
TEMPLATES = (
    "a {size} {thickness} {slant} {name}",
    "the digit {digit}, written {thickness}, {slant} and {size}",
    "a {name} drawn {size} with {thickness} strokes, {slant}",
    "{size} {slant} {digit} in {thickness} ink",
    "this {name} is {thickness}, {size} and {slant}",
)


def measure(x: Tensor) -> dict[str, Tensor]:
    """The raw attributes (float64, N each) of images N x C x H x W in [-1, 1].

    Channels are averaged; an image without ink measures 0 everywhere.
    """
    ink = ((x.double().mean(dim=1) + 1.0) / 2.0).clamp(0.0, 1.0)  # N x H x W
    _, h, w = ink.shape
    mass = ink.sum(dim=(1, 2))
    safe = mass.clamp_min(1e-12)
    rows = torch.arange(h, dtype=torch.float64)[None, :, None]
    cols = torch.arange(w, dtype=torch.float64)[None, None, :]
    r = (ink * rows).sum(dim=(1, 2)) / safe
    c = (ink * cols).sum(dim=(1, 2)) / safe
    dr, dc = rows - r[:, None, None], cols - c[:, None, None]
    mu_rr = (ink * dr * dr).sum(dim=(1, 2)) / safe
    mu_rc = (ink * dr * dc).sum(dim=(1, 2)) / safe
    mu_cc = (ink * dc * dc).sum(dim=(1, 2)) / safe
    return {
        "thickness": mass / (h * w),
        "slant": torch.where(mu_rr > 1e-12, -mu_rc / mu_rr.clamp_min(1e-12), 0.0),
        "size": (mu_rr + mu_cc).sqrt() / h,
    }


def bin_cuts(train_x: Tensor) -> dict[str, tuple[float, ...]]:
    """Each attribute's cuts from the training images: terciles (3 words) or the median."""
    values = measure(train_x)
    return {
        name: tuple(
            float(q)
            for q in np.quantile(values[name].numpy(), np.arange(1, len(words)) / len(words))
        )
        for name, words in WORDS.items()
    }


@dataclass(frozen=True)
class AttributeBins:
    """The fixed cuts, and the binning of images by them."""

    cuts: Mapping[str, tuple[float, ...]]

    def __call__(self, x: Tensor) -> Tensor:
        """Bins N x A int64 (attribute order :data:`ATTRIBUTES`) of images N x C x H x W."""
        values = measure(x)
        columns = [
            np.searchsorted(np.asarray(self.cuts[name]), values[name].numpy(), side="right")
            for name in ATTRIBUTES
        ]
        return torch.from_numpy(np.stack(columns, axis=1).astype(np.int64))


def caption(label: int, bins: Sequence[int] | Tensor | np.ndarray, template: int) -> str:
    """The caption of a digit ``label`` with attribute ``bins`` in phrasing ``template``."""
    words = {name: WORDS[name][int(b)] for name, b in zip(ATTRIBUTES, bins, strict=True)}
    return TEMPLATES[template].format(name=DIGIT_WORDS[label], digit=label, **words)


def caption_class(label: int, bins: Sequence[int] | Tensor | np.ndarray) -> int:
    """One id for what a caption says: the digit and its attribute bins."""
    key = label
    for name, b in zip(ATTRIBUTES, bins, strict=True):
        key = key * len(WORDS[name]) + int(b)
    return key


def _every_caption() -> tuple[list[str], Tensor, Tensor]:
    """(captions, labels C, bins C x A) of every digit x attribute combination x template."""
    grids = np.stack(
        np.meshgrid(*[np.arange(len(w)) for w in WORDS.values()], indexing="ij"), axis=-1
    ).reshape(-1, len(WORDS))
    texts, labels, bins = [], [], []
    for label in range(len(DIGIT_WORDS)):
        for combo in grids:
            for template in range(len(TEMPLATES)):
                texts.append(caption(label, combo, template))
                labels.append(label)
                bins.append(combo)
    return texts, torch.tensor(labels), torch.from_numpy(np.asarray(bins, dtype=np.int64))


def _row_of(labels: Tensor, bins: Tensor, templates: Tensor) -> Tensor:
    """The :func:`_every_caption` index of each (label, bins, template) row."""
    per_label = int(np.prod([len(w) for w in WORDS.values()]))
    combo = torch.zeros_like(labels)
    for i, name in enumerate(ATTRIBUTES):
        combo = combo * len(WORDS[name]) + bins[:, i]
    return (labels * per_label + combo) * len(TEMPLATES) + templates


def load_digits_captions(options: DatasetOptions) -> GanDataset:
    """The digits with captions; see the module docstring for what each split holds."""
    digits = load_digits(options)
    binner = AttributeBins(bin_cuts(digits.splits["train"].x))
    texts, labels, bins = _every_caption()
    classes = torch.tensor([caption_class(int(k), b) for k, b in zip(labels, bins, strict=True)])
    train = digits.splits["train"]
    train_bins = binner(train.x)
    corpus = CaptionCorpus(
        captions=texts,
        caption_class=classes,
        images=train.x,
        image_class=torch.tensor(
            [caption_class(int(k), b) for k, b in zip(train.y, train_bins, strict=True)]
        ),
    )
    encoder = load_or_train_encoder(NAME, corpus)
    embeddings = encoder.encode(texts)
    k = len(TEMPLATES)
    splits = {}
    for name, split in digits.splits.items():
        split_bins = binner(split.x)
        n = len(split)
        if name == "train":  # every image once per phrasing
            rows = torch.arange(n).repeat_interleave(k)
            templates = torch.arange(k).repeat(n)
        else:  # every image once, phrasings in rotation
            rows = torch.arange(n)
            templates = rows % k
        index = _row_of(split.y[rows], split_bins[rows], templates)
        splits[name] = Batch(
            x=split.x[rows].contiguous(), y=split.y[rows].clone(), text=embeddings[index].clone()
        )
    table = CaptionTable(
        embeddings=embeddings,
        labels=labels,
        attributes=bins,
        attribute_names=ATTRIBUTES,
        predict_attributes=binner,
        attribute_predictor=(
            "measured: the functions and training-split cuts that wrote the captions "
            "(exact on real images); cuts "
            + ", ".join(f"{n} {[round(c, 6) for c in binner.cuts[n]]}" for n in ATTRIBUTES)
        ),
        encoder=encoder.record(),
        texts=tuple(texts),
    )
    info = DataInfo(
        name=NAME,
        kind="image",
        shape=digits.info.shape,
        fields=("x", "y", "text"),
        num_classes=digits.info.num_classes,
        text_dim=int(embeddings.shape[1]),
        extras={
            "classes": list(digits.info.extras["classes"]),
            # The digits evaluator (one channel over the digits base) is the ruler.
            STACKED_BASE_KEY: digits,
            CAPTIONS_KEY: table,
            "templates": TEMPLATES,
            "attribute_words": dict(WORDS),
        },
    )
    return GanDataset(info=info, splits=splits)


SPEC = DatasetSpec(
    name=NAME,
    load=load_digits_captions,
    kind="image",
    description=(
        "text-to-image: the digits with captions of their class, thickness, slant and size "
        "(5 phrasings), embedded by a small text encoder trained once and cached"
    ),
    feature_extractor="evaluator",  # the digits evaluator, through the digits base
    primary_metric="fid",
    default_steps=2000,
    default_batch_size=64,
    eval_samples=1000,
    fields=("x", "y", "text"),
)


@ganbench.hookimpl
def ganbench_register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """Register ``digits-captions``."""
    register(SPEC)
