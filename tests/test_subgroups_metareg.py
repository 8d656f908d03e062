"""Subgroups and meta-regression against metafor (fitted with metafor's default control)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from analysis import meta_regression, pool, subgroups
from analysis.stats import tau2

REF = json.loads((Path(__file__).parent / "reference" / "metafor_reference.json").read_text())
SUB = [c for c in REF["cases"] if c["kind"] == "subgroup"]
MREG = [c for c in REF["cases"] if c["kind"] == "metareg"]
FIELD_MAP = {"i2_q": "i2", "pi_t_low": "pi_low", "pi_t_high": "pi_high"}


def _close(got: float, want: float, tol: float) -> bool:
    return abs(got - want) <= tol * max(1.0, abs(want))


def _assert_p_close(got: float, want: float, rel: float) -> None:
    """p-values to a purely relative tolerance (``_close`` would accept anything below 1e-9)."""
    assert got == pytest.approx(want, rel=rel, abs=0.0), (got, want)


def _check_group(res, exp: dict, tol: float) -> None:  # noqa: ANN001
    for key, want in exp.items():
        if key in ("pi_low", "pi_high", "i2"):
            continue
        got = float(getattr(res, FIELD_MAP.get(key, key)))
        if key in ("p", "q_p"):
            _assert_p_close(got, want, tol)
        else:
            assert _close(got, want, tol), key
    assert _close(100 * (1 - 1 / res.h2), exp["i2"], tol)
    if "pi_t_low" not in exp:
        assert np.isnan(res.pi_low)


@pytest.mark.parametrize(
    "tol_arg,tol", [(1e-5, 1e-9), (1e-12, 2e-5)], ids=["metafor-default", "converged"]
)
@pytest.mark.parametrize("case", SUB, ids=[c["name"] for c in SUB])
def test_subgroups_match_metafor(case: dict, tol_arg: float, tol: float) -> None:
    res = subgroups(case["yi"], case["vi"], case["group"], method=case["method"], tol=tol_arg)
    assert set(res) == set(case["expected"]["subgroups"])
    for name, exp in case["expected"]["subgroups"].items():
        _check_group(res[name], exp, tol)


def test_subgroup_difference_test() -> None:
    case = SUB[0]
    res = subgroups(case["yi"], case["vi"], case["group"], method="REML")
    est = np.array([r.estimate for r in res.values()])
    w = np.array([1 / r.se**2 for r in res.values()])
    q = np.sum(w * (est - np.sum(w * est) / w.sum()) ** 2)
    assert res.q_between == pytest.approx(q)
    assert res.df_between == len(res) - 1
    assert res.p_between == pytest.approx(stats.chi2.sf(q, len(res) - 1))
    frame = res.summary_frame()
    assert list(frame.index) == list(res) and frame.attrs["q_between"] == res.q_between
    assert len(res.to_dict()["subgroups"]) == 3


def test_subgroup_single_study_warns() -> None:
    with pytest.warns(UserWarning, match="one study"):
        res = subgroups([0.1, 0.2, 0.5], [0.1, 0.1, 0.1], ["a", "a", "b"], method="DL")
    assert res["b"].k == 1 and res.df_between == 1


# The reference metareg fit stopped at metafor's default threshold (1e-5), so the fully
# converged fit differs from it by ~1e-4 (up to 6e-4 relative in the smallest p-value, 5e-5)
# in p and r2; tol=1e-5 reproduces it exactly.
@pytest.mark.parametrize(
    "tol_arg,tol", [(1e-5, 1e-9), (1e-12, 1e-4)], ids=["metafor-default", "converged"]
)
@pytest.mark.parametrize("case", MREG, ids=[c["name"] for c in MREG])
def test_metareg_matches_metafor(case: dict, tol_arg: float, tol: float) -> None:
    res = meta_regression(case["yi"], case["vi"], case["x"], method=case["method"], tol=tol_arg)
    exp = case["expected"]
    assert _close(res.coefficients[0], exp["intercept"], tol)
    assert _close(res.coefficients[1], exp["slope"], tol)
    for i in range(2):
        assert _close(res.se[i], exp["se"][i], tol)
        _assert_p_close(res.p[i], exp["p"][i], rel=tol * 10)
    assert _close(res.tau2, exp["tau2"], tol)
    # r2 is a percentage of a small tau2 difference: relative tolerance
    assert res.r2 == pytest.approx(exp["r2"], rel=tol * 10)
    assert res.qm == pytest.approx(exp["qm"], rel=tol)
    _assert_p_close(res.qm_p, exp["qm_p"], rel=tol * 10)
    assert res.k == len(case["yi"])


def _p_matrix(design: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``P = W - W X (X'W X)^-1 X'W`` built explicitly (k x k), independently of the code."""
    wm = np.diag(w)
    return wm - wm @ design @ np.linalg.inv(design.T @ wm @ design) @ design.T @ wm


def _heterogeneous_data(k: int = 12) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    v = rng.uniform(0.05, 0.3, k)
    x = rng.normal(size=(k, 2))
    y = 0.2 + 0.3 * x[:, 0] + rng.normal(0, np.sqrt(v + 0.4))
    return y, v, x


