"""The modified Knapp-Hartung method (metafor ``test="adhoc"``), the prediction interval on the
reported SE, and the test for subgroup differences on standard SEs, against metafor 3.8.1.

Reference values: ``tests/reference/metafor_reference_v2.json`` (pooling and the subgroup test,
R calls in ``metafor_reference_v2.R``) and ``metafor_reference_v3.json`` (meta-regression and
leave-one-out with ``test="adhoc"`` beside ``test="knha"``, ``metafor_reference_v3.R``).
Tolerance 1e-6, 2e-5 where tau^2 iterates (REML, PM); p-values relative.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from analysis import leave_one_out, meta_regression, pool, pool_many, subgroups

REF = Path(__file__).parent / "reference"
V2 = json.loads((REF / "metafor_reference_v2.json").read_text())["cases"]
V3 = json.loads((REF / "metafor_reference_v3.json").read_text())["cases"]
ADHOC = [c for c in V2 if c["kind"] == "pool_adhoc"]
SUBTEST = [c for c in V2 if c["kind"] == "subgroup_test"]
METAREG = [c for c in V3 if c["kind"] == "metareg_test"]
LOO = [c for c in V3 if c["kind"] == "leave1out_test"]


@contextmanager
def _nowarn() -> Iterator[None]:
    """Silence the one-study warning of single-study subgroups."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _tol(method: str) -> float:
    return 1e-6 if method in ("FE", "DL") else 2e-5


def _close(got: float, want: float, tol: float) -> bool:
    return abs(got - want) <= tol * max(1.0, abs(want))


def _ids(cases: list[dict]) -> list[str]:
    return [f"{c['name']}-{c['method']}-{c.get('test', '')}" for c in cases]


@pytest.mark.parametrize("case", ADHOC, ids=_ids(ADHOC))
def test_pool_adhoc_matches_metafor(case: dict) -> None:
    res = pool(case["yi"], case["vi"], method=case["method"], test="adhoc")
    exp = case["expected"]
    tol = _tol(case["method"])
    for key in ("estimate", "se", "ci_low", "ci_high", "stat", "tau2", "q"):
        assert _close(getattr(res, key), exp[key], tol), (key, getattr(res, key), exp[key])
    assert res.p == pytest.approx(exp["p"], rel=1e-6, abs=0.0)
    assert res.pi_low == pytest.approx(exp["pi_t_low"], abs=tol)
    assert res.pi_high == pytest.approx(exp["pi_t_high"], abs=tol)
    assert res.df == exp["k"] - 1 and res.test == "adhoc" and res.hksj


@pytest.mark.parametrize("case", ADHOC, ids=_ids(ADHOC))
def test_adhoc_se_is_the_larger_of_knha_and_standard(case: dict) -> None:
    """The two SEs metafor chose between are ours too, and adhoc takes the larger."""
    y, v, m = case["yi"], case["vi"], case["method"]
    exp = case["expected"]
    tol = _tol(m)
    z, kh, ad = (pool(y, v, method=m, test=t) for t in ("z", "knha", "adhoc"))
    assert _close(z.se, exp["se_standard"], tol)
    assert _close(kh.se, exp["se_knha"], tol)
    assert ad.se == max(z.se, kh.se)
    assert z.estimate == kh.estimate == ad.estimate


def test_plain_knapp_hartung_narrows_the_interval_and_adhoc_does_not() -> None:
    """The issue: with Q < k - 1, untruncated Knapp-Hartung gives an interval narrower than the
    standard one (its SE is five times smaller on this set); the modified method never does."""
    case = next(c for c in ADHOC if c["name"] == "small_homog" and c["method"] == "REML")
    y, v = case["yi"], case["vi"]
    z, kh, ad = (pool(y, v, test=t) for t in ("z", "knha", "adhoc"))
    width = {name: r.ci_high - r.ci_low for name, r in (("z", z), ("knha", kh), ("adhoc", ad))}
    assert kh.se < z.se / 4 and width["knha"] < width["z"] / 2
    assert width["adhoc"] >= width["z"]
    # the old default (hksj=True, plain Knapp-Hartung) does not reproduce metafor's adhoc CI
    assert not _close(pool(y, v, hksj=True).ci_low, case["expected"]["ci_low"], 1e-3)


@pytest.mark.parametrize("case", ADHOC, ids=_ids(ADHOC))
def test_prediction_interval_uses_the_reported_se(case: dict) -> None:
    """PI = estimate +/- t(k-2) sqrt(se^2 + tau2) with the SE of the reported CI, so it is never
    narrower than the CI; with the plain Knapp-Hartung SE it would not match metafor here."""
    res = pool(case["yi"], case["vi"], method=case["method"], test="adhoc")
    half = stats.t.ppf(0.975, res.k - 2) * math.sqrt(res.se**2 + res.tau2)
    assert res.pi_low == pytest.approx(res.estimate - half, abs=1e-12)
    assert res.pi_low <= res.ci_low and res.pi_high >= res.ci_high


def test_prediction_interval_with_the_knha_se_would_fail_the_reference() -> None:
    case = next(c for c in ADHOC if c["name"] == "small_homog" and c["method"] == "DL")
    exp = case["expected"]
    kh = pool(case["yi"], case["vi"], method="DL", hksj=True)
    assert not _close(kh.pi_low, exp["pi_t_low"], 1e-3)


