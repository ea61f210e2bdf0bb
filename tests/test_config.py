"""One run configuration: ``rhm train``, ``rhm pstar`` and sweep files all take the training fields
and defaults of rhm_theory.learning.config.TrainSettings (via rhm_theory.runs.spec.RunSpec)."""

import re
from dataclasses import fields

import pytest

from rhm_theory.cli import main
from rhm_theory.learning.config import TrainConfig, TrainSettings
from rhm_theory.runs.spec import RunSpec
from rhm_theory.runs.sweep import SECTIONS, SweepError, expand_sweep

# A valid value different from the default for every training field (written out by hand).
NON_DEFAULT = {
    "task": "next-token",
    "model": "lcn",
    "width": 7,
    "parametrization": "standard",
    "optimizer": "adam",
    "lr": 0.03,
    "momentum": 0.5,
    "batch_size": 9,
    "loss_threshold": 0.02,
    "max_epochs": 11,
    "max_steps": 13,
    "device": "meta",
    "history_per_decade": 4,
    "select": "best",
}
GRAMMAR = {"v": 4, "n_c": 2, "m": 2, "s": 2, "L": 2}


def help_defaults(command: str, capsys, monkeypatch) -> dict[str, str]:
    """flag -> the default printed by ``rhm COMMAND --help`` (unwrapped lines)."""
    monkeypatch.setenv("COLUMNS", "1000")
    assert main([command, "--help"]) == 0
    entries = re.split(r"\n(?=  -)", capsys.readouterr().out)  # one entry per option, help maybe on the next line
    defaults = {}
    for entry in entries:
        match = re.match(r"\s+(--[\w-]+).*\(default: (.*?)\)\s*$", entry, flags=re.S)
        if match:
            defaults[match.group(1)] = match.group(2)
    return defaults


def test_train_and_pstar_help_show_the_same_defaults(capsys, monkeypatch):
    train = help_defaults("train", capsys, monkeypatch)
    pstar = help_defaults("pstar", capsys, monkeypatch)
    flags = {f"--{f.name.replace('_', '-')}" for f in fields(TrainSettings)} | {"--P-test", "--sensitivity-samples"}
    assert flags <= train.keys()
    assert flags <= pstar.keys()
    shared = train.keys() & pstar.keys()
    assert {flag: train[flag] for flag in shared} == {flag: pstar[flag] for flag in shared}
    assert (train["--max-epochs"], train["--model"], train["--lr"], train["--P-test"]) == ("300", "cnn", "0.1", "2048")


def test_every_training_field_is_a_sweep_field_and_reaches_the_spec():
    assert set(NON_DEFAULT) == {f.name for f in fields(TrainSettings)}
    assert set(SECTIONS["training"]) == set(NON_DEFAULT)
    assert all(NON_DEFAULT[name] != getattr(TrainSettings(), name) for name in NON_DEFAULT)
    swept = set().union(*SECTIONS.values()) - {"P_over_ncmL", "adaptive", "seeds"}
    assert swept | {"seed"} == {f.name for f in fields(RunSpec)}
    (spec,) = expand_sweep({"grammar": GRAMMAR, "data": {"P": 4, "P_test": 4}, "training": NON_DEFAULT})
    assert {name: getattr(spec, name) for name in NON_DEFAULT} == NON_DEFAULT


@pytest.mark.parametrize(
    "name, value",
    [
        ("width", 2.5),
        ("lr", "fast"),
        ("device", 0),
        ("optimizer", "lbfgs"),
        ("parametrization", "ntk"),
        ("max_steps", 1.0),
    ],
)
def test_sweep_fields_have_the_config_types(name, value):
    with pytest.raises(SweepError, match=f"field training.{name}"):
        expand_sweep({"grammar": GRAMMAR, "data": {"P": 4, "P_test": 4}, "training": {name: value}})


def test_train_config_needs_a_seed_and_run_spec_validates_training_fields():
    with pytest.raises(TypeError, match="seed"):
        TrainConfig()
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'"):
        RunSpec(**GRAMMAR, P=4, seed=0, P_test=4, optimizer="lbfgs")
