"""caption-match: do text-to-image fakes show what their captions say?

Reed et al. 2016 ("Generative Adversarial Text to Image Synthesis") judge
their samples by eye; on a dataset whose captions are built from facts a
program can check (a class and binned attributes, as ``digits-captions``'
"a thick upright seven"), the check can be counted instead. For every fake:

1. its caption is looked up by the text embedding it was generated from
   (``fake_conditions.text``) in the dataset's :class:`CaptionTable`
   (``info.extras["captions"]``): that gives the class and the attribute
   bins the caption names;
2. the feature space's classifier predicts the fake's class (argmax of its
   class probabilities), and the table's ``predict_attributes`` its
   attribute bins (for ``digits-captions``: the very functions that built
   the captions, so they are exact on real images);
3. ``caption_match`` is the share of fakes whose class and every attribute
   match their caption, ``label_match`` the share whose class does, and
   ``attribute_match`` (informational) the share whose attributes all do.

The predictors' accuracy on the real reference images (row by row against
those images' own captions) goes in the protocol record through
``resolve_params``: a score can only be as good as its ruler.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from ganbench.errors import IncompatibleError
from ganbench.specs import MetricSpec
from ganbench.tasks import TASK_FIELDS, TaskKind

if TYPE_CHECKING:
    from ganbench.eval.inputs import EvalInputs

#: The ``DataInfo.extras`` key of a captioned dataset's :class:`CaptionTable`.
CAPTIONS_KEY = "captions"
#: Keys ``resolve_params`` adds for the record; ``compute`` accepts them and no others.
_RECORD_KEYS = frozenset(
    {
        "label_classifier",
        "real_label_acc",
        "real_attribute_acc",
        "real_caption_acc",
        "attribute_predictor",
        "text_encoder",
        "n_captions",
    }
)
#: A fake's text must be this close to a table row (relative to the table's scale).
_MATCH_TOLERANCE = 1e-5


@dataclass(frozen=True)
class CaptionTable:
    """Every caption of a dataset, what it says, and how to check an image against it.

    Attributes:
        embeddings: C x T float32, each caption's text embedding exactly as
            the splits' ``text`` rows hold it.
        labels: C int64, the class each caption names.
        attributes: C x A int64, the bin of each attribute each caption names.
        attribute_names: the A attribute names (``thickness``, ``slant``...).
        predict_attributes: images N x C x H x W in [-1, 1] -> N x A int64 bins.
        attribute_predictor: how ``predict_attributes`` works (for the record).
        encoder: what identifies the text encoder (sha256, recipe), recorded.
        texts: the C captions themselves, for people reading samples.
    """

    embeddings: Tensor
    labels: Tensor
    attributes: Tensor
    attribute_names: tuple[str, ...]
    predict_attributes: Callable[[Tensor], Tensor]
    attribute_predictor: str
    encoder: Mapping[str, Any] = field(default_factory=dict)
    texts: tuple[str, ...] = ()


def caption_table(inputs: EvalInputs) -> CaptionTable | None:
    """The dataset's caption table, or None when it declares none."""
    table = inputs.info.extras.get(CAPTIONS_KEY)
    return table if isinstance(table, CaptionTable) else None


def caption_rows(table: CaptionTable, text: Tensor) -> Tensor:
    """The table row (N,) int64 of each text embedding (N x T).

    Raises:
        IncompatibleError: an embedding is in no row of the table (the fakes
            were generated from text the dataset never captioned).
    """
    reference = table.embeddings.double()
    distance = torch.cdist(text.detach().cpu().double(), reference)
    nearest, rows = distance.min(dim=1)
    scale = 1.0 + float(reference.abs().max()) if len(reference) else 1.0
    if len(nearest) and float(nearest.max()) > _MATCH_TOLERANCE * scale:
        raise IncompatibleError(
            "metric 'caption-match' needs the fakes' text to be the dataset's own caption "
            f"embeddings; one is {float(nearest.max()):.3g} away from every caption"
        )
    return rows


@dataclass(frozen=True)
class CaptionAgreement:
    """Shares (in [0, 1]) of images whose predictions agree with their captions."""

    caption: float
    label: float
    attributes: float
    per_attribute: dict[str, float]


