"""The built-in MetricSpecs: outputs match their declarations, inputs are read correctly."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import Any

import pytest
import torch
from torch import Tensor

from ganbench.data.types import Batch, DataInfo
from ganbench.errors import IncompatibleError
from ganbench.eval.inputs import EvalInputs
from ganbench.metrics.attacks import attack_output_names
from ganbench.metrics.builtin import BUILTIN_METRICS
from ganbench.metrics.mode_count import STACKED_MODES_KEY
from ganbench.model import UnconditionalGAN
from ganbench.specs import MetricSpec
from ganbench.testing.metric_checks import constructed_inputs

K = 4
SPECS = {spec.name: spec for spec in BUILTIN_METRICS}


class ProbsAreSamples:
    """A toy feature space whose samples already are class probabilities (N x K)."""

    space = "toy"

    def features(self, x: Tensor) -> Tensor:
        return x

    def class_probs(self, x: Tensor) -> Tensor | None:
        return x

    def protocol(self) -> dict[str, Any]:
        return {"name": self.space}


class NotAClassifier(ProbsAreSamples):
    def class_probs(self, x: Tensor) -> Tensor | None:
        return None


def _classified_inputs(extractor=None, conditional: bool = True) -> EvalInputs:
    gen = torch.Generator().manual_seed(0)
    real_y = torch.arange(60) % K
    fake_y = torch.arange(40) % K
    real = torch.softmax(torch.randn(60, K, generator=gen) + 3 * torch.eye(K)[real_y], dim=1)
    fake = torch.softmax(torch.randn(40, K, generator=gen) + 3 * torch.eye(K)[fake_y], dim=1)
    return EvalInputs(
        info=DataInfo(
            name="toy-classes", kind="vector", shape=(K,), fields=("x", "y"), num_classes=K
        ),
        real=Batch(x=real, y=real_y),
        fake=fake,
        fake_conditions=Batch(x=fake, y=fake_y if conditional else None),
        extractor=extractor or ProbsAreSamples(),
        seed=0,
        conditional=conditional,
    )


def _mixture_inputs() -> EvalInputs:
    modes = [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]]
    fake = torch.tensor(modes * 10) + 0.01
    return EvalInputs(
        info=DataInfo(
            name="ring4", kind="vector", shape=(2,), extras={"modes": modes, "mode_std": 0.05}
        ),
        real=Batch(x=torch.tensor(modes * 10)),
        fake=fake,
        fake_conditions=Batch(x=fake),
        extractor=None,
    )


class TinyConvGAN(UnconditionalGAN):
    """4x4 grayscale images; D is one linear layer on the pixels, G a linear map from z."""

    latent_dim = 3

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.generator = torch.nn.Sequential(
            torch.nn.Linear(3, 16), torch.nn.Tanh(), torch.nn.Unflatten(1, (1, 4, 4))
        )
        self.discriminator = torch.nn.Sequential(
            torch.nn.Flatten(), torch.nn.Linear(16, 1), torch.nn.Flatten(0)
        )


def _model_inputs() -> EvalInputs:
    gen = torch.Generator().manual_seed(1)
    real = torch.rand(30, 1, 4, 4, generator=gen) * 2 - 1
    fake = torch.rand(20, 1, 4, 4, generator=gen) * 2 - 1
    return EvalInputs(
        info=DataInfo(name="toy-images", kind="image", shape=(1, 4, 4)),
        real=Batch(x=real),
        fake=fake,
        fake_conditions=Batch(x=fake),
        extractor=None,
        model=TinyConvGAN(),
    )


def _inputs_for(spec: MetricSpec) -> EvalInputs:
    if spec.name == "caption-match":  # the kit's generic inputs carry no captions
        from ganbench.testing.captions import caption_inputs

        return caption_inputs()
    if spec.name == "cycle-error":  # needs a translation model with an inverse
        from test_cyclegan import translation_inputs

        return translation_inputs()
    if "targets" in spec.needs or "source_labels" in spec.needs:
        return constructed_inputs(spec.needs)
    if "discriminator" in spec.needs:
        return _model_inputs()
    if STACKED_MODES_KEY in spec.needs:  # K classes stand for K stacked modes
        inputs = _classified_inputs()
        inputs.info = replace(inputs.info, extras={STACKED_MODES_KEY: True})
        return inputs
    return _mixture_inputs() if "modes" in spec.needs else _classified_inputs()


def test_expected_metrics_are_registered() -> None:
    assert set(SPECS) == {
        "fid",
        "kid",
        "is",
        "class-coverage",
        "conditional-accuracy",
        "mode-coverage",
        "stacked-modes",
        "attack-robustness",
        "prdc",
        "psnr",
        "ssim",
        "label-preservation",
        "caption-match",
        "cycle-error",
    }


@pytest.mark.parametrize("spec", BUILTIN_METRICS, ids=lambda s: s.name)
def test_spec_is_well_formed(spec: MetricSpec) -> None:
    assert re.fullmatch(r"[a-z0-9-]+", spec.name)
    assert spec.outputs and set(spec.outputs.values()) <= {"lower", "higher", "info"}
    known_needs = {"features", "probs", "labels", "reference_labels", "modes", "discriminator"}
    known_needs |= {"targets", "source_labels"}
    assert set(spec.needs) <= known_needs | {STACKED_MODES_KEY}
    assert spec.description


@pytest.mark.parametrize("spec", BUILTIN_METRICS, ids=lambda s: s.name)
def test_compute_returns_exactly_the_declared_outputs(spec: MetricSpec) -> None:
    values = spec.compute(_inputs_for(spec), dict(spec.params))
    if spec.name == "attack-robustness":  # the classifier-head outputs need a head
        assert set(values) == set(attack_output_names(spec.params, aux=False))
        assert set(values) < set(spec.outputs)
    else:
        assert set(values) == set(spec.outputs)
    for name, value in values.items():
        assert type(value) is float, name
        assert math.isfinite(value), name


def test_kid_reports_effective_subset_size() -> None:
    values = SPECS["kid"].compute(_classified_inputs(), {"subsets": 5})
    assert values["kid_subset_size"] == 40.0  # min(1000, 60 real, 40 fake)


def test_unknown_param_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown metric params"):
        SPECS["is"].compute(_classified_inputs(), {"split": 3})


def test_conditional_accuracy_reads_fake_conditions() -> None:
    inputs = _classified_inputs()
    expected = float((inputs.fake.argmax(dim=1) == inputs.fake_conditions.y).double().mean())
    assert SPECS["conditional-accuracy"].compute(inputs, {}) == {"cond_acc": expected}


def test_mode_coverage_reads_extras() -> None:
    values = SPECS["mode-coverage"].compute(_mixture_inputs(), {})
    assert values == {
        "modes_covered": 4.0,
        "high_quality_frac": 1.0,
        "mode_kl": pytest.approx(0.0),
        "reverse_kl": pytest.approx(-math.log(1 - math.exp(-4.5))),
    }


@pytest.mark.parametrize("name", ["is", "class-coverage", "conditional-accuracy"])
def test_probability_metrics_need_a_classifier(name: str) -> None:
    with pytest.raises(IncompatibleError, match="class probabilities"):
        SPECS[name].compute(_classified_inputs(extractor=NotAClassifier()), {})


def test_missing_labels_are_clear_errors() -> None:
    with pytest.raises(IncompatibleError, match="not class-conditional"):
        SPECS["conditional-accuracy"].compute(_classified_inputs(conditional=False), {})
    inputs = _classified_inputs()
    inputs.real = Batch(x=inputs.real.x)
    with pytest.raises(IncompatibleError, match="labels on the reference split"):
        SPECS["class-coverage"].compute(inputs, {})


def test_mode_coverage_needs_mixture_extras() -> None:
    inputs = _mixture_inputs()
    inputs.info = DataInfo(name="plain", kind="vector", shape=(2,))
    with pytest.raises(IncompatibleError, match="modes"):
        SPECS["mode-coverage"].compute(inputs, {})
