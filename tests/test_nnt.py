"""Numbers needed to treat (hand-computed with scipy.stats)."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from analysis import nnt


def test_furukawa_from_negative_smd() -> None:
    cer, smd = 0.2, -0.5  # psychotherapy lowers symptoms
    eer = stats.norm.cdf(0.5 + stats.norm.ppf(cer))
    assert nnt(smd, cer=cer) == pytest.approx(1 / (eer - cer))
    assert nnt(smd, cer=cer) > 0  # NNTB


def test_furukawa_higher_is_better_and_harm() -> None:
    cer = 0.3
    eer = stats.norm.cdf(0.3 + stats.norm.ppf(cer))
    assert nnt(0.3, cer=cer, smd_lower_is_better=False) == pytest.approx(1 / (eer - cer))
    assert nnt(0.3, cer=cer) < 0  # a positive SMD on a symptom scale is harm (NNTH)


def test_bad_event_rate() -> None:
    cer = 0.4  # relapse
    eer = stats.norm.cdf(stats.norm.ppf(cer) - 0.4)
    assert nnt(-0.4, cer=cer, event_is_good=False) == pytest.approx(1 / (cer - eer))


def test_from_rr() -> None:
    assert nnt(rr=1.5, cer=0.2) == pytest.approx(1 / (0.2 * 0.5))
    assert nnt(rr=0.5, cer=0.4, event_is_good=False) == pytest.approx(1 / 0.2)
    assert nnt(rr=0.5, cer=0.4) == pytest.approx(-5.0)


def test_no_effect_is_inf() -> None:
    assert math.isinf(nnt(0.0, cer=0.3))
    assert math.isinf(nnt(rr=1.0, cer=0.3))


def test_validation() -> None:
    with pytest.raises(ValueError):
        nnt(cer=0.2)
    with pytest.raises(ValueError):
        nnt(-0.5, cer=0.2, rr=1.2)
    with pytest.raises(ValueError, match="cer"):
        nnt(-0.5, cer=1.2)
    with pytest.raises(ValueError, match="rr"):
        nnt(rr=-1.0, cer=0.2)
