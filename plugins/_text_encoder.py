"""A small text encoder trained once per captioned dataset, deterministically, and cached.

Reed et al. 2016 (ICML, section 3.1) condition the GAN on a char-CNN-RNN text
encoder, pre-trained (Reed et al. 2016, CVPR, "Learning Deep Representations
of Fine-Grained Visual Descriptions") with the *deep symmetric structured
joint embedding* loss against GoogLeNet image features, 1,024-d. This is
that recipe scaled to 8 x 8 digits and a vocabulary of a few dozen words:

* **Text side.** Word-level, not character-level: the captions are built
  from about 30 words, so characters add nothing but length. Each word gets
  a learned 32-d vector; a one-layer GRU (64 units) reads the caption, and a
  linear layer maps its last state to the embedding (64-d, the paper's
  1,024 scaled to the data).
* **Image side.** A small CNN (two stride-2 convolutions, 32 and 64 maps,
  global average pooling, a linear layer to 64-d), trained jointly; the
  paper uses fixed GoogLeNet features, which do not exist for 8 x 8 digits.
* **Loss.** The symmetric structured loss of the CVPR paper (eq. 3-5): in a
  minibatch of B distinct "classes", one image and one caption each, the
  compatibility matrix ``S = theta(v) phi(t)^T`` is trained so each row's and
  each column's diagonal entry wins by a margin of 1 (a multi-class hinge,
  averaged over the wrong entries). The "class" is what a caption says (the
  digit and its attribute bins), not the digit alone, so the embedding must
  carry the attributes too.
* **Determinism.** Fixed seeds, one intra-op thread for training and for
  embedding (a float sum in another thread order rounds differently), and
  the embeddings are always computed from the serialised weights, so a fresh
  training and a cache hit give the same bits. Training is bit-identical
  per machine, not across CPU families, so ``digits-captions``' encoder is
  shipped (``weights/`` beside this module), as the digits evaluator is: it
  is used wherever its cache key matches, and the ruler is the same on every
  machine. Other corpora (a ``caption-folder``) train their own.
* **Cache.** ``<cache>/text-encoders/<dataset>-<key>-1thread.pt`` (the cache
  is ``$GANBENCH_CACHE_DIR`` or ``~/.cache/ganbench``), keyed by a hash of
  the recipe, its version, the captions and the training images with their
  caption classes; the file's sha256 is in :meth:`TextEncoder.record`.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganbench.api import cache_dir

log = logging.getLogger(__name__)

#: Encoders shipped with the package, by cache file name.
SHIPPED_WEIGHTS = Path(__file__).parent / "weights"
#: Bump when the networks or the training change: it renames the cache file.
ENCODER_RECIPE_VERSION = 1
_TOKEN = re.compile(r"[a-z0-9]+(?:-[a-z]+)*")


@dataclass(frozen=True)
class EncoderRecipe:
    """How the text encoder is built and trained (part of its cache key)."""

    embedding_dim: int = 64
    word_dim: int = 32
    hidden_dim: int = 64
    batch_classes: int = 32
    steps: int = 400
    learning_rate: float = 2e-3
    margin: float = 1.0
    seed: int = 0


def tokenize(caption: str) -> list[str]:
    """Lower-case words, digits and hyphenated words ("left-leaning") of ``caption``."""
    return _TOKEN.findall(caption.lower())


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the block on one intra-op thread, restoring the caller's count after."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class CaptionEncoder(nn.Module):
    """Token ids (N x L, 0 = padding) and lengths (N,) -> embeddings (N x embedding_dim)."""

    def __init__(self, vocabulary: int, recipe: EncoderRecipe) -> None:
        super().__init__()
        self.words = nn.Embedding(vocabulary + 1, recipe.word_dim, padding_idx=0)
        self.rnn = nn.GRU(recipe.word_dim, recipe.hidden_dim, batch_first=True)
        self.out = nn.Linear(recipe.hidden_dim, recipe.embedding_dim)

    def forward(self, tokens: Tensor, lengths: Tensor) -> Tensor:
        packed = nn.utils.rnn.pack_padded_sequence(
            self.words(tokens), lengths, batch_first=True, enforce_sorted=False
        )
        _, last = self.rnn(packed)
        return self.out(last[0])


class ImageEncoder(nn.Module):
    """Images (N x C x H x W in [-1, 1]) -> embeddings (N x embedding_dim)."""

    def __init__(self, channels: int, recipe: EncoderRecipe) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, 32, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(64, recipe.embedding_dim),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def symmetric_hinge(scores: Tensor, margin: float) -> Tensor:
    """The symmetric structured loss of a B x B compatibility matrix (diagonal right).

    For each row (an image against every caption) and each column (a caption
    against every image), the mean over the wrong entries of
    ``max(0, margin - S_right + S_wrong)``; the two directions are summed.
    """
    b = scores.shape[0]
    right = scores.diagonal()
    off = ~torch.eye(b, dtype=torch.bool, device=scores.device)
    by_image = F.relu(margin - right[:, None] + scores)[off].mean()
    by_caption = F.relu(margin - right[None, :] + scores)[off].mean()
    return by_image + by_caption


@dataclass(frozen=True)
class CaptionCorpus:
    """What the encoder is trained on.

    Attributes:
        captions: every caption text (C of them).
        caption_class: C int64, the class (what a caption says) of each caption.
        images: N x C x H x W training images in [-1, 1].
        image_class: N int64, the class of each image's captions.
    """

    captions: Sequence[str]
    caption_class: Tensor
    images: Tensor
    image_class: Tensor

    def vocabulary(self) -> list[str]:
        """Every word of the captions, sorted (ids start at 1; 0 pads)."""
        return sorted({word for caption in self.captions for word in tokenize(caption)})

    def digest(self) -> str:
        """sha256 of the captions, their classes and the images with theirs."""
        h = hashlib.sha256()
        h.update("\n".join(self.captions).encode())
        for tensor in (self.caption_class, self.images, self.image_class):
            t = tensor.contiguous().cpu()
            h.update(str((t.dtype, tuple(t.shape))).encode())
            h.update(t.numpy().tobytes())
        return h.hexdigest()


def token_ids(captions: Sequence[str], vocabulary: Sequence[str]) -> tuple[Tensor, Tensor]:
    """(ids N x L int64 padded with 0, lengths N int64) of ``captions``."""
    index = {word: i + 1 for i, word in enumerate(vocabulary)}
    seqs = [[index[w] for w in tokenize(c)] for c in captions]
    width = max(len(s) for s in seqs)
    ids = torch.zeros(len(seqs), width, dtype=torch.int64)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s)
    return ids, torch.tensor([len(s) for s in seqs])


def train_encoder_file(corpus: CaptionCorpus, recipe: EncoderRecipe) -> bytes:
    """Train the text (and image) encoder; the serialised text encoder's bytes.

    Each step draws ``batch_classes`` distinct classes present in the
    images, one image and one caption of each (numpy generator seeded by
    the recipe), and takes one Adam step on :func:`symmetric_hinge`.
    """
    vocabulary = corpus.vocabulary()
    ids, lengths = token_ids(corpus.captions, vocabulary)
    present = sorted(set(corpus.image_class.tolist()) & set(corpus.caption_class.tolist()))
    images_of = {c: torch.nonzero(corpus.image_class == c).squeeze(1) for c in present}
    captions_of = {c: torch.nonzero(corpus.caption_class == c).squeeze(1) for c in present}
    rng = np.random.default_rng(recipe.seed)
    b = min(recipe.batch_classes, len(present))
    with one_thread(), torch.random.fork_rng(devices=[]):
        torch.manual_seed(recipe.seed)
        text_net = CaptionEncoder(len(vocabulary), recipe)
        image_net = ImageEncoder(corpus.images.shape[1], recipe)
        params = [*text_net.parameters(), *image_net.parameters()]
        opt = torch.optim.Adam(params, lr=recipe.learning_rate)
        for _ in range(recipe.steps):
            classes = rng.choice(len(present), size=b, replace=False)
            img = [
                int(images_of[present[k]][rng.integers(len(images_of[present[k]]))])
                for k in classes
            ]
            cap = [
                int(captions_of[present[k]][rng.integers(len(captions_of[present[k]]))])
                for k in classes
            ]
            scores = image_net(corpus.images[img]) @ text_net(ids[cap], lengths[cap]).T
            loss = symmetric_hinge(scores, recipe.margin)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        with torch.no_grad():
            image_net.eval()
            text_net.eval()
            # Retrieval check for the record: each caption's best-scoring class
            # (by the mean image embedding of each present class) is its own.
            centroids = torch.stack(
                [image_net(corpus.images[images_of[c]]).mean(0) for c in present]
            )
            wanted = [i for i, c in enumerate(corpus.caption_class.tolist()) if c in images_of]
            emb = text_net(ids[wanted], lengths[wanted])
            best = torch.tensor(present)[(emb @ centroids.T).argmax(1)]
            top1 = float((best == corpus.caption_class[wanted]).double().mean())
    buffer = io.BytesIO()
    stats = {"final_loss": round(float(loss.detach()), 6), "caption_class_top1": round(top1, 6)}
    torch.save(
        {"state_dict": text_net.state_dict(), "vocabulary": vocabulary, "stats": stats}, buffer
    )
    return buffer.getvalue()


class TextEncoder:
    """A trained :class:`CaptionEncoder` with its vocabulary and identity."""

    def __init__(self, blob: bytes, recipe: EncoderRecipe, cache_key: str) -> None:
        payload = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
        self.vocabulary: list[str] = list(payload["vocabulary"])
        self.stats: dict[str, float] = dict(payload["stats"])
        self.recipe = recipe
        self.cache_key = cache_key
        self.sha256 = hashlib.sha256(blob).hexdigest()
        self.net = CaptionEncoder(len(self.vocabulary), recipe)
        self.net.load_state_dict(payload["state_dict"])
        self.net.eval()

    @torch.no_grad()
    def encode(self, captions: Sequence[str]) -> Tensor:
        """Embeddings N x embedding_dim float32 of ``captions`` (on one thread: fixed bits)."""
        ids, lengths = token_ids(captions, self.vocabulary)
        with one_thread():
            return self.net(ids, lengths).float().contiguous()

    def record(self) -> dict[str, Any]:
        """What identifies the encoder, for protocol records."""
        return {
            "name": "word-gru-joint-embedding",
            "sha256": self.sha256,
            "cache_key": self.cache_key,
            "recipe_version": ENCODER_RECIPE_VERSION,
            "recipe": asdict(self.recipe),
            **self.stats,
        }


def encoder_cache_key(corpus: CaptionCorpus, recipe: EncoderRecipe) -> str:
    """Names the encoder of ``corpus`` and ``recipe``."""
    blob = f"{corpus.digest()}|{ENCODER_RECIPE_VERSION}|{recipe}".encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def _write_atomically(path: Path, blob: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(blob)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_or_train_encoder(
    dataset: str, corpus: CaptionCorpus, recipe: EncoderRecipe | None = None
) -> TextEncoder:
    """The shipped encoder of ``corpus``, else the cached one, else a freshly trained one
    (then cached).

    A shipped file (``weights/`` beside this module: ``digits-captions``'s) makes
    the embeddings the same on every machine, since training on another CPU
    family may round differently; its name carries the cache key, so a
    changed corpus or recipe never picks it up.
    """
    recipe = recipe or EncoderRecipe()
    key = encoder_cache_key(corpus, recipe)
    name = f"{dataset}-{key}-1thread.pt"
    shipped = SHIPPED_WEIGHTS / name
    if shipped.is_file():
        return TextEncoder(shipped.read_bytes(), recipe, key)
    path = cache_dir() / "text-encoders" / name
    if path.exists():
        try:
            return TextEncoder(path.read_bytes(), recipe, key)
        except Exception as exc:  # a damaged cache file is rebuilt, not trusted
            log.warning("cached text encoder %s is unreadable (%s); retraining", path, exc)
    blob = train_encoder_file(corpus, recipe)
    _write_atomically(path, blob)
    return TextEncoder(blob, recipe, key)
