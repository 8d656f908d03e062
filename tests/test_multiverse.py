"""The multiverse of the explorer (``analysis.review.multiverse``, issue #14).

Every combination's entry of the site's JSON must equal a direct call of the review layer
(:func:`analysis.review.analyses.meta_analysis`) with the same choices. The keyword arguments of
the direct calls are written out here, from the choices' meaning, not taken from the module.
"""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest

from analysis import load_trials
from analysis.evidence.selection import TRD_DEFINITIONS
from analysis.review import catalogue, multiverse
from analysis.review.analyses import meta_analysis


@pytest.fixture(scope="module")
def trials():
    return load_trials()


@pytest.fixture(scope="module")
def analyses(trials):
    return multiverse.multiverse(trials)


@pytest.fixture(scope="module")
def site(trials, analyses):
    # Through JSON text, as the browser reads it.
    return json.loads(json.dumps(multiverse.site_json(trials, analyses), allow_nan=False))


def _waitlist(studies):
    """Trials whose control is a wait-list: the protocol's flag in doubtful_inclusion."""
    return studies["doubtful_inclusion"].fillna("").map(
        lambda v: "waitlist_control" in [t.strip() for t in str(v).split(";")])


COMPARATOR = {
    "usual_care": {"comparison": "primary"},
    "waitlist": {"comparison": "all_controls", "where": _waitlist},
    "both": {"comparison": "all_controls"},
}
INSTRUMENTS = {"self_first": "self_first", "clinician_first": "clinician_first"}
VALIDITY = {"established": False, "any": True}
MODEL = {"reml_adhoc": ("REML", "adhoc"), "dl": ("DL", "z"), "fe": ("FE", "z")}


def direct(trials, key: str):
    definition, comparator, instruments, validity, model = key.split("|")
    method, test = MODEL[model]
    return meta_analysis(
        trials, "depressive_symptoms", "SMD", definition=definition, **COMPARATOR[comparator],
        hierarchy=INSTRUMENTS[instruments], any_instrument=VALIDITY[validity], method=method,
        test=test,
    )  # fmt: skip


def test_every_combination_is_there(analyses, site) -> None:
    expected = {f"{d}|{c}|{i}|{v}|{m}" for d in TRD_DEFINITIONS for c in COMPARATOR
                for i in INSTRUMENTS for v in VALIDITY for m in MODEL}  # fmt: skip
    assert len(expected) == 180
    assert set(analyses) == expected
    assert set(site["results"]) == expected


def _none(x: float) -> float | None:
    return None if math.isnan(x) else x


def test_each_entry_equals_a_direct_call_of_the_review_layer(trials, site) -> None:
    rows = site["trials"]
    for key, entry in site["results"].items():
        ma = direct(trials, key)
        if ma.result is None:
            assert entry["k"] == 0 and entry["empty"] is True, key
            continue
        r = ma.result
        assert entry.get("empty") is None, key
        assert entry["k"] == r.k == len(ma.table), key
        assert entry["estimate"] == r.estimate, key
        assert entry["ci"] == [r.ci_low, r.ci_high], key
        assert entry["pi"] == [_none(r.pi_low), _none(r.pi_high)], key
        assert entry["i2"] == _none(r.i2) and entry["tau2"] == _none(r.tau2), key
        assert entry["participants"] == ma.participants, key
        assert (entry["method"], entry["test"]) == (r.method, r.test), key
        assert entry["weights"] == list(ma.table["weight"]), key
        shown = [rows[i] for i in entry["trials"]]
        assert [s[0] for s in shown] == list(ma.table["label"]), key
        assert [s[1] for s in shown] == list(ma.table["instrument"]), key
        assert [s[3] for s in shown] == list(ma.table["yi"]), key
        assert [s[4] for s in shown] == list(ma.table["ci_low"]), key
        assert [s[5] for s in shown] == list(ma.table["ci_high"]), key


def test_the_default_view_is_the_protocols_primary_analysis(trials, site) -> None:
    assert site["default"] == "any|usual_care|self_first|established|reml_adhoc"
    primary = catalogue.run(trials, "symptoms.smd.overall")
    entry = site["results"][site["default"]]
    assert entry["estimate"] == primary.result.estimate
    assert entry["ci"] == [primary.result.ci_low, primary.result.ci_high]
    assert entry["k"] == primary.k and entry["participants"] == primary.participants


