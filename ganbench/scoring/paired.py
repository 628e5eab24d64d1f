"""``ganbench score HR_DIR SR_DIR --metric psnr,ssim``: two folders whose images
pair up by file name, each generated image against its own target.

Super-resolution test sets (Set5, Set14, BSD100) hold images of different
sizes, so the pairs are not stacked into one set: they are scored in groups of
one size and the groups combined. That is exact for the metrics that need
paired targets, whose outputs are means over images (``NAME_std`` their
population std), the contract of the ``"targets"`` need.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ganbench.data.image_files import IMAGE_SUFFIXES
from ganbench.data.types import Batch, DataInfo
from ganbench.errors import GanbenchError, IncompatibleError
from ganbench.eval.inputs import EvalInputs
from ganbench.eval.metrics_runner import compute_metrics, why_not_applicable
from ganbench.provenance import versions
from ganbench.run.record import EVAL_PROTOCOL_VERSION
from ganbench.scoring.score import ScoreResult
from ganbench.scoring.sources import GRAYSCALE_MODES, image_files, images_to_unit_range
from ganbench.specs import MetricSpec

#: Names shown in an error about unpaired files before "and N more".
_SHOWN = 5


@dataclass(frozen=True)
class ImagePair:
    """One target image and the generated image paired with it (C x H x W in [-1, 1])."""

    name: str
    target: Tensor
    image: Tensor


def wants_pairs(metrics: Sequence[str] | None, registry: Any) -> bool:
    """Whether every metric asked for needs paired targets (so folders pair by name)."""
    return bool(metrics) and all("targets" in registry.metric(m).needs for m in metrics)


def _images_by_name(folder: Path, side: str) -> dict[str, Path]:
    by_name: dict[str, Path] = {}
    for path in image_files(folder):
        # The name without its suffix: an HR .png pairs with an SR .png or .jpg.
        name = path.relative_to(folder).with_suffix("").as_posix()
        if name in by_name:
            raise GanbenchError(
                f"{side} folder {str(folder)!r} holds two images named {name!r}: "
                f"{by_name[name].name} and {path.name}"
            )
        by_name[name] = path
    if not by_name:
        raise GanbenchError(
            f"{side} folder {str(folder)!r} holds no image files "
            f"(suffixes: {', '.join(IMAGE_SUFFIXES)})"
        )
    return by_name


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown if len(names) <= _SHOWN else f"{shown} and {len(names) - _SHOWN} more"


def _open_image(path: Path) -> Any:
    """The decoded PIL image of ``path`` (read once, kept in memory)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except (UnidentifiedImageError, OSError) as exc:
        raise GanbenchError(f"cannot read image {str(path)!r}: {exc}") from None


def _as_tensor(image: Any, mode: str, where: str) -> Tensor:
    array = np.asarray(image.convert(mode), dtype=np.uint8)
    hwc = array[..., None] if array.ndim == 2 else array
    x, _ = images_to_unit_range(hwc.transpose(2, 0, 1)[None], where)
    return x[0]


def load_image_pairs(target_dir: Path, image_dir: Path) -> list[ImagePair]:
    """The images of two folders paired by file name (relative path, suffix aside).

    Raises:
        GanbenchError: one line, when a name is in one folder only, an image
            cannot be read, or a pair differs in size or channels.
    """
    targets = _images_by_name(target_dir, "REAL")
    images = _images_by_name(image_dir, "FAKE")
    only_real = sorted(set(targets) - set(images))
    only_fake = sorted(set(images) - set(targets))
    if only_real or only_fake:
        parts = [f"only in REAL: {_listed(only_real)}" if only_real else ""]
        parts.append(f"only in FAKE: {_listed(only_fake)}" if only_fake else "")
        raise GanbenchError(
            "REAL and FAKE must hold images of the same names to pair them; "
            + "; ".join(p for p in parts if p)
        )
    pairs = []
    for name in sorted(targets):
        both = _open_image(targets[name]), _open_image(images[name])
        # Both sides of a pair in one mode: RGB if either is colour.
        mode = "L" if all(side.mode in GRAYSCALE_MODES for side in both) else "RGB"
        target = _as_tensor(both[0], mode, str(targets[name]))
        image = _as_tensor(both[1], mode, str(images[name]))
        if target.shape != image.shape:
            raise GanbenchError(
                f"image {name!r} is {target.shape[-1]}x{target.shape[-2]} in REAL but "
                f"{image.shape[-1]}x{image.shape[-2]} in FAKE; a pair must have one size"
            )
        pairs.append(ImagePair(name, target, image))
    return pairs


