"""The curated public surface: every name in __all__ exists, and nothing private leaks."""

from __future__ import annotations

import importlib

import pytest

import discoverly

PACKAGES = ["discoverly", "discoverly.data", "discoverly.recommend", "discoverly.evaluate", "discoverly.errors"]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_resolve(name: str) -> None:
    module = importlib.import_module(name)
    for attr in module.__all__:
        assert getattr(module, attr) is not None, f"{name}.{attr}"
        assert not attr.startswith("_") or attr == "__version__"


def test_top_level_is_lazy_and_complete() -> None:
    assert discoverly.Interactions is importlib.import_module("discoverly.data").Interactions
    with pytest.raises(AttributeError):
        discoverly.no_such_thing  # noqa: B018


def test_every_error_is_also_a_builtin() -> None:
    from discoverly import errors

    for cls in (errors.DataError, errors.ConfigError):
        assert issubclass(cls, ValueError)
    assert issubclass(errors.UnknownIdError, KeyError)
    assert issubclass(errors.MissingDependencyError, ImportError)
    assert issubclass(errors.ArtifactError, OSError)
    assert issubclass(errors.ResourceLimitError, MemoryError)
    import discoverly

    for name in errors.__all__:  # the whole tree from the top level (ResourceLimitError was missing)
        if name != "EXIT_CODES":
            assert getattr(discoverly, name) is getattr(errors, name), name
    assert str(errors.UnknownIdError("unknown item 'x'")) == "unknown item 'x'"


def test_evaluate_is_callable_from_the_top_level_even_after_its_package_is_imported() -> None:
    # importing discoverly.evaluate binds the package to discoverly.evaluate, shadowing the lazy
    # function: dv.evaluate(...) was "TypeError: 'module' object is not callable" from the second use
    import discoverly.evaluate.metrics
    from discoverly import evaluate
    from discoverly.data import Interactions

    days = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-20", "2024-01-21", "2024-01-22"]
    log = Interactions.from_indices([0, 1, 1, 2, 2, 0], [0, 0, 1, 1, 2, 2], days)
    for fn in (discoverly.evaluate, evaluate):
        assert callable(fn)
        ev = fn(log, ["popularity"], cutoffs="2024-01-15", k=1, n_boot=10)
        assert type(ev).__name__ == "Evaluation"
    assert discoverly.evaluate.hit_rate is importlib.import_module("discoverly.evaluate.metrics").hit_rate
    import inspect

    assert list(inspect.signature(discoverly.evaluate).parameters)[:2] == ["interactions", "models"]  # help()


def test_no_public_name_is_shadowed_by_a_submodule_of_the_same_name() -> None:
    """Importing ``pkg.name`` binds the submodule to ``pkg.name``: a public function of that name
    then turns into a module (discoverly.privacy.neighbours did, and discoverly.evaluate)."""
    import pkgutil
    import types

    skip = ("discoverly.engine.spark", "discoverly.serve", "discoverly.cli")
    found = [info for info in pkgutil.walk_packages(discoverly.__path__, "discoverly.")
             if not info.name.startswith(skip) and not info.name.endswith("__main__")]
    for info in found:  # every submodule imported, as a long session ends up
        importlib.import_module(info.name)
    for package in [discoverly, *(importlib.import_module(i.name) for i in found if i.ispkg)]:
        for name in getattr(package, "__all__", []):
            value = getattr(package, name)
            assert not isinstance(value, types.ModuleType) or callable(value), f"{package.__name__}.{name}"
