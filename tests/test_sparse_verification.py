"""verification/sparse.py: its checks pass on the sparse RHM and fail on data of the alternatives."""

import numpy as np
from verification_scripts import load_verification_script


def load_verification():
    return load_verification_script("sparse")


def test_count_check_passes_on_the_enumeration_and_fails_when_positions_are_ignored():
    verification = load_verification()
    assert verification.check_counts().passed

    def symbols_only(model):  # the data with their empties removed: the RHM's data, positions forgotten
        x, _ = model.enumerate()
        return len({row[row != model.empty].tobytes() for row in x})

    assert not verification.check_counts(symbols_only).passed


def test_noise_exponent_check_passes_at_L_and_fails_on_data_with_exponent_two():
    verification = load_verification()
    s0_values = (0, 1, 2)
    noises = verification.measure_noise((8, 8, 4, 2, 3), s0_values, P=12_000, replicates=3)
    assert verification.noise_exponent_check(s0_values, noises, L=3).passed
    # alternative: data whose informative fraction is (s0+1)^-2 (two sparse levels), claimed as L = 3
    alternative = verification.measure_noise((8, 8, 4, 2, 2), s0_values, P=12_000, replicates=3)
    assert not verification.noise_exponent_check(s0_values, alternative, L=3).passed
    assert verification.noise_exponent_check(s0_values, alternative, L=2).measured < 2.5
    flat = np.repeat(noises[:1], 3, axis=0)  # no sparsity effect
    assert not verification.noise_exponent_check(
        s0_values, flat * np.exp(np.random.default_rng(0).normal(0, 0.1, flat.shape)), L=3
    ).passed


def test_learning_checks_of_the_full_mode_pass_on_curves_of_the_claims_and_leave_s0_zero_out_of_D():
    from test_sparse_checks import synthetic

    from rhm_theory.report.sparse_checks import claimed_exponent
    from rhm_theory.theory.stats import estimate_pstar

    verification = load_verification()
    mode = verification.FULL_LEARNING
    results, tables = {}, {}
    for i, model in enumerate(mode.models):
        # little seed noise: this tests the wiring (the calibration is tested in test_sparse_checks.py)
        curves, D, S = synthetic(claimed_exponent(model, mode.grammar[3]), np.random.default_rng(i), sigma=0.1)
        D[0] = np.zeros_like(D[0])  # s0 = 0: no diffeomorphism moves anything
        results[model] = [
            estimate_pstar(P, list(range(e.shape[0])), e, 0.05, n_bootstrap=50, seed=0) for P, e in curves
        ]
        tables[model] = {"D": D, "S": S, "converged": [np.ones(e.shape, dtype=bool) for _, e in curves]}
    checks = verification.learning_checks(mode, results, tables)
    assert len(checks) == 4 * len(mode.models)
    assert all(c.passed for c in checks), [c.line() for c in checks if not c.passed]
    for flags in tables[mode.models[0]]["converged"]:
        flags[0] = False  # one seed in every setting did not fit its training set: > 10% of the runs
    undecided = [c for c in verification.learning_checks(mode, results, tables) if not c.passed]
    assert len(undecided) == 4
    assert all(c.verdict == "INCONCLUSIVE" and c.reason.startswith("under-trained") for c in undecided)
    assert sum(c.kind == "discriminating" for c in checks) == 3 * len(mode.models)  # all but the collapse


def test_ladder_checks_are_built_per_model_from_the_rungs_results():
    """verification/sparse.py's ladder wiring: one ladder check per model from per-rung results (sizes
    n_c m^L of LADDER_GRAMMARS), with claim, trend and source; at the claim it passes, at the other
    architecture's exponent it fails (three rungs: the declared MIN_RUNGS), and the full mode's two
    declared rungs are INCONCLUSIVE 'too few rungs'."""
    from test_sparse_checks import synthetic

    from rhm_theory.core.rules import ncmL
    from rhm_theory.report.sparse_checks import claimed_exponent
    from rhm_theory.theory.stats import estimate_pstar

    verification = load_verification()
    base = verification.FULL_LEARNING
    modes = verification.ladder_modes(base, ((4, 2, 2, 3), (4, 4, 2, 3), (8, 8, 2, 3)))
    assert (
        next(m.grammar for m in verification.ladder_modes(base, verification.LADDER_GRAMMARS["full"])) == base.grammar
    )

    def rungs(exponent_of):
        out = []
        for i, mode in enumerate(modes):
            results, tables = {}, {}
            for j, model in enumerate(mode.models):
                curves, D, S = synthetic(exponent_of(model), np.random.default_rng(10 * i + j), sigma=0.1)
                results[model] = [
                    estimate_pstar(P, list(range(e.shape[0])), e, 0.05, n_bootstrap=20, seed=0) for P, e in curves
                ]
                tables[model] = {
                    "D": D,
                    "S": S,
                    "converged": [np.ones(e.shape, dtype=bool) for _, e in curves],
                    "seconds": [1.0] * len(curves),
                }
            out.append((mode, results, tables))
        return out

    L = base.grammar[3]
    at_claim = verification.ladder_checks(rungs(lambda model: claimed_exponent(model, L)), "cpu")
    assert [c.name.split(" ")[0] for c in at_claim] == ["LCN", "CNN"]
    for check, model in zip(at_claim, base.models):
        assert check.verdict == "PASS", check.line()
        assert check.claim == claimed_exponent(model, L)
        assert check.source.endswith("; ladder")
        assert [r["size"] for r in check.trend] == [ncmL(*m.grammar[1:]) for m in modes]
    swapped = verification.ladder_checks(
        rungs(lambda model: claimed_exponent("cnn" if model == "lcn" else "lcn", L)), "cpu"
    )
    assert all(c.verdict == "FAIL" for c in swapped), [c.line() for c in swapped]
    two = verification.ladder_checks(rungs(lambda model: claimed_exponent(model, L))[:2], "cpu")
    assert all(c.verdict == "INCONCLUSIVE" and c.reason.startswith("too few rungs") for c in two)
    figure = verification.plot_ladders(at_claim, L)
    assert len(figure.axes) == 2
