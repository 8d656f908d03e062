"""Mantel-Haenszel against metafor's rma.mh() and the RevMan random-effects variant."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from analysis import effect_size, mantel_haenszel, pool

REF = json.loads((Path(__file__).parent / "reference" / "metafor_reference.json").read_text())
CASES = [c for c in REF["cases"] if c["kind"] == "mantel_haenszel"]


@pytest.mark.parametrize("case", CASES, ids=[f"{c['name']}-{c['measure']}" for c in CASES])
def test_mh_matches_rma_mh(case: dict) -> None:
    res = mantel_haenszel(**case["input"], measure=case["measure"])
    assert res.method == "MH"
    for key, want in case["expected"].items():
        got = getattr(res, "estimate" if key == "log_estimate" else key)
        # q_p is ~1e-26 here: only a purely relative tolerance can tell a wrong value
        tol = {"rel": 1e-6, "abs": 0.0} if key == "q_p" else {"rel": 1e-6, "abs": 1e-6}
        assert got == pytest.approx(want, **tol), key
    assert res.stat == pytest.approx(res.estimate / res.se)


def test_mh_rr_hand_computed() -> None:
    a, n1, c, n2 = (
        np.array([3, 5.0]),
        np.array([20, 30.0]),
        np.array([6, 9.0]),
        np.array([20, 30.0]),
    )
    n = n1 + n2
    r, s = (a * n2 / n).sum(), (c * n1 / n).sum()
    var = ((n1 * n2 * (a + c) - a * c * n) / n**2).sum() / (r * s)
    res = mantel_haenszel(a, n1, c, n2, measure="RR")
    assert res.estimate == pytest.approx(math.log(r / s))
    assert res.se == pytest.approx(math.sqrt(var))
    assert sum(res.weights) == pytest.approx(100.0)


@pytest.mark.parametrize("case", CASES, ids=[f"{c['name']}-{c['measure']}" for c in CASES])
def test_mh_random_revman(case: dict) -> None:
    inp, measure = case["input"], case["measure"]
    res = mantel_haenszel(**inp, measure=measure, random=True)
    es = effect_size(measure, **inp)
    y, v = es.yi, es.vi
    fixed = mantel_haenszel(**inp, measure=measure)
    w = 1 / v
    q = float(np.sum(w * (y - fixed.estimate) ** 2))
    tau2 = max(0.0, (q - (y.size - 1)) / (w.sum() - (w**2).sum() / w.sum()))
    ws = 1 / (v + tau2)
    assert res.method == "MH-DL"
    assert res.q == pytest.approx(q) and res.q == pytest.approx(fixed.q)
    assert res.tau2 == pytest.approx(tau2)
    assert res.estimate == pytest.approx(np.sum(ws * y) / ws.sum())
    assert res.se == pytest.approx(1 / math.sqrt(ws.sum()))
    assert res.p == pytest.approx(2 * stats.norm.sf(abs(res.estimate / res.se)))
    # differs from inverse-variance DL only through Q (MH- vs IV-centred)
    iv = pool(y, v, "DL")
    assert res.tau2 != pytest.approx(iv.tau2, rel=1e-12)


def test_mh_zero_cells_and_double_zero() -> None:
    with pytest.warns(UserWarning, match=r"\[1\]"):
        res = mantel_haenszel([0, 0, 4], [10, 10, 20], [2, 0, 6], [10, 12, 20], measure="OR")
    assert res.k == 3 and res.q_df == 1
    assert math.isfinite(res.estimate)


def test_mh_bad_measure_and_counts() -> None:
    with pytest.raises(ValueError, match="measure"):
        mantel_haenszel([1], [2], [1], [2], measure="RD")
    with pytest.raises(ValueError, match="e1.*position 0"):
        mantel_haenszel([5], [2], [1], [2])
