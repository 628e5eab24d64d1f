"""One run, end to end: prepare, train, select, evaluate, record, store.

The run folder (``runs/<run_id>/``) holds ``config.json``, ``checkpoints/``
(``last.pt`` and ``best.pt``), ``record.json``, ``samples.png`` and
``curves.csv``/``curves.png``. A killed run resumes from ``last.pt`` with
``ganbench run --resume RUN`` and ends with the numbers an uninterrupted run
would have reached. The store gets the run in one transaction at the end.
"""

from __future__ import annotations

import secrets
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ganbench.errors import GanbenchError
from ganbench.eval.metrics_runner import MetricResults
from ganbench.eval.protocol import (
    REFERENCE_SPLIT,
    EvalSettings,
    Evaluation,
    cached_reference,
    evaluate_model,
    evaluate_real_data,
    make_validator,
    primary_metric_name,
    primary_metric_spec,
    protocol_record,
)
from ganbench.eval.record import RunRecord, comparison_key
from ganbench.preparation import PreparedRun, prepare_run
from ganbench.progress import TrainingProgress
from ganbench.provenance import versions
from ganbench.registry import Registry
from ganbench.results.atomic import atomic_write_json
from ganbench.results.store import ResultsStore
from ganbench.run_request import CONFIG_FILE, RunRequest, read_run_config
from ganbench.train.loop import Trainer, TrainSettings, load_selected_generator
from ganbench.train.trick_chain import TrickChain

RECORD_FILE = "record.json"
SAMPLES_FILE = "samples.png"
GRID_SAMPLES = 64
#: Validation uses at most this many generated samples per checkpoint.
MAX_VALIDATION_SAMPLES = 5000


@dataclass(frozen=True)
class RunPlaces:
    """Where runs and results go."""

    runs_dir: Path
    store_path: Path


