"""The train protocol calls every trick hook point at its place, and each hook
really changes training.

The instrument is the test-only ``recording`` trick of
``tests/task_plugins/recording_trick.py``: it overrides every hook point of
:data:`ganbench.api.HOOK_POINTS`, records ``(hook, ctx.step)`` per call, and
is registered through a plugin object's ``ganbench_register_tricks``, as a
third-party package would register a trick. Its parameters make one hook at a
time act (label smoothing, instance noise, D steps, frozen optimizers, early
stop), so each behaviour test compares a run against the same seed without it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from task_plugins import recording_trick as recording

from ganbench.api import HOOK_POINTS, Batch, GANModel, StepContext
from ganbench.cli.main import main
from ganbench.errors import GanbenchError, UnknownNameError
from ganbench.registry import Registry, load_registry
from ganbench.run.preparation import PreparedRun, parse_trick, prepare_run
from ganbench.run.request import RunRequest
from ganbench.run.runner import RunPlaces, execute_run
from ganbench.train.batches import BatchStream
from ganbench.train.loop import Trainer, TrainOutcome, TrainSettings
from ganbench.train.trick_chain import TrickChain
from ganbench.trick import overridden_hook_points

TASK_PLUGINS_DIR = Path(__file__).parent / "task_plugins"
CPU = torch.device("cpu")
BATCH = 16
DEFAULT_PARAMS = {"real_target": 1.0, "noise": 0.0, "d_steps": 0, "freeze": False, "stop_after": 0}


@pytest.fixture(scope="module", autouse=True)
def _one_intra_op_thread() -> Iterator[None]:
    """Run these tiny networks on one thread, restoring the setting afterwards.

    They gain nothing from intra-op parallelism, and on a busy 2-core machine
    OpenMP threads spinning against other processes slow training many-fold.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def plugin() -> recording.RecordingPlugin:
    """A fresh plugin object: its ``built`` list holds the tricks of one test."""
    return recording.RecordingPlugin()


@pytest.fixture
def registry(plugin: recording.RecordingPlugin) -> Registry:
    return load_registry(extra_plugins=[("recording-test", plugin)])


def _prepare(
    registry: Registry, tricks: tuple[str, ...] = (), steps: int = 3, d_steps: int | None = None
) -> PreparedRun:
    """The MLP GAN on digits, checked and built as ``ganbench run`` would (no metrics)."""
    request = RunRequest(
        model="gan",
        dataset="digits",
        tricks=tricks,
        steps=steps,
        batch_size=BATCH,
        d_steps=d_steps,
        device="cpu",
        feature_extractor="none",
    )
    return prepare_run(request, registry)


def _train(
    prep: PreparedRun,
    checkpoint_dir: Path,
    *,
    resume: bool = False,
    tricks: list | None = None,
    checkpoint_every: int | None = None,
) -> TrainOutcome:
    """Run the train protocol on ``prep`` with losses logged every step."""
    settings = TrainSettings(
        steps=prep.steps,
        batch_size=BATCH,
        seed=prep.request.seed,
        d_steps=prep.request.d_steps,
        checkpoint_every=checkpoint_every or prep.steps,
        log_every=1,
    )
    chain = TrickChain(prep.tricks if tricks is None else tricks)
    trainer = Trainer(
        prep.model, prep.dataset.splits["train"], chain, settings, CPU, checkpoint_dir
    )
    return trainer.run(resume=resume)


def _losses(outcome: TrainOutcome, name: str) -> list[float]:
    return [row[name] for row in outcome.curves if name in row]


def _expected_calls(d_steps: int, steps: int) -> list[tuple[str, int | None]]:
    """The standard step's hook calls, in order, for a run of ``steps`` G steps."""
    d_step = [
        "transform_d_input:real",
        "transform_d_input:fake",
        "transform_d_output:real",
        "transform_d_output:fake",
        "targets",
        "loss_terms:d",
        "after_d_step",
    ]
    g_step = ["transform_d_input:fake", "transform_d_output:fake", "loss_terms:g", "after_g_step"]
    calls: list[tuple[str, int | None]] = [
        ("init_weights", None),
        ("transform_model", None),
        ("latent_prior", None),
        ("configure_optimizers", None),
        ("d_steps_schedule", None),
        ("d_batches", None),
        ("before_training", None),
    ]
    for step in range(steps):
        names = ["train_step", *d_step * d_steps, *g_step, "end_of_step"]
        calls += [(name, step) for name in names]
    # The validation at the last step evaluates the weights the tricks name,
    # and the tricks hear of its value.
    return [*calls, ("evaluation_weights", None), ("after_validation", steps - 1)]


