"""The conformance kit catches broken plugins, and ``ganbench check-plugin`` reports them.

Each broken plugin here breaks one contract in one way, next to a working
twin that passes every check, so a failure is pinned to the named check.
"""

from __future__ import annotations

import json
import math
import os
import random
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from ganbench.api import (
    Batch,
    DataInfo,
    DataMissingError,
    DatasetOptions,
    DatasetSpec,
    EvalInputs,
    GanDataset,
    GANModel,
    MetricSpec,
    ModelSpec,
    TaskKind,
    Trick,
    TrickParam,
    TrickSpec,
    split_indices,
)
from ganbench.cli.main import main
from ganbench.errors import UnknownNameError
from ganbench.eval.metrics_runner import why_not_applicable
from ganbench.registry import Registry, load_registry
from ganbench.testing import (
    CheckResult,
    MetricCase,
    assert_plugin_conforms,
    check_dataset,
    check_metric,
    check_model,
    check_plugin,
    check_trick,
    constructed_inputs,
    failures,
)
from ganbench.testing.metric_checks import KNOWN_NEEDS

pytest_plugins = ["ganbench.testing.fixtures"]


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def small_registry() -> Registry:
    """Only the digits (image) and ring8 (vector) datasets: quick model checks."""
    full = load_registry()
    return Registry(datasets={n: full.datasets[n] for n in ("digits", "ring8")})


def by_check(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.check: r for r in results}


def failed_checks(results: list[CheckResult]) -> set[str]:
    return {r.check for r in failures(results)}


# --- models --------------------------------------------------------------------------


class TinyGAN(GANModel):
    """z (N x 4) -> x through one linear layer (tanh for images); D one linear layer.

    Keyword arguments break it: ``extra`` adds output units (wrong shape),
    ``scale`` multiplies G's output (out of [-1, 1]), ``lr`` sets the learning
    rate (0: training changes nothing), ``seedless`` draws z from the global RNG.
    """

    latent_dim = 4

    def __init__(
        self,
        info: DataInfo,
        *,
        extra: int = 0,
        scale: float = 1.0,
        lr: float = 1e-3,
        seedless: bool = False,
    ) -> None:
        super().__init__()
        self.shape = tuple(info.shape)
        size = math.prod(self.shape)
        squash = nn.Tanh() if info.kind == "image" else nn.Identity()
        self.generator = nn.Sequential(nn.Linear(self.latent_dim, size + extra), squash)
        self.discriminator = nn.Sequential(nn.Flatten(), nn.Linear(size, 1), nn.Flatten(0))
        self.extra, self.scale, self.lr, self.seedless = extra, scale, lr, seedless

    def sample_latent(self, n, device, generator=None):  # type: ignore[no-untyped-def]
        if self.seedless:  # ignores the sampling generator: evaluation is not reproducible
            return torch.randn(n, self.latent_dim, device=device)
        return super().sample_latent(n, device, generator)

    def generate(self, z: Tensor | None, cond: Batch) -> Tensor:
        out = self.scale * self.generator(z)
        return out if self.extra else out.view(len(out), *self.shape)

    def discriminate(self, x: Tensor, cond: Batch) -> Tensor:
        return self.discriminator(x)

    def configure_optimizers(self):  # type: ignore[no-untyped-def]
        return self.adam_optimizers(lr=self.lr)


def model_spec(name: str = "tiny", **broken: object) -> ModelSpec:
    return ModelSpec(
        name=name,
        build=lambda info: TinyGAN(info, **broken),
        task=TaskKind.UNCONDITIONAL,
        data_kinds=("image", "vector"),
        paper="a test model",
    )


def test_a_working_model_passes_every_check(small_registry: Registry) -> None:
    results = check_model(model_spec(), small_registry)
    assert failures(results) == []
    checks = by_check(results)
    for dataset in ("digits", "ring8"):
        for name in (
            "builds",
            "generator output shape",
            "generator output range",
            "generator ignores cond.x",
            "discriminator output",
            "train step",
            "train step updates G and D",
            "checkpoint round-trip",
            "sampling reproducible",
        ):
            assert checks[f"{name} [{dataset}]"].status == "passed"


