"""Local runs spread over several devices (``devices=`` / ``rhm sweep --devices``): round-robin
assignment, run keys independent of the device, bad device lists refused before anything is written."""

import pytest
from test_sweep import SMALL_TOML

import rhm_theory.runs.backends as backends
from rhm_theory.cli import main
from rhm_theory.runs.backends import _DeviceRota, execute
from rhm_theory.runs.spec import RunSpec, run_key
from rhm_theory.runs.store import ResultsStore

SPECS = [RunSpec(v=4, n_c=2, m=2, s=2, L=2, P=4, P_test=4, seed=seed, width=4, max_epochs=1) for seed in range(7)]
GIVEN = []


def recording_runner(spec, device=None):
    GIVEN.append((spec.seed, device))
    return {"key": run_key(spec), "seed": spec.seed, "device": spec.device}


def test_runs_go_round_robin_and_keep_their_keys(tmp_path, monkeypatch):
    usable = {"fake:0", "fake:1", "fake:2"}  # devices this test pretends the machine has
    real = backends.check_device
    monkeypatch.setattr(backends, "check_device", lambda name: name if name in usable else real(name))
    GIVEN.clear()
    with ResultsStore(tmp_path / "r.sqlite") as store:
        execute(
            SPECS, store, workers=1, runner=recording_runner, progress=False, devices=["fake:0", "fake:1", "fake:2"]
        )
        rows = store.rows()
    assert GIVEN == [(seed, f"fake:{seed % 3}") for seed in range(7)]
    assert [row["key"] for row in rows] == [run_key(spec) for spec in SPECS]  # the spec's key, not the device's
    assert {row["device"] for row in rows} == {"cpu"}
    GIVEN.clear()
    with ResultsStore(tmp_path / "r.sqlite") as store:  # a rerun with other devices skips every run
        outcome = execute(SPECS, store, workers=1, runner=recording_runner, progress=False, devices=["fake:2"])
    assert outcome.skipped == 7
    assert GIVEN == []


def test_the_rota_prefers_the_least_loaded_device():
    rota = _DeviceRota(["a", "b", "c"])
    assert [rota.take() for _ in range(3)] == [0, 1, 2]
    rota.give_back(1)
    assert rota.take() == 1  # the only free one, although "a" is next in turn
    rota.give_back(0)
    rota.give_back(2)
    assert rota.take() == 2  # equal loads: round-robin from where it stopped
    assert rota.take() == 0
    assert _DeviceRota(None).take() is None


def test_sweep_over_two_local_devices_stores_the_keys_of_a_plain_sweep(tmp_path, capsys):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(SMALL_TOML)
    spread, plain = tmp_path / "spread.sqlite", tmp_path / "plain.sqlite"
    models = tmp_path / "models"
    assert (
        main(
            [
                "sweep",
                str(sweep),
                "--results",
                str(spread),
                "--devices",
                "cpu,cpu",
                "--quiet",
                "--save-model",
                str(models),
            ]
        )
        == 0
    )  # a pool of 2, each run saving its network
    assert "4 finished now" in capsys.readouterr().out
    assert main(["sweep", str(sweep), "--results", str(plain), "--workers", "1", "--quiet"]) == 0
    with ResultsStore(spread) as a, ResultsStore(plain) as b:
        assert a.finished_keys() == b.finished_keys()
        assert len(a.history()) == len(b.history()) > 4
        assert (
            {path.stem for path in models.glob("*.pt")}
            == {path.stem for path in models.glob("*.json")}
            == a.finished_keys()
        )
        same = {row["key"]: row["test_error"] for row in a.rows()} == {
            row["key"]: row["test_error"] for row in b.rows()
        }
        assert same
    assert main(["sweep", str(sweep), "--results", str(spread), "--workers", "1", "--quiet"]) == 0
    assert "4 already stored, 0 finished now" in capsys.readouterr().out


@pytest.mark.parametrize(
    "devices, message",
    [
        ("cuda:0,cuda:1", "device 'cuda:0' is not available"),
        ("cpu,,cpu", "--devices 'cpu,,cpu' has an empty device name"),
        ("gpu0", "device 'gpu0' is not a torch device name"),
    ],
)
def test_bad_devices_are_one_line_and_write_nothing(tmp_path, capsys, devices, message):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(SMALL_TOML)
    results = tmp_path / "r.sqlite"
    assert main(["sweep", str(sweep), "--results", str(results), "--devices", devices, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert not results.exists()


def test_devices_are_for_the_local_backend_only(tmp_path, capsys):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(SMALL_TOML)
    assert (
        main(["sweep", str(sweep), "--results", str(tmp_path / "r.sqlite"), "--devices", "cpu", "--backend", "ray"])
        == 2
    )
    assert "only with --backend local" in capsys.readouterr().err
    assert not (tmp_path / "r.sqlite").exists()
    with ResultsStore(tmp_path / "s.sqlite") as store, pytest.raises(ValueError, match="backend 'local' only"):
        execute(SPECS, store, backend="ray", devices=["cpu"])
    with ResultsStore(tmp_path / "s.sqlite") as store, pytest.raises(ValueError, match="non-empty list"):
        execute(SPECS, store, devices="cpu")


def test_pstar_takes_devices_and_saves_each_network(tmp_path, capsys):
    results, models = tmp_path / "p.sqlite", tmp_path / "models"
    assert (
        main(
            [
                "pstar",
                "--v",
                "4",
                "--nc",
                "2",
                "--m",
                "2",
                "--s",
                "2",
                "--L",
                "2",
                "--P",
                "4",
                "8",
                "--P-test",
                "4",
                "--seeds",
                "1",
                "--width",
                "4",
                "--max-epochs",
                "2",
                "--workers",
                "1",
                "--devices",
                "cpu",
                "--save-model",
                str(models),
                "--results",
                str(results),
                "--quiet",
            ]
        )
        == 0
    )
    with ResultsStore(results) as store:
        keys = store.finished_keys()
        assert len(keys) == 2
        assert {record["key"] for record in store.history()} == keys
    assert {path.stem for path in models.glob("*.pt")} == keys
