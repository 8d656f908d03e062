"""Result ids: one definition per id (analysis.review.catalogue) and published estimates."""

from __future__ import annotations

import math

import pytest

from analysis import load_trials
from analysis.review import catalogue
from analysis.review.analyses import meta_analysis
from analysis.review.families import family_analysis
from analysis.review.records import NO_DATA_TEXT, TEXT_SUFFIXES, Estimate


@pytest.fixture(scope="module")
def trials():
    return load_trials()


def test_every_catalogued_id_runs(trials):
    for rid in catalogue.ANALYSES:
        est = catalogue.estimate(trials, rid)
        assert est.result_id == rid
        assert est.label == catalogue.spec(rid).label


def test_catalogue_runs_what_it_says(trials):
    bdi = catalogue.run(trials, "symptoms.md.bdi")
    direct = meta_analysis(
        trials, "depressive_symptoms", "MD", hierarchy=["BDI-II", "BDI-I", "BDI"]
    )
    assert bdi.k == direct.k >= 2
    assert bdi.result.estimate == direct.result.estimate
    pm = catalogue.run(trials, "symptoms.smd.sensitivity.pm_hksj")
    assert (pm.method, pm.hksj) == ("PM", True)
    mbct = catalogue.run(trials, "symptoms.smd.modality.MBCT")
    assert mbct.result.estimate == family_analysis(trials, ["MBCT"]).result.estimate
    mh = catalogue.run(trials, "dropout.rr.mh")
    assert mh.method == "MH-DL"


def test_unknown_id_is_a_clear_error():
    with pytest.raises(KeyError, match="not a catalogued result id"):
        catalogue.spec("symptoms.smd.typo")
    assert catalogue.label("symptoms.smd.trimfill") == "Trim-and-fill adjusted estimate"


def test_id_builders():
    assert catalogue.subgroup_id("comparator", "waitlist") == "symptoms.smd.comparator.waitlist"
    assert catalogue.reproduction_id("cochrane2018.bdi.md.cbt") == (
        "reproduction.cochrane2018.bdi.md.cbt"
    )
    assert catalogue.modality_id("IPT") in catalogue.ANALYSES
    assert not set(catalogue.COMPUTED) & set(catalogue.ANALYSES)


def test_estimate_record_and_texts(trials):
    est = catalogue.estimate(trials, "dropout.rr.overall")
    rec = est.record()
    assert rec["scale"] == "ratio"
    assert rec["estimate"] == pytest.approx(math.exp(est.result.estimate))
    texts = est.texts()
    assert set(texts) == set(TEXT_SUFFIXES)
    assert texts[""].startswith("RR ")
    empty = Estimate("x.y", "label", "response", "RR", None)
    assert empty.record() is None
    assert empty.texts()["k"] == "0" and empty.texts()["ci"] == NO_DATA_TEXT