def test_trick_is_registered_by_a_plugin_object(registry: Registry) -> None:
    spec = registry.trick("recording")
    assert registry.owner("tricks", "recording") == "recording-test"
    assert spec.hook_points == HOOK_POINTS
    # The recording trick must really override every hook point it declares.
    assert set(overridden_hook_points(recording.RecordingTrick())) == set(HOOK_POINTS)


def test_every_hook_point_is_called_at_its_place(
    registry: Registry, plugin: recording.RecordingPlugin, tmp_path: Path
) -> None:
    request = RunRequest(
        model="gan",
        dataset="digits",
        tricks=("recording",),
        steps=3,
        batch_size=BATCH,
        d_steps=2,
        checkpoint_every=3,
        eval_samples=100,
        metrics=("fid",),
        device="cpu",
    )
    record = execute_run(
        registry, request, RunPlaces(tmp_path / "runs", tmp_path / "s.sqlite"), quiet=True
    )
    assert record.status == "completed" and record.steps_done == 3
    [trick] = plugin.built
    assert trick.calls == _expected_calls(d_steps=2, steps=3)
    # The run record lists the trick with every parameter, defaults included.
    assert record.tricks == [{"name": "recording", "params": DEFAULT_PARAMS}]
    assert record.protocol["d_steps_schedule"] == {"base": 2}
    assert record.protocol["d_steps_total"] == 6


def test_a_trick_that_changes_nothing_leaves_training_unchanged(
    registry: Registry, tmp_path: Path
) -> None:
    plain = _train(_prepare(registry), tmp_path / "plain")
    recorded = _train(_prepare(registry, ("recording",)), tmp_path / "recorded")
    assert _losses(plain, "loss_d") == _losses(recorded, "loss_d")
    assert _losses(plain, "loss_g") == _losses(recorded, "loss_g")


def test_targets_hook_changes_the_discriminator_loss(registry: Registry, tmp_path: Path) -> None:
    plain = _train(_prepare(registry, steps=1), tmp_path / "plain")
    smoothed = _train(_prepare(registry, ("recording:0.9",), steps=1), tmp_path / "smoothed")
    # Same seed, same init, same batch and z: only the real targets differ.
    assert not math.isclose(_losses(plain, "loss_d")[0], _losses(smoothed, "loss_d")[0])


def _inputs_seen_by_d(prep: PreparedRun) -> list[torch.Tensor]:
    """Wrap the model's discriminate so that every input it receives is kept."""
    seen: list[torch.Tensor] = []
    original = prep.model.discriminate

    def spy(x: torch.Tensor, cond: Batch) -> torch.Tensor:
        seen.append(x.detach().clone())
        return original(x, cond)

    prep.model.discriminate = spy  # type: ignore[method-assign]
    return seen


def test_transform_d_input_hook_changes_what_d_sees(registry: Registry, tmp_path: Path) -> None:
    prep_plain = _prepare(registry, steps=1)
    first_real = BatchStream(prep_plain.dataset.splits["train"], BATCH, seed=0).next().x
    seen_plain = _inputs_seen_by_d(prep_plain)
    _train(prep_plain, tmp_path / "plain")
    prep_noisy = _prepare(registry, ("recording:noise=0.5",), steps=1)
    seen_noisy = _inputs_seen_by_d(prep_noisy)
    _train(prep_noisy, tmp_path / "noisy")
    # D's first input of a step is the real batch: untouched without the trick ...
    assert torch.equal(seen_plain[0], first_real)
    # ... and with instance noise of std 0.5 added by the hook.
    noise = seen_noisy[0] - first_real
    assert 0.4 < float(noise.std()) < 0.6
    assert abs(float(noise.mean())) < 0.1


def test_d_steps_hook_sets_discriminator_steps_per_generator_step(
    registry: Registry, tmp_path: Path
) -> None:
    prep = _prepare(registry, ("recording:d_steps=3",), steps=2)
    outcome = _train(prep, tmp_path / "ckpt")
    assert outcome.schedule.base == 3 and outcome.d_steps_total == 6
    trick = prep.tricks[0]
    for step in range(2):
        per_step = [name for name, at in trick.calls if at == step]
        assert per_step.count("after_d_step") == 3 and per_step.count("after_g_step") == 1


def test_configure_optimizers_hook_can_replace_the_optimizers(
    registry: Registry, tmp_path: Path
) -> None:
    prep = _prepare(registry, ("recording:freeze=true",), steps=2)
    control = _prepare(registry, steps=2)
    # The MLP GAN keeps PyTorch's initialisation, so the weights now are the starting weights.
    before = {name: p.detach().clone() for name, p in prep.model.named_parameters()}
    _train(prep, tmp_path / "frozen")
    _train(control, tmp_path / "control")
    assert isinstance(prep.tricks[0], recording.RecordingTrick)
    for name, p in prep.model.named_parameters():
        assert torch.equal(p, before[name]), name  # SGD with learning rate 0
    assert any(not torch.equal(p, before[name]) for name, p in control.model.named_parameters())