def caption_agreement(
    table: CaptionTable, images: Tensor, text: Tensor, probs: Tensor
) -> CaptionAgreement:
    """How far ``images`` (N x C x H x W) show what their captions (``text`` N x T) say.

    ``probs`` (N x K) are the classifier's class probabilities of ``images``.
    """
    if not (len(images) == len(text) == len(probs)) or len(images) == 0:
        raise ValueError(
            f"need as many images, texts and probability rows (> 0), got "
            f"{len(images)}, {len(text)}, {len(probs)}"
        )
    rows = caption_rows(table, text)
    label_ok = probs.argmax(dim=1).cpu() == table.labels[rows]
    predicted = table.predict_attributes(images.cpu()).long()
    each_ok = predicted == table.attributes[rows]
    attributes_ok = each_ok.all(dim=1)
    return CaptionAgreement(
        caption=float((label_ok & attributes_ok).double().mean()),
        label=float(label_ok.double().mean()),
        attributes=float(attributes_ok.double().mean()),
        per_attribute={
            name: float(each_ok[:, i].double().mean())
            for i, name in enumerate(table.attribute_names)
        },
    )


def why_no_caption_match(inputs: EvalInputs) -> str | None:
    """Why caption-match cannot run on ``inputs``, or None."""
    info = inputs.info
    table = caption_table(inputs)
    if table is None:
        return f"dataset {info.name!r} has no caption table (extras[{CAPTIONS_KEY!r}])"
    if inputs.fake_conditions.text is None:
        return "the fakes' conditioning carries no captions (text)"
    model = inputs.model
    if model is not None and "text" not in TASK_FIELDS[TaskKind(model.task)]:
        return f"the model is {TaskKind(model.task).value}: it does not generate from text"
    probs = None if inputs.extractor is None else inputs.fake_probs()
    classes = int(table.labels.max()) + 1 if len(table.labels) else 0
    expected = info.num_classes or classes
    if probs is None or probs.shape[1] != expected:
        found = "no class probabilities" if probs is None else f"{probs.shape[1]} classes"
        return (
            f"it needs a classifier of the {expected} classes of {info.name!r}; feature space "
            f"{inputs.space!r} gives {found}"
        )
    return None


def _require(inputs: EvalInputs) -> CaptionTable:
    reason = why_no_caption_match(inputs)
    if reason is not None:
        raise IncompatibleError(f"metric 'caption-match' does not apply: {reason}")
    table = caption_table(inputs)
    assert table is not None
    return table


def _resolve_params(inputs: EvalInputs, params: Mapping[str, Any]) -> dict[str, Any]:
    """Record the rulers: the classifier's and attribute predictor's accuracy on real images."""
    table = _require(inputs)
    real = inputs.real
    resolved: dict[str, Any] = {
        **params,
        "label_classifier": inputs.space,
        "attribute_predictor": table.attribute_predictor,
        "text_encoder": dict(table.encoder),
        "n_captions": len(table.labels),
    }
    probs = inputs.real_probs()
    if real.text is not None and probs is not None and len(real):
        ruler = caption_agreement(table, real.x, real.text, probs)
        resolved["real_label_acc"] = round(ruler.label, 6)
        resolved["real_attribute_acc"] = {k: round(v, 6) for k, v in ruler.per_attribute.items()}
        resolved["real_caption_acc"] = round(ruler.caption, 6)
    return resolved


def _compute(inputs: EvalInputs, params: Mapping[str, Any]) -> dict[str, float]:
    unknown = set(params) - _RECORD_KEYS
    if unknown:
        raise ValueError(f"unknown metric params {sorted(unknown)}; caption-match takes none")
    table = _require(inputs)
    text = inputs.fake_conditions.text
    assert text is not None
    probs = inputs.fake_probs()
    assert probs is not None
    result = caption_agreement(table, inputs.fake, text, probs)
    return {
        "caption_match": result.caption,
        "label_match": result.label,
        "attribute_match": result.attributes,
    }


CAPTION_MATCH_METRIC = MetricSpec(
    name="caption-match",
    compute=_compute,
    outputs={"caption_match": "higher", "label_match": "higher", "attribute_match": "info"},
    needs=("probs",),
    check=why_no_caption_match,
    resolve_params=_resolve_params,
    description=(
        "Text-to-image on captioned datasets: share of fakes whose predicted class and "
        "attributes all match the caption they were generated from (and the class alone)."
    ),
)