@pytest.mark.parametrize(
    ("broken", "check", "fragment"),
    [
        ({"extra": 3}, "generator output shape [digits]", "expected (8, 1, 8, 8)"),
        ({"scale": 3.0}, "generator output range [digits]", "must lie in [-1, 1]"),
        ({"lr": 0.0}, "train step updates G and D [digits]", "G and D unchanged"),
        ({"seedless": True}, "sampling reproducible [digits]", "one seed gave two different"),
    ],
    ids=["wrong-shape", "out-of-range", "frozen-weights", "ignores-seed"],
)
def test_broken_models_are_caught(
    small_registry: Registry, broken: dict, check: str, fragment: str
) -> None:
    results = check_model(model_spec(**broken), small_registry)
    result = by_check(results)[check]
    assert result.status == "failed" and fragment in result.detail
    assert "\n" not in result.detail


def test_out_of_range_vectors_are_fine(small_registry: Registry) -> None:
    # Only images are bounded: the same scaled generator is within contract on ring8.
    results = check_model(model_spec(scale=3.0), small_registry)
    assert by_check(results)["generator output range [ring8]"].status == "passed"


def test_model_that_fails_to_build_is_reported_not_raised(small_registry: Registry) -> None:
    def explode(info: DataInfo) -> GANModel:
        raise RuntimeError("no such layer")

    spec = ModelSpec("exploding", explode, TaskKind.UNCONDITIONAL, ("vector",), paper="x")
    results = check_model(spec, small_registry)
    assert by_check(results)["builds [ring8]"].detail == "RuntimeError: no such layer"
    assert failed_checks(results) == {"builds [ring8]"}


def test_model_without_a_paper_fails_registration(small_registry: Registry) -> None:
    spec = ModelSpec("nopaper", TinyGAN, TaskKind.UNCONDITIONAL, ("vector",), paper="")
    assert failed_checks(check_model(spec, small_registry)) == {"registration"}


def test_models_on_missing_data_are_skipped() -> None:
    def missing(options: DatasetOptions) -> GanDataset:
        raise DataMissingError("put the files in /nowhere")

    registry = Registry(datasets={"gone": DatasetSpec("gone", missing, "image")})
    results = check_model(model_spec(), registry)
    assert [(r.check, r.status) for r in results] == [
        ("registration", "passed"),
        ("builds [gone]", "skipped"),
        ("compatible dataset", "skipped"),
    ]
    assert "put the files in /nowhere" in results[1].detail


# --- tricks --------------------------------------------------------------------------


class InstanceNoise(Trick):
    """Gaussian noise on every D input (Sønderby et al. 2016)."""

    hook_points = ("transform_d_input",)

    def __init__(self, params: dict) -> None:
        self.std = float(params["std"])

    def transform_d_input(self, x: Tensor, which, ctx) -> Tensor:  # type: ignore[no-untyped-def]
        return x + self.std * torch.randn_like(x)


class NoisyButNotSmoothing(InstanceNoise):
    """Claims to smooth labels too, but its ``targets`` passes them through."""

    hook_points = ("transform_d_input", "targets")

    def targets(self, real: Tensor, fake: Tensor, ctx) -> tuple[Tensor, Tensor]:  # type: ignore[no-untyped-def]
        return real, fake


def trick_spec(build=InstanceNoise, hook_points=("transform_d_input",), params=None) -> TrickSpec:
    return TrickSpec(
        name="noise",
        build=build,
        hook_points=hook_points,
        params=params or (TrickParam("std", float, 0.5),),
    )


def test_a_working_trick_passes_every_check() -> None:
    results = check_trick(trick_spec())
    assert failures(results) == []
    checks = by_check(results)
    assert checks["transform_d_input changes D's input"].status == "passed"
    assert checks["changes training"].status == "passed"


def test_trick_declaring_a_hook_it_does_not_change_is_caught() -> None:
    spec = trick_spec(NoisyButNotSmoothing, ("transform_d_input", "targets"))
    results = check_trick(spec)
    assert failed_checks(results) == {"targets changes D's real or fake targets"}
    assert "none changed" in by_check(results)["targets changes D's real or fake targets"].detail


