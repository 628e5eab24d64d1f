"""The sample sets ``ganbench score`` compares: folders, arrays, run folders, dataset splits.

A source on the command line is one of

* ``dataset:NAME:SPLIT``: a registered dataset's split (``train``, ``val``, ``test``);
* a run folder (holding ``config.json``): its selected generator is sampled;
* a ``.npy`` or ``.npz`` file: an array of images, NHWC or NCHW, uint8 or
  float, or of vectors (N x D);
* a folder of image files (:data:`~ganbench.data.image_files.IMAGE_SUFFIXES`,
  the ``image-folder`` dataset's list), searched recursively.

Every source becomes an :class:`ImageSet` of float images in [-1, 1], NCHW,
the layout every ganbench model and feature extractor works in, with a
description that goes into the protocol record.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ganbench.data.image_files import IMAGE_SUFFIXES
from ganbench.data.types import Batch, DataInfo, GanDataset
from ganbench.errors import CheckpointError, GanbenchError
from ganbench.eval.sampling import generate_samples, pick_conditions
from ganbench.model import GANModel
from ganbench.model_build import build_model, build_trick, parse_model, parse_trick
from ganbench.registry import Registry
from ganbench.run.preparation import dataset_options, load_dataset, load_dataset_with
from ganbench.run.request import CONFIG_FILE, read_run_config
from ganbench.scoring.source_forms import SOURCE_FORMS
from ganbench.specs import DatasetSpec
from ganbench.splits import SPLITS
from ganbench.tasks import TaskKind
from ganbench.train.checkpoint import load_checkpoint
from ganbench.train.loop import LAST_CHECKPOINT, load_model_state, load_selected_generator
from ganbench.train.trick_chain import TrickChain, copy_weights


@dataclass
class ImageSet:
    """Samples to score, and where they came from.

    Attributes:
        x: N x C x H x W float in [-1, 1] (images) or N x D (vectors).
        description: JSON-ready facts for the protocol record (kind, path,
            split, how values were read).
        info: what the samples are, for the metrics.
        conditions: the conditioning generated samples were drawn with
            (run folders), or the set itself with its labels.
        dataset: the dataset the samples come from or were trained on, if any.
        dataset_spec: its registration, if any.
        split: the dataset split, for ``dataset:`` sources.
        conditional: whether ``conditions.y`` are classes the samples were
            generated for.
    """

    x: Tensor
    description: dict[str, Any]
    info: DataInfo
    conditions: Batch
    dataset: GanDataset | None = None
    dataset_spec: DatasetSpec | None = None
    split: str | None = None
    conditional: bool = False

    def __len__(self) -> int:
        return len(self.x)

    def batch(self) -> Batch:
        """The samples with their conditioning (labels of a split, classes asked of a generator)."""
        return replace(self.conditions, x=self.x)


@dataclass(frozen=True)
class SourceOptions:
    """How to read sources: data options for datasets, sampling for run folders."""

    data_dir: str | None = None
    download: bool = False
    image_size: int | None = None
    samples: int | None = None  # generated samples from a run folder (None: the dataset's)
    seed: int = 0
    device: torch.device = torch.device("cpu")


def _describe_values(kind: str) -> str:
    return {
        "uint8": "uint8 0..255 mapped to [-1, 1] as v / 127.5 - 1",
        "unit": "float in [0, 1] mapped to [-1, 1] as 2v - 1",
        "signed": "float in [-1, 1], used as is",
        "byte-float": "float in [0, 255] mapped to [-1, 1] as v / 127.5 - 1",
    }[kind]


def images_to_unit_range(array: np.ndarray, where: str) -> tuple[Tensor, str]:
    """An image array (any layout already NCHW) as float32 in [-1, 1], and how it was read.

    uint8 is read as 0..255. Floats are read by their range: any negative
    value means [-1, 1]; otherwise a maximum up to 1 means [0, 1], up to 255
    means 0..255. Anything else is an error naming the range found.
    """
    if array.dtype == np.uint8:
        return torch.from_numpy(array.astype(np.float32) / 127.5 - 1.0), "uint8"
    if not np.issubdtype(array.dtype, np.floating) and not np.issubdtype(array.dtype, np.integer):
        raise GanbenchError(f"{where}: unsupported array type {array.dtype}; use uint8 or float")
    values = array.astype(np.float32)
    if not np.isfinite(values).all():
        raise GanbenchError(f"{where}: the array holds NaN or infinite values")
    low, high = float(values.min()), float(values.max())
    tolerance = 1e-4
    if low < 0:
        if low < -1 - tolerance or high > 1 + tolerance:
            raise GanbenchError(
                f"{where}: values span [{low:.4g}, {high:.4g}]; images must be uint8 or float "
                "in [0, 1], [-1, 1] or [0, 255]"
            )
        return torch.from_numpy(np.clip(values, -1.0, 1.0)), "signed"
    if high <= 1 + tolerance:
        return torch.from_numpy(np.clip(values, 0.0, 1.0) * 2.0 - 1.0), "unit"
    if high <= 255 + tolerance:
        return torch.from_numpy(values / 127.5 - 1.0), "byte-float"
    raise GanbenchError(
        f"{where}: values span [{low:.4g}, {high:.4g}]; images must be uint8 or float "
        "in [0, 1], [-1, 1] or [0, 255]"
    )


def _nchw(array: np.ndarray, where: str) -> tuple[np.ndarray, str]:
    if array.ndim == 3:  # N x H x W grayscale
        return array[:, None], "NHW"
    if array.ndim != 4:
        raise GanbenchError(
            f"{where}: an image array must be N x H x W, NHWC or NCHW; got shape {array.shape}"
        )
    if array.shape[1] in (1, 3):
        return array, "NCHW"
    if array.shape[-1] in (1, 3):
        return np.ascontiguousarray(array.transpose(0, 3, 1, 2)), "NHWC"
    raise GanbenchError(
        f"{where}: cannot tell the channel axis of shape {array.shape}; "
        "expected 1 or 3 channels first (NCHW) or last (NHWC)"
    )


def _read_array_file(path: Path) -> np.ndarray:
    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise GanbenchError(f"cannot read array file {str(path)!r}: {exc}") from None
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded:
        names = list(loaded.files)
        if len(names) == 1:
            return loaded[names[0]]
        for preferred in ("x", "images", "samples", "arr_0"):
            if preferred in names:
                return loaded[preferred]
    raise GanbenchError(
        f"{str(path)!r} holds arrays {', '.join(names) or '(none)'}; expected one array, "
        "or one named x, images, samples or arr_0"
    )


def _unlabelled(x: Tensor, description: dict[str, Any], name: str) -> ImageSet:
    kind = "vector" if x.ndim == 2 else "image"
    info = DataInfo(name=name, kind=kind, shape=tuple(x.shape[1:]))
    return ImageSet(x=x, description=description, info=info, conditions=Batch(x=x))


def load_array_source(path: Path) -> ImageSet:
    """A ``.npy``/``.npz`` of images (NHWC or NCHW, uint8 or float) or of vectors (N x D)."""
    array = _read_array_file(path)
    where = str(path)
    if len(array) < 2:
        raise GanbenchError(f"{where}: need at least 2 samples, got {len(array)}")
    if array.ndim == 2:  # vectors, e.g. samples of a 2-D mixture
        x = torch.from_numpy(np.asarray(array, dtype=np.float32))
        description = {"kind": "array", "path": where, "layout": "ND", "values": "as is"}
        return _unlabelled(x, description, f"array:{path.name}")
    nchw, layout = _nchw(array, where)
    x, values = images_to_unit_range(nchw, where)
    description = {
        "kind": "array",
        "path": where,
        "layout": layout,
        "values": _describe_values(values),
    }
    return _unlabelled(x.contiguous(), description, f"array:{path.name}")


#: PIL modes of single-channel images: read as grayscale.
GRAYSCALE_MODES = ("1", "L", "I", "I;16", "F")


def image_files(folder: Path) -> list[Path]:
    """Every image file under ``folder`` (by suffix, recursively), sorted by path."""
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )


def load_folder_source(folder: Path) -> ImageSet:
    """Every image file under ``folder`` (sorted by path), as one N x C x H x W set.

    Grayscale when every file is single-channel, otherwise RGB (alpha is
    dropped). All images must have one size: resizing is a preprocessing
    choice the user should make, not ganbench silently.
    """
    from PIL import Image, UnidentifiedImageError

    files = image_files(folder)
    if len(files) < 2:
        raise GanbenchError(
            f"folder {str(folder)!r} holds {len(files)} image file(s); need at least 2 "
            f"(suffixes: {', '.join(IMAGE_SUFFIXES)})"
        )
    images = []
    for path in files:
        try:
            with Image.open(path) as image:
                image.load()
                images.append(image.copy())
        except (UnidentifiedImageError, OSError) as exc:
            raise GanbenchError(f"cannot read image {str(path)!r}: {exc}") from None
    grayscale = all(image.mode in GRAYSCALE_MODES for image in images)
    mode = "L" if grayscale else "RGB"
    size = images[0].size
    arrays = []
    for path, image in zip(files, images, strict=True):
        if image.size != size:
            raise GanbenchError(
                f"image {str(path)!r} is {image.size[0]}x{image.size[1]} but "
                f"{str(files[0])!r} is {size[0]}x{size[1]}; all images must have one size"
            )
        arrays.append(np.asarray(image.convert(mode), dtype=np.uint8))
    nchw, _ = _nchw(np.stack(arrays), str(folder))
    x, values = images_to_unit_range(nchw, str(folder))
    description = {
        "kind": "folder",
        "path": str(folder),
        "files": len(files),
        "mode": mode,
        "values": _describe_values(values),
    }
    return _unlabelled(x.contiguous(), description, f"folder:{folder.name}")


def load_dataset_source(text: str, registry: Registry, options: SourceOptions) -> ImageSet:
    """``dataset:NAME:SPLIT``."""
    parts = text.split(":")
    if len(parts) != 3 or not parts[1]:
        raise GanbenchError(
            f"cannot read source {text!r}; a dataset source is dataset:NAME:SPLIT with SPLIT one "
            f"of {', '.join(SPLITS)}"
        )
    _, name, split = parts
    spec = registry.dataset(name)
    if split not in SPLITS:
        raise GanbenchError(
            f"unknown split {split!r} in {text!r}; valid choices: {', '.join(SPLITS)}"
        )
    dataset = load_dataset_with(
        spec, dataset_options(options.data_dir, options.download, options.image_size)
    )
    batch = dataset.splits[split]
    description = {
        "kind": "dataset",
        "dataset": name,
        "split": split,
        "dataset_fingerprint": dataset.fingerprint()[:16],
    }
    return ImageSet(
        x=batch.x,
        description=description,
        info=dataset.info,
        conditions=batch,
        dataset=dataset,
        dataset_spec=spec,
        split=split,
    )


def _load_generator_weights(
    model: GANModel, tricks: TrickChain, run_dir: Path
) -> tuple[int | None, str]:
    """Load the weights the run evaluates: ``best.pt``, else ``last.pt`` under the tricks.

    ``best.pt`` holds evaluation weights already (an EMA of G, say); from
    ``last.pt`` the tricks' state is restored and their evaluation weights
    copied in, as the run itself evaluates a model it did not select.
    """
    checkpoints = run_dir / "checkpoints"
    step = load_selected_generator(model, checkpoints)  # the validation-selected weights
    if step is not None:
        return step, "best (selected on the validation split)"
    last = checkpoints / LAST_CHECKPOINT
    if not last.exists():
        raise CheckpointError(
            f"run folder {str(run_dir)!r} has no checkpoint in {str(checkpoints)!r}"
        )
    payload = load_checkpoint(last)
    load_model_state(model, payload["model"], last)
    for trick, state in zip(tricks.tricks, payload.get("tricks", []), strict=False):
        trick.load_state_dict(state)
    copy_weights(model, tricks.evaluation_weights(model))
    return int(payload["step"]), "last"


def load_run_source(run_dir: Path, registry: Registry, options: SourceOptions) -> ImageSet:
    """Samples of a run folder's generator, conditioned like its dataset's test split."""
    run_id, request = read_run_config(run_dir)
    model_spec, model_params = parse_model(request.model, registry)
    # The run's tricks shape the model it saved (spectral norm wraps D's
    # layers, a prior replaces z's): rebuilt here exactly as training built it.
    tricks = TrickChain(
        [
            build_trick(spec, params)
            for spec, params in (parse_trick(t, registry) for t in request.tricks)
        ]
    )
    dataset_spec = registry.dataset(request.dataset)
    if options.data_dir:  # the data may live elsewhere on the scoring machine
        request = replace(request, data_dir=options.data_dir)
    dataset = load_dataset(dataset_spec, request)
    torch.manual_seed(request.seed)
    model = build_model(
        model_spec,
        dataset,
        options.device,
        model_params,
        tricks,
        losses=registry.losses,
        fresh=False,
    )
    step, which = _load_generator_weights(model, tricks, run_dir)
    n = options.samples or dataset_spec.eval_samples
    conditions = pick_conditions(dataset.splits["test"], n, options.seed)
    fake = generate_samples(model, conditions, options.seed, options.device, dataset.info.shape)
    description = {
        "kind": "run",
        "path": str(run_dir),
        "run_id": run_id,
        "model": model_spec.name,
        "dataset": dataset_spec.name,
        "checkpoint": which,
        "checkpoint_step": step,
        "samples": n,
        "seed": options.seed,
    }
    conditional = model.task == TaskKind.CLASS_CONDITIONAL
    return ImageSet(
        x=fake,
        description=description,
        info=dataset.info,
        conditions=conditions,
        dataset=dataset,
        dataset_spec=dataset_spec,
        conditional=conditional,
    )


def load_source(text: str, registry: Registry, options: SourceOptions) -> ImageSet:
    """Read a source given on the command line (see the module docstring)."""
    if text.startswith("dataset:"):
        return load_dataset_source(text, registry, options)
    path = Path(text).expanduser()
    if path.is_dir() and (path / CONFIG_FILE).is_file():
        return load_run_source(path, registry, options)
    if path.is_file() and path.suffix.lower() in (".npy", ".npz"):
        return load_array_source(path)
    if path.is_dir():
        return load_folder_source(path)
    if path.exists():
        raise GanbenchError(f"cannot score {text!r}: not a .npy/.npz file; give {SOURCE_FORMS}")
    raise GanbenchError(f"no such source {text!r}; give {SOURCE_FORMS}")
