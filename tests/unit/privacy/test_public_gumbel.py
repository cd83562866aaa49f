"""The public calibration: its formula, where it exists, and why it is not a privacy dial."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from discoverly.errors import ConfigError
from discoverly.privacy.public_gumbel import PublicTruncatedGumbel, public_calibration
from discoverly.privacy.vocabulary import WordEmbeddings

from .conftest import make_embeddings


def test_formula() -> None:
    n, dmin, dmax, eps = 1000, 2.0, 50.0, 30.0
    a, b = public_calibration(eps, n, dmin, dmax)
    assert a == pytest.approx((eps - 2 * (1 + math.log(n)) / dmin) / 3)
    w = float(np.real(special.lambertw(2 * a * dmax)))
    assert b == pytest.approx(2 * dmax / min(w, math.log(a * dmin)))


def test_it_only_exists_above_a_floor() -> None:
    floor = 2 * (1 + math.log(14_296)) / 4.72
    assert floor == pytest.approx(4.48, abs=0.01)  # the default vocabulary's Δ_min ≈ 4.72
    with pytest.raises(ConfigError, match="needs epsilon >"):
        public_calibration(4.0, 14_296, 4.72, 260.0)
    public_calibration(4.6, 14_296, 4.72, 260.0)


def test_n_w_barely_moves_with_epsilon() -> None:
    emb: WordEmbeddings = make_embeddings(n=200, dim=5, seed=1, scale=4.0)
    mech = PublicTruncatedGumbel(emb, max_k=60)
    floor = 2 * (1 + math.log(len(emb))) / mech.neighbour_lists.min_distance
    words = np.repeat(np.arange(len(emb)), 50)
    shares = [float((mech.privatize_indices(words, floor * f, rng=0) == words).mean()) for f in (1.5, 10, 100)]
    assert max(shares) - min(shares) < 0.1  # ε over two orders of magnitude, (almost) the same N_w
    assert all(0.05 < s < 0.4 for s in shares)
