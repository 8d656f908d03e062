"""Leave-one-out, cumulative, influence, Egger and trim-and-fill."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from analysis import cumulative, egger_test, influence, leave_one_out, pool, trim_and_fill

REF = json.loads((Path(__file__).parent / "reference" / "metafor_reference.json").read_text())
L1O = [c for c in REF["cases"] if c["kind"] == "leave1out"]
EGGER = [c for c in REF["cases"] if c["kind"] == "egger"]
TF = [c for c in REF["cases"] if c["kind"] == "trimfill"]


@pytest.mark.parametrize("case", L1O, ids=[c["name"] for c in L1O])
def test_leave1out_matches_metafor(case: dict) -> None:
    frame = leave_one_out(case["yi"], case["vi"], method=case["method"])
    assert list(frame.columns) == ["estimate", "se", "ci_low", "ci_high", "tau2", "i2", "q", "k"]
    for key, want in case["expected"].items():
        # DL: metafor's tau2-based I2 equals the Q-based I2
        np.testing.assert_allclose(frame[key], want, rtol=1e-6, atol=1e-6, err_msg=key)
    assert (frame["k"] == len(case["yi"]) - 1).all()


def test_leave1out_labels_and_rows_equal_pool() -> None:
    y, v = [0.1, 0.4, 0.2, 0.8], [0.02, 0.03, 0.05, 0.04]
    frame = leave_one_out(y, v, method="REML", labels=list("abcd"))
    assert list(frame.index) == list("abcd")
    assert frame.loc["b", "estimate"] == pytest.approx(
        pool([0.1, 0.2, 0.8], [0.02, 0.05, 0.04]).estimate
    )


def test_cumulative_order_and_first_row() -> None:
    y, v = [0.1, 0.4, 0.2, 0.8], [0.02, 0.03, 0.05, 0.04]
    frame = cumulative(y, v, order=[2004, 2001, 2003, 2002], labels=list("abcd"))
    assert list(frame.index) == ["b", "d", "c", "a"]
    assert frame["k"].tolist() == [1, 2, 3, 4]
    assert frame.iloc[0]["estimate"] == 0.4 and np.isnan(frame.iloc[0]["i2"])
    assert frame.iloc[-1]["estimate"] == pytest.approx(pool(y, v, "DL").estimate)


def test_influence_rstudent_and_outliers() -> None:
    y = np.array([0.1, 0.15, 0.2, 0.12, 0.18, 1.5])
    v = np.array([0.01, 0.01, 0.02, 0.015, 0.01, 0.01])
    frame = influence(y, v, method="DL")
    assert frame["outlier"].tolist() == [False] * 5 + [True]
    i = 5
    keep = np.arange(6) != i
    fit = pool(y[keep], v[keep], "DL")
    expected = (y[i] - fit.estimate) / np.sqrt(v[i] + fit.tau2 + fit.se**2)
    assert frame["rstudent"].iloc[i] == pytest.approx(expected)
    assert frame["outlier"].dtype == bool


@pytest.mark.parametrize("case", EGGER, ids=[c["name"] for c in EGGER])
def test_egger_matches_regtest(case: dict) -> None:
    res = egger_test(case["yi"], case["vi"])
    for key, want in case["expected"].items():
        assert getattr(res, key) == pytest.approx(want, rel=1e-6, abs=1e-6), key


def test_egger_equals_classic_parameterisation() -> None:
    rng = np.random.default_rng(5)
    v = rng.uniform(0.01, 0.2, 15)
    y = rng.normal(0.2, np.sqrt(v))
    res = egger_test(y, v)
    se = np.sqrt(v)
    ols = stats.linregress(1 / se, y / se)
    assert res.bias == pytest.approx(ols.intercept)
    assert res.limit_estimate == pytest.approx(ols.slope)
    assert res.se == pytest.approx(ols.intercept_stderr)
    with pytest.raises(ValueError, match="three"):
        egger_test([0.1, 0.2], [0.1, 0.1])


@pytest.mark.parametrize(
    "tol_arg,tol", [(1e-5, 1e-9), (1e-12, 2e-5)], ids=["metafor-default", "converged"]
)
@pytest.mark.parametrize("case", TF, ids=[f"{c['name']}-{c['method']}" for c in TF])
def test_trimfill_matches_metafor(case: dict, tol_arg: float, tol: float) -> None:
    res = trim_and_fill(case["yi"], case["vi"], method=case["method"], tol=tol_arg)
    exp = case["expected"]
    assert res.k0 == exp["k0"] and res.side == exp["side"]
    for key in ("estimate", "ci_low", "ci_high", "tau2"):
        want = exp[key]
        assert abs(getattr(res.filled, key) - want) <= tol * max(1, abs(want)), key
    assert res.filled.k == len(case["yi"]) + res.k0
    assert res.imputed.sum() == res.k0


@pytest.mark.parametrize("method", ["FE", "DL", "REML"])
def test_trimfill_fills_mirror_images(method: str) -> None:
    """Asymmetric funnel: precise studies near 0.3, small studies only on the right.

    The side is chosen by the data ("left"), at least one study is imputed, and each imputed
    study is an observed study's mirror image about the trimmed estimate: ``2 mu - y_i`` with
    the same variance, for the ``k0`` studies with the largest effects (the ones trimmed).
    """
    se = np.array([0.05, 0.07, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4])
    y = np.array([0.30, 0.26, 0.34, 0.28, 0.36, 0.45, 0.52, 0.60, 0.75, 0.80, 0.95])
    v = se**2
    res = trim_and_fill(y, v, method=method)
    assert res.side == "left"
    assert res.k0 > 0
    k0 = res.k0
    np.testing.assert_array_equal(res.yi[: y.size], y)
    np.testing.assert_array_equal(res.imputed, np.arange(y.size + k0) >= y.size)
    trimmed = np.argsort(y, kind="stable")[-k0:]
    kept = np.setdiff1d(np.arange(y.size), trimmed)
    mu_trimmed = pool(y[kept], v[kept], method=method).estimate
    order = np.argsort(res.yi[res.imputed])
    np.testing.assert_allclose(
        res.yi[res.imputed][order], np.sort(2 * mu_trimmed - y[trimmed]), rtol=0, atol=1e-12
    )
    np.testing.assert_array_equal(res.vi[res.imputed][order], v[trimmed][::-1])
    assert np.all(res.yi[res.imputed] < mu_trimmed)
    filled = pool(res.yi, res.vi, method=method)
    assert res.filled.estimate == pytest.approx(filled.estimate, rel=1e-12)
    assert res.filled.k == y.size + k0


def test_trimfill_rejects_unknown_side() -> None:
    y = np.array([-0.9, -1.6, -1.3, -1.4, -0.2, -0.8, -1.6, 0.0, -0.5, -1.4, -0.3, 0.4, 0.0])
    v = np.array([0.33, 0.19, 0.42, 0.02, 0.05, 0.007, 0.22, 0.004, 0.06, 0.07, 0.012, 0.53, 0.07])
    with pytest.raises(ValueError, match="side"):
        trim_and_fill(y, v, side="up")
