"""The model interface serves all five task kinds of design.md ("Task kinds").

Unconditional and class-conditional models are first-party plugins; the other
three kinds (text-to-image, super-resolution, unpaired translation) are served
here by test-only plugins in ``tests/task_plugins/``, registered exactly as a
third-party plugins folder would be (``--plugins-dir``). Each kind is trained
a few steps and evaluated through the standard train and eval protocols, and
the compatibility check refuses each one on data that lacks its fields.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from ganbench.api import (
    HOOK_POINTS,
    Batch,
    DatasetOptions,
    DStepSchedule,
    GANModel,
    StepContext,
    TaskKind,
)
from ganbench.cli.main import main
from ganbench.errors import IncompatibleError
from ganbench.model_build import build_model
from ganbench.registry import Registry, load_registry
from ganbench.run.preparation import prepare_run
from ganbench.run.request import RunRequest
from ganbench.run.runner import RunPlaces, execute_run
from ganbench.tasks import TASK_FIELDS
from ganbench.train.batches import BatchStream
from ganbench.train.loop import Trainer, TrainSettings
from ganbench.train.trick_chain import TrickChain

TASK_PLUGINS_DIR = Path(__file__).parent / "task_plugins"
CPU = torch.device("cpu")


@dataclass(frozen=True)
class KindCase:
    """A test-only model, the dataset it trains on, the field plain digits lacks,
    and the loss terms its update logs beyond the adversarial one."""

    model: str
    dataset: str
    kind: TaskKind
    missing_on_digits: str
    has_latent: bool
    d_terms: tuple[str, ...] = ()
    g_terms: tuple[str, ...] = ()

    def __str__(self) -> str:  # readable pytest ids
        return self.kind.value


TEST_ONLY_KINDS = [
    KindCase(
        "tiny-gan-int-cls",
        "digits-labels-text",
        TaskKind.TEXT_TO_IMAGE,
        "text",
        True,
        ("mismatched",),
    ),
    KindCase(
        "tiny-srgan", "digits-sr", TaskKind.SUPER_RESOLUTION, "source", False, (), ("content",)
    ),
    KindCase(
        "tiny-cyclegan",
        "digits-invert",
        TaskKind.UNPAIRED_TRANSLATION,
        "source",
        False,
        ("adversarial_a",),
        ("adversarial_a", "cycle"),
    ),
]
kind_cases = pytest.mark.parametrize("case", TEST_ONLY_KINDS, ids=str)


@pytest.fixture(scope="module", autouse=True)
def _one_intra_op_thread() -> Iterator[None]:
    """Run these tiny networks on one thread, restoring the setting afterwards.

    They gain nothing from intra-op parallelism, and on a busy 2-core machine
    OpenMP threads spinning against other processes made the evaluator's
    training take 200 s instead of 5 s.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def registry() -> Registry:
    """First-party plugins plus the test-only task plugins folder."""
    return load_registry(TASK_PLUGINS_DIR)


@pytest.fixture
def places(tmp_path: Path) -> RunPlaces:
    return RunPlaces(tmp_path / "runs", tmp_path / "store.sqlite")


def _finite_metrics(metrics: dict[str, float]) -> bool:
    return bool(metrics) and all(math.isfinite(v) for v in metrics.values())


def test_task_plugins_load_without_errors(registry: Registry) -> None:
    local = {r.name: r for r in registry.reports if r.source.startswith(str(TASK_PLUGINS_DIR))}
    assert {name: r.error for name, r in local.items()} == dict.fromkeys(
        (
            "digits_tasks",
            "recording_trick",
            "super_resolution",
            "text_to_image",
            "unpaired_translation",
        )
    )
    for case in TEST_ONLY_KINDS:
        assert registry.model(case.model).task is case.kind
        assert registry.dataset(case.dataset).kind == "image"


@kind_cases
def test_dataset_offers_the_fields_its_task_needs(registry: Registry, case: KindCase) -> None:
    dataset = registry.dataset(case.dataset).load(DatasetOptions())
    digits = registry.dataset("digits").load(DatasetOptions())
    info = dataset.info
    assert set(TASK_FIELDS[case.kind]) <= set(info.fields)
    # Labels kept, so the digit-classifier feature space (and class coverage) applies.
    assert "y" in info.fields and info.num_classes == 10
    for split, rows in dataset.splits.items():
        assert set(rows.present_fields()) == set(info.fields)
        assert len(rows) == len(digits.splits[split])
        assert torch.equal(rows.y, digits.splits[split].y)  # the same fixed split as digits
        assert rows.x.shape[1:] == info.shape and rows.x.abs().max() <= 1.0


