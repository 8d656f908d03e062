"""Property-based tests (hypothesis) for the pooling functions."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import pool, pool_many

METHODS = ["FE", "DL", "REML", "PM"]
SETTINGS = settings(max_examples=50, deadline=None)

effects = st.floats(-5, 5, allow_nan=False, allow_infinity=False)
variances = st.floats(1e-3, 5, allow_nan=False, allow_infinity=False)


@st.composite
def studies(draw, min_k: int = 2, max_k: int = 15):  # noqa: ANN001, ANN201
    k = draw(st.integers(min_k, max_k))
    y = draw(st.lists(effects, min_size=k, max_size=k))
    v = draw(st.lists(variances, min_size=k, max_size=k))
    return np.array(y), np.array(v)


@SETTINGS
@given(data=studies(), method=st.sampled_from(METHODS))
def test_estimate_within_range(data, method) -> None:  # noqa: ANN001
    y, v = data
    res = pool(y, v, method=method)
    eps = 1e-9 * (1 + np.abs(y).max())
    assert y.min() - eps <= res.estimate <= y.max() + eps
    assert res.tau2 >= 0 and 0 <= res.i2 <= 100
    assert res.ci_low <= res.estimate <= res.ci_high


@SETTINGS
@given(
    value=effects, v=st.lists(variances, min_size=2, max_size=12), method=st.sampled_from(METHODS)
)
def test_fe_equals_re_when_tau2_zero(value, v, method) -> None:  # noqa: ANN001
    y = np.full(len(v), value)
    fe, re = pool(y, v, method="FE"), pool(y, v, method=method)
    assert re.tau2 == 0.0
    np.testing.assert_allclose([re.estimate, re.se], [fe.estimate, fe.se], rtol=1e-12)


@SETTINGS
@given(data=studies(), method=st.sampled_from(METHODS), seed=st.integers(0, 2**32 - 1))
def test_permutation_invariance(data, method, seed) -> None:  # noqa: ANN001
    y, v = data
    perm = np.random.default_rng(seed).permutation(y.size)
    a, b = pool(y, v, method=method), pool(y[perm], v[perm], method=method)
    for f in ("estimate", "se", "tau2", "q", "i2"):
        np.testing.assert_allclose(getattr(a, f), getattr(b, f), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(np.array(a.weights)[perm], b.weights, rtol=1e-7, atol=1e-9)


@SETTINGS
@given(
    rows=st.lists(studies(min_k=1, max_k=8), min_size=1, max_size=6),
    method=st.sampled_from(METHODS),
    hksj=st.booleans(),
)
def test_pool_many_equals_pool_rows(rows, method, hksj) -> None:  # noqa: ANN001
    width = max(y.size for y, _ in rows)
    y_mat = np.full((len(rows), width), np.nan)
    v_mat = np.full((len(rows), width), np.nan)
    for i, (y, v) in enumerate(rows):
        y_mat[i, : y.size], v_mat[i, : v.size] = y, v
    res = pool_many(y_mat, v_mat, method=method, hksj=hksj)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, (y, v) in enumerate(rows):
            ref = pool(y, v, method=method, hksj=hksj)
            for f in ("estimate", "se", "ci_low", "ci_high", "tau2", "i2", "q"):
                np.testing.assert_allclose(
                    getattr(res, f)[i], getattr(ref, f), rtol=1e-7, atol=1e-9
                )
            assert res.k[i] == ref.k