def test_trick_declaring_a_hook_it_does_not_override_is_caught() -> None:
    results = check_trick(trick_spec(InstanceNoise, ("transform_d_input", "latent_prior")))
    detail = by_check(results)["overrides exactly the declared hook points"].detail
    assert "declares latent_prior" in detail
    assert "latent_prior changes the latent prior" in failed_checks(results)


def test_trick_overriding_an_undeclared_hook_is_caught() -> None:
    results = check_trick(trick_spec(NoisyButNotSmoothing, ("transform_d_input",)))
    detail = by_check(results)["overrides exactly the declared hook points"].detail
    assert "overrides targets without declaring it" in detail


def test_trick_parameter_default_of_the_wrong_type_is_caught() -> None:
    results = check_trick(trick_spec(params=(TrickParam("std", float, "0.5"),)))
    assert failed_checks(results) == {"parameters"}


def test_trick_that_applies_to_no_probe_model_is_skipped() -> None:
    spec = TrickSpec(
        "picky",
        InstanceNoise,
        ("transform_d_input",),
        (TrickParam("std", float, 0.1),),
        check=lambda model: "only for my own model",
    )
    results = check_trick(spec)
    assert failures(results) == []
    assert by_check(results)["changes training"].status == "skipped"
    assert "only for my own model" in by_check(results)["changes training"].detail


class HorizontalFlip(Trick):
    """Flips every D input left-right: only images have a width to flip."""

    hook_points = ("transform_d_input",)

    def __init__(self, params: dict) -> None:
        pass

    def transform_d_input(self, x: Tensor, which, ctx) -> Tensor:  # type: ignore[no-untyped-def]
        return x.flip(3)


def test_image_only_trick_is_trained_on_the_image_probe() -> None:
    results = check_trick(TrickSpec("flip", HorizontalFlip, ("transform_d_input",)))
    assert failures(results) == []
    detail = by_check(results)["changes training"].detail
    assert "8x8 images" in detail and "training failed on mlp on 2-D points" in detail


def test_checks_leave_the_global_rng_alone(small_registry: Registry) -> None:
    torch.manual_seed(7)
    state = torch.get_rng_state()
    check_trick(trick_spec())
    check_model(model_spec(), small_registry)
    check_metric(mean_metric(lambda inputs, params: {"mean": float(torch.rand(1))}))
    assert torch.equal(torch.get_rng_state(), state)


# --- datasets ------------------------------------------------------------------------


def toy_loader(*, info_size: int = 4, label_shift: int = 0, seeded: bool = True):
    """A 40-image labelled dataset; arguments break it."""

    def load(options: DatasetOptions) -> GanDataset:
        gen = torch.Generator().manual_seed(0) if seeded else None
        x = torch.rand(40, 1, 4, 4, generator=gen) * 2 - 1
        y = torch.arange(40) % 4 + label_shift
        splits = {k: Batch(x=x[i], y=y[i]) for k, i in split_indices(40).items()}
        info = DataInfo("toy", "image", (1, info_size, info_size), fields=("x", "y"), num_classes=4)
        return GanDataset(info, splits)

    return load


def test_a_working_dataset_passes_every_check() -> None:
    results = check_dataset(DatasetSpec("toy", toy_loader(), "image"))
    assert failures(results) == []
    assert len(results) == 9


@pytest.mark.parametrize(
    ("broken", "check", "fragment"),
    [
        ({"info_size": 8}, "shapes", "info.shape is (1, 8, 8)"),
        ({"label_shift": 1}, "labels", "lie in [1, 4], outside [0, 4)"),
        ({"seeded": False}, "deterministic", "fingerprints differ"),
    ],
    ids=["mismatched-shape", "labels-out-of-range", "nondeterministic"],
)
def test_broken_datasets_are_caught(broken: dict, check: str, fragment: str) -> None:
    results = check_dataset(DatasetSpec("toy", toy_loader(**broken), "image"))
    assert failed_checks(results) == {check}
    assert fragment in by_check(results)[check].detail


