import numpy as np
import pytest

from discoverly._checks import is_whole
from discoverly.errors import ConfigError
from discoverly.evaluate.stats import check_n_boot
from discoverly.privacy.statistics import sample_words
from discoverly.recommend.base import check_k


@pytest.mark.parametrize("value", [0, 3, -2, np.int64(7), np.uint8(1), np.int32(-1)])
def test_integers_of_python_and_numpy_are_whole(value: object) -> None:
    assert is_whole(value)


@pytest.mark.parametrize("value", [True, False, np.True_, 2.0, np.float64(3.0), "3", None, [1], 1 + 0j])
def test_bools_floats_and_others_are_not(value: object) -> None:
    assert not is_whole(value)


def test_every_caller_refuses_a_bool_and_takes_a_numpy_integer() -> None:
    assert check_k(np.int64(6)) == 6 and check_n_boot(np.int32(10)) == 10
    for call in (lambda: check_k(True), lambda: check_n_boot(True), lambda: sample_words(None, per_bucket=True)):  # type: ignore[arg-type]
        with pytest.raises(ConfigError):
            call()
