"""Sweeps: sweep-file validation, local and Ray backends, resumability, failure recording, report."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rhm_theory.cli import main
from rhm_theory.runs.backends import execute
from rhm_theory.runs.experiment import run_one
from rhm_theory.runs.spec import run_key
from rhm_theory.runs.store import ResultsStore
from rhm_theory.runs.sweep import SweepError, adaptive_searches, expand_sweep, load_sweep

TIMING_FIELDS = {"seconds", "wall_seconds"}

SMALL = {
    "grammar": {"v": 4, "n_c": 2, "m": 2, "s": 2, "L": 2},  # p_max = 16
    "data": {"P": [4, 8], "P_test": 4},
    "training": {"model": "cnn", "width": 4, "max_epochs": 2},
    "run": {"seeds": 2},
}
SMALL_TOML = """
[grammar]
v = 4
n_c = 2
m = 2
s = 2
L = 2
[data]
P = [4, 8]
P_test = 4
[training]
model = "cnn"
width = 4
max_epochs = 2
[run]
seeds = 2
"""


def test_sweep_expands_to_the_product_of_its_lists():
    specs = expand_sweep(SMALL)
    assert len(specs) == 4
    assert len(set(specs)) == 4
    assert {(spec.P, spec.seed) for spec in specs} == {(4, 0), (4, 1), (8, 0), (8, 1)}
    relative = expand_sweep({**SMALL, "data": {"P_over_ncmL": [0.5, 1], "P_test": 4}, "run": {"seeds": [7]}})
    assert [spec.P for spec in relative] == [4, 8]  # n_c m^L = 8
    assert relative[0].seed == 7


@pytest.mark.parametrize(
    "change, message",
    [
        ({"grammer": {}}, r"unknown section \[grammer\]"),
        ({"training": {"widht": 4}}, r"unknown field training.widht"),
        ({"grammar": {"v": 4, "n_c": 2, "m": 2, "s": 2}}, r"missing field grammar.L"),
        ({"training": {"width": "wide"}}, r"field training.width must be an integer, got 'wide'"),
        ({"training": {"lr": [0.1, "fast"]}}, r"field training.lr must be a number, got 'fast'"),
        ({"training": {"model": "mlp"}}, r"field training.model = 'mlp' is not a model"),
        ({"data": {"P": [], "P_test": 4}}, r"field data.P is an empty list"),
        ({"data": {"P": [4], "P_over_ncmL": [1]}}, r"exactly one of data.P .*data.P_over_ncmL .*data.adaptive"),
        ({"run": {"seeds": 0}}, r"field run.seeds = 0 must be >= 1"),
        ({"data": {"P": [40], "P_test": 4}}, r"P = 40 .* exceed p_max = 16"),
    ],
)
def test_malformed_sweeps_name_the_field(change, message):
    with pytest.raises(SweepError, match=message):
        expand_sweep({**SMALL, **change})


def test_invalid_toml_is_a_clear_error(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[grammar\nv = 4\n")
    with pytest.raises(SweepError, match="not valid TOML"):
        load_sweep(path)
    with pytest.raises(SweepError, match="cannot read sweep file"):
        load_sweep(tmp_path / "missing.toml")


def _comparable(rows):
    return sorted(({k: v for k, v in row.items() if k not in TIMING_FIELDS} for row in rows), key=lambda r: r["key"])


def test_local_and_ray_backends_give_the_same_rows(tmp_path):
    pytest.importorskip("ray")
    specs = expand_sweep(SMALL)
    with ResultsStore(tmp_path / "local.sqlite") as local, ResultsStore(tmp_path / "ray.sqlite") as remote:
        assert execute(specs, local, backend="local", workers=2, progress=False).finished == 4
        assert execute(specs, remote, backend="ray", workers=2, progress=False).finished == 4
        assert _comparable(local.rows()) == _comparable(remote.rows())
        assert {row["key"] for row in local.rows()} == {run_key(spec) for spec in specs}


def flaky_runner(spec):
    """Fails for seed 1 until the marker file named by RHM_TEST_MARKER exists."""
    if spec.seed == 1 and not Path(os.environ["RHM_TEST_MARKER"]).exists():
        raise RuntimeError(f"injected failure for P={spec.P}")
    return run_one(spec)


def dying_runner(spec):
    """Kills its worker process for seed 1 until the marker file exists."""
    if spec.seed == 1 and not Path(os.environ["RHM_TEST_MARKER"]).exists():
        os._exit(3)
    return run_one(spec)


@pytest.mark.parametrize("runner, workers", [(flaky_runner, 1), (dying_runner, 2)])
def test_failed_runs_are_recorded_reported_and_retried(tmp_path, monkeypatch, capsys, runner, workers):
    marker = tmp_path / "marker"
    monkeypatch.setenv("RHM_TEST_MARKER", str(marker))
    specs = expand_sweep(SMALL)
    path = tmp_path / "results.sqlite"
    with ResultsStore(path) as store:
        outcome = execute(specs, store, workers=workers, runner=runner, progress=False)
        assert outcome.failed >= 2
        assert outcome.finished + outcome.failed == 4
        failed_keys = {f["key"] for f in store.failures()}
        assert {run_key(s) for s in specs if s.seed == 1} <= failed_keys
        assert failed_keys.isdisjoint(store.finished_keys())
    assert main(["report", str(path), "--out", str(tmp_path / "report")]) == 0
    summary = (tmp_path / "report" / "summary.md").read_text()
    assert f"{len(failed_keys)} failed runs waiting for a retry" in summary
    marker.touch()
    with ResultsStore(path) as store:
        outcome = execute(specs, store, workers=workers, runner=runner, progress=False)
        assert outcome.finished == len(failed_keys)
        assert outcome.failed == 0
        keys = [row["key"] for row in store.rows()]
        assert sorted(keys) == sorted(run_key(s) for s in specs)  # each run exactly once
        assert store.failures() == []
        assert len(store.failures(unresolved=False)) >= len(failed_keys)


def test_killing_the_driver_mid_sweep_then_rerunning_completes_each_run_once(tmp_path):
    sweep = tmp_path / "sweep.toml"
    slow = SMALL_TOML.replace("max_epochs = 2", "max_epochs = 400\nloss_threshold = 1e-12")  # ~0.5 s per run
    sweep.write_text(slow.replace("P = [4, 8]", "P = [4, 6, 8, 10]").replace("seeds = 2", "seeds = 3"))
    results = tmp_path / "results.sqlite"
    command = [
        sys.executable,
        "-m",
        "rhm_theory",
        "sweep",
        str(sweep),
        "--results",
        str(results),
        "--workers",
        "1",
        "--quiet",
    ]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    stored = 0
    while time.monotonic() < deadline and process.poll() is None:
        if results.exists():
            with ResultsStore(results) as store:
                stored = len(store.finished_keys())
            if stored >= 2:
                break
        time.sleep(0.05)
    assert process.poll() is None, "the sweep finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    with ResultsStore(results) as store:
        partial = len(store.rows())
    assert 2 <= partial < 12
    assert subprocess.run(command, timeout=300).returncode == 0
    with ResultsStore(results) as store:
        keys = [row["key"] for row in store.rows()]
    assert len(keys) == 12
    assert len(set(keys)) == 12


def test_report_writes_valid_pngs_and_summary(tmp_path):
    import matplotlib.image

    specs = expand_sweep(SMALL)
    path = tmp_path / "results.sqlite"
    with ResultsStore(path) as store:
        execute(specs[:3], store, workers=1, progress=False)  # a partial sweep
    assert main(["report", str(path), "--out", str(tmp_path / "out")]) == 0
    summary = (tmp_path / "out" / "summary.md").read_text()
    linked = re.findall(r"!\[\w+\]\((\w+\.png)\)", summary)
    assert {"collapse.png", "correlations.png"} <= set(linked)
    assert "- no sensitivity figure:" in summary  # SMALL measures no S_{k,l}: no empty panel
    for name in linked:
        data = (tmp_path / "out" / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert matplotlib.image.imread(tmp_path / "out" / name).ndim == 3
        assert (tmp_path / "out" / name).with_suffix(".pdf").is_file()
    assert "3 stored runs in 1 settings" in summary
    assert "| (4, 2, 2, 2, 2) |" in summary


def test_sweep_command_and_bad_backend_options(tmp_path, capsys):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(SMALL_TOML)
    results = tmp_path / "r.sqlite"
    assert main(["sweep", str(sweep), "--results", str(results), "--workers", "1", "--quiet"]) == 0
    assert "4 finished now" in capsys.readouterr().out
    assert main(["sweep", str(sweep), "--results", str(results), "--workers", "1", "--quiet"]) == 0
    assert "4 already stored, 0 finished now" in capsys.readouterr().out
    with ResultsStore(results) as store:
        with pytest.raises(ValueError, match="gpus_per_run is a Ray resource request"):
            execute(expand_sweep(SMALL), store, gpus_per_run=1)
        with pytest.raises(ValueError, match="unknown backend 'slurm'"):
            execute(expand_sweep(SMALL), store, backend="slurm")


def test_sweep_trains_seeds_as_ensembles(tmp_path, capsys):
    """--ensemble-size: the same runs as one at a time (rows up to float rounding), resumable."""
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(SMALL_TOML)
    results = tmp_path / "r.sqlite"
    assert (
        main(["sweep", str(sweep), "--results", str(results), "--workers", "1", "--quiet", "--ensemble-size", "4"]) == 0
    )
    assert "4 finished now" in capsys.readouterr().out
    assert (
        main(["sweep", str(sweep), "--results", str(results), "--workers", "1", "--quiet", "--ensemble-size", "4"]) == 0
    )
    assert "4 already stored, 0 finished now" in capsys.readouterr().out
    with ResultsStore(results) as store:
        rows = {row["key"]: row for row in store.rows()}
    for spec in expand_sweep(SMALL):
        assert rows[run_key(spec)]["test_loss"] == pytest.approx(run_one(spec)["test_loss"], rel=1e-5)


def test_bundled_sweep_files_expand():
    from importlib.resources import files

    for name, runs in (("quick.toml", 48), ("paper.toml", 600), ("smoke.toml", 2)):
        assert len(load_sweep(files("rhm_theory") / "runs" / "sweeps" / name)) == runs


def test_adaptive_sweep_bisects_each_setting_and_resumes(tmp_path, capsys):
    document = {
        **SMALL,
        "grammar": {**SMALL["grammar"], "n_c": [2, 3]},
        "data": {"adaptive": {"P_low_over_ncmL": 0.25, "P_high_over_ncmL": 1.5, "steps": 2}, "P_test": 4},
    }
    searches = adaptive_searches(document)
    assert [(s.base.n_c, s.P_low, s.P_high, s.steps, s.seeds) for s in searches] == [
        (2, 2, 12, 2, (0, 1)),
        (3, 3, 18, 2, (0, 1)),
    ]
    with pytest.raises(SweepError, match="use adaptive_searches"):
        expand_sweep(document)
    sweep = tmp_path / "adaptive.toml"
    sweep.write_text(
        SMALL_TOML.replace("P = [4, 8]", "adaptive = { P_low_over_ncmL = 0.5, P_high_over_ncmL = 1.5, steps = 1 }")
    )
    results = tmp_path / "r.sqlite"
    assert main(["sweep", str(sweep), "--results", str(results), "--workers", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "1 adaptive P* searches" in out
    assert "P measured [4, 12" in out
    with ResultsStore(results) as store:
        first = sorted(row["key"] for row in store.rows())
    assert len(first) >= 4  # the bracket (2 sizes) for 2 seeds
    main(["sweep", str(sweep), "--results", str(results), "--workers", "1", "--quiet"])
    with ResultsStore(results) as store:
        assert sorted(row["key"] for row in store.rows()) == first  # nothing run twice


@pytest.mark.parametrize(
    "adaptive, message",
    [
        ({"P_low_over_ncmL": 1, "P_high_over_ncmL": 2}, r"missing field data.adaptive.steps"),
        ({"P_low_over_ncmL": 1, "P_high_over_ncmL": 2, "steps": 1, "tries": 3}, r"unknown field data.adaptive.tries"),
        ({"P_low_over_ncmL": 2, "P_high_over_ncmL": 1, "steps": 1}, r"P_high > P_low"),
        (
            {"P_low_over_ncmL": -1, "P_high_over_ncmL": 1, "steps": 1},
            r"field data.adaptive.P_low_over_ncmL values must be positive",
        ),
        ({"P_low_over_ncmL": 1, "P_high_over_ncmL": 2, "steps": -1}, r"data.adaptive.steps must be an integer >= 0"),
    ],
)
def test_malformed_adaptive_sweeps_name_the_field(adaptive, message):
    with pytest.raises(SweepError, match=message):
        adaptive_searches({**SMALL, "data": {"adaptive": adaptive, "P_test": 4}})
