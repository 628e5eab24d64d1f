"""What ``ganbench run --resume RUN`` continues with: the saved request, and which flags may change it.

A resumed run must end with the numbers the uninterrupted run would have
reached, so every flag that shapes training or evaluation must either match
the saved request or be refused (one line, exit 2), never silently dropped.
Three exceptions, each deliberate:

- ``--steps`` larger than the saved budget extends the run; the checkpoint
  interval stays the original one, and the record says the budget was
  extended (``steps_extended_from``), because step-dependent schedules (an
  annealed trick, a learning-rate decay) saw the smaller budget until then.
- ``--data-dir`` and ``--inception-weights`` are where files live, which may
  differ between machines; their content is checked by the dataset
  fingerprint and the weights hash in the protocol record.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ganbench.errors import GanbenchError
from ganbench.run.request import RunRequest

#: Request fields that name where files are, not what is computed.
RELOCATABLE_FIELDS: frozenset[str] = frozenset({"data_dir", "inception_weights"})

#: Flag spelling of each request field, for error messages.
_FLAG_NAMES = {
    "model": "--plugin",
    "tricks": "--trick",
    "metrics": "--metric",
    "skip_metrics": "--skip-metric",
}


def flag_name(field_name: str) -> str:
    """``batch_size`` -> ``--batch-size``; ``model`` -> ``--plugin``."""
    return _FLAG_NAMES.get(field_name, "--" + field_name.replace("_", "-"))


def resolved_checkpoint_every(steps: int, checkpoint_every: int | None) -> int:
    """The interval a run uses: the flag's, else a tenth of the budget."""
    return checkpoint_every or max(1, steps // 10)


def resumed_request(
    saved: RunRequest, given: dict[str, Any], run_dir: Path, default_steps: int
) -> RunRequest:
    """The request a resume runs: ``saved`` with the flags in ``given`` that may change it.

    ``given`` holds the request fields set on the command line (by field
    name); ``default_steps`` is the dataset's budget, used when the saved
    request left ``steps`` unset.

    Raises:
        GanbenchError: a flag differs from the saved run's value (listing each
            one with both values), or ``--steps`` asks for fewer steps.
    """
    saved_steps = default_steps if saved.steps is None else saved.steps
    changes: dict[str, Any] = {}
    conflicts: list[str] = []
    for name, value in given.items():
        current = getattr(saved, name)
        if name == "steps":
            if value > saved_steps:
                changes["steps"] = value
                changes["checkpoint_every"] = resolved_checkpoint_every(
                    saved_steps, saved.checkpoint_every
                )
            elif value < saved_steps:
                conflicts.append(f"--steps {value} is below its budget of {saved_steps}")
            continue
        if value == current:
            continue
        if name in RELOCATABLE_FIELDS:
            changes[name] = value
            continue
        conflicts.append(f"{flag_name(name)} {_shown(value)} (it ran with {_shown(current)})")
    if conflicts:
        raise GanbenchError(
            f"cannot resume {str(run_dir)!r} with other settings: {'; '.join(conflicts)}; "
            "a resume continues the saved run as it was (only a larger --steps, --data-dir "
            "and --inception-weights may change); start a new run for other settings"
        )
    return dataclasses.replace(saved, **changes)


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(value) if value else "none"
    return "unset" if value is None else str(value)
