"""ServeConfig's documented defaults, limits and refusals (docs/serve.md), and what load_config's errors say.

The expected values are the page's, written out by hand: a changed default or bound changes what every
deployment accepts, so each one is pinned here (mutation testing: none of them was)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from discoverly.errors import ConfigError
from discoverly.serve.config import ExperimentConfig, ServeConfig, load_config


def arms(*shares: float) -> list[dict[str, Any]]:
    return [{"name": f"a{i}", "version": "v1", "share": s} for i, s in enumerate(shares)]


def test_defaults_are_the_documented_ones() -> None:
    cfg = ServeConfig(artifacts=Path("a"))
    # docs/serve.md, "Limits and exposure", "Events" and "Configuration"
    assert cfg.max_body_bytes == 1_000_000 and cfg.max_bulk_bytes == 64_000_000
    assert cfg.max_batch == 1_000 and cfg.max_bulk_batch == 200_000
    assert cfg.max_k == 100 and cfg.default_k == 10
    assert cfg.max_future_seconds == 86_400  # 1 day
    assert cfg.history_types == ["purchase"]
    assert cfg.reload_poll_seconds == 1.0
    assert cfg.cors_origins == [] and cfg.experiments == [] and cfg.capabilities == {}
    assert cfg.ui is True and cfg.admin_token is None and cfg.store == "" and cfg.catalog is None
    assert (cfg.catalog_item, cfg.catalog_title) == ("item", "title")
    exp = ExperimentConfig(name="e", arms=arms(0.5, 0.5))
    assert exp.endpoint == "recommendations" and exp.active is True and exp.window_days == 7.0


@pytest.mark.parametrize(("field", "ok", "refused"), [
    ("max_k", 10_000, 10_001),        # "at most 10,000 whatever the config"
    ("max_k", 1, 0),
    ("default_k", 1, 0),
    ("max_batch", 100_000, 100_001),
    ("max_batch", 1, 0),
    ("max_bulk_batch", 1, 0),
    ("max_body_bytes", 1, 0),
    ("max_bulk_bytes", 1, 0),
    ("max_future_seconds", 0, -1),
    ("reload_poll_seconds", 0.0, -0.5),  # 0: only POST /admin/reload reloads
])
def test_numeric_bounds(field: str, ok: float, refused: float) -> None:
    extra = {"max_k": 10_000} if field == "default_k" else {"default_k": 1} if field == "max_k" else {}
    assert getattr(ServeConfig(artifacts=Path("a"), **{**extra, field: ok}), field) == ok
    with pytest.raises(ValidationError, match=field):
        ServeConfig(artifacts=Path("a"), **{**extra, field: refused})


def test_default_k_may_equal_max_k_but_not_exceed_it() -> None:
    assert ServeConfig(artifacts=Path("a"), max_k=7, default_k=7).default_k == 7
    with pytest.raises(ValidationError, match=r"default_k \(8\) must not be larger than max_k \(7\)"):
        ServeConfig(artifacts=Path("a"), max_k=7, default_k=8)


def test_arm_shares_add_up_to_one_within_rounding() -> None:
    # ten shares of 0.1 add up to 0.9999999999999999 in floating point: a configuration anyone would write
    assert sum([0.1] * 10) != 1.0
    assert len(ExperimentConfig(name="e", arms=arms(*[0.1] * 10)).arms) == 10
    with pytest.raises(ValidationError, match=r"add up to 1\.001"):
        ExperimentConfig(name="e", arms=arms(0.5, 0.501))
    with pytest.raises(ValidationError, match=r"add up to 0\.999"):
        ExperimentConfig(name="e", arms=arms(0.5, 0.499))


@pytest.mark.parametrize("bad", [
    {"arms": arms(1.0)},                                  # one arm is no experiment
    {"arms": arms(0.0, 1.0)},                             # an arm nobody is assigned to
    {"arms": arms(1.5, -0.5)},
    {"arms": [{"name": "a b", "version": "v1", "share": 0.5}, {"name": "c", "version": "v1", "share": 0.5}]},
    {"arms": arms(0.5, 0.5), "name": "x/y"},              # names appear in URLs and file names
    {"arms": arms(0.5, 0.5), "window_days": 0},
    {"arms": arms(0.5, 0.5), "endpoint": "search"},
    {"arms": arms(0.5, 0.5), "windows_days": 3},          # a misspelt setting is refused, not ignored
    {"arms": [{"name": "a", "version": "v1", "share": 0.5, "weight": 2}, {"name": "b", "version": "v1", "share": 0.5}]},
])
def test_experiment_refusals(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ExperimentConfig(**{"name": "e", **bad})


def test_a_misspelt_setting_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "serve.json"
    path.write_text(json.dumps({"artifacts": "a", "max_kk": 5}))
    with pytest.raises(ConfigError, match="max_kk"):
        load_config(path)


def test_experiments_per_endpoint() -> None:
    def exp(name: str, endpoint: str = "recommendations", active: bool = True) -> ExperimentConfig:
        return ExperimentConfig(name=name, endpoint=endpoint, active=active, arms=arms(0.5, 0.5))  # type: ignore[arg-type]

    # one active experiment on each endpoint, and any number of inactive ones, are fine
    cfg = ServeConfig(artifacts=Path("a"), experiments=[exp("x"), exp("y", "related"), exp("z", active=False),
                                                         exp("w", active=False)])
    assert [e.name for e in cfg.experiments] == ["x", "y", "z", "w"]
    with pytest.raises(ValidationError, match=r"'related' has \['x', 'y'\]"):
        ServeConfig(artifacts=Path("a"), experiments=[exp("x", "related"), exp("y", "related")])
    # a name is unique even among inactive experiments (the store keys exposures by name)
    with pytest.raises(ValidationError, match="experiment names must be unique"):
        ServeConfig(artifacts=Path("a"), experiments=[exp("x"), exp("x", active=False)])


def test_load_config_errors_name_the_file_and_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(ConfigError, match=f"config file '{re.escape(str(missing))}' does not exist"):
        load_config(missing)
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'artifacts = "caf\xe9"\n')
    name = re.escape(str(latin))
    with pytest.raises(ConfigError, match=rf"config file '{name}' is not UTF-8 .*at byte 16\); save it as UTF-8"):
        load_config(latin)
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    name = re.escape(str(listed))
    with pytest.raises(ConfigError, match=f"config file '{name}' holds a JSON list; expected an object of settings "
                                          r'such as \{"artifacts": "artifacts/"\}'):
        load_config(listed)


@pytest.mark.parametrize(("name", "text"), [("serve.toml", 'artifacts = "a"\nmax_k = \n'),
                                             ("serve.json", '{"artifacts": "a",}')])
def test_an_unparseable_config_file_is_a_config_error_naming_it(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError, match=f"cannot parse config file '{re.escape(str(path))}': .*line [12]"):
        load_config(path)


def test_validation_summary_names_each_field_by_its_path() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(None, artifacts="a", max_k=0, experiments=[{"name": "e", "arms": arms(0.5, 0.6)}])
    message = str(info.value)
    assert message.startswith("invalid serve configuration: max_k: Input should be greater than 0; "
                              "experiments.0: Value error, the arm shares of experiment 'e' add up to 1.1"), message
    # an error of the whole configuration (no field) is said to be the config's
    with pytest.raises(ConfigError, match=r"^invalid serve configuration: config: Value error, default_k \(11\)"):
        load_config(None, artifacts="a", max_k=10, default_k=11)
