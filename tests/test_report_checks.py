"""The verification report: check kinds, alternatives and the strict-JSON report.json."""

import json
import math

import pytest

from rhm_theory.report.checks import Check, Section, interval_check, write_report


def test_a_discriminating_check_must_name_its_alternatives():
    with pytest.raises(ValueError, match="names no alternative"):
        Check("slope", True, "1.0", kind="discriminating")
    with pytest.raises(ValueError, match="kind must be one of"):
        Check("slope", True, "1.0", kind="exact-ish")


def test_report_json_lists_alternatives_rejected_only_when_passed(tmp_path):
    passed = Check("slope 1", True, "1.02 [0.9, 1.1]", alternatives=("slope 0.5",), kind="discriminating", measured=1.02)
    failed = Check("v-independence", False, "0.6", alternatives=("c = 0.5",), kind="discriminating", measured=math.inf)
    smoke = Check("runs", True, "ok")
    write_report([Section("s", [passed, failed, smoke])], tmp_path)
    text = (tmp_path / "report.json").read_text()
    document = json.loads(text, parse_constant=lambda name: pytest.fail(f"non-strict JSON constant {name}"))
    by_name = {c["name"]: c for c in document["checks"]}
    assert document["passed"] is False
    assert by_name["slope 1"]["alternatives_rejected"] == ["slope 0.5"]
    assert by_name["v-independence"]["alternatives_rejected"] == []
    assert by_name["v-independence"]["measured"] is None  # infinity is not JSON
    assert by_name["runs"]["kind"] == "smoke"
    assert "| slope 1 | discriminating | PASS |" in (tmp_path / "report.md").read_text()


def test_interval_check_passes_only_when_the_claim_is_inside_and_every_alternative_outside():
    alternatives = {"b = 0": 0.0, "b = 1": 1.0}
    assert interval_check("b", 0.52, 0.45, 0.6, claim=0.5, alternatives=alternatives).passed
    wide = interval_check("b", 0.6, 0.3, 1.05, claim=0.5, alternatives=alternatives)
    assert not wide.passed and "NOT excluded: b = 1" in wide.figure
    missed = interval_check("b", 0.8, 0.7, 0.9, claim=0.5, alternatives=alternatives)
    assert not missed.passed and "OUTSIDE" in missed.figure and missed.measured == 0.8
    assert not interval_check("b", math.nan, math.nan, math.nan, claim=0.5, alternatives=alternatives).passed
    with pytest.raises(ValueError, match="low <= high"):
        interval_check("b", 0.5, 0.6, 0.4, claim=0.5, alternatives=alternatives)
    with pytest.raises(ValueError, match="names no alternative"):
        interval_check("b", 0.5, 0.4, 0.6, claim=0.5, alternatives={})


def test_a_smoke_interval_check_asks_only_for_the_claim_and_rejects_nothing():
    alternatives = {"b = 1": 1.0}
    wide = interval_check("b", 0.6, 0.3, 1.05, claim=0.5, alternatives=alternatives, kind="smoke")
    assert wide.passed and wide.alternatives == () and "NOT excluded: b = 1" in wide.figure
    assert wide.to_dict()["alternatives_rejected"] == []
    assert not interval_check("b", 0.8, 0.7, 0.9, claim=0.5, alternatives=alternatives, kind="smoke").passed


def test_a_section_round_trips_through_strict_json():
    section = Section("s", [Check("a", True, "1.0", alternatives=("x",), kind="discriminating", measured=1.0),
                            Check("b", False, "no crossing", measured=math.nan)], "text", ["f.png"])
    back = Section.from_dict(json.loads(json.dumps(section.to_dict(), allow_nan=False)))
    assert back.to_markdown() == section.to_markdown()
    assert back.checks[0].alternatives == ("x",) and back.checks[1].measured is None


def test_reached_threshold_marks_runs_stopped_at_their_loss_threshold():
    from rhm_theory.report.checks import reached_threshold

    rows = [{"stop_reason": "loss_threshold"}, {"stop_reason": "max_steps"}, {"stop_reason": "max_epochs"},
            {"stop_reason": "diverged"}, {}]
    assert reached_threshold(rows).tolist() == [True, False, False, False, False]
    assert reached_threshold([]).shape == (0,)