def test_captions_are_fixed_unit_embeddings_per_class(registry: Registry) -> None:
    dataset = registry.dataset("digits-labels-text").load(DatasetOptions())
    train = dataset.splits["train"]
    assert dataset.info.text_dim == train.text.shape[1] == 16
    torch.testing.assert_close(train.text.norm(dim=1), torch.ones(len(train)))
    by_class = {int(label): train.text[train.y == label] for label in range(10)}
    for rows in by_class.values():  # one caption per class: identical rows
        assert torch.equal(rows, rows[:1].expand_as(rows))
    firsts = torch.stack([rows[0] for rows in by_class.values()])
    assert torch.unique(firsts, dim=0).shape[0] == 10  # ten distinct captions
    assert dataset.info.extras["captions"][7] == "a handwritten seven"
    again = registry.dataset("digits-labels-text").load(DatasetOptions())
    assert torch.equal(again.splits["train"].text, train.text)  # deterministic hashing


def test_super_resolution_source_is_the_pooled_target(registry: Registry) -> None:
    dataset = registry.dataset("digits-sr").load(DatasetOptions())
    train = dataset.splits["train"]
    assert dataset.info.source_shape == (1, 4, 4) and dataset.info.paired
    torch.testing.assert_close(train.source, F.avg_pool2d(train.x, 2))


def test_unpaired_domains_are_shuffled_independently(registry: Registry) -> None:
    dataset = registry.dataset("digits-invert").load(DatasetOptions())
    train = dataset.splits["train"]
    assert not dataset.info.paired and dataset.info.source_shape == dataset.info.shape
    assert torch.equal(train.x, -train.source)  # B is inverted A, stored aligned
    batch = BatchStream(train, 64, seed=0, paired=dataset.info.paired).next()
    aligned = (batch.x == -batch.source).flatten(1).all(dim=1)
    assert aligned.float().mean() < 0.2  # training batches never see the pairing


@kind_cases
def test_generator_and_discriminator_shapes_check_passes(
    registry: Registry, case: KindCase
) -> None:
    dataset = registry.dataset(case.dataset).load(DatasetOptions())
    model = build_model(registry.model(case.model), dataset, CPU)  # raises on a wrong shape
    assert model.task is case.kind
    cond = dataset.splits["test"].index(torch.arange(5))
    z = model.sample_latent(5, CPU)
    assert (z is not None) == case.has_latent
    model.eval()
    with torch.no_grad():
        fake = model.generate(z, cond)
        logits = model.discriminate(fake, cond)
    assert fake.shape == cond.x.shape and fake.abs().max() <= 1.0
    assert logits.shape == (5,)


@kind_cases
def test_compatibility_check_refuses_plain_digits(
    registry: Registry, places: RunPlaces, case: KindCase
) -> None:
    request = RunRequest(model=case.model, dataset="digits", steps=1, batch_size=16)
    with pytest.raises(IncompatibleError) as caught:
        execute_run(registry, request, places, quiet=True)
    message = str(caught.value)
    assert f"needs the field(s) {case.missing_on_digits}" in message
    assert "'digits' does not have" in message and "\n" not in message
    assert case.dataset in message  # the datasets it could run on are listed
    assert not places.runs_dir.exists()  # refused before anything was written


#: The hook calls of the core's D and G passes (before the loss terms).
CORE_D_PASS = [
    "transform_d_input:real",
    "transform_d_input:fake",
    "transform_d_output:real",
    "transform_d_output:fake",
    "targets",
]
CORE_G_PASS = ["transform_d_input:fake", "transform_d_output:fake"]


def _expected_calls(case: KindCase, d_steps: int, steps: int) -> list[tuple[str, int | None]]:
    """The hook calls of a Trainer run of ``case``'s model (no validation), in order."""
    if case.kind is TaskKind.UNPAIRED_TRANSLATION:
        # D_A's inputs are transformed too, in its D term after the core's targets,
        # and G_BA's fakes in its G term.
        d_inputs = [*CORE_D_PASS, "transform_d_input:real", "transform_d_input:fake"]
        g_inputs = [*CORE_G_PASS, "transform_d_input:fake"]
    else:
        d_inputs = CORE_D_PASS
        g_inputs = CORE_G_PASS
    d_step = [*d_inputs, "loss_terms:d", "after_d_step"]
    g_step = [*g_inputs, "loss_terms:g", "after_g_step"]
    calls: list[tuple[str, int | None]] = [
        ("init_weights", None),
        ("transform_model", None),
        *([("latent_prior", None)] if case.has_latent else []),  # no prior, no hook
        ("configure_optimizers", None),
        ("d_steps_schedule", None),
        ("d_batches", None),
        ("before_training", None),
    ]
    for step in range(steps):
        names = ["train_step", *d_step * d_steps, *g_step, "end_of_step"]
        calls += [(name, step) for name in names]
    return calls


