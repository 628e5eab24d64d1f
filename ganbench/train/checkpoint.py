"""Checkpoints: atomic writes, safe reads (``weights_only``), clear errors."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from ganbench.errors import CheckpointError
from ganbench.results.atomic import atomic_write_bytes

CHECKPOINT_FORMAT = 1


def save_checkpoint(path: Path, payload: dict[str, Any]) -> None:
    """Write ``payload`` atomically: a killed process leaves the old file or the new one."""
    buffer = io.BytesIO()
    torch.save({"format": CHECKPOINT_FORMAT, **payload}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint without executing code from it.

    Raises :class:`CheckpointError` (one line, exit 2) for a missing,
    truncated or foreign file.
    """
    if not path.is_file():
        raise CheckpointError(f"checkpoint {str(path)!r} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"checkpoint {str(path)!r} is corrupt or not a ganbench checkpoint ({first_line})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"checkpoint {str(path)!r} is not a ganbench checkpoint of format {CHECKPOINT_FORMAT}"
        )
    return payload


def rng_state(device: torch.device) -> dict[str, Any]:
    """The global RNG states a resumed run needs to continue identically."""
    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng_state(state: dict[str, Any], device: torch.device) -> None:
    """Inverse of :func:`rng_state`."""
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)
