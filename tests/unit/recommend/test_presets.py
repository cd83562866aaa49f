"""Per-data-set presets name registered models and settings their constructors accept."""

from __future__ import annotations

import pytest

from discoverly.errors import MissingDependencyError
from discoverly.recommend import create, model_names
from discoverly.recommend.presets import PRESETS, preset


@pytest.mark.parametrize(("dataset", "model"), [(d, m) for d, ms in PRESETS.items() for m in ms])
def test_every_preset_builds_its_model(dataset: str, model: str) -> None:
    assert model in model_names()
    try:
        built = create(model, **preset(dataset, model))
    except MissingDependencyError as exc:
        pytest.skip(str(exc))
    config = built.config()
    for name, value in preset(dataset, model).items():
        assert config[name] == value


def test_unknown_data_sets_and_models_have_no_preset() -> None:
    assert preset("my-shop", "autoencoder") == {}
    assert preset(None, "ease") == {}
    assert preset("complete-journey", "popularity") == {}
    preset("complete-journey", "autoencoder")["stride_days"] = 1.0  # a copy: the table is unchanged
    assert PRESETS["complete-journey"]["autoencoder"]["stride_days"] == 14.0