def test_end_of_step_hook_can_stop_training_early(registry: Registry, tmp_path: Path) -> None:
    request = RunRequest(
        model="gan",
        dataset="digits",
        tricks=("recording:stop_after=2",),
        steps=50,
        batch_size=BATCH,
        checkpoint_every=25,
        eval_samples=100,
        metrics=("fid",),
        device="cpu",
    )
    record = execute_run(
        registry, request, RunPlaces(tmp_path / "runs", tmp_path / "s.sqlite"), quiet=True
    )
    assert record.status == "completed"
    assert record.steps == 50 and record.steps_done == 2
    assert record.selected_step == 2  # validated and checkpointed where it stopped
    assert math.isfinite(record.metrics["fid[digits-evaluator]"])


class InterruptingTrick(recording.RecordingTrick):
    """A recording trick that simulates a kill at the end of one step."""

    def __init__(self, at_step: int) -> None:
        super().__init__()
        self.at_step = at_step

    def end_of_step(self, model: GANModel, ctx: StepContext) -> None:
        super().end_of_step(model, ctx)
        if ctx.step == self.at_step:
            raise KeyboardInterrupt


def test_trick_state_survives_a_checkpoint_resume(registry: Registry, tmp_path: Path) -> None:
    checkpoints = tmp_path / "ckpt"
    with pytest.raises(KeyboardInterrupt):  # killed during step 2, after the step-2 checkpoint
        _train(
            _prepare(registry, steps=4),
            checkpoints,
            tricks=[InterruptingTrick(2)],
            checkpoint_every=2,
        )
    resumed = recording.RecordingTrick()
    outcome = _train(
        _prepare(registry, steps=4), checkpoints, tricks=[resumed], checkpoint_every=2, resume=True
    )
    assert outcome.status == "completed" and outcome.steps_done == 4
    assert [at for name, at in resumed.calls if name == "end_of_step"] == [2, 3]
    # Two counted before the kill (restored from the checkpoint), two after.
    assert resumed.counts["end_of_step"] == 4 and resumed.counts["after_g_step"] == 4


def test_trick_parameters_parse_positionally_and_by_name(registry: Registry) -> None:
    spec, params = parse_trick("recording", registry)
    assert spec.name == "recording" and params == DEFAULT_PARAMS
    assert parse_trick("recording:0.9", registry)[1] == {**DEFAULT_PARAMS, "real_target": 0.9}
    _, params = parse_trick("recording:noise=0.1,d_steps=3,freeze=yes,stop_after=5", registry)
    assert params == {
        "real_target": 1.0,
        "noise": 0.1,
        "d_steps": 3,
        "freeze": True,
        "stop_after": 5,
    }


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("recording:abc", "parameter 'real_target' must be float, got 'abc'"),
        ("recording:d_steps=2.5", "parameter 'd_steps' must be int, got '2.5'"),
        ("recording:freeze=maybe", "parameter 'freeze' must be bool, got 'maybe'"),
        ("recording:bogus=1", "has no parameter 'bogus'; valid choices: real_target, noise"),
        ("recording:0.9,0.5", "cannot read '0.5'"),
    ],
)
def test_bad_trick_parameters_are_one_line_errors(
    registry: Registry, text: str, fragment: str
) -> None:
    with pytest.raises(GanbenchError) as caught:
        parse_trick(text, registry)
    assert fragment in str(caught.value) and "\n" not in str(caught.value)


def test_unknown_trick_lists_the_valid_choices(registry: Registry) -> None:
    with pytest.raises(UnknownNameError) as caught:
        parse_trick("no-such-trick:1", registry)
    assert "recording" in caught.value.choices
    assert str(caught.value).startswith("unknown trick 'no-such-trick'; valid choices: ")


@pytest.mark.parametrize(
    ("trick", "fragment"),
    [
        ("recording:abc", "must be float"),
        ("no-such-trick", "valid choices: d-dropout, d-pretrain, d-steps, dcgan-init, early-stop"),
    ],
)
def test_cli_rejects_bad_tricks_before_writing_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], trick: str, fragment: str
) -> None:
    code = main(
        [
            "run",
            "--plugins-dir",
            str(TASK_PLUGINS_DIR),
            "--plugin",
            "gan",
            "--trick",
            trick,
            "--steps",
            "1",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--store",
            str(tmp_path / "store.sqlite"),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("ganbench: error: ") and err.count("\n") == 1 and fragment in err
    assert not (tmp_path / "runs").exists()
