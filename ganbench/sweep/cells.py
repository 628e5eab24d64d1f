"""A sweep's cells: one ``ganbench run`` request each, keyed by what defines the run.

A cell's key is the first 16 hex digits of the sha256 of the request's
canonical JSON (:func:`cell_key`): the model and its parameters (defaults
filled in, so ``pacgan`` and ``pacgan:2`` are one cell), the dataset, the
tricks and their parameters in order, seed, steps and batch size (the
dataset's defaults written out), D steps, checkpoint interval, evaluation
samples, metrics asked for and skipped, feature space, device (``auto``
resolved), thread count, image size and the data path of a folder dataset.
Where files live (``data_dir``, ``inception_weights``) and ``download`` are
left out, as ``ganbench run --resume`` lets them change: the dataset's
fingerprint and the weights' hash in the protocol record check their content.
The run record and the results store keep the key (``cell_key``, the
``sweep_cells`` table), so any later sweep with the same cell skips it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ganbench.model_build import parse_model, parse_trick
from ganbench.run.request import RunRequest
from ganbench.run.resume import resolved_checkpoint_every
from ganbench.sweep.spec_file import SweepFile, SweepRow

#: Bumped if the key's fields change, so that old keys never match new cells by accident.
CELL_KEY_VERSION = 1


@dataclass(frozen=True)
class Cell:
    """One run of a sweep.

    Attributes:
        key: :func:`cell_key` of ``request``.
        request: the ``ganbench run`` request (steps and batch size written out).
        row: the sweep row it comes from.
        untrained: whether it is the row's added untrained (0-step) run.
    """

    key: str
    request: RunRequest
    row: SweepRow
    untrained: bool = False

    @property
    def label(self) -> str:
        """``pacgan:3 on ring8 + ema, seed 1, 2000 steps, batch 100``."""
        r = self.request
        tricks = f" + {'+'.join(r.tricks)}" if r.tricks else ""
        return f"{r.model} on {r.dataset}{tricks}, seed {r.seed}, {r.steps} steps, batch {r.batch_size}"


def canonical_request(request: RunRequest, registry: Any) -> dict[str, Any]:
    """The fields of ``request`` that define the run, resolved as ``ganbench run`` resolves them."""
    model_spec, model_params = parse_model(request.model, registry)
    dataset_spec = registry.dataset(request.dataset)
    steps = dataset_spec.default_steps if request.steps is None else request.steps
    if not model_spec.trains:
        steps = 0
    tricks = []
    for text in request.tricks:
        spec, params = parse_trick(text, registry)
        tricks.append({"name": spec.name, "params": params})
    return {
        "cell_key_version": CELL_KEY_VERSION,
        "model": model_spec.name,
        "model_params": model_params,
        "dataset": dataset_spec.name,
        "tricks": tricks,
        "seed": request.seed,
        "steps": steps,
        "batch_size": request.batch_size or dataset_spec.default_batch_size,
        "d_steps": request.d_steps,
        "checkpoint_every": resolved_checkpoint_every(steps, request.checkpoint_every),
        "eval_samples": request.eval_samples,
        "metrics": None if request.metrics is None else list(request.metrics),
        "skip_metrics": sorted(request.skip_metrics),
        "feature_extractor": request.feature_extractor,
        "device": resolved_device_name(request.device),
        "threads": request.threads,
        "image_size": request.image_size,
        "data_path": request.data_path,
    }


def cell_key(request: RunRequest, registry: Any) -> str:
    """Short sha256 of :func:`canonical_request`: the cell's name in the store."""
    blob = json.dumps(canonical_request(request, registry), sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def resolved_device_name(device: str) -> str:
    """``auto`` -> ``cuda`` when present, else ``cpu``: a cell's numbers depend on which."""
    if device != "auto":
        return device
    import torch  # only here: a sweep file is read before torch is needed

    return "cuda" if torch.cuda.is_available() else "cpu"


def sweep_cells(sweep: SweepFile, registry: Any) -> list[Cell]:
    """Every cell of ``sweep``, in file order, each once.

    A row trains on each of its seeds; with ``untrained``, its 0-step run on
    seed 0 (at the row's batch size) follows. A row of 0 steps, a fixed
    baseline or an untrained row, is one run, on seed 0, as in
    ``leaderboards/rebuild.sh``.
    """
    cells: dict[str, Cell] = {}
    for row in sweep.rows:
        base = _row_request(row, sweep.options, registry)
        runs: list[tuple[RunRequest, bool]] = []
        if base.steps == 0:
            runs.append((replace(base, seed=0), False))
        else:
            runs += [(replace(base, seed=seed), False) for seed in row.seeds]
            if sweep.untrained:
                runs.append((replace(base, seed=0, steps=0), True))
        for request, untrained in runs:
            key = cell_key(request, registry)
            cells.setdefault(key, Cell(key, request, row, untrained))
    return list(cells.values())


def _row_request(row: SweepRow, options: Mapping[str, Any], registry: Any) -> RunRequest:
    """The row's request with its budget written out (the dataset's defaults filled in)."""
    model_spec, _ = parse_model(row.model, registry)
    dataset_spec = registry.dataset(row.dataset)
    steps = dataset_spec.default_steps if row.steps is None else row.steps
    if not model_spec.trains:
        steps = 0
    values = dict(options)
    values["device"] = resolved_device_name(values.get("device", "auto"))
    return RunRequest(
        model=row.model,
        dataset=row.dataset,
        tricks=row.tricks,
        steps=steps,
        batch_size=row.batch_size or dataset_spec.default_batch_size,
        **values,
    )
