"""Effect sizes against metafor's escalc() and input validation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import special, stats

from analysis import EffectSizes, effect_size

REF = json.loads((Path(__file__).parent / "reference" / "metafor_reference.json").read_text())
CASES = [c for c in REF["cases"] if c["kind"] == "effect_size"]
RENAME = {
    "m1i": "m1",
    "sd1i": "sd1",
    "n1i": "n1",
    "m2i": "m2",
    "sd2i": "sd2",
    "n2i": "n2",
    "ai": "e1",
    "ci": "e2",
}


@pytest.mark.parametrize("case", CASES, ids=[f"{c['name']}-{c['measure']}" for c in CASES])
def test_effect_size_matches_escalc(case: dict) -> None:
    es = effect_size(case["measure"], **{RENAME[k]: v for k, v in case["input"].items()})
    np.testing.assert_allclose(es.yi, case["expected"]["yi"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(es.vi, case["expected"]["vi"], rtol=1e-9, atol=1e-9)
    assert not es.dropped.any()


def test_smd_hand_computed() -> None:
    m1, sd1, n1, m2, sd2, n2 = 10.0, 4.0, 20, 12.0, 5.0, 25
    m = n1 + n2 - 2
    sp = math.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / m)
    j = math.gamma(m / 2) / (math.sqrt(m / 2) * math.gamma((m - 1) / 2))
    g = j * (m1 - m2) / sp
    es = effect_size("SMD", m1=[m1], sd1=[sd1], n1=[n1], m2=[m2], sd2=[sd2], n2=[n2])
    assert es.yi[0] == pytest.approx(g, rel=1e-12)
    assert es.vi[0] == pytest.approx(1 / n1 + 1 / n2 + g**2 / (2 * (n1 + n2)), rel=1e-12)


def test_md_frame_and_change_score_flag() -> None:
    es = effect_size(
        "MD",
        m1=[-5, -3],
        sd1=[4, 5],
        n1=[30, 40],
        m2=[-2, -1],
        sd2=[4, 6],
        n2=[30, 41],
        change_score=[True, False],
    )
    frame = es.to_frame()
    assert list(frame.columns) == ["yi", "vi", "se", "ci_low", "ci_high", "change_score"]
    assert frame["change_score"].tolist() == [True, False]
    assert frame["yi"].tolist() == [-3, -2]
    z = stats.norm.ppf(0.975)
    np.testing.assert_allclose(frame["ci_low"], frame["yi"] - z * frame["se"])
    assert isinstance(es, EffectSizes)
    with pytest.raises(ValueError):
        es.yi[0] = 1.0


def test_binary_zero_cell_correction_or_rd() -> None:
    es = effect_size("OR", e1=[0], n1=[10], e2=[3], n2=[10])
    a, b, c, d = 0.5, 10.5, 3.5, 7.5
    assert es.yi[0] == pytest.approx(math.log(a * d / (b * c)))
    assert es.vi[0] == pytest.approx(1 / a + 1 / b + 1 / c + 1 / d)
    rd = effect_size("RD", e1=[0], n1=[10], e2=[3], n2=[10])
    p1, p2 = 0.5 / 11, 3.5 / 11
    assert rd.yi[0] == pytest.approx(p1 - p2)
    assert rd.vi[0] == pytest.approx(p1 * (1 - p1) / 11 + p2 * (1 - p2) / 11)


def test_rr_no_correction_without_zero_cell() -> None:
    es = effect_size("RR", e1=[4], n1=[20], e2=[8], n2=[20])
    assert es.yi[0] == pytest.approx(math.log(0.2 / 0.4))
    assert es.vi[0] == pytest.approx(1 / 4 - 1 / 20 + 1 / 8 - 1 / 20)


@pytest.mark.parametrize("measure", ["RR", "OR", "RD"])
def test_double_zero_study_dropped_with_warning(measure: str) -> None:
    with pytest.warns(UserWarning, match=r"\[1\]"):
        es = effect_size(measure, e1=[3, 0, 5], n1=[10, 10, 10], e2=[4, 0, 2], n2=[10, 12, 10])
    assert es.dropped.tolist() == [False, True, False]
    assert es.index.tolist() == [0, 2]
    assert es.yi.size == 2
    assert es.to_frame().index.tolist() == [0, 2]


@pytest.mark.parametrize("measure", ["RR", "OR"])
def test_all_events_both_arms_dropped(measure: str) -> None:
    with pytest.warns(UserWarning, match=r"\[0\]"):
        es = effect_size(measure, e1=[10, 2], n1=[10, 10], e2=[12, 4], n2=[12, 10])
    assert es.dropped.tolist() == [True, False]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"e1": [-1, 2]}, "e1.*position 0"),
        ({"e1": [11, 2]}, "e1.*position 0"),
        ({"e1": [1.5, 2]}, "e1.*position 0"),
        ({"n2": [10, 0]}, "n2.*position 1"),
        ({"n1": [10, 10.5]}, "n1.*position 1"),
        ({"e2": [1, float("nan")]}, "e2.*position 1"),
        ({"e2": [1, 2, 3]}, "mismatched"),
    ],
)
def test_impossible_counts(kwargs: dict, match: str) -> None:
    base = {"e1": [1, 2], "n1": [10, 10], "e2": [1, 2], "n2": [10, 10]}
    with pytest.raises(ValueError, match=match):
        effect_size("RR", **{**base, **kwargs})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sd1": [0.0, 1.0]}, "sd1.*position 0"),
        ({"sd2": [1.0, -2.0]}, "sd2.*position 1"),
        ({"n1": [0, 10]}, "n1.*position 0"),
        ({"m1": [float("inf"), 1.0]}, "m1.*position 0"),
        ({"m2": [1.0]}, "mismatched"),
    ],
)
@pytest.mark.parametrize("measure", ["MD", "SMD"])
def test_continuous_validation(measure: str, kwargs: dict, match: str) -> None:
    base = {
        "m1": [1.0, 2.0],
        "sd1": [1.0, 1.0],
        "n1": [10, 10],
        "m2": [1.0, 2.0],
        "sd2": [1.0, 1.0],
        "n2": [10, 10],
    }
    with pytest.raises(ValueError, match=match):
        effect_size(measure, **{**base, **kwargs})


def test_unknown_measure_and_missing_args() -> None:
    with pytest.raises(ValueError, match="measure"):
        effect_size("HR", e1=[1], n1=[2], e2=[1], n2=[2])
    with pytest.raises(ValueError, match="missing"):
        effect_size("MD", m1=[1.0])
    with pytest.raises(ValueError, match="change_score"):
        effect_size("RR", e1=[1], n1=[2], e2=[1], n2=[2], change_score=True)


def test_precomputed_linear_and_log() -> None:
    z = special.ndtri(0.975)
    es = effect_size("precomputed", effect=[-0.5], ci_low=[-0.9], ci_high=[-0.1])
    assert es.yi[0] == -0.5 and es.vi[0] == pytest.approx((0.8 / (2 * z)) ** 2)
    rr = effect_size("precomputed", effect=[0.8], ci_low=[0.64], ci_high=[1.0], log_scale=True)
    assert rr.yi[0] == pytest.approx(math.log(0.8))
    assert math.sqrt(rr.vi[0]) == pytest.approx((math.log(1.0) - math.log(0.64)) / (2 * z))
    lvl = effect_size("precomputed", effect=[0.0], ci_low=[-1.0], ci_high=[1.0], level=0.9)
    assert math.sqrt(lvl.vi[0]) == pytest.approx(1.0 / stats.norm.ppf(0.95))
    with pytest.raises(ValueError, match="ci_low"):
        effect_size("precomputed", effect=[0.5], ci_low=[0.6], ci_high=[0.9])
    with pytest.raises(ValueError, match="ci_low.*position 0"):
        effect_size("precomputed", effect=[0.5], ci_low=[0.0], ci_high=[0.9], log_scale=True)
