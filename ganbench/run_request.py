"""What the user asked a run to do, as saved in the run folder's ``config.json``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from ganbench.errors import CheckpointError

CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class RunRequest:
    """A run's settings before defaults are filled in (None: the dataset's default).

    Attributes mirror ``ganbench run`` flags; see ``ganbench run --help``.
    """

    model: str
    dataset: str = "digits"
    tricks: tuple[str, ...] = ()
    steps: int | None = None
    batch_size: int | None = None
    d_steps: int | None = None
    seed: int = 0
    device: str = "auto"
    image_size: int | None = None
    data_dir: str | None = None
    download: bool = False
    data_path: str | None = None
    checkpoint_every: int | None = None
    feature_extractor: str | None = None
    metrics: tuple[str, ...] | None = None
    eval_samples: int | None = None
    inception_weights: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        data = asdict(self)
        data["tricks"] = list(self.tricks)
        data["metrics"] = None if self.metrics is None else list(self.metrics)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRequest:
        """Inverse of :meth:`to_json`."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["tricks"] = tuple(values.get("tricks") or ())
        if values.get("metrics") is not None:
            values["metrics"] = tuple(values["metrics"])
        return cls(**values)


def read_run_config(run_dir: Path) -> tuple[str, RunRequest]:
    """(run id, request) saved in ``run_dir``; a clear error if unreadable."""
    path = run_dir / CONFIG_FILE
    try:
        data = json.loads(path.read_text())
        return str(data["run_id"]), RunRequest.from_json(data["request"])
    except FileNotFoundError:
        raise CheckpointError(f"{str(run_dir)!r} is not a run folder (no {CONFIG_FILE})") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"run config {str(path)!r} is corrupt ({exc})") from None
