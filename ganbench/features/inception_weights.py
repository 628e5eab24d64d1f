"""The FID Inception-v3 weights file: finding it, checking it, reading it.

Two PyTorch ports of the 2015-12-05 TensorFlow Inception graph (the network
FID, KID and IS are defined with) are in common use:

- pytorch-fid's ``pt_inception-2015-12-05-6726825d.pth``: the state dict of
  torchvision's ``Inception3`` with the FID blocks, 1008 classes, no
  auxiliary head, and a ``num_batches_tracked`` counter on every BatchNorm;
- torch-fidelity's ``weights-inception-2015-12-05-6726825d.pth``: the same
  module names without the counters (its converter writes only weights,
  biases and running statistics).

Both load into torch-fidelity's ``FeatureExtractorInceptionV3``, which
ganbench runs; the counters only count training steps and are ignored in
eval mode, so pytorch-fid's layout is converted by dropping them.

Where the file comes from, in order: an explicit path (``--inception-weights``,
:attr:`FeatureContext.inception_weights`), ``$GANBENCH_INCEPTION_WEIGHTS``,
the torch hub cache (``torch.hub.get_dir()/checkpoints``, where both
libraries download to), then a download of torch-fidelity's file into that
cache. Offline with none of these is an :class:`InceptionWeightsMissingError`
that says where to put the file.
"""

from __future__ import annotations

import functools
import hashlib
import io
import logging
import os
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import torch
from torch import Tensor

from ganbench.errors import InceptionWeightsInvalidError, InceptionWeightsMissingError

if TYPE_CHECKING:
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

log = logging.getLogger(__name__)

PYTORCH_FID_FILENAME = "pt_inception-2015-12-05-6726825d.pth"
TORCH_FIDELITY_FILENAME = "weights-inception-2015-12-05-6726825d.pth"
#: Looked for in this order in a folder (the torch hub cache, a folder given as path).
WEIGHTS_FILENAMES = (TORCH_FIDELITY_FILENAME, PYTORCH_FID_FILENAME)
WEIGHTS_ENV_VAR = "GANBENCH_INCEPTION_WEIGHTS"
WEIGHTS_FLAG = "--inception-weights"

Layout = Literal["torch-fidelity", "pytorch-fid"]

_COUNTER_SUFFIX = ".num_batches_tracked"
#: Keys both layouts have; a state dict without them is some other network.
_SIGNATURE_KEYS = (
    "Conv2d_1a_3x3.conv.weight",
    "Mixed_5b.branch_pool.bn.running_var",
    "Mixed_7c.branch3x3dbl_3b.conv.weight",
    "fc.weight",
    "fc.bias",
)


@dataclass(frozen=True)
class InceptionWeights:
    """A weights file read and converted to torch-fidelity's layout.

    Attributes:
        path: the file.
        layout: which of the two common files it is (by its keys).
        sha256: hex sha256 of the file's bytes.
        state_dict: tensors under torch-fidelity's ``FeatureExtractorInceptionV3`` names.
    """

    path: Path
    layout: Layout
    sha256: str
    state_dict: dict[str, Tensor]


def download_url() -> str:
    """torch-fidelity's download URL for its converted weights file.

    Imported when needed: torch-fidelity takes over a second to import, too
    long to pay on every CLI start.
    """
    from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

    return URL_INCEPTION_V3


