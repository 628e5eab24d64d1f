"""What the user asked a run to do, as saved in the run folder's ``config.json``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from ganbench.errors import CheckpointError

#: Files of a run folder: the request (written first) and the finished record.
CONFIG_FILE = "config.json"
RECORD_FILE = "record.json"


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
    skip_metrics: tuple[str, ...] = ()
    eval_samples: int | None = None
    inception_weights: str | None = None
    threads: int | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        data = asdict(self)
        data["tricks"] = list(self.tricks)
        data["metrics"] = None if self.metrics is None else list(self.metrics)
        data["skip_metrics"] = list(self.skip_metrics)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRequest:
        """Inverse of :meth:`to_json`."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["tricks"] = tuple(values.get("tricks") or ())
        values["skip_metrics"] = tuple(values.get("skip_metrics") or ())
        if values.get("metrics") is not None:
            values["metrics"] = tuple(values["metrics"])
        return cls(**values)


def read_run_config(run_dir: Path) -> tuple[str, RunRequest]:
    """(run id, request) saved in ``run_dir``; a clear error if unreadable."""
    data = read_run_config_data(run_dir)
    return str(data["run_id"]), RunRequest.from_json(data["request"])


def read_run_config_data(run_dir: Path) -> dict[str, Any]:
    """The whole ``config.json`` of ``run_dir`` (run id, request, budget extensions)."""
    path = run_dir / CONFIG_FILE
    try:
        data = json.loads(path.read_text())
        RunRequest.from_json(data["request"])
        str(data["run_id"])
        return data
    except FileNotFoundError:
        raise CheckpointError(f"{str(run_dir)!r} is not a run folder (no {CONFIG_FILE})") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"run config {str(path)!r} is corrupt ({exc})") from None