def _group_inputs(pairs: Sequence[ImagePair], seed: int) -> EvalInputs:
    targets = torch.stack([p.target for p in pairs])
    images = torch.stack([p.image for p in pairs])
    info = DataInfo(name="pairs", kind="image", shape=tuple(targets.shape[1:]))
    return EvalInputs(
        info=info,
        real=Batch(x=targets),
        fake=images,
        fake_conditions=Batch(x=images),
        extractor=None,
        targets=targets,
        seed=seed,
    )


def _combine(groups: list[tuple[int, dict[str, float]]]) -> dict[str, float]:
    """Means over images from per-group means; ``NAME_std`` pooled exactly."""
    total = sum(n for n, _ in groups)
    names = groups[0][1].keys()
    means = {
        name: sum(n * values[name] for n, values in groups) / total
        for name in names
        if not (name.endswith("_std") and name[: -len("_std")] in names)
    }
    combined = dict(means)
    for name in names:
        base = name[: -len("_std")]
        if name.endswith("_std") and base in names:
            # Population variance of the union: within-group plus between-group spread.
            spread = sum(
                n * (values[name] ** 2 + (values[base] - means[base]) ** 2)
                for n, values in groups
                if math.isfinite(values[base])
            )
            combined[name] = math.sqrt(spread / total) if math.isfinite(means[base]) else math.nan
    return combined


def score_pairs(
    pairs: Sequence[ImagePair],
    specs: Mapping[str, MetricSpec],
    *,
    crop: int | None,
    seed: int,
    description: Mapping[str, Any],
) -> ScoreResult:
    """Score each image against its pair with ``specs`` (metrics that need targets).

    ``crop`` overrides the metrics' ``crop`` parameter (None: their default).
    """
    start = time.perf_counter()
    by_shape: dict[tuple[int, ...], list[ImagePair]] = defaultdict(list)
    for pair in pairs:
        by_shape[tuple(pair.target.shape)].append(pair)
    chosen = []
    for name, spec in specs.items():
        if crop is not None:
            if "crop" not in spec.params:
                raise GanbenchError(f"--crop does not apply to metric {name!r}: it has no crop")
            spec = replace(spec, params={**spec.params, "crop": crop})
        chosen.append(spec)
    groups, params, directions, unranked = [], {}, {}, {}
    for shape, group in sorted(by_shape.items()):
        inputs = _group_inputs(group, seed)
        for spec in chosen:
            reason = why_not_applicable(spec, inputs)
            if reason is not None:
                raise IncompatibleError(
                    f"metric {spec.name!r} does not apply to the {len(group)} pair(s) of "
                    f"{shape[-1]}x{shape[-2]} images: {reason}"
                )
        results = compute_metrics(chosen, inputs)
        groups.append((len(group), results.values))
        params, directions = results.params, {**directions, **results.directions}
        unranked.update(results.unranked)
    protocol = {
        "eval_protocol_version": EVAL_PROTOCOL_VERSION,
        "command": "score",
        **description,
        "pairs": len(pairs),
        "pair_sizes": {f"{s[-1]}x{s[-2]}": len(g) for s, g in sorted(by_shape.items())},
        "n_real": len(pairs),
        "n_fake": len(pairs),
        "feature_extractor": None,
        "metric_params": params,
        "unranked_metrics": unranked,
        "skipped_metrics": {},
        "seed": seed,
        "device": "cpu",
        **versions(),
        "wall_time_s": round(time.perf_counter() - start, 3),
    }
    return ScoreResult(_combine(groups), directions, protocol)
