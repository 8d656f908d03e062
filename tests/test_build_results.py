"""Collecting published results: one id, one value (``analysis.book.results``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.book.build import BuildError
from analysis.book.cache import CACHE_DIR
from analysis.book.discovery import Notebook
from analysis.book.execution import Execution
from analysis.book.results import SAME_RESULT_FIELDS, collect_results, differing_fields

HEADLINE = {
    "id": "symptoms.smd.overall",
    "label": "Depressive symptoms",
    "outcome": "depressive_symptoms",
    "measure": "SMD",
    "scale": "difference",
    "estimate": -0.4012,
    "ci_low": -0.65,
    "ci_high": -0.14,
    "pi_low": None,
    "pi_high": None,
    "se": 0.12,
    "p": 0.004,
    "tau2": 0.03,
    "i2": 41.0,
    "k": 9,
    "participants": 1205,
    "method": "REML",
    "hksj": True,
    "studies": ["Wiles2013", "Nakagawa2017"],
}


def publish(root: Path, page: str, *records: dict) -> Execution:
    """A cached execution of ``page`` that published ``records``."""
    nb = Notebook(page=page, source=Path(f"{page}.md"))
    folder = root / CACHE_DIR / nb.slug
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(list(records), indent=1))
    return Execution(notebook=nb, key="k")


def test_the_same_value_on_several_pages_is_one_record(tmp_path: Path) -> None:
    other = dict(HEADLINE, id="dropout.rr.overall", measure="RR", scale="ratio")
    runs = [
        publish(tmp_path, "chapters/index", HEADLINE),
        publish(tmp_path, "chapters/results/symptoms", dict(HEADLINE), other),
    ]
    records = collect_results(tmp_path, runs, "v1")
    assert [r["id"] for r in records] == ["dropout.rr.overall", "symptoms.smd.overall"]
    headline = records[1]
    assert headline["page"] == "chapters/index"  # the first page in table-of-contents order
    assert headline["data_version"] == "v1"
    assert records[0]["page"] == "chapters/results/symptoms"


def test_a_label_may_differ_between_pages(tmp_path: Path) -> None:
    runs = [
        publish(tmp_path, "chapters/index", HEADLINE),
        publish(tmp_path, "chapters/results/symptoms", dict(HEADLINE, label="Symptoms")),
    ]
    assert collect_results(tmp_path, runs, "v1")[0]["label"] == "Depressive symptoms"


@pytest.mark.parametrize(
    ("field", "value"),
    [("estimate", -0.4013), ("k", 8), ("studies", ["Wiles2013"]), ("hksj", False),
     ("pi_low", -0.9), ("measure", "MD")],
)  # fmt: skip
def test_different_values_under_one_id_fail(tmp_path: Path, field: str, value: object) -> None:
    runs = [
        publish(tmp_path, "chapters/index", HEADLINE),
        publish(tmp_path, "chapters/results/subgroups", dict(HEADLINE, **{field: value})),
    ]
    with pytest.raises(BuildError) as info:
        collect_results(tmp_path, runs, "v1")
    message = str(info.value)
    assert "'symptoms.smd.overall'" in message
    assert "chapters/index" in message and "chapters/results/subgroups" in message
    assert f"{field} {HEADLINE[field]!r} on chapters/index" in message
    assert f"{value!r} on chapters/results/subgroups" in message
    assert differing_fields(HEADLINE, dict(HEADLINE, **{field: value})) == [field]


def test_every_conflict_is_reported(tmp_path: Path) -> None:
    second = dict(HEADLINE, id="remission.rr.overall")
    runs = [
        publish(tmp_path, "chapters/index", HEADLINE, second),
        publish(tmp_path, "chapters/a", dict(HEADLINE, k=8), dict(second, estimate=1.5)),
    ]
    with pytest.raises(BuildError) as info:
        collect_results(tmp_path, runs, "v1")
    assert "'symptoms.smd.overall'" in str(info.value)
    assert "'remission.rr.overall'" in str(info.value)


def test_only_the_listed_fields_must_agree() -> None:
    assert set(SAME_RESULT_FIELDS) == {
        "estimate", "ci_low", "ci_high", "pi_low", "pi_high", "k", "participants", "studies",
        "method", "hksj", "test", "measure",
    }  # fmt: skip
    relabelled = dict(HEADLINE, label="x", outcome="y", se=1.0, p=0.5, tau2=0.0, i2=0.0)
    assert differing_fields(HEADLINE, relabelled) == []
    assert (
        differing_fields(dict(HEADLINE, pi_low=float("nan")), dict(HEADLINE, pi_low=float("nan")))
        == []
    )