def hub_checkpoint_dir() -> Path:
    """``torch.hub.get_dir()/checkpoints``: where both libraries cache downloaded weights."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def _one_line(text: object, limit: int = 200) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def missing_weights_message(reason: str = "") -> str:
    """One line: the weights were not found (``reason`` says more), and where to put them."""
    detail = f" ({reason})" if reason else ""
    return (
        f"Inception-v3 weights not found{detail}; put {TORCH_FIDELITY_FILENAME} (torch-fidelity) "
        f"or {PYTORCH_FID_FILENAME} (pytorch-fid) in {hub_checkpoint_dir()}, "
        f"or pass {WEIGHTS_FLAG} FILE, or set {WEIGHTS_ENV_VAR}=FILE"
    )


def _in_folder(folder: Path) -> Path | None:
    for name in WEIGHTS_FILENAMES:
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def _given_path(path: Path, origin: str) -> Path:
    """A user-given file, or a folder holding one of the two files; else a one-line error.

    ``origin`` names where the path came from, as the user wrote it (flag or variable).
    """
    path = path.expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        found = _in_folder(path)
        if found is not None:
            return found
        raise InceptionWeightsMissingError(
            f"{origin}{path}: folder holds neither {TORCH_FIDELITY_FILENAME} "
            f"nor {PYTORCH_FID_FILENAME}"
        )
    raise InceptionWeightsMissingError(
        f"{origin}{path}: no such file; give the path of {TORCH_FIDELITY_FILENAME} "
        f"(torch-fidelity) or {PYTORCH_FID_FILENAME} (pytorch-fid)"
    )


def find_inception_weights(explicit: Path | None = None) -> Path | None:
    """The weights file from the explicit path, the environment or the hub cache, or None.

    An explicit path or ``$GANBENCH_INCEPTION_WEIGHTS`` that names no file is
    an error rather than a fall-through: the user asked for that file.
    """
    if explicit is not None:
        return _given_path(Path(explicit), f"{WEIGHTS_FLAG} ")
    from_env = os.environ.get(WEIGHTS_ENV_VAR, "").strip()
    if from_env:
        return _given_path(Path(from_env), f"{WEIGHTS_ENV_VAR}=")
    return _in_folder(hub_checkpoint_dir())


def download_inception_weights(dest_dir: Path | None = None, *, progress: bool = False) -> Path:
    """Download torch-fidelity's weights file into ``dest_dir`` (default: the hub cache).

    The file is written under a temporary name and moved into place, so an
    interrupted download leaves nothing that looks like weights.

    Raises:
        InceptionWeightsMissingError: the download failed (no network, HTTP error).
    """
    folder = hub_checkpoint_dir() if dest_dir is None else dest_dir
    target = folder / TORCH_FIDELITY_FILENAME
    url = download_url()
    log.info("downloading Inception-v3 weights from %s to %s", url, target)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(url, str(target), progress=progress)
    except (OSError, HTTPException) as exc:  # URLError and socket timeouts are OSErrors
        reason = f"download from {url} failed: {type(exc).__name__}: {_one_line(exc)}"
        raise InceptionWeightsMissingError(missing_weights_message(reason)) from exc
    return target


def resolve_inception_weights(
    explicit: Path | None = None, *, download: bool = True, progress: bool = False
) -> Path:
    """The weights file to use: found locally (see :func:`find_inception_weights`) or downloaded.

    Raises:
        InceptionWeightsMissingError: not found, and downloading is off or failed.
    """
    found = find_inception_weights(explicit)
    if found is not None:
        return found
    if not download:
        raise InceptionWeightsMissingError(missing_weights_message("downloading is off"))
    return download_inception_weights(progress=progress)


@functools.lru_cache(maxsize=8)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, streamed; remembered while its size and mtime stay the same."""
    stat = path.stat()
    return _sha256_of(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


def _invalid(path: Path, why: str) -> InceptionWeightsInvalidError:
    return InceptionWeightsInvalidError(
        f"{path}: {why}; expected {TORCH_FIDELITY_FILENAME} (torch-fidelity) "
        f"or {PYTORCH_FID_FILENAME} (pytorch-fid)"
    )


def detect_layout(keys: set[str]) -> Layout | None:
    """Which of the two files a state dict's keys come from, or None for neither."""
    if not all(key in keys for key in _SIGNATURE_KEYS):
        return None
    counters = {key for key in keys if key.endswith(_COUNTER_SUFFIX)}
    if not counters:
        return "torch-fidelity"
    batchnorms = {key[: -len(".running_var")] for key in keys if key.endswith(".running_var")}
    if {key[: -len(_COUNTER_SUFFIX)] for key in counters} == batchnorms:
        return "pytorch-fid"
    return None


def to_torch_fidelity_layout(state: dict[str, Tensor], layout: Layout) -> dict[str, Tensor]:
    """``state`` under torch-fidelity's names: pytorch-fid's BatchNorm counters are dropped."""
    if layout == "torch-fidelity":
        return dict(state)
    return {key: value for key, value in state.items() if not key.endswith(_COUNTER_SUFFIX)}


def read_inception_weights(path: Path) -> InceptionWeights:
    """Read a weights file (``weights_only``: no code runs), detect its layout and convert it.

    Raises:
        InceptionWeightsInvalidError: not a torch file, not a state dict, or
            not the Inception-v3 keys (one line naming ``path``).
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt zip, pickle with code, truncated file, not torch at all
        raise _invalid(path, f"not a readable torch state dict ({type(exc).__name__})") from exc
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, Tensor) for k, v in state.items()
    ):
        raise _invalid(path, "not a state dict of named tensors")
    layout = detect_layout(set(state))
    if layout is None:
        if any(key.startswith("blocks.") for key in state):
            why = "holds pytorch-fid's InceptionV3 feature blocks, without the 1008-way classifier"
        else:
            why = "its keys are not those of the FID Inception-v3 network"
        raise _invalid(path, why)
    converted = to_torch_fidelity_layout(state, layout)
    return InceptionWeights(path, layout, file_sha256(path), converted)


def build_torch_fidelity_network(
    weights: InceptionWeights, features_list: tuple[str, ...] = ("2048", "logits_unbiased")
) -> FeatureExtractorInceptionV3:
    """torch-fidelity's ``FeatureExtractorInceptionV3`` (eval mode, CPU) with ``weights``.

    The library reads weights only from a path it unpickles without
    ``weights_only``; handing it our already-checked tensors in memory keeps
    untrusted files away from that unpickler.

    Raises:
        InceptionWeightsInvalidError: the tensors' names or shapes do not fit
            the network (its strict ``load_state_dict`` fails).
    """
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    buffer = io.BytesIO()
    torch.save(weights.state_dict, buffer)
    buffer.seek(0)
    try:
        return FeatureExtractorInceptionV3(
            "inception-v3-compat", list(features_list), feature_extractor_weights_path=buffer
        )
    except RuntimeError as exc:
        raise _invalid(weights.path, f"tensors do not fit the network: {_one_line(exc)}") from exc
