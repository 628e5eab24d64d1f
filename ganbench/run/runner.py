"""One run, end to end: prepare, train, select, evaluate, record, store.

The run folder (``runs/<run_id>/``) holds ``config.json``, ``checkpoints/``
(``last.pt`` and ``best.pt``), ``record.json``, ``samples.png`` and
``curves.csv``/``curves.png``. A killed run resumes from ``last.pt`` with
``ganbench run --resume RUN`` and ends with the numbers an uninterrupted run
would have reached. The store gets the run in one transaction at the end.

:func:`execute_run_unstored` runs the same protocol without writing the
store: it returns the records for someone else to store (``ganbench
sweep``'s workers hand them to the one process that writes the store).
"""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import torch
from threadpoolctl import threadpool_limits

from ganbench.errors import GanbenchError
from ganbench.eval.metrics_runner import MetricResults
from ganbench.eval.protocol import (
    REFERENCE_SPLIT,
    Evaluation,
    cached_reference,
    evaluate_model,
    evaluate_real_data,
    make_validator,
    primary_metric_name,
    primary_metric_spec,
    protocol_record,
)
from ganbench.eval.sample_counts import validation_fakes
from ganbench.progress import EvaluationProgress, TrainingProgress
from ganbench.provenance import versions
from ganbench.registry import Registry
from ganbench.results.atomic import atomic_write_json
from ganbench.results.store import ResultsStore, StoreUnavailableError, read_only_get
from ganbench.results.writable import (
    check_cache_writable,
    check_results_store,
    check_writable_folder,
)
from ganbench.run.preparation import PreparedRun, prepare_run
from ganbench.run.record import RunRecord, comparison_key
from ganbench.run.request import (
    CONFIG_FILE,
    RECORD_FILE,
    RunRequest,
    read_run_config,
    read_run_config_data,
)
from ganbench.tasks import TaskKind
from ganbench.train.loop import Trainer, TrainOutcome, TrainSettings, load_selected_generator

SAMPLES_FILE = "samples.png"
GRID_SAMPLES = 64


@dataclass(frozen=True)
class RunPlaces:
    """Where runs and results go."""

    runs_dir: Path
    store_path: Path


def new_run_id(request: RunRequest) -> str:
    """``<model>-<dataset>-s<seed>-<UTC time>-<random>``: sortable and unique."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    model = request.model.partition(":")[0]  # parameters stay in config.json
    return f"{model}-{request.dataset}-s{request.seed}-{stamp}-{secrets.token_hex(2)}"


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


def _training_fields(prep: PreparedRun, outcome: TrainOutcome) -> dict[str, Any]:
    prior = prep.model.latent_prior
    return {
        "model": prep.model_spec.name,
        "model_params": prep.model_params,
        "model_config_hash": prep.model_config_hash(),
        "loss": prep.model.loss_name,
        "model_facts": dict(prep.model.protocol_facts()),
        "latent_prior": None if prior is None else prior.describe(),
        "seed": prep.request.seed,
        "steps": prep.steps,
        "batch_size": prep.batch_size,
        "d_steps_schedule": outcome.schedule.describe(),
        "d_steps_total": outcome.d_steps_total,
        # The standard D update's batches: real and fake in separate passes
        # unless a trick mixes them (``mixed-batches``).
        "d_batches": outcome.d_batches,
        "stopped_early": outcome.stopped_early,
        "tricks": prep.trick_records,
        "made_by": prep.made_by,
        "device": prep.device.type,
    }


def _run_title(record: RunRecord) -> str:
    """``dcgan on digits, seed 0``: what a run's figures are of."""
    return f"{record.model} on {record.dataset}, seed {record.seed}"


def _samples_title(record: RunRecord) -> str:
    """The run, and which checkpoint generated the samples."""
    if record.selected_step is not None:
        step = f"step {record.selected_step} of {record.steps_done} (selected on val)"
    else:
        step = f"step {record.steps_done}"
    return f"{_run_title(record)}, {step}"