def test_models_differ_where_they_should(site) -> None:
    """REML + modified Knapp–Hartung, DL (z) and fixed effect are three different poolings of
    the same trials: same k and trials, and the fixed effect has tau² = 0."""
    base = "any|both|self_first|established"
    reml, dl, fe = (site["results"][f"{base}|{m}"] for m in MODEL)
    assert reml["trials"] == dl["trials"] == fe["trials"]
    assert fe["tau2"] == 0
    assert reml["ci"] != fe["ci"]  # t(k - 1) with the larger SE vs a z interval
    if dl["tau2"] == 0:  # DerSimonian–Laird with no heterogeneity is the fixed-effect model
        assert dl["ci"] == pytest.approx(fe["ci"])
    else:
        assert dl["ci"] != fe["ci"]


def test_combinations_without_data_are_kept_and_marked(site) -> None:
    empty = [k for k, e in site["results"].items() if e.get("empty")]
    assert empty, "at least min2 has no trial with data in this release"
    assert all(site["results"][k]["k"] == 0 for k in empty)
    assert all(k.startswith("min2|") for k in site["results"] if k.startswith("min2|")
               and site["results"][k].get("empty"))  # fmt: skip


def test_choices_in_the_json_link_definitions_to_the_definition_chapter(site) -> None:
    definition = site["choices"][0]
    assert definition["key"] == "definition"
    assert [o["key"] for o in definition["options"]] == list(TRD_DEFINITIONS)
    assert all(o["href"].startswith("definition.html#") for o in definition["options"])


# ----------------------------------------------------------------------------- the summary
def _fake(estimate: float, low: float, high: float):
    result = SimpleNamespace(estimate=estimate, ci_low=low, ci_high=high)
    return SimpleNamespace(result=result, k=2, participants=100)


def test_summary_counts_range_and_the_choice_that_moves_most() -> None:
    # Hand-made: four combinations differing in comparator and model only. Comparator medians:
    # usual care -0.3 (from -0.2, -0.4), wait-list -1.1 (from -1.0, -1.2): spread 0.8;
    # model medians: REML -0.6 (-0.2, -1.0), DL -0.8 (-0.4, -1.2): spread 0.2.
    analyses = {
        "any|usual_care|self_first|established|reml_adhoc": _fake(-0.2, -0.5, 0.1),
        "any|usual_care|self_first|established|dl": _fake(-0.4, -0.6, -0.2),
        "any|waitlist|self_first|established|reml_adhoc": _fake(-1.0, -1.5, -0.5),
        "any|waitlist|self_first|established|dl": _fake(-1.2, -1.6, -0.8),
        "min2|usual_care|self_first|established|reml_adhoc": SimpleNamespace(result=None),
    }
    s = multiverse.summary(analyses)
    assert (s.total, s.with_data, s.favour, s.unclear, s.against) == (5, 4, 3, 1, 0)
    assert (s.lowest, s.highest) == (-1.2, -0.2)
    assert s.lowest_key == "any|waitlist|self_first|established|dl"
    assert s.mover == "comparator"
    assert s.mover_low == ("waitlist", pytest.approx(-1.1))
    assert s.mover_high == ("usual_care", pytest.approx(-0.3))
    assert s.medians["model"] == {"reml_adhoc": pytest.approx(-0.6), "dl": pytest.approx(-0.8)}
    texts = multiverse.summary_texts(s)
    assert "Of the 5 combinations, 4 have data. In 3 of them" in texts["counts"]
    assert "control group" in texts["mover"] and "0.80" in texts["mover"]


def test_specification_table_is_sorted_with_ranks(analyses) -> None:
    table = multiverse.specification_table(analyses)
    assert len(table) == sum(ma.result is not None for ma in analyses.values())
    assert table["estimate"].is_monotonic_increasing
    assert list(table["rank"]) == list(range(1, len(table) + 1))
    shown = multiverse.specification_display(table)
    assert len(shown) == len(table) and "95% CI" in shown
