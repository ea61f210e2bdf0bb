"""The verification report: check kinds, alternatives and the strict-JSON report.json."""

import json
import math

import numpy as np
import pytest

from rhm_theory.report.checks import (
    MAX_UNDER_TRAINED,
    Check,
    Cost,
    Section,
    claims_table,
    exit_status,
    interval_check,
    require_trained,
    summary,
    write_report,
)


def test_a_discriminating_check_must_name_its_alternatives():
    with pytest.raises(ValueError, match="names no alternative"):
        Check("slope", True, "1.0", kind="discriminating")
    with pytest.raises(ValueError, match="kind must be one of"):
        Check("slope", True, "1.0", kind="exact-ish")


def test_report_json_lists_alternatives_rejected_only_when_passed(tmp_path):
    passed = Check(
        "slope 1", True, "1.02 [0.9, 1.1]", alternatives=("slope 0.5",), kind="discriminating", measured=1.02
    )
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
    assert not wide.passed
    assert "NOT excluded: b = 1" in wide.figure
    assert wide.verdict == "INCONCLUSIVE"
    missed = interval_check("b", 0.8, 0.7, 0.9, claim=0.5, alternatives=alternatives)
    assert not missed.passed
    assert "OUTSIDE" in missed.figure
    assert missed.measured == 0.8
    assert missed.verdict == "FAIL"
    assert not interval_check("b", math.nan, math.nan, math.nan, claim=0.5, alternatives=alternatives).passed
    with pytest.raises(ValueError, match="low <= high"):
        interval_check("b", 0.5, 0.6, 0.4, claim=0.5, alternatives=alternatives)
    with pytest.raises(ValueError, match="names no alternative"):
        interval_check("b", 0.5, 0.4, 0.6, claim=0.5, alternatives={})


def test_a_smoke_interval_check_asks_only_for_the_claim_and_rejects_nothing():
    alternatives = {"b = 1": 1.0}
    wide = interval_check("b", 0.6, 0.3, 1.05, claim=0.5, alternatives=alternatives, kind="smoke")
    assert wide.passed
    assert wide.alternatives == ()
    assert "NOT excluded: b = 1" in wide.figure
    assert wide.to_dict()["alternatives_rejected"] == []
    assert not interval_check("b", 0.8, 0.7, 0.9, claim=0.5, alternatives=alternatives, kind="smoke").passed


def test_a_section_round_trips_through_strict_json():
    section = Section(
        "s",
        [
            Check("a", True, "1.0", alternatives=("x",), kind="discriminating", measured=1.0),
            Check("b", False, "no crossing", measured=math.nan),
        ],
        "text",
        ["f.png"],
    )
    back = Section.from_dict(json.loads(json.dumps(section.to_dict(), allow_nan=False)))
    assert back.to_markdown() == section.to_markdown()
    assert back.checks[0].alternatives == ("x",)
    assert back.checks[1].measured is None


def test_reached_threshold_marks_runs_stopped_at_their_loss_threshold():
    from rhm_theory.report.checks import reached_threshold

    rows = [
        {"stop_reason": "loss_threshold"},
        {"stop_reason": "max_steps"},
        {"stop_reason": "max_epochs"},
        {"stop_reason": "diverged"},
        {},
    ]
    assert reached_threshold(rows).tolist() == [True, False, False, False, False]
    assert reached_threshold([]).shape == (0,)


def test_an_interval_holding_the_claim_and_an_alternative_is_inconclusive_with_what_would_decide_it():
    check = interval_check("a", 0.8, 0.4, 1.2, claim=1.0, alternatives={"a = 0.5": 0.5}, cost=Cost(5, 100, 600.0))
    assert check.verdict == "INCONCLUSIVE"
    assert not check.passed
    assert "contains the claim 1 and the alternative a = 0.5" in check.reason
    # half-width 0.4 must fall to 0.25 (half the distance 0.5): (0.8 / 0.5)^2 = 2.56 x the seeds, 1.56 x 10 min more
    assert check.needs.startswith("13 seeds instead of 5")
    assert "~16 CPU-min more" in check.needs
    assert check.to_dict()["needs"] == check.needs
    assert "reason" in check.to_dict()
    assert "reason" not in interval_check("a", 1.0, 0.9, 1.1, claim=1.0, alternatives={"a = 0.5": 0.5}).to_dict()


def test_an_inconclusive_check_must_say_why_and_what_would_decide_it():
    with pytest.raises(ValueError, match="does not say why"):
        Check("a", False, "x", verdict="INCONCLUSIVE")
    with pytest.raises(ValueError, match="verdict must be one of"):
        Check("a", False, "x", verdict="MAYBE")
    with pytest.raises(ValueError, match="passed must be a bool"):
        Check("a", "no", "x")
    assert Check("a", True, "x").inconclusive("r", "n").passed is False


