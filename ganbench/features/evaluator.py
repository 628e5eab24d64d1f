"""Domain evaluator: a small classifier trained once per dataset, as a feature space.

For datasets where the Inception network is the wrong tool (8x8 digits,
MNIST-like data) or its weights are not on disk, ganbench trains a small
convolutional classifier on the dataset's train split, deterministically, and
caches it by a hash of the data and of this module's training recipe. Its
penultimate layer gives features (FID, KID), its softmax gives IS, class
coverage and conditional accuracy. Values in this space are named
``metric[<dataset>-evaluator]``: they are not comparable to Inception numbers.

The weights' sha256 is part of every run's comparison key, so the same data
must give the same weights file on every machine. Training always runs on one
CPU thread (see :func:`train_evaluator`), which makes it bitwise-identical
whatever thread count the caller uses; for the built-in ``digits`` dataset
(and so ``stacked-digits``) the file is moreover shipped with ganbench
(:mod:`ganbench.features.evaluator_weights`), because training is not
bitwise-identical across CPU families or devices.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganbench.data.types import Batch, DataInfo, GanDataset
from ganbench.features.base import FeatureContext, FeatureExtractor
from ganbench.features.evaluator_weights import read_shipped, shipped_evaluator
from ganbench.features.stacked import build_per_channel, stacked_base, stacked_base_problem
from ganbench.results.atomic import atomic_write_bytes
from ganbench.specs import FeatureExtractorSpec

log = logging.getLogger(__name__)

#: Bump when the architecture or training recipe changes: it renames the cache.
EVALUATOR_RECIPE_VERSION = 1


@dataclass(frozen=True)
class EvaluatorRecipe:
    """How the evaluator is built and trained (part of its cache key)."""

    feature_dim: int = 64
    batch_size: int = 64
    learning_rate: float = 1e-3
    epochs: int = 40
    max_steps: int = 3000
    min_steps: int = 600
    seed: int = 0


class EvaluatorNet(nn.Module):
    """Three convolutions, a pooled flatten, a feature layer and a classifier.

    Input: N x C x H x W in [-1, 1]. ``features`` returns the ReLU output of
    the penultimate layer (N x feature_dim); ``forward`` returns class logits.
    """

    def __init__(self, channels: int, image_size: int, num_classes: int, feature_dim: int):
        super().__init__()
        pooled = 2 if image_size < 16 else 4
        self.body = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(64, 128, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(pooled),
            nn.Flatten(),
            nn.Linear(128 * pooled * pooled, feature_dim),
            nn.ReLU(),
        )
        self.head = nn.Linear(feature_dim, num_classes)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


def _random_shift(x: Tensor, max_shift: int, gen: torch.Generator) -> Tensor:
    """Translate each image by up to ``max_shift`` pixels, filling with -1 (background).

    Generated digits are rarely centred exactly as the training ones; a
    little shift invariance keeps the evaluator from punishing that.
    """
    n, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, value=-1.0)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=gen)
    rows = (dy[:, None] + torch.arange(h)[None, :])[:, :, None].expand(n, h, w)
    cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, :].expand(n, h, w)
    batch_idx = torch.arange(n)[:, None, None].expand(n, h, w)
    return padded.permute(0, 2, 3, 1)[batch_idx, rows, cols].permute(0, 3, 1, 2).contiguous()


def _batched(fn, x: Tensor, batch_size: int, device: torch.device) -> Tensor:
    outs = [fn(x[i : i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)]
    return torch.cat(outs) if outs else torch.empty(0)


@contextmanager
def one_intra_op_thread() -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(1)``, restoring the caller's count after.

    CPU kernels split their reductions (convolution weight gradients, matrix
    products) over the intra-op threads, and a float sum in another order
    rounds differently: with 2 threads the digits evaluator's weights differ
    from the 1-thread ones from the first optimiser step on, though each
    count repeats itself exactly. On one thread the order is fixed.
    ``torch.use_deterministic_algorithms`` does not help here: it makes each
    thread count repeatable (it already is on the CPU), not the counts agree.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def train_evaluator(
    info: DataInfo, train: Batch, recipe: EvaluatorRecipe, device: torch.device
) -> EvaluatorNet:
    """Train the classifier deterministically: same data, recipe and device, same weights.

    Runs on one intra-op thread whatever the caller set (see
    :func:`one_intra_op_thread`), so the weights do not depend on the
    machine's core count. The network is small (about 126k parameters) and
    trains in seconds on one core, so the lost parallelism costs little.
    """
    with one_intra_op_thread():
        return _train(info, train, recipe, device)


def _train(
    info: DataInfo, train: Batch, recipe: EvaluatorRecipe, device: torch.device
) -> EvaluatorNet:
    assert info.num_classes is not None and train.y is not None
    channels, size = info.shape[0], info.shape[-1]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(recipe.seed)
        net = EvaluatorNet(channels, size, info.num_classes, recipe.feature_dim).to(device)
    gen = torch.Generator().manual_seed(recipe.seed)
    opt = torch.optim.Adam(net.parameters(), lr=recipe.learning_rate)
    n = len(train)
    per_epoch = max(1, n // recipe.batch_size)
    total = min(recipe.max_steps, max(recipe.min_steps, recipe.epochs * per_epoch))
    max_shift = max(1, size // 8)
    net.train()
    step = 0
    while step < total:
        perm = torch.randperm(n, generator=gen)
        for i in range(per_epoch):
            if step >= total:
                break
            idx = perm[i * recipe.batch_size : (i + 1) * recipe.batch_size]
            x = _random_shift(train.x[idx], max_shift, gen).to(device)
            loss = F.cross_entropy(net(x), train.y[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
    net.eval()
    return net


class DomainEvaluator:
    """A trained :class:`EvaluatorNet` as a feature extractor."""

    def __init__(
        self,
        net: EvaluatorNet,
        dataset: str,
        weights_sha256: str,
        test_accuracy: float,
        recipe: EvaluatorRecipe,
        device: torch.device,
        batch_size: int = 500,
    ) -> None:
        self.net = net.to(device).eval()
        self.space = f"{dataset}-evaluator"
        self.weights_sha256 = weights_sha256
        self.test_accuracy = test_accuracy
        self.recipe = recipe
        self.device = device
        self.batch_size = batch_size

    @torch.no_grad()
    def features(self, x: Tensor) -> Tensor:
        return _batched(self.net.features, x, self.batch_size, self.device)

    @torch.no_grad()
    def class_probs(self, x: Tensor) -> Tensor:
        logits = _batched(self.net, x, self.batch_size, self.device)
        return torch.softmax(logits.double(), dim=1).float()

    def protocol(self) -> dict[str, Any]:
        return {
            "name": "evaluator",
            "space": self.space,
            "weights_sha256": self.weights_sha256,
            "test_accuracy": round(self.test_accuracy, 6),
            "recipe_version": EVALUATOR_RECIPE_VERSION,
            "feature_dim": self.recipe.feature_dim,
            "preprocessing": "none: images at the dataset's resolution, values in [-1, 1]",
        }


def cache_key(dataset: GanDataset, recipe: EvaluatorRecipe) -> str:
    """Names the evaluator of ``dataset`` and ``recipe``: data fingerprint, recipe version, recipe."""
    blob = f"{dataset.fingerprint()}|{EVALUATOR_RECIPE_VERSION}|{recipe}".encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def _accuracy(evaluator_net: EvaluatorNet, split: Batch, device: torch.device) -> float:
    with torch.no_grad():
        logits = _batched(evaluator_net, split.x, 500, device)
    return float((logits.argmax(1) == split.y).double().mean())


def evaluator_file_bytes(
    dataset: GanDataset, recipe: EvaluatorRecipe, device: torch.device
) -> bytes:
    """Train the evaluator of ``dataset`` and serialise it: the bytes whose sha256 names it.

    The file is ``torch.save({"state_dict": ..., "test_accuracy": ...})``.
    torch.save of the same tensors gives the same bytes, in one process or in
    two (its zip entries carry a fixed 1980 date and a serialization id
    derived from the content), so the file can be hashed as it is. Another
    torch version may write another layout, hence another sha256: the shipped
    files are read, never re-saved. The test accuracy is stored in the file,
    so it is measured on one thread too: a borderline argmax must not change
    the hash with the core count.
    """
    net = train_evaluator(dataset.info, dataset.splits["train"], recipe, device).cpu()
    with one_intra_op_thread():
        accuracy = _accuracy(net, dataset.splits["test"], torch.device("cpu"))
    buffer = io.BytesIO()
    torch.save({"state_dict": net.state_dict(), "test_accuracy": accuracy}, buffer)
    return buffer.getvalue()


def _from_bytes(
    blob: bytes, info: DataInfo, recipe: EvaluatorRecipe, device: torch.device
) -> DomainEvaluator:
    """The evaluator a file's bytes hold; raises if they are not an evaluator of ``info``."""
    net = EvaluatorNet(info.shape[0], info.shape[-1], info.num_classes or 0, recipe.feature_dim)
    payload = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
    net.load_state_dict(payload["state_dict"])
    accuracy = float(payload["test_accuracy"])
    sha = hashlib.sha256(blob).hexdigest()
    return DomainEvaluator(net, info.name, sha, accuracy, recipe, device)


