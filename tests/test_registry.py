"""``ganbench.registry``: loading plugins and validating what they register.

Plugins here are small in-process modules handed to
``load_registry(extra_plugins=...)``; the entry points are left out unless a
test is about first-party names.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ganbench.api import (
    API_VERSION,
    DatasetSpec,
    FeatureExtractorSpec,
    MetricSpec,
    ModelSpec,
    TaskKind,
    TrickSpec,
    hookimpl,
)
from ganbench.errors import GanbenchError, UnknownNameError
from ganbench.registry import CORE_PLUGIN_NAME, Registry, load_registry
from ganbench.trick import HOOK_POINTS

HOOKS = {
    "models": "ganbench_register_models",
    "datasets": "ganbench_register_datasets",
    "metrics": "ganbench_register_metrics",
    "feature_extractors": "ganbench_register_feature_extractors",
    "tricks": "ganbench_register_tricks",
}


def model(name: str = "m", **changes: Any) -> ModelSpec:
    fields = {
        "build": dict,
        "task": TaskKind.UNCONDITIONAL,
        "data_kinds": ("vector",),
        "paper": "p",
    }
    return ModelSpec(name=name, **{**fields, **changes})


def dataset(name: str = "d", **changes: Any) -> DatasetSpec:
    return DatasetSpec(name=name, **{"load": dict, "kind": "vector", **changes})


def metric(name: str = "mt", **changes: Any) -> MetricSpec:
    return MetricSpec(name=name, **{"compute": dict, "outputs": {name: "lower"}, **changes})


def extractor(name: str = "fx", **changes: Any) -> FeatureExtractorSpec:
    return FeatureExtractorSpec(name=name, **{"build": dict, **changes})


def trick(name: str = "t", **changes: Any) -> TrickSpec:
    return TrickSpec(name=name, **{"build": dict, "hook_points": ("targets",), **changes})


def plugin(name: str = "p", **registrations: list[Any]) -> ModuleType:
    """A plugin module whose hook for each kind registers the given specs in order."""
    module = ModuleType(name)
    for kind, specs in registrations.items():

        def register_all(register, _specs=tuple(specs)) -> None:
            for spec in _specs:
                register(spec)

        setattr(module, HOOKS[kind], hookimpl(register_all))
    return module


def load(*plugins: tuple[str, ModuleType], entry_points: bool = False) -> Registry:
    return load_registry(include_entry_points=entry_points, extra_plugins=plugins)


def reports(registry: Registry) -> dict[str, dict]:
    return {r.name: r.to_dict() for r in registry.reports}


# --- valid registrations ------------------------------------------------------------


def test_every_kind_registers_and_records_its_owner() -> None:
    mod = plugin(
        models=[model("m1"), model("m2")], datasets=[dataset()], metrics=[metric()],
        feature_extractors=[extractor()], tricks=[trick()],
    )  # fmt: skip
    mod.__version__ = "0.7"
    registry = load(("mine", mod))
    assert set(registry.models) == {"m1", "m2"}
    assert registry.dataset("d").name == "d"
    assert registry.metric("mt").name == "mt"
    assert registry.feature_extractor("fx").name == "fx"
    assert registry.trick("t").name == "t"
    assert registry.owner("models", "m1") == "mine"
    assert registry.owner("metrics", "fid") == CORE_PLUGIN_NAME
    entry = reports(registry)["mine"]
    assert entry == {
        "name": "mine",
        "version": "0.7",
        "source": "in-process",
        "registers": {
            "models": ["m1", "m2"], "datasets": ["d"], "metrics": ["mt"],
            "feature_extractors": ["fx"], "tricks": ["t"],
        },
        "error": None,
        "distribution": None,  # an in-process plugin comes from no installed distribution
    }  # fmt: skip


def test_reports_are_sorted_and_include_the_core() -> None:
    registry = load(("zeta", plugin(models=[model("z")])), ("alpha", plugin(models=[model("a")])))
    names = [r.name for r in registry.reports]
    assert names == sorted(names)
    assert set(names) == {CORE_PLUGIN_NAME, "alpha", "zeta"}


def test_valid_names() -> None:
    names = ["a", "0x", "wgan-gp", "gan.v2", "my_gan"]
    registry = load(("p", plugin(models=[model(n) for n in names])))
    assert set(registry.models) == set(names)


# --- duplicates ---------------------------------------------------------------------


def test_duplicate_name_keeps_the_first_and_names_its_owner() -> None:
    first = model("same", paper="first")
    registry = load(
        ("first-plugin", plugin(models=[first])),
        ("second-plugin", plugin(models=[model("same", paper="second")])),
    )
    assert registry.model("same") is first
    assert registry.owner("models", "same") == "first-plugin"
    entries = reports(registry)
    assert entries["first-plugin"]["error"] is None
    error = entries["second-plugin"]["error"]
    assert "'same'" in error and "already registered" in error and "'first-plugin'" in error
    assert entries["second-plugin"]["registers"] == {}


def test_duplicate_within_one_plugin() -> None:
    registry = load(("p", plugin(datasets=[dataset("d", description="1"), dataset("d")])))
    assert registry.dataset("d").description == "1"
    assert "'d'" in reports(registry)["p"]["error"]


def test_same_name_in_different_kinds_is_allowed() -> None:
    registry = load(("p", plugin(models=[model("x")], datasets=[dataset("x")])))
    assert "x" in registry.models and "x" in registry.datasets
    assert reports(registry)["p"]["error"] is None


def test_duplicate_of_a_core_metric() -> None:
    registry = load(("p", plugin(metrics=[metric("fid")])))
    assert registry.owner("metrics", "fid") == CORE_PLUGIN_NAME
    assert f"'{CORE_PLUGIN_NAME}'" in reports(registry)["p"]["error"]


def test_duplicate_of_a_first_party_model() -> None:
    registry = load(("impostor", plugin(models=[model("dcgan")])), entry_points=True)
    assert registry.owner("models", "dcgan") == "dcgan"
    assert registry.model("dcgan").paper.startswith("Radford")
    assert "plugin 'dcgan'" in reports(registry)["impostor"]["error"]


def test_duplicate_first_loaded_wins_whatever_the_hook_order() -> None:
    late = ModuleType("late")
    late.ganbench_register_models = hookimpl(trylast=True)(
        lambda register: register(model("same", paper="late"))
    )
    registry = load(("early", plugin(models=[model("same", paper="early")])), ("late", late))
    assert registry.owner("models", "same") == "early"
    assert "'early'" in (reports(registry)["late"]["error"] or "")


def test_two_plugins_with_one_name() -> None:
    registry = load(("twin", plugin(models=[model("a")])), ("twin", plugin(models=[model("b")])))
    assert set(registry.models) == {"a"}
    entries = reports(registry)
    assert entries["twin"]["error"] is None
    skipped = [e for name, e in entries.items() if name.startswith("twin ")]
    assert len(skipped) == 1 and "already loaded" in skipped[0]["error"]


# --- invalid registrations ----------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "spec", "needles"),
    [
        ("models", dataset("oops"), ["ModelSpec", "DatasetSpec"]),
        ("models", {"name": "m"}, ["ModelSpec", "dict"]),
        ("datasets", model("oops"), ["DatasetSpec", "ModelSpec"]),
        ("metrics", "fid", ["MetricSpec", "str"]),
        ("tricks", None, ["TrickSpec", "NoneType"]),
        ("feature_extractors", metric(), ["FeatureExtractorSpec", "MetricSpec"]),
    ],
)
def test_wrong_spec_type(kind: str, spec: Any, needles: list[str]) -> None:
    registry = load(("p", plugin(**{kind: [spec]})))
    error = reports(registry)["p"]["error"]
    for needle in needles:
        assert needle in error
    assert reports(registry)["p"]["registers"] == {}


@pytest.mark.parametrize("name", ["My-GAN", "my gan", "", "-gan", ".gan", "gan!", "gané", 3, None])
def test_invalid_names(name: Any) -> None:
    registry = load(("p", plugin(models=[model(name)])))
    error = reports(registry)["p"]["error"]
    assert repr(name) in error and "lowercase" in error
    assert registry.models == {}


@pytest.mark.parametrize(
    ("kind", "spec", "needles"),
    [
        ("models", model(paper=""), ["'m'", "paper"]),
        ("models", model(build="not callable"), ["'m'", "'build'", "callable"]),
        ("models", model(task="unconditional"), ["'m'", "TaskKind"]),
        ("models", model(data_kinds=()), ["'m'", "data_kinds"]),
        ("models", model(data_kinds=("audio",)), ["'m'", "data_kinds", "image", "vector"]),
        ("datasets", dataset(load=None), ["'d'", "'load'"]),
        ("datasets", dataset(kind="audio"), ["'d'", "'audio'", "image", "vector"]),
        ("metrics", metric(compute=42), ["'mt'", "'compute'"]),
        ("metrics", metric(outputs={}), ["'mt'", "outputs"]),
        ("feature_extractors", extractor(build=None), ["'fx'", "'build'"]),
        ("tricks", trick(build="x"), ["'t'", "'build'"]),
    ],
    ids=[
        "model-paper",
        "model-build",
        "model-task",
        "model-no-data",
        "model-bad-data",
        "dataset-load",
        "dataset-kind",
        "metric-compute",
        "metric-outputs",
        "fx-build",
        "trick-build",
    ],  # fmt: skip
)
def test_invalid_fields(kind: str, spec: Any, needles: list[str]) -> None:
    registry = load(("p", plugin(**{kind: [spec]})))
    error = reports(registry)["p"]["error"]
    assert error is not None and "\n" not in error
    for needle in needles:
        assert needle in error, (needle, error)
    assert getattr(registry, kind).get(spec.name) is None


@pytest.mark.parametrize("hook_points", [("nonsense",), ("targets", "nonsense"), ()])
def test_invalid_trick_hook_points(hook_points: tuple[str, ...]) -> None:
    registry = load(("p", plugin(tricks=[trick("t", hook_points=hook_points)])))
    error = reports(registry)["p"]["error"]
    assert "'t'" in error and "hook_points" in error
    assert all(point in error for point in hook_points)
    assert all(point in error for point in HOOK_POINTS)  # the valid choices
    assert registry.tricks == {}


def test_every_hook_point_is_valid() -> None:
    registry = load(("p", plugin(tricks=[trick("t", hook_points=HOOK_POINTS)])))
    assert "t" in registry.tricks


def test_valid_registrations_of_a_plugin_survive_its_invalid_ones() -> None:
    registry = load(("p", plugin(models=[model("good"), model("Bad"), model("also-good")])))
    assert set(registry.models) == {"good", "also-good"}
    entry = reports(registry)["p"]
    assert entry["registers"] == {"models": ["also-good", "good"]}
    assert "'Bad'" in entry["error"]


def test_several_errors_join_into_one_line() -> None:
    registry = load(
        ("p", plugin(models=[model("A"), model("b", paper="")], tricks=[trick(hook_points=())]))
    )
    error = reports(registry)["p"]["error"]
    assert "\n" not in error
    assert "'A'" in error and "'b'" in error and "'t'" in error


# --- plugins that break while loading -------------------------------------------------


def test_hook_that_raises_is_reported_and_others_load() -> None:
    def explode(register) -> None:
        register(model("before-boom"))
        raise ValueError("boom")

    broken = ModuleType("broken")
    broken.ganbench_register_models = hookimpl(explode)
    registry = load(("broken", broken), ("fine", plugin(models=[model("fine")])))
    error = reports(registry)["broken"]["error"]
    assert "ganbench_register_models" in error and "ValueError" in error and "boom" in error
    assert "\n" not in error
    assert "fine" in registry.models
    assert reports(registry)["fine"]["error"] is None


def test_malformed_hook_implementation_is_reported() -> None:
    bad = ModuleType("bad")
    bad.ganbench_register_models = hookimpl(lambda reg, extra: None)  # wrong argument names
    registry = load(("bad", bad), ("fine", plugin(models=[model("fine")])))
    error = reports(registry)["bad"]["error"]
    assert error is not None and "ganbench_register_models" in error
    assert "fine" in registry.models


def test_other_api_version_is_reported_and_not_loaded() -> None:
    future = plugin(models=[model("future")])
    future.GANBENCH_API_VERSION = 999
    registry = load(("future", future))
    error = reports(registry)["future"]["error"]
    assert "999" in error and str(API_VERSION) in error
    assert "future" not in registry.models


def test_current_api_version_loads() -> None:
    current = plugin(models=[model("now")])
    current.GANBENCH_API_VERSION = API_VERSION
    assert "now" in load(("current", current)).models


def test_hook_raising_system_exit_is_reported() -> None:
    def leave(register) -> None:
        raise SystemExit(1)

    rude = ModuleType("rude")
    rude.ganbench_register_models = hookimpl(leave)
    registry = load(("rude", rude), ("fine", plugin(models=[model("fine")])))
    assert "SystemExit" in reports(registry)["rude"]["error"]
    assert "fine" in registry.models


def test_unknown_hook_is_reported() -> None:
    typo = ModuleType("typo")
    typo.ganbench_register_modles = hookimpl(lambda register: None)
    error = reports(load(("typo", typo)))["typo"]["error"]
    assert error is not None and "ganbench_register_modles" in error


def test_version_is_a_string() -> None:
    mod = plugin(models=[model("v")])
    mod.__version__ = 2
    assert reports(load(("v", mod)))["v"]["version"] == "2"


# --- plugins folder and environment -----------------------------------------------------


def test_plugins_folder(tmp_path: Path) -> None:
    (tmp_path / "ok.py").write_text(
        "import ganbench\n"
        "__version__ = '3.1'\n"
        "@ganbench.hookimpl\n"
        "def ganbench_register_datasets(register):\n"
        "    register(ganbench.DatasetSpec(name='from-file', load=dict, kind='vector'))\n"
    )
    (tmp_path / "broken.py").write_text("import no_such_module_for_ganbench_tests\n")
    (tmp_path / "_skipped.py").write_text("raise RuntimeError\n")
    registry = load_registry(tmp_path, include_entry_points=False)
    entries = reports(registry)
    assert set(entries) == {CORE_PLUGIN_NAME, "ok", "broken"}
    assert entries["ok"]["version"] == "3.1" and entries["ok"]["source"] == str(tmp_path / "ok.py")
    assert registry.owner("datasets", "from-file") == "ok"
    assert "ModuleNotFoundError" in entries["broken"]["error"]
    assert "no_such_module_for_ganbench_tests" in entries["broken"]["error"]
    assert "broken.py:1" in entries["broken"]["error"]


def test_plugins_folder_from_environment(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "envplug.py").write_text("")
    monkeypatch.setenv("GANBENCH_PLUGINS_DIR", str(tmp_path))
    assert "envplug" in reports(load_registry(include_entry_points=False))


def test_missing_plugins_folder_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(GanbenchError, match="no-such-folder") as info:
        load_registry(tmp_path / "no-such-folder", include_entry_points=False)
    assert info.value.exit_code == 2 and "\n" not in str(info.value)


#: Every first-party plugin: the ``ganbench`` entry points of this distribution.
FIRST_PARTY = {
    ep.name
    for ep in entry_points(group="ganbench")
    if ep.dist is not None and ep.dist.name == "ganbench"
}


@pytest.mark.parametrize(
    ("load_only", "disable", "expected"),
    [
        (None, None, FIRST_PARTY),
        ("digits,dcgan", None, {"digits", "dcgan"}),
        ("", None, set()),
        (" , ", None, set()),
        ("ganbench", None, FIRST_PARTY),
        ("ganbench", "toy2d,gan", FIRST_PARTY - {"toy2d", "gan"}),
        (None, "ganbench", set()),
        ("digits,no-such-plugin", None, {"digits"}),
    ],
)
def test_environment_switches(load_only, disable, expected: set[str], monkeypatch) -> None:
    for var, value in (("GANBENCH_LOAD_PLUGINS", load_only), ("GANBENCH_DISABLE_PLUGINS", disable)):
        if value is not None:
            monkeypatch.setenv(var, value)
    registry = load_registry()
    assert {r.name for r in registry.reports} == expected | {CORE_PLUGIN_NAME}
    assert "fid" in registry.metrics  # the core always loads


# --- lookups --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "noun"),
    [
        ("model", "model"),
        ("dataset", "dataset"),
        ("metric", "metric"),
        ("feature_extractor", "feature extractor"),
        ("trick", "trick"),
    ],
)
def test_unknown_name_raises_with_choices(method: str, noun: str) -> None:
    registry = load(
        ("p", plugin(models=[model("zz"), model("aa")], datasets=[dataset()], tricks=[trick()])),
    )
    with pytest.raises(UnknownNameError) as info:
        getattr(registry, method)("nope")
    exc = info.value
    table = {"feature_extractor": "feature_extractors"}.get(method, method + "s")
    assert exc.kind == noun and exc.name == "nope"
    assert exc.choices == sorted(getattr(registry, table)) and exc.choices
    assert exc.exit_code == 2
    message = str(exc)
    assert message.startswith(f"unknown {noun} 'nope'; valid choices: ")
    assert ", ".join(exc.choices) in message and "\n" not in message


def test_unknown_model_lists_first_party_models() -> None:
    registry = load_registry()
    with pytest.raises(UnknownNameError) as info:
        registry.model("nope")
    assert f"valid choices: {', '.join(sorted(registry.models))}" in str(info.value)
    assert {"dcgan", "wgan-gp", "pacgan"} <= set(registry.models)


def test_unknown_name_with_nothing_registered() -> None:
    with pytest.raises(UnknownNameError, match=r"\(none registered\)"):
        load().model("nope")