def test_metareg_fe_equals_wls() -> None:
    y, v, x = _heterogeneous_data()
    res = meta_regression(y, v, x, method="FE")
    design = np.column_stack([np.ones(12), x])
    w = 1 / v
    beta = np.linalg.solve(design.T @ (design * w[:, None]), design.T @ (w * y))
    np.testing.assert_allclose(res.coefficients, beta)
    assert res.tau2 == 0.0
    assert res.summary_frame().shape == (3, 6)
    # a constant moderator duplicates the intercept: rank deficient
    with pytest.raises(ValueError, match="rank"):
        meta_regression(y, v, np.ones(12))


def test_metareg_residual_tau2_solves_each_estimating_equation() -> None:
    """Residual tau^2 against the defining equations, with explicit k x k matrices."""
    y, v, x = _heterogeneous_data()
    design = np.column_stack([np.ones(12), x[:, 0]])
    k, p = design.shape
    p_fe = _p_matrix(design, 1 / v)
    q_e = y @ p_fe @ y
    # DL: the method of moments max(0, (Q_E - (k - p)) / tr(P)), here clearly above 0
    dl_by_hand = (q_e - (k - p)) / np.trace(p_fe)
    assert dl_by_hand > 0.1
    dl = meta_regression(y, v, x[:, 0], method="DL", hksj=True)
    assert dl.tau2 == pytest.approx(dl_by_hand, rel=1e-12)
    assert dl.qe == pytest.approx(q_e, rel=1e-12)
    assert dl.qe_p == pytest.approx(stats.chi2.sf(q_e, k - p), rel=1e-10)
    # with one moderator and Knapp-Hartung, the omnibus F equals the slope's t squared
    assert dl.qm == pytest.approx(dl.stat[1] ** 2, rel=1e-12)
    assert dl.qm_p == pytest.approx(dl.p[1], rel=1e-10)
    # REML: the restricted score y'PPy - tr(P) vanishes at the estimate
    reml = meta_regression(y, v, x[:, 0], method="REML").tau2
    p_re = _p_matrix(design, 1 / (v + reml))
    assert reml > 0.1
    assert y @ p_re @ p_re @ y - np.trace(p_re) == pytest.approx(0.0, abs=1e-10)
    # PM: the generalised Q equals k - p at the estimate
    pm = meta_regression(y, v, x[:, 0], method="PM").tau2
    assert pm > 0.1
    assert y @ _p_matrix(design, 1 / (v + pm)) @ y == pytest.approx(k - p, rel=1e-10)
    # pool's DL is the intercept-only formula (Q - (k - 1)) / (sum w - sum w^2 / sum w)
    w = 1 / v
    q = np.sum(w * (y - np.sum(w * y) / w.sum()) ** 2)
    assert pool(y, v, "DL").tau2 == pytest.approx((q - (k - 1)) / (w.sum() - (w @ w) / w.sum()))


@pytest.mark.parametrize("method", ["FE", "DL", "REML", "PM"])
def test_intercept_only_meta_regression_equals_pool(method: str) -> None:
    """The design path (X = a column of ones) against the closed-form intercept-only path."""
    y, v, _ = _heterogeneous_data()
    res = meta_regression(y, v, np.empty((12, 0)), method=method)
    ref = pool(y, v, method=method)
    assert ref.tau2 > 0.1 or method == "FE"
    assert res.tau2 == pytest.approx(ref.tau2, rel=1e-10, abs=1e-15)
    assert res.coefficients[0] == pytest.approx(ref.estimate, rel=1e-10)
    assert res.se[0] == pytest.approx(ref.se, rel=1e-10)
    assert res.qe == pytest.approx(ref.q, rel=1e-10)
    for tol in (1e-12, 1e-5):
        design_tau2 = tau2.estimate(y, v, np.ones((12, 1)), method, tol=tol)
        assert design_tau2 == pytest.approx(pool(y, v, method, tol=tol).tau2, rel=1e-10)


def test_engine_batch_of_designs_equals_each_fit() -> None:
    """tau2.estimate over a batch of designs with NaN padding equals one fit per row."""
    rng = np.random.default_rng(8)
    m, width = 30, 9
    y = rng.normal(0.0, 0.7, (m, width))
    v = rng.uniform(0.02, 0.3, (m, width))
    x = np.stack([np.ones((m, width)), rng.normal(size=(m, width))], axis=2)
    k = rng.integers(4, width + 1, m)
    mask = np.arange(width) < k[:, None]
    y[~mask] = np.nan
    for method in ("DL", "HE", "REML", "PM"):
        batch = tau2.estimate(y, v, x, method, mask=mask)
        for i in range(m):
            row = slice(0, k[i])
            one = tau2.estimate(y[i, row], v[i, row], x[i, row], method)
            assert batch[i] == pytest.approx(one, rel=1e-9, abs=1e-13), (method, i)


def test_hedges_estimator_by_hand() -> None:
    y, v, x = _heterogeneous_data()
    he = (np.sum((y - y.mean()) ** 2) / 11) - v.mean()
    assert he > 0.1
    assert tau2.estimate(y, v, method="HE") == pytest.approx(he, rel=1e-12)
    design = np.column_stack([np.ones(12), x])
    hat = np.eye(12) - design @ np.linalg.inv(design.T @ design) @ design.T
    he_x = (y @ hat @ y - np.trace(hat @ np.diag(v))) / (12 - 3)
    assert tau2.estimate(y, v, design, "HE") == pytest.approx(max(0.0, he_x), rel=1e-12)