def test_dataset_kind_mismatch_and_missing_data() -> None:
    results = check_dataset(DatasetSpec("toy", toy_loader(), "vector"))
    assert "info matches the spec" in failed_checks(results)

    def missing(options: DatasetOptions) -> GanDataset:
        raise DataMissingError("toy: no files in /data")

    results = check_dataset(DatasetSpec("toy", missing, "image"))
    assert [r.status for r in results] == ["passed", "skipped"]
    assert "toy: no files in /data" in results[1].detail


# --- metrics -------------------------------------------------------------------------


def mean_metric(compute, outputs=None, needs=()) -> MetricSpec:
    return MetricSpec(
        name="mean",
        compute=compute,
        outputs=outputs or {"mean": "info"},
        needs=needs,
        description="mean of the fake samples",
    )


def _mean(inputs: EvalInputs, params) -> dict[str, float]:  # type: ignore[no-untyped-def]
    return {"mean": float(inputs.fake.double().mean())}


def _case(value: float, expected: float) -> MetricCase:
    fake = torch.full((5, 2), value)
    info = DataInfo("toy", "vector", (2,))
    inputs = EvalInputs(info, Batch(x=torch.zeros(5, 2)), fake, Batch(x=fake), extractor=None)
    return MetricCase(inputs, {"mean": expected}, tolerance=1e-9)


def test_a_working_metric_passes_with_its_known_answers() -> None:
    results = check_metric(mean_metric(_mean), [_case(0.5, 0.5), _case(-2.0, -2.0)])
    assert failures(results) == []
    assert [r.check for r in results] == [
        "registration",
        "outputs on constructed inputs",
        "deterministic",
        "known answer 1",
        "known answer 2",
    ]


def test_metric_missing_a_known_answer_is_caught() -> None:
    results = check_metric(mean_metric(_mean), [_case(0.5, 0.5), _case(0.5, 0.25)])
    assert failed_checks(results) == {"known answer 2"}
    assert "expected 0.25" in by_check(results)["known answer 2"].detail


def test_nondeterministic_metric_is_caught() -> None:
    spec = mean_metric(lambda inputs, params: {"mean": random.random()})
    assert failed_checks(check_metric(spec)) == {"deterministic"}


@pytest.mark.parametrize(
    ("compute", "fragment"),
    [
        (lambda i, p: {"mean": 0.5, "median": 0.5}, "undeclared output(s) median"),
        (lambda i, p: {}, "no outputs"),
        (lambda i, p: {"mean": 1}, "is int, not a float"),
        (lambda i, p: {"mean": float("nan")}, "is nan"),
    ],
    ids=["undeclared", "empty", "int", "nan"],
)
def test_metric_with_bad_outputs_is_caught(compute, fragment: str) -> None:  # type: ignore[no-untyped-def]
    results = check_metric(mean_metric(compute))
    assert failed_checks(results) == {"outputs on constructed inputs"}
    assert fragment in by_check(results)["outputs on constructed inputs"].detail


def test_metric_with_bad_declarations_is_caught() -> None:
    assert failed_checks(check_metric(mean_metric(_mean, {"mean": "up"}))) == {"registration"}
    assert failed_checks(check_metric(mean_metric(_mean, needs=("telepathy",)))) == {"registration"}


@pytest.mark.parametrize("need", [None, *KNOWN_NEEDS])
def test_constructed_inputs_offer_what_each_need_asks_for(need: str | None) -> None:
    needs = () if need is None else (need,)
    spec = mean_metric(_mean, needs=needs)
    assert why_not_applicable(spec, constructed_inputs(needs)) is None


# --- check_plugin, assert_plugin_conforms and the fixtures ---------------------------


BROKEN_PLUGIN = '''
"""A plugin whose model draws images outside [-1, 1]."""

import torch
from torch import nn

import ganbench
from ganbench.api import ModelSpec, TaskKind, UnconditionalGAN


class Bright(UnconditionalGAN):
    latent_dim = 2

    def __init__(self, info):
        super().__init__()
        self.generator = nn.Sequential(
            nn.Linear(2, 64), nn.Unflatten(1, (1, 8, 8))
        )
        self.discriminator = nn.Sequential(nn.Flatten(), nn.Linear(64, 1), nn.Flatten(0))

    def generate(self, z, cond):
        return 5.0 + self.generator(z)

    def configure_optimizers(self):
        return self.adam_optimizers()


@ganbench.hookimpl
def ganbench_register_models(register):
    register(ModelSpec("bright", Bright, TaskKind.UNCONDITIONAL, ("image",), paper="none",
                       check=lambda info: None if info.shape == (1, 8, 8) else "8x8 only"))
'''


