"""Inverse-variance pooling against metafor 3.8.1 and edge cases."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from analysis import PoolResult, pool

REF = json.loads((Path(__file__).parent / "reference" / "metafor_reference.json").read_text())
POOL_CASES = [c for c in REF["cases"] if c["kind"] == "pool"]
# JSON key -> PoolResult attribute (JSON "i2" is metafor's tau2-based I2, checked via h2;
# JSON pi_low/pi_high use a normal quantile and are not part of our API).
FIELD_MAP = {"i2_q": "i2", "pi_t_low": "pi_low", "pi_t_high": "pi_high"}
SKIP = {"pi_low", "pi_high", "i2"}


P_VALUES = ("p", "q_p")


def _close(got: float, want: float, tol: float) -> bool:
    """Absolute below 1, relative above: for estimates, SEs and bounds, not for p-values."""
    return abs(got - want) <= tol * max(1.0, abs(want))


def _assert_p_close(got: float, want: float, rel: float = 1e-6) -> None:
    """A p-value to a purely relative tolerance (metafor's q_p here are as small as 4e-47).

    ``abs=0`` matters: pytest.approx's default ``abs=1e-12``, like ``_close``, would accept
    any value for such p-values.
    """
    assert got == pytest.approx(want, rel=rel, abs=0.0), (got, want)


def _ids(cases: list[dict]) -> list[str]:
    return [f"{c['name']}-{c['method']}-{'knha' if c['hksj'] else 'z'}" for c in cases]


@pytest.mark.parametrize("case", POOL_CASES, ids=_ids(POOL_CASES))
def test_pool_matches_metafor(case: dict) -> None:
    res = pool(case["yi"], case["vi"], method=case["method"], hksj=case["hksj"])
    tol = 1e-6 if case["method"] in ("FE", "DL") else 1e-5
    for key, want in case["expected"].items():
        if key in SKIP:
            continue
        got = getattr(res, FIELD_MAP.get(key, key))
        if key in P_VALUES:
            _assert_p_close(float(got), float(want))
        else:
            assert _close(float(got), float(want), tol), (key, got, want)
    # metafor's tau2-based I2 is 100 * (1 - 1/H2)
    assert _close(100.0 * (1.0 - 1.0 / res.h2), case["expected"]["i2"], tol)


@pytest.mark.parametrize("case", POOL_CASES, ids=_ids(POOL_CASES))
def test_pool_matches_metafor_tightly(case: dict) -> None:
    """The fully converged iteration agrees to ~1e-9 (reference used tol=1e-12)."""
    res = pool(case["yi"], case["vi"], method=case["method"], hksj=case["hksj"])
    for key in ("estimate", "se", "tau2", "ci_low", "ci_high"):
        assert _close(getattr(res, key), case["expected"][key], 1e-9), key
    for key in P_VALUES:
        _assert_p_close(getattr(res, key), case["expected"][key], rel=1e-9)


@pytest.mark.parametrize("case", POOL_CASES, ids=_ids(POOL_CASES))
def test_p_value_check_rejects_wrong_degrees_of_freedom(case: dict) -> None:
    """The p-value comparison above fails for a p computed with df - 1 or df + 1.

    scipy.stats recomputes metafor's p-values from its own statistics: the right degrees of
    freedom pass the check, one more or one fewer fails it (for Q, k - 1 df; for the
    Knapp-Hartung t test, k - 1 df).
    """
    exp = case["expected"]
    q, df = exp["q"], exp["q_df"]
    _assert_p_close(stats.chi2.sf(q, df), exp["q_p"])
    for wrong in (df - 1, df + 1):
        with pytest.raises(AssertionError):
            _assert_p_close(stats.chi2.sf(q, wrong), exp["q_p"])
    if case["hksj"]:
        k = exp["k"]
        _assert_p_close(2 * stats.t.sf(abs(exp["stat"]), k - 1), exp["p"])
        for wrong in (k - 2, k):
            with pytest.raises(AssertionError):
                _assert_p_close(2 * stats.t.sf(abs(exp["stat"]), wrong), exp["p"])


def test_weights_percent_and_input_order() -> None:
    y, v = [0.1, 0.5, -0.2], [0.01, 0.04, 0.09]
    res = pool(y, v, "FE")
    w = 1 / np.array(v)
    np.testing.assert_allclose(res.weights, 100 * w / w.sum())
    assert math.isclose(sum(res.weights), 100.0)
    assert isinstance(res.weights, tuple)


def test_result_is_frozen_and_serialisable() -> None:
    res = pool([0.1, 0.3, 0.2], [0.02, 0.03, 0.05])
    assert isinstance(res, PoolResult)
    with pytest.raises(AttributeError):
        res.estimate = 0.0  # type: ignore[misc]
    d = res.to_dict()
    json.dumps(d)
    assert all(isinstance(d[k], float) for k in ("estimate", "se", "tau2", "i2"))
    assert isinstance(d["k"], int)
    frame = res.summary_frame()
    assert frame.shape[0] == 1 and frame["estimate"].iloc[0] == res.estimate


def test_one_study_warns_and_returns_study() -> None:
    with pytest.warns(UserWarning, match="heterogeneity cannot be estimated with one study"):
        res = pool([0.4], [0.04])
    assert res.estimate == 0.4
    assert math.isclose(res.se, 0.2)
    assert res.tau2 == 0.0 and res.k == 1
    assert all(math.isnan(x) for x in (res.i2, res.h2, res.q, res.q_p, res.pi_low, res.pi_high))


@pytest.mark.parametrize("method", ["FE", "DL", "REML", "PM"])
@pytest.mark.parametrize("hksj", [False, True])
def test_two_studies(method: str, hksj: bool) -> None:
    res = pool([0.1, 0.9], [0.04, 0.05], method=method, hksj=hksj)
    assert res.k == 2 and res.q_df == 1
    assert math.isnan(res.pi_low) and math.isnan(res.pi_high)
    assert math.isfinite(res.estimate) and math.isfinite(res.ci_low)
    if hksj:
        assert res.df == 1


@pytest.mark.parametrize("method", ["FE", "DL", "REML", "PM"])
def test_identical_effects(method: str) -> None:
    res = pool([0.3] * 5, [0.01, 0.02, 0.03, 0.04, 0.05], method=method)
    assert res.tau2 == 0.0 and res.q == pytest.approx(0.0, abs=1e-25) and res.i2 == 0.0
    assert res.estimate == pytest.approx(0.3)


def test_homogeneous_data_tau2_truncated_at_zero() -> None:
    res = pool([0.1, 0.11, 0.09, 0.1], [0.1, 0.1, 0.1, 0.1], method="DL")
    assert res.tau2 == 0.0
    fe = pool([0.1, 0.11, 0.09, 0.1], [0.1, 0.1, 0.1, 0.1], method="FE")
    assert res.estimate == pytest.approx(fe.estimate) and res.se == pytest.approx(fe.se)


@pytest.mark.parametrize("bad", [0.0, -0.1, float("nan"), float("inf")])
def test_bad_variance_raises_with_position(bad: float) -> None:
    with pytest.raises(ValueError, match="position 1"):
        pool([0.1, 0.2, 0.3], [0.1, bad, 0.1])


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="position 2"):
        pool([0.1, 0.2, float("nan")], [0.1, 0.1, 0.1])
    with pytest.raises(ValueError, match="mismatched"):
        pool([0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match="method"):
        pool([0.1, 0.2], [0.1, 0.1], method="ML")
    with pytest.raises(ValueError, match="at least one"):
        pool([], [])
    with pytest.raises(ValueError, match="level"):
        pool([0.1, 0.2], [0.1, 0.1], level=1.5)


def test_hksj_uses_t_with_k_minus_1_df() -> None:
    res = pool([0.1, 0.5, 0.3, 0.9], [0.02, 0.03, 0.04, 0.05], method="DL", hksj=True)
    assert res.df == 3
    half = stats.t.ppf(0.975, 3) * res.se
    assert res.ci_high - res.estimate == pytest.approx(half)


def test_level_changes_interval() -> None:
    y, v = [0.1, 0.5, 0.3, 0.9], [0.02, 0.03, 0.04, 0.05]
    a, b = pool(y, v, level=0.95), pool(y, v, level=0.80)
    assert b.ci_high - b.ci_low < a.ci_high - a.ci_low


def test_ee_alias_and_no_warning_for_k2() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert pool([0.1, 0.2], [0.1, 0.1], method="EE").method == "FE"
