"""Vectorised pooling equals pool() row by row."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from analysis import pool, pool_many

FIELDS = [
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "stat",
    "p",
    "tau2",
    "i2",
    "q",
    "pi_low",
    "pi_high",
]


def _rows() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    y = rng.normal(0.3, 0.5, (40, 8))
    v = rng.uniform(0.01, 0.3, (40, 8))
    y[3, 5:] = np.nan
    v[3, 5:] = np.nan  # k = 5
    y[4, 1:] = np.nan  # k = 1
    y[5, 2:] = np.nan  # k = 2
    y[6] = 0.25  # identical effects
    return y, v


@pytest.mark.parametrize("method", ["FE", "DL", "REML", "PM"])
@pytest.mark.parametrize("hksj", [False, True])
def test_pool_many_equals_pool(method: str, hksj: bool) -> None:
    y, v = _rows()
    res = pool_many(y, v, method=method, hksj=hksj)
    assert len(res) == y.shape[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i in range(y.shape[0]):
            keep = ~(np.isnan(y[i]) | np.isnan(v[i]))
            ref = pool(y[i][keep], v[i][keep], method=method, hksj=hksj)
            assert res.k[i] == ref.k
            for f in FIELDS:
                np.testing.assert_allclose(
                    getattr(res, f)[i],
                    getattr(ref, f),
                    rtol=1e-9,
                    atol=1e-12,
                    err_msg=f"row {i} {f}",
                )


def test_pool_many_frame_and_validation() -> None:
    y, v = _rows()
    frame = pool_many(y, v).to_frame()
    assert frame.shape[0] == 40 and {"estimate", "tau2", "i2", "k"} <= set(frame.columns)
    with pytest.raises(ValueError, match=r"\(0, 2\)"):
        pool_many([[0.1, 0.2, 0.3]], [[0.1, 0.1, 0.0]])
    with pytest.raises(ValueError, match="shape"):
        pool_many([[0.1, 0.2]], [[0.1, 0.1, 0.1]])
    with pytest.raises(ValueError, match="method"):
        pool_many([[0.1, 0.2]], [[0.1, 0.1]], method="ML")
    empty = pool_many([[np.nan, np.nan]], [[np.nan, np.nan]])
    assert empty.k[0] == 0 and np.isnan(empty.estimate[0])