def write_plugins(tmp_path: Path) -> Path:
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "bright.py").write_text(textwrap.dedent(BROKEN_PLUGIN))
    (folder / "unloadable.py").write_text("import no_such_module_for_ganbench\n")
    return folder


def test_check_plugin_reports_load_errors_and_registered_items(tmp_path: Path) -> None:
    registry = load_registry(write_plugins(tmp_path))
    [loads] = check_plugin("unloadable", registry)
    assert (loads.kind, loads.check, loads.status) == ("plugin", "plugin loads", "failed")
    assert "no_such_module_for_ganbench" in loads.detail

    results = check_plugin("bright", registry)
    assert results[0].check == "plugin loads" and results[0].status == "passed"
    assert {r.kind for r in results[1:]} == {"model"}
    assert "generator output range [digits]" in failed_checks(results)
    with pytest.raises(AssertionError) as caught:
        assert_plugin_conforms("bright", registry)
    lines = str(caught.value).splitlines()
    assert len(lines) == 1 + len(failures(results))
    assert any(line.startswith("model bright: generator output range [digits]: ") for line in lines)


def test_check_plugin_by_item_name_and_unknown_names() -> None:
    registry = load_registry()
    results = check_plugin("ring8", registry)
    assert {(r.kind, r.subject) for r in results} == {("dataset", "ring8")}
    assert_plugin_conforms("toy2d", registry)
    with pytest.raises(UnknownNameError) as caught:
        check_plugin("no-such-plugin", registry)
    assert "toy2d" in caught.value.choices and "ganbench-core" in caught.value.choices


def test_fixtures(ganbench_registry: Registry, ganbench_sandbox) -> None:  # type: ignore[no-untyped-def]
    assert "dcgan" in ganbench_registry.models
    assert os.environ["GANBENCH_CACHE_DIR"] == str(ganbench_sandbox.cache_dir)
    assert os.environ["GANBENCH_RUNS_DIR"] == str(ganbench_sandbox.runs_dir)
    assert os.environ["GANBENCH_STORE"] == str(ganbench_sandbox.store)
    assert ganbench_sandbox.cache_dir.is_dir() and not ganbench_sandbox.store.exists()


# --- the command ---------------------------------------------------------------------


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_table_for_a_conforming_plugin(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("COLUMNS", "250")
    code, out, _ = run_cli(["check-plugin", "dcgan"], capsys)
    assert code == 0
    for text in ("kind", "subject", "check", "status", "detail", "plugin loads"):
        assert text in out
    assert "generator output shape [digits]" in out and "passed" in out
    assert "0 failed" in out


def test_cli_json(capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run_cli(["check-plugin", "ring8", "--json"], capsys)
    assert code == 0
    rows = json.loads(out)
    assert rows and all(
        set(row) == {"kind", "subject", "check", "status", "detail"} for row in rows
    )
    assert {row["status"] for row in rows} == {"passed"}


def test_cli_unknown_name_is_one_line(capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_cli(["check-plugin", "no-such-plugin"], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert "unknown plugin 'no-such-plugin'; valid choices: " in err and "dcgan" in err


def test_cli_failing_plugin_exits_1(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    folder = write_plugins(tmp_path)
    code, out, _ = run_cli(
        ["check-plugin", "bright", "--plugins-dir", str(folder), "--json"], capsys
    )
    assert code == 1
    failed = [row for row in json.loads(out) if row["status"] == "failed"]
    assert failed and all(row["subject"] == "bright" for row in failed)
    code, out, _ = run_cli(["check-plugin", "bright", "--plugins-dir", str(folder)], capsys)
    assert code == 1 and "failed" in out
