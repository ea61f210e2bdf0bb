"""``--s0`` and ``--variant`` on rhm info, sample and theory (in-process through rhm_theory.cli.main)."""

import json
from fractions import Fraction

import numpy as np

from rhm_theory import Grammar
from rhm_theory.cli import main
from rhm_theory.sparse import SparseRHM

GRAMMAR = ["--v", "4", "--nc", "2", "--m", "2", "--s", "2", "--L", "2"]


def test_info_with_sparsity(capsys):
    assert main(["info", *GRAMMAR, "--s0", "2", "--variant", "B", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["p_max"] == 2 * (2 * 15) ** 3
    assert facts["d"] == 36
    assert facts["n_placements"] == 15
    assert main(["info", *GRAMMAR, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["p_max"] == 2 * 2**3


def test_sample_with_sparsity_and_s0_zero_is_the_rhm(tmp_path):
    out = tmp_path / "d.npz"
    assert main(["sample", *GRAMMAR, "--seed", "3", "--P", "50", "--s0", "1", "--variant", "B", "--out", str(out)]) == 0
    with np.load(out) as data:
        model = SparseRHM(Grammar.from_json(str(data["grammar"])), int(data["s0"]), str(data["variant"]))
        assert model == SparseRHM(Grammar.random(4, 2, 2, 2, 2, seed=3), 1, "B")
        assert data["x"].shape == (50, 16)
        assert np.array_equal(model.parse(data["x"])[0], data["y"])
        x, y = model.sample(50, seed=0)
        assert np.array_equal(data["x"], x)
        assert np.array_equal(data["y"], y)
    assert main(["sample", *GRAMMAR, "--P", "8", "--out", str(out), "--force"]) == 0
    with np.load(out) as data:
        assert np.array_equal(data["x"], Grammar.random(4, 2, 2, 2, 2, seed=0).sample(8, seed=0)[0])


def test_theory_with_sparsity(capsys):
    assert main(["theory", "--v", "8", "--nc", "8", "--m", "4", "--s", "2", "--L", "3", "--s0", "2", "--json"]) == 0
    values = json.loads(capsys.readouterr().out)
    assert values["P_c"] == 27 * 729
    assert values["informative_fraction"] == "1/27"
    assert values["P_star_CNN"] == 9 * 512
    assert (
        main(["theory", "--v", "8", "--nc", "8", "--m", "4", "--s", "2", "--L", "3", "--variant", "B", "--json"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["P_c"] == 729  # s0 = 0: the RHM
    assert (
        main(
            [
                "theory",
                "--v",
                "8",
                "--nc",
                "8",
                "--m",
                "4",
                "--s",
                "2",
                "--L",
                "3",
                "--s0",
                "2",
                "--variant",
                "B",
                "--json",
            ]
        )
        == 0
    )
    assert (
        Fraction(json.loads(capsys.readouterr().out)["P_c"]) > 27 * 729
    )  # variant B mixes positions: weaker correlations


def test_bad_sparse_input_is_a_clear_error(tmp_path, capsys):
    out = tmp_path / "x.npz"
    assert main(["sample", *GRAMMAR, "--P", "5", "--s0", "-1", "--out", str(out)]) == 2
    assert "s0 must be >= 0" in capsys.readouterr().err
    assert not out.exists()
    assert main(["info", *GRAMMAR, "--s0", "-2"]) == 2
    assert "s0 must be >= 0" in capsys.readouterr().err
    assert main(["info", *GRAMMAR, "--variant", "C"]) == 2  # argparse's refusal: usage line and status 2, no traceback
    assert "invalid choice: 'C'" in capsys.readouterr().err
