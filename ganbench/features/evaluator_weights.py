"""Evaluator weights shipped with ganbench, so a built-in dataset's ruler is the same everywhere.

The domain evaluator (:mod:`ganbench.features.evaluator`) is trained
deterministically for a given device and CPU, but floating-point training is
not bitwise-identical across CPU families (different vector kernels round
differently), and its weights' sha256 is part of every run's comparison key.
For the built-in ``digits`` dataset (and ``stacked-digits``, which applies the
digits evaluator per channel) ganbench therefore ships the file itself:
``weights/digits-evaluator.pt`` in this package, checked against
:data:`DIGITS_EVALUATOR_SHA256` before it is used. Other datasets are trained
and cached as before.

The file holds exactly the bytes :func:`ganbench.features.evaluator.evaluator_file_bytes`
produces for ``digits`` with the default :class:`~ganbench.features.evaluator.EvaluatorRecipe`
on the CPU (training always runs on one thread), so its sha256 is the one the
published leaderboards carry. It is produced by::

    python -m ganbench.features.evaluator_weights           # (re)write the file
    python -m ganbench.features.evaluator_weights --check   # retrain, compare, write nothing

Regenerate it only when the recipe, :data:`~ganbench.features.evaluator.EVALUATOR_RECIPE_VERSION`
or the digits data change (the cache key then changes too), then update
:data:`DIGITS_EVALUATOR_CACHE_KEY` and :data:`DIGITS_EVALUATOR_SHA256`: a new
sha256 is a new feature space, and published rows measured in the old one no
longer share a comparison key with new runs.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

from ganbench.errors import GanbenchError

#: Folder of the shipped files (package data, see ``pyproject.toml``).
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"

DIGITS_EVALUATOR_FILENAME = "digits-evaluator.pt"
#: The evaluator cache key (data fingerprint, recipe version, recipe) the file was trained for.
DIGITS_EVALUATOR_CACHE_KEY = "4f2b235c261b08125cfc"
#: sha256 of the shipped file's bytes: the ``weights_sha256`` of the ``digits-evaluator`` space.
DIGITS_EVALUATOR_SHA256 = "698138480a2a31e329eb09890588e7f886fee7cc50f6cab08af9a2bcbcd58582"


class ShippedWeightsError(GanbenchError):
    """A weights file shipped with ganbench is missing or not the file it should be."""


@dataclass(frozen=True)
class ShippedEvaluator:
    """One shipped evaluator file and what identifies it."""

    dataset: str
    cache_key: str
    filename: str
    sha256: str

    @property
    def path(self) -> Path:
        """Where the file is, looked up when asked (so tests can move :data:`WEIGHTS_DIR`)."""
        return WEIGHTS_DIR / self.filename


DIGITS_EVALUATOR = ShippedEvaluator(
    dataset="digits",
    cache_key=DIGITS_EVALUATOR_CACHE_KEY,
    filename=DIGITS_EVALUATOR_FILENAME,
    sha256=DIGITS_EVALUATOR_SHA256,
)

#: Shipped evaluators by cache key: a dataset whose key is not here is trained and cached.
SHIPPED_EVALUATORS: dict[str, ShippedEvaluator] = {DIGITS_EVALUATOR.cache_key: DIGITS_EVALUATOR}


def shipped_evaluator(cache_key: str) -> ShippedEvaluator | None:
    """The shipped evaluator trained for ``cache_key``, or None if none is shipped."""
    return SHIPPED_EVALUATORS.get(cache_key)


def read_shipped(entry: ShippedEvaluator) -> bytes:
    """The bytes of ``entry``'s file, after checking their sha256.

    Raises:
        ShippedWeightsError: the file is missing or its sha256 differs. Both
            mean a broken installation; retraining instead would silently
            give this machine another feature space than everyone else's.
    """
    path = entry.path
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise ShippedWeightsError(
            f"the {entry.dataset} evaluator weights shipped with ganbench cannot be read "
            f"({path}: {exc.strerror or exc}); reinstall ganbench"
        ) from exc
    found = hashlib.sha256(blob).hexdigest()
    if found != entry.sha256:
        raise ShippedWeightsError(
            f"the {entry.dataset} evaluator weights shipped with ganbench ({path}) have sha256 "
            f"{found[:12]}, not {entry.sha256[:12]}; the file is damaged or was replaced: "
            "reinstall ganbench"
        )
    return blob


def build_digits_evaluator_file() -> tuple[str, bytes]:
    """Train the digits evaluator as shipped: (its cache key, the file's bytes).

    Loads ``digits`` as a run does (native 8 x 8) and trains it with the
    default recipe on the CPU; takes about ten seconds.
    """
    import torch

    from ganbench.data.types import DatasetOptions
    from ganbench.features.evaluator import EvaluatorRecipe, cache_key, evaluator_file_bytes
    from ganbench.registry import load_registry

    # Through the registry, as a run loads it: the core imports no plugin module.
    dataset = load_registry().dataset("digits").load(DatasetOptions())
    recipe = EvaluatorRecipe()
    return cache_key(dataset, recipe), evaluator_file_bytes(dataset, recipe, torch.device("cpu"))


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check``, only verify) the shipped digits evaluator file."""
    parser = argparse.ArgumentParser(
        prog="python -m ganbench.features.evaluator_weights",
        description="Train the digits evaluator and write the file ganbench ships.",
    )
    parser.add_argument(
        "--check", action="store_true", help="compare with the shipped file, write nothing"
    )
    args = parser.parse_args(argv)
    key, blob = build_digits_evaluator_file()
    sha = hashlib.sha256(blob).hexdigest()
    print(f"cache key {key}\nsha256 {sha}\nsize {len(blob)} bytes")
    same = key == DIGITS_EVALUATOR_CACHE_KEY and sha == DIGITS_EVALUATOR_SHA256
    if args.check:
        print("matches the shipped constants" if same else "DIFFERS from the shipped constants")
        return 0 if same else 1
    DIGITS_EVALUATOR.path.parent.mkdir(parents=True, exist_ok=True)
    DIGITS_EVALUATOR.path.write_bytes(blob)
    print(f"wrote {DIGITS_EVALUATOR.path}")
    if not same:
        print(
            "update DIGITS_EVALUATOR_CACHE_KEY and DIGITS_EVALUATOR_SHA256 in "
            "ganbench/features/evaluator_weights.py to the values above",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