def test_hksj_is_an_alias_of_knha() -> None:
    y, v = [0.1, 0.4, -0.2, 0.3], [0.02, 0.05, 0.04, 0.03]
    a, b = pool(y, v, hksj=True), pool(y, v, test="knha")
    assert a == b and a.test == "knha"
    assert pool(y, v).test == "z"


@pytest.mark.parametrize("kwargs", [{"test": "adhoc", "hksj": True}, {"test": "t"}])
def test_bad_test_arguments_raise(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="test"):
        pool([0.1, 0.2, 0.3], [0.01, 0.02, 0.03], **kwargs)


def test_one_study_uses_z_whatever_the_test() -> None:
    with pytest.warns(UserWarning):
        res = pool([0.3], [0.04], test="adhoc")
    assert math.isinf(res.df) and res.se == pytest.approx(0.2)


@pytest.mark.parametrize("case", SUBTEST, ids=_ids(SUBTEST))
@pytest.mark.parametrize("test", ["z", "knha", "adhoc"])
def test_subgroup_difference_matches_revman_test(case: dict, test: str) -> None:
    """Q_between from the subgroups' standard random-effects SEs, whatever test the subgroups
    are reported with."""
    with _nowarn():
        res = subgroups(case["yi"], case["vi"], case["group"], method=case["method"], test=test)
    exp = case["expected"]
    tol = _tol(case["method"])
    assert _close(res.q_between, exp["q_between"], tol)
    assert res.df_between == exp["df_between"]
    assert res.p_between == pytest.approx(exp["p_between"], rel=1e-5, abs=0.0)
    for g, se in exp["ses"].items():
        assert _close(res.between_se[g], se, tol)
        assert _close(res[g].estimate, exp["estimates"][g], tol)


def test_subgroup_test_on_knapp_hartung_ses_would_fail_the_reference() -> None:
    """The old behaviour (Q_between from the subgroups' reported Knapp-Hartung SEs) gives a
    different Q on these data, so the reference discriminates."""
    case = next(c for c in SUBTEST if c["name"] == "small_groups")
    res = subgroups(case["yi"], case["vi"], case["group"], method=case["method"], test="knha")
    est = np.array([r.estimate for r in res.values()])
    w = 1.0 / np.array([r.se for r in res.values()]) ** 2
    old_q = float(w @ (est - (w @ est) / w.sum()) ** 2)
    assert not _close(old_q, case["expected"]["q_between"], 1e-2)
    assert _close(res.q_between, case["expected"]["q_between"], 1e-6)


@pytest.mark.parametrize("test", ["z", "knha", "adhoc"])
def test_pool_many_equals_pool_row_by_row(test: str) -> None:
    rows = [c for c in ADHOC if c["method"] == "DL"]
    for case in rows:
        batch = pool_many([case["yi"]], [case["vi"]], method="DL", test=test)
        one = pool(case["yi"], case["vi"], method="DL", test=test)
        for key in ("estimate", "se", "ci_low", "ci_high", "p", "pi_low", "pi_high"):
            assert getattr(batch, key)[0] == pytest.approx(getattr(one, key), rel=1e-12, abs=1e-14)
        assert batch.test == test
    adhoc = [c for c in ADHOC if c["method"] == "DL"]
    padded = np.full((len(adhoc), max(len(c["yi"]) for c in adhoc)), np.nan)
    vpad = padded.copy()
    for i, c in enumerate(adhoc):
        padded[i, : len(c["yi"])] = c["yi"]
        vpad[i, : len(c["vi"])] = c["vi"]
    res = pool_many(padded, vpad, method="DL", test="adhoc")
    for i, c in enumerate(adhoc):
        assert _close(res.ci_low[i], c["expected"]["ci_low"], 1e-6)
        assert _close(res.se[i], c["expected"]["se"], 1e-6)


@pytest.mark.parametrize("case", METAREG, ids=_ids(METAREG))
def test_meta_regression_tests_match_metafor(case: dict) -> None:
    res = meta_regression(case["yi"], case["vi"], case["x"], method=case["method"],
                          test=case["test"])  # fmt: skip
    exp = case["expected"]
    tol = _tol(case["method"])
    for key in ("coefficients", "se", "stat", "ci_low", "ci_high"):
        for got, want in zip(getattr(res, key), exp[key], strict=True):
            assert _close(got, want, tol), (key, got, want)
    assert _close(res.qm, exp["qm"], tol)
    assert res.qm_p == pytest.approx(exp["qm_p"], rel=1e-5, abs=0.0)
    assert res.test == case["test"]


def test_meta_regression_adhoc_differs_from_knha_where_the_factor_is_below_one() -> None:
    kh, ad = (c for c in METAREG if c["name"] == "homog_x" and c["method"] == "REML")
    assert ad["expected"]["se"][1] > 4 * kh["expected"]["se"][1]


@pytest.mark.parametrize("case", LOO, ids=_ids(LOO))
def test_leave_one_out_with_adhoc_matches_metafor(case: dict) -> None:
    with _nowarn():
        res = leave_one_out(case["yi"], case["vi"], method=case["method"], test=case["test"])
    tol = _tol(case["method"])
    for key in ("estimate", "se", "ci_low", "ci_high", "tau2"):
        for got, want in zip(res[key], case["expected"][key], strict=True):
            assert _close(got, want, tol), (key, got, want)


