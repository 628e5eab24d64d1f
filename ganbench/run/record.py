"""The run record and its protocol record (design.md, "The protocol record").

Every metric value carries the protocol it was measured under. Two values
are comparable only when their protocols agree on :data:`COMPARISON_FIELDS`;
:func:`comparison_key` hashes exactly those fields.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

#: Bumped whenever the eval protocol changes in a way that changes numbers.
#: 2: IS shuffles the fakes before splitting (torch-fidelity's convention).
EVAL_PROTOCOL_VERSION = 2

#: Protocol fields that decide whether two numbers may be ranked together.
#: Training settings (seed, steps, batch size, tricks) are deliberately not
#: here: they are what a leaderboard compares, shown as columns. Metric
#: parameters are recorded in ``metric_params`` but kept out of the key: the
#: set of metrics differs by task (only conditional models get a conditional
#: accuracy), and a metric run with non-default parameters is given another
#: name, so its column can never be ranked with the default one.
COMPARISON_FIELDS: tuple[str, ...] = (
    "eval_protocol_version",
    "dataset",
    "dataset_fingerprint",
    "reference_split",
    "n_real",
    "n_fake",
    "feature_extractor",
    "preprocessing",
)

RunStatus = Literal["completed", "diverged", "running"]
RunKind = Literal["model", "baseline", "real-data"]


def comparison_key(protocol: dict[str, Any]) -> str:
    """Short sha256 of the comparison-relevant protocol fields."""
    relevant = {name: protocol.get(name) for name in COMPARISON_FIELDS}
    blob = json.dumps(relevant, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@dataclass
class RunRecord:
    """Everything one run produced, as stored and printed with ``--json``.

    Attributes:
        run_id: unique id, also the run folder's name.
        kind: ``"model"`` for a trained (or untrained, ``steps=0``) model,
            ``"baseline"`` for a model that does not train (``ModelSpec.trains``
            False: bicubic upsampling), ``"real-data"`` for the train split
            scored against the test split.
        status: ``"completed"``, ``"diverged"`` (a loss became NaN or
            infinite; ``diverged_at_step`` says when) or ``"running"``.
        model: model name (``"real-data"`` for reference rows).
        dataset, task: what was trained on, and the task kind.
        tricks: ``[{"name": ..., "params": {...}}]`` in the order applied.
        model_params: the model's parameters (defaults filled in).
        seed, steps, steps_done, batch_size: the training budget and progress.
        selected_step: the checkpoint chosen on the validation split.
        metrics: metric name (with ``[feature space]``) -> value on the test split.
        directions: metric name -> ``"lower"``, ``"higher"`` or ``"info"``.
        primary_metric: the metric that ranks this run's leaderboard.
        protocol: the protocol record (see module docstring).
        comparison_key: :func:`comparison_key` of ``protocol``.
        wall_time_s: seconds from start to record, over all resumed sessions.
        created_at: ISO-8601 UTC time the record was written.
        run_dir: the run folder, or None for rows without one.
        cell_key: the ``ganbench sweep`` cell this run fills (a short sha256 of
            its request, :func:`ganbench.sweep.cells.cell_key`), or None for a
            run started on its own; the store indexes it so a later sweep
            skips the cell.
    """

    run_id: str
    kind: RunKind
    status: RunStatus
    model: str
    dataset: str
    task: str
    tricks: list[dict[str, Any]] = field(default_factory=list)
    model_params: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    steps: int = 0
    steps_done: int = 0
    batch_size: int = 0
    selected_step: int | None = None
    diverged_at_step: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    directions: dict[str, str] = field(default_factory=dict)
    primary_metric: str | None = None
    protocol: dict[str, Any] = field(default_factory=dict)
    comparison_key: str = ""
    wall_time_s: float = 0.0
    created_at: str = ""
    run_dir: str | None = None
    cell_key: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        """Inverse of :meth:`to_dict`; unknown keys are ignored."""
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)

    def model_label(self) -> str:
        """The model with its parameters, e.g. ``"pacgan(body=auto,packing=3)"``.

        Parameters tell leaderboard rows apart: packing 2 and packing 4 are two entries.
        """
        return model_label(self.model, self.model_params)

    def tricks_label(self) -> str:
        """Human label of the trick set, e.g. ``"label-smoothing(value=0.9)"``."""
        if not self.tricks:
            return "-"
        parts = []
        for trick in self.tricks:
            params = ",".join(f"{k}={v}" for k, v in sorted(trick.get("params", {}).items()))
            parts.append(f"{trick['name']}({params})" if params else trick["name"])
        return " + ".join(parts)


def model_label(model: str, params: Mapping[str, Any]) -> str:
    """A model's leaderboard label: ``"pacgan(body=auto,packing=3)"``, or the bare name."""
    if not params:
        return model
    listed = ",".join(f"{key}={value}" for key, value in sorted(params.items()))
    return f"{model}({listed})"
