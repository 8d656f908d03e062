"""Vectorised pooling equals pool() row by row."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from analysis import pool, pool_many
from analysis.stats import tau2

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


@pytest.mark.parametrize("method", ["FE", "DL", "REML", "PM"])
@pytest.mark.parametrize("hksj", [False, True])
def test_rows_without_padding_equal_pool_bit_for_bit(method: str, hksj: bool) -> None:
    """A batch row with every study present is the same arithmetic as pool() on it."""
    rng = np.random.default_rng(12)
    y = rng.normal(0.3, 0.5, (60, 7))
    v = rng.uniform(0.01, 0.3, (60, 7))
    y[0] = 0.25  # identical effects: tau2 = 0
    res = pool_many(y, v, method=method, hksj=hksj)
    for i in range(y.shape[0]):
        ref = pool(y[i], v[i], method=method, hksj=hksj)
        for f in FIELDS:
            assert getattr(res, f)[i] == getattr(ref, f) or (
                np.isnan(getattr(res, f)[i]) and np.isnan(getattr(ref, f))
            ), (i, f)


@pytest.mark.parametrize("method", ["DL", "HE", "REML", "PM"])
def test_engine_masked_batch_equals_each_row(method: str) -> None:
    """tau2.estimate over NaN-padded rows equals the estimate on each row's studies."""
    y, v = _rows()
    mask = ~(np.isnan(y) | np.isnan(v))
    batch = tau2.estimate(y, v, method=method, mask=mask)
    assert batch.shape == (y.shape[0],)
    for i in range(y.shape[0]):
        one = tau2.estimate(y[i][mask[i]], v[i][mask[i]], method=method)
        assert batch[i] == pytest.approx(one, rel=1e-10, abs=1e-14), i
    assert batch[4] == 0.0  # one study
    assert batch[6] == 0.0  # identical effects


def test_dl_from_q_is_the_dl_estimate() -> None:
    y, v = _rows()
    mask = ~(np.isnan(y) | np.isnan(v))
    q = tau2.q_statistic(y, v, mask=mask)
    np.testing.assert_array_equal(
        tau2.dl_from_q(q, v, mask=mask), tau2.estimate(y, v, method="DL", mask=mask)
    )
