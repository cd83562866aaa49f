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
    assert str(errors.UnknownIdError("unknown item 'x'")) == "unknown item 'x'"