def _save_samples(
    prep: PreparedRun, evaluation: Evaluation, path: Path, title: str, selected: int | None
) -> None:
    # Imported here: matplotlib adds over a second to every command's start-up,
    # and only a finished run draws.
    from ganbench.report.plots import save_sample_grid
    from ganbench.report.task_grids import task_grid

    labels = evaluation.conditions.y
    draw_task = task_grid(prep.model_spec.task, prep.dataset)
    if draw_task is not None:
        # Input | output (| target) rows, drawn with the weights evaluation used:
        # best.pt when one was selected, else the tricks' (an EMA of G).
        live = prep.tricks.evaluated(prep.model) if selected is None else nullcontext()
        with live:
            draw_task(prep.model, prep.dataset, prep.device, path, title, prep.request.seed)
    elif prep.dataset.info.kind != "image":
        save_sample_grid(
            evaluation.fake, path, reference=prep.dataset.splits["test"].x, title=title
        )
    elif prep.model_spec.task == TaskKind.CLASS_CONDITIONAL and labels is not None:
        # One row per requested class: the conditioning can be checked by eye.
        save_sample_grid(evaluation.fake, path, title=title, labels=labels)
    else:
        save_sample_grid(evaluation.fake[:GRID_SAMPLES], path, title=title)


class RecordSink(Protocol):
    """Where a run's records go: the results store, or a collector for someone else to store."""

    def get(self, run_id: str) -> RunRecord | None:
        """The stored record of ``run_id``, or None."""

    def add(self, record: RunRecord) -> None:
        """Keep ``record``."""


class CollectedRecords:
    """A :class:`RecordSink` that reads the store without writing it and keeps what is added.

    ``records`` ends with the run's own record; before it, the real-data row
    the store lacked (if any), so that whoever stores them in order never
    marks a run stored before its scale row.
    """

    def __init__(self, store_path: Path) -> None:
        self.store_path = store_path
        self.records: list[RunRecord] = []

    def get(self, run_id: str) -> RunRecord | None:
        for record in self.records:
            if record.run_id == run_id:
                return record
        return read_only_get(self.store_path, run_id)

    def add(self, record: RunRecord) -> None:
        self.records.append(record)