def new_run_id(request: RunRequest) -> str:
    """``<model>-<dataset>-s<seed>-<UTC time>-<random>``: sortable and unique."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{request.model}-{request.dataset}-s{request.seed}-{stamp}-{secrets.token_hex(2)}"


def find_run_dir(run: str, runs_dir: Path) -> Path:
    """A run folder from a path or a run id under ``runs_dir``."""
    for candidate in (Path(run), runs_dir / run):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    raise GanbenchError(
        f"no run {run!r}: neither {run!r} nor {str(runs_dir / run)!r} holds a {CONFIG_FILE}"
    )


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _training_fields(prep: PreparedRun, d_steps: int) -> dict[str, Any]:
    return {
        "model": prep.model_spec.name,
        "model_config_hash": prep.model_config_hash(),
        "seed": prep.request.seed,
        "steps": prep.steps,
        "batch_size": prep.batch_size,
        "d_steps_per_g_step": d_steps,
        "tricks": prep.trick_records,
        "device": prep.device.type,
    }


def _save_samples(prep: PreparedRun, evaluation: Evaluation, path: Path) -> None:
    # Imported here: torchvision.utils and matplotlib add over a second to every
    # command's start-up, and only a finished run draws.
    from ganbench.report.plots import save_sample_grid

    if prep.dataset.info.kind == "image":
        save_sample_grid(evaluation.fake[:GRID_SAMPLES], path)
    else:
        save_sample_grid(evaluation.fake, path, reference=prep.dataset.splits["test"].x)


def _ensure_real_data_row(
    prep: PreparedRun, store: ResultsStore, key: str, reference: dict[str, Any]
) -> None:
    """Store the dataset's real-data row for this protocol and task kind, once.

    One row per task kind, because leaderboards are per (task, dataset): the
    class-conditional table of digits needs its scale as much as the
    unconditional one. ``reference`` holds the test split's cached statistics.
    """
    task = prep.model_spec.task.value
    run_id = f"real-data-{task}-{prep.dataset.info.name}-{key}"
    if store.get(run_id) is not None:
        return
    start = time.perf_counter()
    settings = EvalSettings(n_fake=prep.n_fake, seed=0, metrics=prep.request.metrics)
    evaluation = evaluate_real_data(
        prep.dataset, prep.extractor, prep.metric_specs, settings, reference_cache=reference
    )
    protocol = protocol_record(
        prep.dataset,
        prep.extractor,
        evaluation.results,
        prep.n_fake,
        selection=None,
        training={
            "model": "real-data",
            "seed": 0,
            "steps": 0,
            "batch_size": 0,
            "tricks": [],
            "device": prep.device.type,
        },
        provenance=versions(),
    )
    protocol["wall_time_s"] = round(time.perf_counter() - start, 3)
    record = RunRecord(
        run_id=run_id,
        kind="real-data",
        status="completed",
        model="real-data",
        dataset=prep.dataset.info.name,
        task=task,
        metrics=evaluation.results.values,
        directions=evaluation.results.directions,
        primary_metric=primary_metric_name(
            prep.metric_specs, prep.dataset_spec.primary_metric, prep.extractor
        ),
        protocol=protocol,
        comparison_key=comparison_key(protocol),
        wall_time_s=protocol["wall_time_s"],
        created_at=_now(),
    )
    if record.comparison_key == key:
        store.add(record)


@dataclass
class TrainingPlan:
    """A trainer set up exactly as ``ganbench run`` sets it up, and its selection rule."""

    trainer: Trainer
    selection: dict[str, Any] | None
    primary_name: str | None


def plan_training(
    prep: PreparedRun,
    checkpoint_dir: Path,
    progress: TrainingProgress,
    steps: int | None = None,
) -> TrainingPlan:
    """The standard train protocol for ``prep`` (``steps`` overrides the budget).

    Checkpoints are selected on the validation split by the dataset's primary
    metric; ``benchmarks/train_overhead.py`` times this very trainer.
    """
    request = prep.request
    primary = prep.dataset_spec.primary_metric
    primary_name = primary_metric_name(prep.metric_specs, primary, prep.extractor)
    lower_is_better = True
    if primary_name is not None:
        spec = primary_metric_spec(prep.metric_specs, primary)
        lower_is_better = spec is None or spec.outputs[primary] != "higher"
    n_val = min(prep.n_fake, MAX_VALIDATION_SAMPLES)
    validator = make_validator(
        prep.dataset,
        prep.extractor,
        prep.metric_specs,
        primary,
        n_fake=n_val,
        seed=request.seed,
        device=prep.device,
    )
    settings = TrainSettings(
        steps=prep.steps if steps is None else steps,
        batch_size=prep.batch_size,
        seed=request.seed,
        d_steps=request.d_steps,
        checkpoint_every=prep.checkpoint_every,
        select_lower_is_better=lower_is_better,
    )
    trainer = Trainer(
        prep.model,
        prep.dataset.splits["train"].to(prep.device),
        TrickChain(prep.tricks),
        settings,
        prep.device,
        checkpoint_dir,
        paired=prep.dataset.info.paired,
        validator=validator,
        progress=progress,
    )
    selection = None
    if validator is not None:
        selection = {
            "split": "val",
            "metric": primary_name,
            "every": prep.checkpoint_every,
            "n_fake": n_val,
        }
    return TrainingPlan(trainer, selection, primary_name)


def _write_run_files(
    prep: PreparedRun, record: RunRecord, evaluation: Evaluation | None, curves: list, run_dir: Path
) -> None:
    """Sample grid, training curves and the record, next to the checkpoints."""
    if evaluation is not None:
        _save_samples(prep, evaluation, run_dir / SAMPLES_FILE)
    if curves:
        val_name = "val_" + (record.primary_metric or "metric")
        rows = [
            {(val_name if k == "val_metric" else k): v for k, v in row.items()} for row in curves
        ]
        from ganbench.report.plots import save_training_curves

        save_training_curves(rows, run_dir / "curves.csv", run_dir / "curves.png")
    atomic_write_json(run_dir / RECORD_FILE, record.to_dict())


def _complete_run(
    prep: PreparedRun, run_id: str, run_dir: Path, places: RunPlaces, quiet: bool, resume: bool
) -> RunRecord:
    """Train, select, evaluate, record and store one prepared run."""
    request = prep.request
    checkpoint_dir = run_dir / "checkpoints"
    description = f"{request.model} on {request.dataset}"
    progress = TrainingProgress(prep.steps, description, quiet=quiet)
    plan = plan_training(prep, checkpoint_dir, progress)
    with progress:
        outcome = plan.trainer.run(resume=resume)
    selection, primary_name = plan.selection, plan.primary_name

    eval_start = time.perf_counter()
    selected: int | None = None
    evaluation: Evaluation | None = None
    results = MetricResults()
    reference: dict[str, Any] = {}
    if outcome.status == "completed":
        reference = cached_reference(prep.dataset, REFERENCE_SPLIT, prep.extractor)
        selected = load_selected_generator(prep.model, checkpoint_dir)
        evaluation = evaluate_model(
            prep.model,
            prep.dataset,
            prep.extractor,
            prep.metric_specs,
            EvalSettings(n_fake=prep.n_fake, seed=request.seed, metrics=request.metrics),
            prep.device,
            reference_cache=reference,
        )
        results = evaluation.results
    wall_time = round(outcome.wall_time_s + (time.perf_counter() - eval_start), 3)

    protocol = protocol_record(
        prep.dataset,
        prep.extractor,
        results,
        prep.n_fake,
        selection=selection,
        training=_training_fields(prep, outcome.d_steps),
        provenance=versions(),
    )
    protocol["wall_time_s"] = wall_time
    record = RunRecord(
        run_id=run_id,
        kind="model",
        status=outcome.status,  # type: ignore[arg-type]
        model=prep.model_spec.name,
        dataset=prep.dataset.info.name,
        task=prep.model_spec.task.value,
        tricks=prep.trick_records,
        seed=request.seed,
        steps=prep.steps,
        steps_done=outcome.steps_done,
        batch_size=prep.batch_size,
        selected_step=selected,
        diverged_at_step=outcome.diverged_at_step,
        metrics=results.values,
        directions=results.directions,
        primary_metric=primary_name,
        protocol=protocol,
        comparison_key=comparison_key(protocol),
        wall_time_s=wall_time,
        created_at=_now(),
        run_dir=str(run_dir),
    )
    _write_run_files(prep, record, evaluation, outcome.curves, run_dir)
    store = ResultsStore(places.store_path)
    store.add(record)
    if outcome.status == "completed":
        _ensure_real_data_row(prep, store, record.comparison_key, reference)
    return record


def execute_run(
    registry: Registry,
    request: RunRequest,
    places: RunPlaces,
    *,
    quiet: bool = False,
    resume_dir: Path | None = None,
) -> RunRecord:
    """Run ``request`` (or resume the run in ``resume_dir``) and return its record.

    Bad input raises before anything is written. A plugin that breaks its
    contract mid-run (a metric returning garbage, a NaN-free shape error)
    removes the new run's folder, so nothing half-written remains; a killed
    or interrupted run keeps its folder so that it can be resumed.
    """
    prep = prepare_run(request, registry)  # raises before anything is written
    if resume_dir is not None:
        run_id, _ = read_run_config(resume_dir)
        return _complete_run(prep, run_id, resume_dir, places, quiet, resume=True)
    run_id = new_run_id(request)
    run_dir = places.runs_dir / run_id
    run_dir.mkdir(parents=True, exist_ok=False)
    atomic_write_json(run_dir / CONFIG_FILE, {"run_id": run_id, "request": request.to_json()})
    try:
        return _complete_run(prep, run_id, run_dir, places, quiet, resume=False)
    except GanbenchError:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
