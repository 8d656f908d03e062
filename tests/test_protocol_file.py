"""``data/protocol.yml``: loading and validation (every problem names the file, line, key, rule).

Each bad protocol is the real file with one defect, in a copy of ``data/``; the validator
(``python -m analysis validate`` and :func:`analysis.load_trials`) must reject it before any
analysis runs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from analysis import DataValidationError, load_trials, validate
from analysis.evidence import data_version
from analysis.evidence.protocol import load_protocol

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
TEXT = (DATA / "protocol.yml").read_text(encoding="utf-8")


@pytest.fixture()
def data_copy(tmp_path: Path) -> Path:
    dest = tmp_path / "data"
    shutil.copytree(DATA, dest)
    return dest


def _line(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_real_protocol_loads_with_the_data() -> None:
    trials = load_trials()
    p = trials.protocol
    assert p is not None and p == load_protocol()
    assert p.method == "REML" and p.test == "adhoc"
    assert p.primary.controls == ("usual care",)
    assert p.all_controls.controls == ("usual care", "wait-list")
    assert p.population_order == ("itt", "not reported", "completers")
    assert "unclear" not in p.established_instruments
    assert p.instrument_order(any_instrument=True)[-1] == "unclear"


CASES = [
    # (id, old text, new text, key, rule fragment)
    ("unknown_estimator", "  tau2: REML", "  tau2: REMLX", "model.tau2",
     "must be one of: FE, DL, REML, PM"),
    ("unknown_test", "  test: adhoc", "  test: hksj", "model.test",
     "must be one of: z, knha, adhoc"),
    ("unknown_instrument", "[BDI-II, BDI-I, BDI,", "[BDI-3, BDI-I, BDI,",
     "outcomes.self_report_instruments", "must be one of"),
    ("unclear_is_not_established", "HAMD, MADRS]", "HAMD, MADRS, unclear]",
     "outcomes", "'unclear' is not an established instrument"),
    ("population_order_incomplete", "[itt, not reported, completers]", "[itt, completers]",
     "outcomes.population_order", "must list every analysis_population value"),
    ("use_order_duplicate_rows", "[primary, alternative]", "[primary, duplicate]",
     "outcomes.use_order", "must be one of"),
    ("unknown_format", "[individual, group, mixed, unknown]", "[individual, group, app]",
     "interventions.therapist_formats", "must be one of"),
    ("unknown_flag", "waitlist_flag: waitlist_control", "waitlist_flag: wait_list",
     "comparisons.waitlist_flag", "must be one of"),
    ("unknown_control", "controls: [usual care]", "controls: [placebo]",
     "comparisons.primary.controls", "must be one of"),
    ("missing_key", "  level: 0.95\n", "", "model.level", "required key is missing"),
    ("threshold_out_of_range", "inconsistency_i2: 50", "inconsistency_i2: 150",
     "grade.inconsistency_i2", "must be between 0 and 100"),
    ("wording_bad_placeholder", "'{subject} may {verb_base} {outcome}'",
     "'{subject} may {verbs} {outcome}'", "grade.wording.effect.low", "placeholders must be"),
    ("control_risk_without_source", "      value: 0.22\n      source: >-",
     "      value: 0.22\n      sauce: >-", "absolute_effects.assumed_control_risk.response.source",
     "required key is missing"),
    ("control_risk_not_a_probability", "      value: 0.22", "      value: 22",
     "absolute_effects.assumed_control_risk.response.value", "must be between 0 and 1"),
    ("smd_scale_not_established", "smd_scale: BDI-II", "smd_scale: unclear",
     "absolute_effects.smd_scale", "must be one of"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_protocol_is_rejected_with_file_line_key_and_rule(case: tuple, data_copy: Path
                                                              ) -> None:  # fmt: skip
    _, old, new, key, rule = case
    assert old in TEXT, old
    text = TEXT.replace(old, new, 1)
    (data_copy / "protocol.yml").write_text(text, encoding="utf-8")
    problems = [p for p in validate(data_copy) if p.file == "data/protocol.yml"]
    assert problems, "defect not detected"
    hit = [p for p in problems if p.column == key and rule in p.rule]
    assert hit, [str(p) for p in problems]
    if new and new.strip() and key != "outcomes" and "missing" not in rule:
        # the line named is the line of the key that holds the bad value
        assert hit[0].row is not None
        lines = text.splitlines()
        assert key.split(".")[-1] in lines[hit[0].row - 1]
    with pytest.raises(DataValidationError, match="protocol.yml"):
        load_trials(data_copy)
    assert "line" in str(hit[0]) or hit[0].row is None
    assert f"key {key!r}" in str(hit[0])


def test_missing_protocol_is_reported(data_copy: Path) -> None:
    (data_copy / "protocol.yml").unlink()
    assert any(p.file == "data/protocol.yml" and p.rule == "file is missing"
               for p in validate(data_copy))  # fmt: skip


def test_invalid_yaml_names_the_line(data_copy: Path) -> None:
    (data_copy / "protocol.yml").write_text("question: [unclosed\nmodel: {\n", encoding="utf-8")
    problems = [p for p in validate(data_copy) if p.file == "data/protocol.yml"]
    assert problems and "not valid YAML" in problems[0].rule and problems[0].row is not None


def test_protocol_is_part_of_the_data_version(data_copy: Path) -> None:
    before = data_version(data_copy)
    path = data_copy / "protocol.yml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    assert data_version(data_copy) != before


def test_line_of_helper() -> None:
    assert _line(TEXT, "model:") < _line(TEXT, "  tau2: REML")
