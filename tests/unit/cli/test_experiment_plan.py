"""`discoverly experiment plan`'s refusals name the command's flags, not the library's parameters."""

from __future__ import annotations

import pytest

from discoverly.cli.app import main


@pytest.mark.parametrize(("args", "message"), [
    # neither or both: the message named the Python parameters "baseline" and "std"
    (["--n", "1000"], "error: give exactly one of --baseline (the control's conversion rate, e.g. 0.05) or --std "
                      "(the standard deviation of a continuous metric such as revenue per customer)"),
    (["--effect", "0.01", "--baseline", "0.05", "--std", "2"],
     "error: give exactly one of --baseline (the control's conversion rate, e.g. 0.05) or --std (the standard "
     "deviation of a continuous metric such as revenue per customer)"),
    # it said "n_per_arm must be at least 2", a name the command line does not have
    (["--n", "1", "--baseline", "0.05"], "error: --n (customers in the control arm) must be at least 2, got 1"),
    (["--n", "0", "--std", "3"], "error: --n (customers in the control arm) must be at least 2, got 0"),
])
def test_plan_refusals_name_the_flags(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["experiment", "plan", *args]) == 2
    assert capsys.readouterr().err.splitlines()[0] == message


def test_plan_with_two_customers_per_arm_is_answered(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["experiment", "plan", "--n", "2", "--std", "1"]) == 0
    # (z(0.975) + z(0.8)) * 1 * sqrt(1/2 + 1/2) = 1.9599640 + 0.8416212 = 2.8015852
    assert capsys.readouterr().out == ("minimum detectable effect with 2 + 2 customers: 2.80159 (alpha 0.05, "
                                       "power 0.8)\n")
