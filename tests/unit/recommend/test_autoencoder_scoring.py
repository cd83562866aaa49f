"""The autoencoder's numpy scoring, by hand: a model with made-up weights scores tiny histories, and
every number is recomputed in plain Python from the formulas of docs/autoencoder.md (input
encoding with recency decay, L2 normalisation, tanh bottleneck, decoder + bias + trend offset, the
wide path on the binary history, no opinion on items it does not model or on empty histories)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from discoverly.recommend import History
from discoverly.recommend.autoencoder import Autoencoder

DAY = 86_400
NOW = 1_600_000_000 - 1_600_000_000 % DAY + 100 * DAY
HALF_LIFE = 10.0
N_ITEMS = 5
COLS = [0, 2, 3]  # the items the network scores; items 1 and 4 get no score
W_IN = [[0.5, -0.2], [0.1, 0.4], [-0.3, 0.2]]
B_H = [0.05, -0.1]
W_OUT = [[0.7, -0.4], [-0.2, 0.9], [0.3, 0.3]]
B_OUT = [0.1, -0.2, 0.0]
OFFSET = [0.2, 0.0, -0.5]
W_WIDE = [[0.0, 0.6, -0.1], [0.2, 0.0, 0.3], [-0.4, 0.5, 0.0]]

# per user: item -> (distinct days, age of the last event in days)
USERS: list[dict[int, tuple[int, float]]] = [
    {0: (3, 20.0), 2: (1, 5.0), 1: (4, 0.0)},  # item 1 is not modelled: left out of the input
    {4: (2, 1.0)},                             # only an unmodelled item: the network's empty-input answer
    {},                                        # no history: no opinion at all
    {3: (1, -2.0), 0: (1, 10.0)},              # an event after `now` (clock skew): no decay, not growth
]


def _history() -> History:
    shape = (len(USERS), N_ITEMS)
    days, last = np.zeros(shape), np.zeros(shape)
    for u, items in enumerate(USERS):
        for i, (d, age) in items.items():
            days[u, i] = d
            last[u, i] = NOW - age * DAY
    return History(sp.csr_matrix(days), sp.csr_matrix(days), sp.csr_matrix(last), NOW)


def _model(encoding: str, wide: bool = False) -> Autoencoder:
    model = Autoencoder(encoding=encoding, half_life_days=HALF_LIFE)
    model.cols_ = np.array(COLS, dtype=np.int64)
    model.weights_ = {"W_in": np.array(W_IN, dtype=np.float32), "b_h": np.array(B_H, dtype=np.float32),
                      "W_out": np.array(W_OUT, dtype=np.float32), "b_out": np.array(B_OUT, dtype=np.float32)}
    if wide:
        model.weights_["W_wide"] = np.array(W_WIDE, dtype=np.float32)
    model.offset_ = np.array(OFFSET, dtype=np.float32)
    return model


def _value(encoding: str, days: int, age: float) -> float:
    """The docs' input encoding: 1, 1 + ln(days), 0.5 ** (age / half-life) (no decay for a future
    event), or the product of the last two."""
    freq = 1.0 + math.log(days) if encoding in ("frequency", "recency-frequency") else 1.0
    rec = 0.5 ** (max(age, 0.0) / HALF_LIFE) if encoding in ("recency", "recency-frequency") else 1.0
    return freq * rec


def _expected(encoding: str, wide: bool = False) -> list[list[float]]:
    out = []
    for items in USERS:
        row = [-math.inf] * N_ITEMS
        if not items:
            out.append(row)
            continue
        x = [_value(encoding, *items[c]) if c in items else 0.0 for c in COLS]
        norm = math.sqrt(sum(v * v for v in x)) or 1.0
        xn = [v / norm for v in x]
        h = [math.tanh(sum(xn[j] * W_IN[j][a] for j in range(len(COLS))) + B_H[a]) for a in range(len(B_H))]
        for o, c in enumerate(COLS):
            logit = sum(W_OUT[o][a] * h[a] for a in range(len(B_H))) + B_OUT[o] + OFFSET[o]
            if wide:
                logit += sum(W_WIDE[j][o] for j in range(len(COLS)) if x[j] > 0)
            row[c] = logit
        out.append(row)
    return out


@pytest.mark.parametrize("encoding", ["binary", "recency", "frequency", "recency-frequency"])
def test_scores_follow_the_documented_network_by_hand(encoding: str) -> None:
    got = _model(encoding)._score(_history())
    assert got.shape == (len(USERS), N_ITEMS) and got.dtype == np.float32
    np.testing.assert_allclose(got, _expected(encoding), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("encoding", ["binary", "recency-frequency"])
def test_wide_path_adds_the_rows_of_the_binary_history(encoding: str) -> None:
    got = _model(encoding, wide=True)._score(_history())
    np.testing.assert_allclose(got, _expected(encoding, wide=True), rtol=1e-5, atol=1e-6)


def test_inputs_are_the_encoded_values_of_the_modelled_items() -> None:
    x = _model("recency-frequency")._inputs(_history()).toarray()
    expected = [[_value("recency-frequency", *items[c]) if c in items else 0.0 for c in COLS] for items in USERS]
    np.testing.assert_allclose(x, expected, rtol=1e-6)
    # 3 days, 20 days ago, half-life 10: (1 + ln 3) / 4
    assert x[0, 0] == pytest.approx((1 + math.log(3)) / 4, rel=1e-6)


def test_the_training_record_round_trips_through_the_state_table() -> None:
    """The saved ``training`` table: one row per epoch, the validation hit rate missing (null) for
    epochs without one, and read back as the lists ``training_`` had."""
    model = _model("binary")
    model.training_ = {"train_loss": [3.0, 2.5, 2.25], "val_hit_rate": [0.25, 0.5], "best_epoch": 2}
    arrays, tables = model._state()
    table = tables["training"]
    assert arrays == {} and table["epoch"].to_list() == [1, 2, 3]
    assert table["train_loss"].to_list() == [3.0, 2.5, 2.25]
    assert table["val_hit_rate"].to_list() == [0.25, 0.5, None]
    assert [str(d) for d in table.dtypes] == ["Int64", "Float64", "Float64"]
    back = _model("binary")
    back._set_state({}, tables)
    assert back.training_ == {"train_loss": [3.0, 2.5, 2.25], "val_hit_rate": [0.25, 0.5]}
    # a model trained without validation: no rows, typed columns
    empty = _model("binary")
    empty.training_ = {}
    none = empty._state()[1]["training"]
    assert none.height == 0 and [str(d) for d in none.dtypes] == ["Int64", "Float64", "Float64"]
    back._set_state({}, {"training": none})
    assert back.training_ == {"train_loss": [], "val_hit_rate": []}


def test_hidden_is_the_bottleneck_of_the_normalised_input() -> None:
    # user 0, binary: items 0 and 2 of the modelled 0, 2, 3, each 1/sqrt(2) after normalisation
    h = _model("binary")._hidden(_history())
    xn = [1 / math.sqrt(2), 1 / math.sqrt(2), 0.0]
    want = [math.tanh(sum(xn[j] * W_IN[j][a] for j in range(3)) + B_H[a]) for a in range(2)]
    np.testing.assert_allclose(h[0], want, rtol=1e-6)
    np.testing.assert_allclose(h[1], np.tanh(B_H), rtol=1e-6)  # nothing modelled: the empty input's answer


def test_seeds_from_none_a_generator_or_the_wrong_type() -> None:
    from discoverly.errors import ConfigError

    assert Autoencoder(rng=None).rng == 0 and Autoencoder().rng == 0
    seeds = [Autoencoder(rng=np.random.default_rng(s)).rng for s in range(50)]
    assert all(isinstance(s, int) and 0 <= s < 2**31 - 1 for s in seeds)
    assert len(set(seeds)) == 50  # drawn from the whole 31-bit range, not a handful of values
    assert Autoencoder(rng=np.random.default_rng(7)).rng == Autoencoder(rng=np.random.default_rng(7)).rng
    with pytest.raises(ConfigError, match="rng must be an integer seed or a numpy Generator, got str"):
        Autoencoder(rng="7")  # type: ignore[arg-type]