@pytest.mark.parametrize("under, verdict", [(0, "PASS"), (2, "PASS"), (3, "INCONCLUSIVE"), (20, "INCONCLUSIVE")])
def test_the_under_training_rule_fires_above_its_declared_fraction(under, verdict):
    flags = np.ones(20, bool)
    flags[:under] = False
    check = require_trained(Check("c", True, "fine", alternatives=("x",), kind="discriminating"), [flags])
    assert check.verdict == verdict
    assert f"under-trained runs: {under}/20" in check.figure
    assert (under / 20 > MAX_UNDER_TRAINED) == (verdict == "INCONCLUSIVE")
    failed = require_trained(Check("c", False, "missed"), [flags])
    assert failed.verdict == ("INCONCLUSIVE" if under / 20 > MAX_UNDER_TRAINED else "FAIL")


def test_old_stored_sections_get_the_verdict_of_passed_and_forged_ones_are_refused():
    old = {
        "title": "s",
        "markdown": "",
        "figures": [],
        "checks": [
            {"name": "a", "passed": True, "figure": "1", "alternatives": [], "kind": "smoke", "measured": None},
            {"name": "b", "passed": False, "figure": "0", "alternatives": [], "kind": "smoke", "measured": 0.5},
        ],
    }
    assert [c.verdict for c in Section.from_dict(old).checks] == ["PASS", "FAIL"]
    for field, value in (("passed", "no"), ("measured", "1"), ("verdict", "PASS"), ("surprise", 1)):
        forged = {**old, "checks": [{**old["checks"][1], field: value}]}
        with pytest.raises(ValueError):  # noqa: PT011 - each forged field has its own message; any refusal will do
            Section.from_dict(forged)


def test_report_opens_with_the_claims_table_and_counts_the_verdicts(tmp_path):
    claim = interval_check(
        "P* ~ n_c^a: a = 1", 0.73, 0.6, 0.99, claim=1.0, alternatives={"a = 0": 0.0}, source="Fig. 3", sizes="n_c 2-16"
    )
    plain = Check("exact = enumeration", True, "0 mismatches")
    undecided = Check("slope", False, "x").inconclusive("too few points", "5 settings")
    sections = [Section("s", [claim, plain, undecided])]
    rows = claims_table(sections)
    assert [r["claim"] for r in rows] == ["P* ~ n_c^a: a = 1"]
    assert rows[0]["verdict"] == "FAIL"
    assert rows[0]["conclusion"].startswith("fails: 0.73 [0.6, 0.99] vs 1")
    write_report(sections, tmp_path)
    text = (tmp_path / "report.md").read_text()
    assert text.index("## Claims") < text.index("## s")
    assert "1 PASS, 1 FAIL, 1 INCONCLUSIVE" in text
    document = json.loads((tmp_path / "report.json").read_text())
    assert document["claims"] == rows
    assert document["counts"] == {"PASS": 1, "FAIL": 1, "INCONCLUSIVE": 1}
    assert summary([plain, undecided]) == "1 PASS, 0 FAIL, 1 INCONCLUSIVE"
    assert exit_status([plain, undecided]) == 0
    assert exit_status([plain, undecided], strict=True) == 1
    assert exit_status([claim]) == 1


def test_the_declared_verdict_rules_are_the_code_constants():
    """docs/theory.md, 'Verdicts' states the thresholds the code applies: one source of truth each."""
    import re
    from pathlib import Path

    from rhm_theory.report.checks import MAX_BRACKET_RATIO
    from rhm_theory.report.learning_checks import MIN_EXTRA_POINTS, ORDER

    text = (Path(__file__).parents[1] / "docs" / "theory.md").read_text()
    rules = text[text.index("## Verdicts") : text.index("## The paper's claims")]
    fraction = re.search(r"More than (\d+)% \(`MAX_UNDER_TRAINED`\)", rules)
    ratio = re.search(r"more than x([\d.]+) apart \(`MAX_BRACKET_RATIO`\)", rules)
    order = re.search(r"more than x([\d.]+) \(`ORDER`\)", rules)
    points = re.search(r"fewer than k \+ (\d+) settings", rules)
    assert fraction, "docs/theory.md, 'Verdicts' no longer states a rule in the tested form"
    assert ratio, "docs/theory.md, 'Verdicts' no longer states a rule in the tested form"
    assert order, "docs/theory.md, 'Verdicts' no longer states a rule in the tested form"
    assert points, "docs/theory.md, 'Verdicts' no longer states a rule in the tested form"
    assert float(fraction.group(1)) / 100 == MAX_UNDER_TRAINED
    assert float(ratio.group(1)) == MAX_BRACKET_RATIO
    assert float(order.group(1)) == ORDER
    assert int(points.group(1)) == 1 + MIN_EXTRA_POINTS


def test_a_bar_inside_a_figure_does_not_break_the_markdown_tables(tmp_path):
    check = Check("P(x | class) = 1/v", True, "|log2 r| = 0.1", source="Fig. 9")
    write_report([Section("s", [check])], tmp_path)
    rows = [line for line in (tmp_path / "report.md").read_text().splitlines() if "1/v" in line]
    assert len(rows) == 2
    assert all(line.replace("\\|", "").count("|") == 7 for line in rows[:1])
    assert all("P(x \\| class)" in line for line in rows)