def _ensure_real_data_row(
    prep: PreparedRun,
    store: RecordSink,
    key: str,
    reference: dict[str, Any],
    quiet: bool = True,
) -> None:
    """Store the dataset's real-data row for this protocol and task kind, once.

    One row per task kind, because leaderboards are per (task, dataset): the
    class-conditional table of digits needs its scale as much as the
    unconditional one. ``reference`` holds the test split's cached statistics.
    Unless ``quiet``, its evaluation shows its progress like the run's.
    """
    task = prep.model_spec.task.value
    run_id = f"real-data-{task}-{prep.dataset.info.name}-{key}"
    if store.get(run_id) is not None:
        return
    start = time.perf_counter()
    settings = prep.eval_settings(seed=0)
    title = f"scoring real {prep.dataset.info.name} data (once per protocol)"
    with EvaluationProgress(title, quiet=quiet) as progress:
        evaluation = evaluate_real_data(
            prep.dataset,
            prep.extractor,
            prep.metric_specs,
            settings,
            reference_cache=reference,
            progress=progress,
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
        skipped=prep.skipped_metrics,
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
    curves_writer: Callable[[list[dict[str, float]]], None] | None = None,
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
    n_val = validation_fakes(prep.n_fake)
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
        prep.tricks,
        settings,
        prep.device,
        checkpoint_dir,
        paired=prep.dataset.info.paired,
        validator=validator,
        progress=progress,
        on_checkpoint=curves_writer,
        model_name=prep.model_spec.name,
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


def _named_curves(curves: list[dict[str, float]], primary: str | None) -> list[dict[str, float]]:
    """Curve rows with the validation column named after the metric (``val_fid``)."""
    val_name = "val_" + (primary or "metric")
    return [{(val_name if k == "val_metric" else k): v for k, v in row.items()} for row in curves]


def _curves_csv_writer(
    run_dir: Path, primary: str | None
) -> Callable[[list[dict[str, float]]], None]:
    """Rewrites ``curves.csv`` (atomically) at each checkpoint, so a long run can be watched."""

    def write(curves: list[dict[str, float]]) -> None:
        from ganbench.report.plots import save_curves_csv

        save_curves_csv(_named_curves(curves, primary), run_dir / "curves.csv")

    return write


def _write_run_files(
    prep: PreparedRun, record: RunRecord, evaluation: Evaluation | None, curves: list, run_dir: Path
) -> None:
    """Sample grid, training curves and the record, next to the checkpoints."""
    if evaluation is not None:
        _save_samples(
            prep, evaluation, run_dir / SAMPLES_FILE, _samples_title(record), record.selected_step
        )
    if curves:
        rows = _named_curves(curves, record.primary_metric)
        from ganbench.report.plots import save_training_curves

        save_training_curves(
            rows,
            run_dir / "curves.csv",
            run_dir / "curves.png",
            title=f"{_run_title(record)}: {record.steps_done} steps",
            selected_step=record.selected_step,
        )
    atomic_write_json(run_dir / RECORD_FILE, record.to_dict())


def _complete_run(
    prep: PreparedRun,
    run_id: str,
    run_dir: Path,
    places: RunPlaces,
    quiet: bool,
    resume: bool,
    steps_extended_from: int | None,
    collector: CollectedRecords | None = None,
    cell_key: str | None = None,
) -> RunRecord:
    """Train, select, evaluate, record and store one prepared run.

    With a ``collector``, the records go there instead of the store.
    """
    request = prep.request
    checkpoint_dir = run_dir / "checkpoints"
    description = f"{request.model} on {request.dataset}"
    progress = TrainingProgress(prep.steps, description, quiet=quiet)
    primary = primary_metric_name(
        prep.metric_specs, prep.dataset_spec.primary_metric, prep.extractor
    )
    plan = plan_training(
        prep, checkpoint_dir, progress, curves_writer=_curves_csv_writer(run_dir, primary)
    )
    with progress:
        outcome = plan.trainer.run(resume=resume)
    selection, primary_name = plan.selection, plan.primary_name

    eval_start = time.perf_counter()
    selected: int | None = None
    evaluation: Evaluation | None = None
    results = MetricResults()
    reference: dict[str, Any] = {}
    if outcome.status == "completed":
        with EvaluationProgress(f"evaluating {description}", quiet=quiet) as eval_progress:
            if prep.extractor is not None:
                eval_progress.phase(f"reference statistics of the {REFERENCE_SPLIT} split")
            reference = cached_reference(prep.dataset, REFERENCE_SPLIT, prep.extractor)
            selected = load_selected_generator(prep.model, checkpoint_dir)
            # best.pt already holds the weights evaluation uses; without one
            # (no validation), the tricks swap them in (an EMA of G).
            live = prep.tricks.evaluated(prep.model) if selected is None else nullcontext()
            with live:
                evaluation = evaluate_model(
                    prep.model,
                    prep.dataset,
                    prep.extractor,
                    prep.metric_specs,
                    prep.eval_settings(seed=request.seed),
                    prep.device,
                    reference_cache=reference,
                    progress=eval_progress,
                )
        results = evaluation.results
    wall_time = round(outcome.wall_time_s + (time.perf_counter() - eval_start), 3)

    protocol = protocol_record(
        prep.dataset,
        prep.extractor,
        results,
        prep.n_fake,
        selection=selection,
        training={
            **_training_fields(prep, outcome),
            "steps_extended_from": steps_extended_from,
        },
        provenance=versions(),
        skipped=prep.skipped_metrics,
    )
    protocol["wall_time_s"] = wall_time
    record = RunRecord(
        run_id=run_id,
        kind="model" if prep.model_spec.trains else "baseline",
        status=outcome.status,  # type: ignore[arg-type]
        model=prep.model_spec.name,
        dataset=prep.dataset.info.name,
        task=prep.model_spec.task.value,
        tricks=prep.trick_records,
        model_params=prep.model_params,
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
        cell_key=cell_key,
    )
    _write_run_files(prep, record, evaluation, outcome.curves, run_dir)
    store: RecordSink
    if collector is not None:
        store = collector
        # The real-data row (if it is new) goes before the run's own record.
        if outcome.status == "completed":
            _ensure_real_data_row(prep, store, record.comparison_key, reference, quiet)
        collector.add(record)
        return record
    try:
        store = ResultsStore(places.store_path)
        store.add(record)
    except StoreUnavailableError as exc:
        raise RunNotStoredError(
            f"{exc}; the run itself is complete in {str(run_dir)!r}: add it with "
            f"`ganbench store add {run_dir}` once the store can be written"
        ) from None
    if outcome.status == "completed":
        _ensure_real_data_row(prep, store, record.comparison_key, reference, quiet)
    return record


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run whose folder exists: it can be resumed from ``run_dir``."""

    def __init__(self, run_dir: Path) -> None:
        super().__init__(str(run_dir))
        self.run_dir = run_dir


class RunNotStoredError(GanbenchError):
    """The run finished and its folder is complete, but the results store refused it."""


def check_run_places(places: RunPlaces, store: bool = True) -> None:
    """Raise one line unless runs, the results store and the cache can all be written.

    Called before any work, so that no training is lost to an unwritable place.
    ``store=False``: the run does not write the store (someone else checked it).
    """
    check_writable_folder(places.runs_dir, "run folders", "--runs-dir or $GANBENCH_RUNS_DIR")
    if store:
        check_results_store(places.store_path, "--store or $GANBENCH_STORE")
    check_cache_writable()


@contextmanager
def cpu_threads(count: int | None) -> Iterator[None]:
    """Run with ``count`` threads in torch and numpy's BLAS (None: leave them as they are)."""
    if count is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        with threadpool_limits(limits=count):
            yield
    finally:
        torch.set_num_threads(before)


def _note_extension(run_dir: Path, request: RunRequest) -> int | None:
    """Save a resume's larger budget in ``config.json``; the first budget it extended, if any."""
    config = read_run_config_data(run_dir)
    saved = RunRequest.from_json(config["request"])
    extended_from = config.get("steps_extended_from")
    if request.steps != saved.steps:
        extended_from = extended_from or saved.steps
        config.update(request=request.to_json(), steps_extended_from=extended_from)
        atomic_write_json(run_dir / CONFIG_FILE, config)
    return extended_from


def execute_run(
    registry: Registry,
    request: RunRequest,
    places: RunPlaces,
    *,
    quiet: bool = False,
    resume_dir: Path | None = None,
) -> RunRecord:
    """Run ``request`` (or resume the run in ``resume_dir``) and return its record.

    Bad input and unwritable places raise before anything is written. A
    plugin that breaks its contract mid-run (a metric returning garbage, a
    NaN-free shape error) removes the new run's folder, so nothing
    half-written remains; a killed or interrupted run keeps its folder so
    that it can be resumed (:class:`RunInterrupted` names it), and a finished
    run whose store cannot be written keeps its folder for ``ganbench store add``.
    """
    return _execute(registry, request, places, quiet, resume_dir, None, None)


@dataclass
class UnstoredRun:
    """A finished run that nothing has stored yet.

    Attributes:
        records: what the store should get, in order, each in its own
            transaction: the dataset's real-data row when the store lacked
            it, then the run's own record (last).
    """

    records: list[RunRecord]

    @property
    def record(self) -> RunRecord:
        """The run's own record."""
        return self.records[-1]


def execute_run_unstored(
    registry: Registry,
    request: RunRequest,
    places: RunPlaces,
    *,
    quiet: bool = True,
    resume_dir: Path | None = None,
    cell_key: str | None = None,
) -> UnstoredRun:
    """:func:`execute_run` without writing the store: the records come back instead.

    The store at ``places.store_path`` is only read (without being created),
    to tell whether its real-data row for this protocol exists. ``cell_key``
    goes into ``config.json`` and the record (a ``ganbench sweep`` cell).
    """
    collector = CollectedRecords(places.store_path)
    _execute(registry, request, places, quiet, resume_dir, collector, cell_key)
    return UnstoredRun(records=collector.records)


def _execute(
    registry: Registry,
    request: RunRequest,
    places: RunPlaces,
    quiet: bool,
    resume_dir: Path | None,
    collector: CollectedRecords | None,
    cell_key: str | None,
) -> RunRecord:
    """:func:`execute_run`'s body; with a ``collector``, records go there, not to the store."""
    if collector is None:
        check_run_places(places)
    else:
        check_run_places(places, store=False)  # the store is whoever collects the records'
    with cpu_threads(request.threads):
        prep = prepare_run(request, registry)  # raises before anything is written
        if resume_dir is not None:
            run_id, _ = read_run_config(resume_dir)
            extended_from = _note_extension(resume_dir, request)
            try:
                return _complete_run(
                    prep,
                    run_id,
                    resume_dir,
                    places,
                    quiet,
                    True,
                    extended_from,
                    collector,
                    cell_key,
                )
            except KeyboardInterrupt:
                raise RunInterrupted(resume_dir) from None
        run_id = new_run_id(request)
        run_dir = places.runs_dir / run_id
        run_dir.mkdir(parents=True, exist_ok=False)
        config: dict[str, Any] = {"run_id": run_id, "request": request.to_json()}
        if cell_key is not None:
            config["cell_key"] = cell_key  # a sweep finds a killed cell's folder by it
        atomic_write_json(run_dir / CONFIG_FILE, config)
        try:
            return _complete_run(
                prep, run_id, run_dir, places, quiet, False, None, collector, cell_key
            )
        except RunNotStoredError:
            raise
        except GanbenchError:
            shutil.rmtree(run_dir, ignore_errors=True)
            raise
        except KeyboardInterrupt:
            raise RunInterrupted(run_dir) from None
