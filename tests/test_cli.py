"""The command line: info, sample, verify (run in-process through rhm_theory.cli.main)."""

import json
import os

import numpy as np
import pytest

from rhm_theory import Grammar
from rhm_theory.cli import main


def test_info_reports_exact_p_max_and_feasibility(capsys):
    assert main(["info", "--v", "8", "--nc", "8", "--m", "8", "--s", "2", "--L", "6", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["p_max"] == 8 * 8**63
    assert facts["d"] == 64
    assert facts["feasible"] is True
    assert main(["info", "--v", "2", "--nc", "8", "--m", "4", "--s", "2", "--L", "3", "--json"]) == 1
    facts = json.loads(capsys.readouterr().out)
    assert facts["feasible"] is False
    assert "n_c*m" in facts["infeasible_because"]


def test_sample_writes_tokens_labels_and_grammar(tmp_path):
    out = tmp_path / "d.npz"
    assert (
        main(
            [
                "sample",
                "--v",
                "6",
                "--nc",
                "3",
                "--m",
                "2",
                "--s",
                "2",
                "--L",
                "2",
                "--seed",
                "4",
                "--P",
                "20",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    with np.load(out) as data:
        grammar = Grammar.from_json(str(data["grammar"]))
        assert grammar == Grammar.random(6, 3, 2, 2, 2, seed=4)
        assert data["x"].shape == (20, 4)
        assert np.array_equal(grammar.parse(data["x"])[0], data["y"])


def test_sample_refuses_more_than_p_max(tmp_path, capsys):
    code = main(
        [
            "sample",
            "--v",
            "3",
            "--nc",
            "2",
            "--m",
            "2",
            "--s",
            "2",
            "--L",
            "2",
            "--P",
            "17",
            "--out",
            str(tmp_path / "x.npz"),
        ]
    )
    assert code == 2
    assert "p_max = 16" in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()


def test_verify_runs_scripts_writes_report_and_fails_on_failure(tmp_path, capsys):
    checks = tmp_path / "checks"
    checks.mkdir()
    (checks / "good.py").write_text(
        "from rhm_theory.report.checks import Check, Section\n"
        "def run(out_dir, quick=True):\n"
        "    return Section('good', [Check('one plus one', 1 + 1 == 2, '2')])\n"
    )
    out = tmp_path / "report"
    assert main(["verify", "--checks", str(checks), "--out", str(out)]) == 0
    assert "PASS  one plus one" in capsys.readouterr().out
    assert "1 PASS, 0 FAIL, 0 INCONCLUSIVE" in (out / "report.md").read_text()
    (checks / "broken.py").write_text("def run(out_dir, quick=True):\n    raise RuntimeError('boom')\n")
    assert main(["verify", "--checks", str(checks), "--out", str(out), "--force"]) == 1
    assert "FAIL  broken ran: RuntimeError: boom" in capsys.readouterr().out


def test_verify_exit_status_follows_the_verdicts(tmp_path, capsys):
    """0 when no check FAILs (INCONCLUSIVE allowed), 1 when one does or with --strict on INCONCLUSIVE,
    2 on bad usage; the summary line counts the three verdicts."""
    checks = tmp_path / "checks"
    checks.mkdir()
    (checks / "undecided.py").write_text(
        "from rhm_theory.report.checks import Check, Section\n"
        "def run(out_dir, quick=True):\n"
        "    return Section('u', [Check('ok', True, '1'), Check('slope', False, '0.9 [0.4, 1.4]').inconclusive(\n"
        "        'the interval contains the claim and an alternative', '4x the seeds')])\n"
    )
    out = tmp_path / "report"
    assert main(["verify", "--checks", str(checks), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "1 PASS, 0 FAIL, 1 INCONCLUSIVE" in printed
    assert "INCONCLUSIVE  slope" in printed
    document = json.loads((out / "report.json").read_text())
    undecided = next(c for c in document["checks"] if c["name"] == "slope")
    assert undecided["verdict"] == "INCONCLUSIVE"
    assert undecided["needs"] == "4x the seeds"
    assert "reason" in undecided
    assert all("verdict" in c for c in document["checks"])
    assert document["counts"]["INCONCLUSIVE"] == 1
    assert main(["verify", "--checks", str(checks), "--out", str(out), "--force", "--strict"]) == 1
    (checks / "failing.py").write_text(
        "from rhm_theory.report.checks import Check, Section\n"
        "def run(out_dir, quick=True):\n    return Section('f', [Check('no', False, '0')])\n"
    )
    assert main(["verify", "--checks", str(checks), "--out", str(out), "--force"]) == 1
    assert "1 PASS, 1 FAIL, 1 INCONCLUSIVE" in capsys.readouterr().out
    assert main(["verify", "--checks", str(checks), "--out", str(out), "--force", "--only", "failing", "failnig"]) == 2
    assert "--only failnig: no such verification script" in capsys.readouterr().err


@pytest.mark.parametrize(
    "body, shown",
    [
        ("    import sys; sys.exit(0)\n", "SystemExit"),
        ("    return None\n", "returned NoneType, not a Section"),
    ],
)
def test_verify_counts_a_script_that_exits_or_returns_no_section_as_failed(tmp_path, capsys, body, shown):
    checks = tmp_path / "checks"
    checks.mkdir()
    (checks / "odd.py").write_text("def run(out_dir, quick=True):\n" + body)
    assert main(["verify", "--checks", str(checks), "--out", str(tmp_path / "r")]) == 1
    assert shown in capsys.readouterr().out
    assert (tmp_path / "r" / "report.json").is_file()


def test_verify_resume_refuses_a_stored_section_that_does_not_validate(tmp_path, capsys):
    checks = tmp_path / "checks"
    checks.mkdir()
    (checks / "good.py").write_text(
        "from rhm_theory.report.checks import Check, Section\n"
        "def run(out_dir, quick=True):\n    return Section('good', [Check('real', False, 'ran')])\n"
    )
    out = tmp_path / "report"
    kept = out / "sections" / "good_quick.json"
    kept.parent.mkdir(parents=True)
    kept.write_text(
        json.dumps(
            {
                "title": "good",
                "markdown": "",
                "figures": [],
                "checks": [{"name": "forged", "passed": "no", "figure": "", "alternatives": [], "kind": "smoke"}],
            }
        )
    )
    assert main(["verify", "--checks", str(checks), "--out", str(out), "--force", "--resume"]) == 1
    captured = capsys.readouterr()
    assert "is not valid" in captured.err
    assert "FAIL  real: ran" in captured.out
    assert "forged" not in captured.out


def test_verify_resume_reuses_finished_scripts_and_reruns_crashed_ones(tmp_path, capsys):
    checks = tmp_path / "checks"
    checks.mkdir()
    counter = tmp_path / "calls"
    (checks / "good.py").write_text(
        "from pathlib import Path\n"
        "from rhm_theory.report.checks import Check, Section\n"
        "def run(out_dir, quick=True):\n"
        f"    calls = Path({str(counter)!r}); calls.write_text(calls.read_text() + 'x' if calls.exists() else 'x')\n"
        "    return Section('good', [Check('slope 1', True, '1.0 [0.9, 1.1]', alternatives=('slope 0',),\n"
        "                                   kind='discriminating', measured=1.0)], 'notes', ['a.png'])\n"
    )
    (checks / "broken.py").write_text("def run(out_dir, quick=True):\n    raise RuntimeError('boom')\n")
    out = tmp_path / "report"
    assert main(["verify", "--checks", str(checks), "--out", str(out)]) == 1
    first = (out / "report.md").read_text()
    assert main(["verify", "--checks", str(checks), "--out", str(out), "--force", "--resume"]) == 1
    printed = capsys.readouterr().out
    assert counter.read_text() == "x"  # good.py ran once
    assert "good (quick, finished before: reused)" in printed
    assert "FAIL  broken ran: RuntimeError: boom" in printed
    assert (out / "report.md").read_text() == first
    assert main(["verify", "--checks", str(checks), "--out", str(out), "--force"]) == 1  # without --resume: rerun
    assert counter.read_text() == "xx"
    assert main(["verify", "--checks", str(checks), "--out", str(out), "--force", "--full", "--resume"]) == 1
    assert counter.read_text() == "xxx"  # a quick section is not reused for --full


def test_verify_jobs_runs_scripts_in_processes_of_their_own_and_reports_the_same(tmp_path, capsys):
    checks = tmp_path / "checks"
    checks.mkdir()
    for name, verdict in (("alpha", True), ("beta", False), ("gamma", True)):
        (checks / f"{name}.py").write_text(
            "import os\n"
            "from rhm_theory.report.checks import Check, Section\n"
            "def run(out_dir, quick=True):\n"
            f"    (out_dir / '{name}.pid').write_text(str(os.getpid()))\n"
            f"    return Section('{name}', [Check('{name} check', {verdict}, 'figure of {name}')], 'notes of {name}')\n"
        )
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    assert main(["verify", "--checks", str(checks), "--out", str(serial)]) == 1
    assert main(["verify", "--checks", str(checks), "--out", str(parallel), "--jobs", "2"]) == 1
    captured = capsys.readouterr().out
    assert "running 3 scripts, 2 at a time" in captured
    assert json.loads((serial / "report.json").read_text()) == json.loads((parallel / "report.json").read_text())
    pids = {(parallel / f"{name}.pid").read_text() for name in ("alpha", "beta", "gamma")}
    assert str(os.getpid()) not in pids  # one fresh process per script
    assert len(pids) == 3
    # A script whose process dies (run serially, it would end this test run too):
    (checks / "dies.py").write_text("import os\ndef run(out_dir, quick=True):\n    os._exit(3)\n")
    assert main(["verify", "--checks", str(checks), "--out", str(parallel), "--force", "--jobs", "2"]) == 1
    printed = capsys.readouterr().out
    assert "FAIL  dies ran: its process died" in printed
    assert "PASS  alpha check" in printed  # the others are still reported
    assert "PASS  gamma check" in printed
    assert [c["name"] for c in json.loads((parallel / "report.json").read_text())["checks"]] == [
        "alpha check",
        "beta check",
        "dies ran",
        "gamma check",
    ]


def test_verify_refuses_a_jobs_count_below_one(tmp_path, capsys):
    assert main(["verify", "--out", str(tmp_path / "r"), "--jobs", "0"]) == 2
    assert "jobs must be >= 1, got 0" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