def load_or_train_evaluator(
    dataset: GanDataset, ctx: FeatureContext, recipe: EvaluatorRecipe | None = None
) -> DomainEvaluator:
    """The evaluator for ``dataset``: shipped, else cached, else trained (and cached).

    Raises:
        ShippedWeightsError: ganbench ships this evaluator but its file is
            missing or fails its sha256 check (never silently retrained: that
            would measure in another feature space than everyone else).
    """
    recipe = recipe or EvaluatorRecipe()
    info = dataset.info
    key = cache_key(dataset, recipe)
    shipped = shipped_evaluator(key)
    if shipped is not None:
        return _from_bytes(read_shipped(shipped), info, recipe, ctx.device)
    # "-1thread": files cached before training was pinned to one thread may hold
    # weights of another thread count under the same key; they are not reused.
    path = ctx.cache_dir / "evaluators" / f"{info.name}-{key}-1thread.pt"
    if path.exists():
        try:
            return _from_bytes(path.read_bytes(), info, recipe, ctx.device)
        except Exception as exc:  # a damaged cache file is rebuilt, not trusted
            log.warning("cached evaluator %s is unreadable (%s); retraining", path, exc)
    blob = evaluator_file_bytes(dataset, recipe, ctx.device)
    atomic_write_bytes(path, blob)
    return _from_bytes(blob, info, recipe, ctx.device)


def build_evaluator(dataset: GanDataset, ctx: FeatureContext) -> FeatureExtractor:
    """The dataset's evaluator; for stacked-channel data, the base's, applied per channel.

    A stacked dataset (``extras["stacked_base"]``, see :mod:`ganbench.features.stacked`)
    gets the evaluator trained on its single-channel base dataset (the same
    cached network a run on the base uses), not a classifier of its K**C classes.
    """
    base = stacked_base(dataset.info)
    if base is not None:
        return build_per_channel(dataset, load_or_train_evaluator(base, ctx), base)
    return load_or_train_evaluator(dataset, ctx)


def _check(info: DataInfo) -> str | None:
    if info.kind != "image":
        return "the domain evaluator classifies images; this dataset holds vectors"
    if "y" not in info.fields or not info.num_classes:
        return "the domain evaluator is trained on class labels; this dataset has none"
    return stacked_base_problem(info)


EVALUATOR_SPEC = FeatureExtractorSpec(
    name="evaluator",
    build=build_evaluator,
    check=_check,
    description="small classifier trained once per dataset (cached): features, softmax",
)