@kind_cases
def test_models_reach_every_trick_hook_point_through_the_core_update(
    registry: Registry, tmp_path: Path, case: KindCase
) -> None:
    request = RunRequest(
        model=case.model,
        dataset=case.dataset,
        tricks=("recording",),
        steps=2,
        batch_size=16,
        d_steps=2,
        feature_extractor="none",
    )
    prep = prepare_run(request, registry)
    # Their updates are the core's, with extra loss terms: no train_step of their own.
    assert type(prep.model).train_step is GANModel.train_step
    settings = TrainSettings(steps=2, batch_size=16, seed=0, d_steps=2, checkpoint_every=2)
    trainer = Trainer(
        prep.model,
        prep.dataset.splits["train"],
        TrickChain(prep.tricks),
        settings,
        CPU,
        tmp_path / "checkpoints",
        paired=prep.dataset.info.paired,
    )
    outcome = trainer.run()
    assert outcome.status == "completed" and outcome.d_steps_total == 4
    trick = prep.tricks[0]
    assert trick.calls == _expected_calls(case, d_steps=2, steps=2)
    # Every hook point but evaluation's and validation's (no validator here)
    # and, without z, the prior's.
    expected_hooks = set(HOOK_POINTS) - {"evaluation_weights", "after_validation"}
    expected_hooks -= set() if case.has_latent else {"latent_prior"}
    assert set(trick.counts) == expected_hooks


@kind_cases
def test_task_kind_trains_and_evaluates_under_the_standard_protocols(
    registry: Registry, places: RunPlaces, case: KindCase
) -> None:
    request = RunRequest(
        model=case.model,
        dataset=case.dataset,
        steps=20,
        batch_size=16,
        checkpoint_every=10,
        eval_samples=200,
    )
    record = execute_run(registry, request, places, quiet=True)
    space = f"{case.dataset}-evaluator"
    assert record.status == "completed" and record.steps_done == 20
    assert record.task == case.kind.value and record.dataset == case.dataset
    assert record.selected_step in (10, 20)  # chosen on the validation split
    assert record.primary_metric == f"fid[{space}]"
    for metric in ("fid", "kid", "is", "classes_covered"):
        assert f"{metric}[{space}]" in record.metrics
    assert _finite_metrics(record.metrics)
    assert record.protocol["feature_extractor"]["space"] == space
    assert (Path(record.run_dir) / "record.json").is_file()


@pytest.mark.parametrize(
    ("model", "kind", "task_metric"),
    [
        ("dcgan", TaskKind.UNCONDITIONAL, None),
        ("cgan", TaskKind.CLASS_CONDITIONAL, "cond_acc[digits-evaluator]"),
    ],
)
def test_first_party_task_kinds_go_through_the_same_protocols(
    registry: Registry, places: RunPlaces, model: str, kind: TaskKind, task_metric: str | None
) -> None:
    request = RunRequest(
        model=model,
        dataset="digits",
        steps=2,
        batch_size=16,
        checkpoint_every=2,
        eval_samples=200,
    )
    record = execute_run(registry, request, places, quiet=True)
    assert record.status == "completed" and record.task == kind.value
    assert "fid[digits-evaluator]" in record.metrics and _finite_metrics(record.metrics)
    # Conditional accuracy is computed for class-conditional models only.
    assert (task_metric is not None) == any(m.startswith("cond_acc") for m in record.metrics)


def test_cli_runs_a_test_only_plugin_from_a_plugins_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "run",
            "--plugins-dir",
            str(TASK_PLUGINS_DIR),
            "--plugin",
            "tiny-srgan",
            "--dataset",
            "digits-sr",
            "--steps",
            "5",
            "--batch-size",
            "16",
            "--checkpoint-every",
            "5",
            "--eval-samples",
            "100",
            "--device",
            "cpu",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--store",
            str(tmp_path / "store.sqlite"),
            "--json",
            "--quiet",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    record = json.loads(out)
    assert record["status"] == "completed" and record["steps_done"] == 5
    assert record["model"] == "tiny-srgan" and record["task"] == "super-resolution"
    assert math.isfinite(record["metrics"]["fid[digits-sr-evaluator]"])
    # Paired targets: each SR output against the HR image of its own LR input,
    # cropped by the x2 scale.
    assert 5.0 < record["metrics"]["psnr"] < 60.0
    assert record["protocol"]["metric_params"]["psnr"]["crop"] == 2
    # 8x8 digits cropped by 2 leave 4x4: too small for SSIM's 11x11 window.
    assert "11x11" in record["protocol"]["skipped_metrics"]["ssim"]


def _context(model: GANModel, batch: Batch, d_steps: int = 1) -> StepContext:
    return StepContext(
        step=0,
        total_steps=1,
        device=CPU,
        model=model,
        optimizers=dict(model.configure_optimizers()),
        hooks=TrickChain(),
        schedule=DStepSchedule(d_steps),
        d_steps=d_steps,
        next_batch=lambda: batch,
    )


def _train_batch(registry: Registry, case: KindCase) -> tuple[GANModel, Batch]:
    dataset = registry.dataset(case.dataset).load(DatasetOptions())
    torch.manual_seed(0)
    model = build_model(registry.model(case.model), dataset, CPU)
    return model, dataset.splits["train"].index(torch.arange(16))


@kind_cases
def test_standard_step_trains_each_model_on_its_loss_terms(
    registry: Registry, case: KindCase
) -> None:
    """The core's step copes with every one (latent-free ones too) and trains all networks."""
    model, batch = _train_batch(registry, case)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    losses = model.train_step(batch, _context(model, batch, d_steps=2))
    # Each term is logged under its update's total, and the total is their sum.
    expected = {"loss_d", "loss_g"}
    for net, extra in (("d", case.d_terms), ("g", case.g_terms)):
        expected |= {f"loss_{net}.{name}" for name in ("adversarial", *extra) if extra}
    assert set(losses) == expected
    assert all(math.isfinite(float(v)) for v in losses.values())
    for net in ("d", "g"):
        terms = [v for k, v in losses.items() if k.startswith(f"loss_{net}.")]
        if terms:
            torch.testing.assert_close(losses[f"loss_{net}"], torch.stack(terms).sum())
    changed = {n for n, p in model.named_parameters() if not torch.equal(before[n], p)}
    nets = ["generator", "discriminator"]
    if case.kind is TaskKind.UNPAIRED_TRANSLATION:  # the second pair learns too
        nets = ["generator.a_to_b", "generator.b_to_a", "discriminator.a", "discriminator.b"]
    for net in nets:
        assert any(n.startswith(f"{net}.") for n in changed), net


def test_cyclegan_identity_loss_is_a_model_parameter(registry: Registry) -> None:
    dataset = registry.dataset("digits-invert").load(DatasetOptions())
    spec = registry.model("tiny-cyclegan")
    assert {p.name: p.default for p in spec.params} == {"cycle": 10.0, "identity": 0.0}
    model = build_model(spec, dataset, CPU, {"cycle": 10.0, "identity": 5.0})
    batch = dataset.splits["train"].index(torch.arange(16))
    losses = model.train_step(batch, _context(model, batch))
    assert "loss_g.identity" in losses and float(losses["loss_g.identity"]) > 0


def test_matching_aware_discriminator_sees_real_images_with_wrong_text(
    registry: Registry,
) -> None:
    model, batch = _train_batch(registry, TEST_ONLY_KINDS[0])
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    original = model.discriminate

    def spy(x: torch.Tensor, cond: Batch) -> torch.Tensor:
        seen.append((x.detach().clone(), cond.text.clone()))
        return original(x, cond)

    model.discriminate = spy  # type: ignore[method-assign]
    model.train_step(batch, _context(model, batch))
    # D step: (real, text), (fake, text), (real, wrong text); then G step: (fake, text).
    assert len(seen) == 4
    (real_x, real_text), (fake_x, fake_text), (wrong_x, wrong_text), _ = seen
    assert torch.equal(real_x, batch.x) and torch.equal(real_text, batch.text)
    assert not torch.equal(fake_x, batch.x) and torch.equal(fake_text, batch.text)
    assert torch.equal(wrong_x, batch.x)
    differs = (wrong_text != batch.text).any(dim=1)
    assert differs.float().mean() > 0.5  # mostly other classes' captions
    assert torch.equal(differs, batch.y.roll(1) != batch.y)
