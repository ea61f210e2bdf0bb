"""Hardening, second round (issue 26): exact layouts of the sparse RHM at every accepted size, bounds
checked before the sizes they limit, bad types refused, one-line errors that name the bound. One test
per class and surface (sparse, next-token, history, RunSpec, theory API, command line)."""

import itertools
import json
import math
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from strategies import examples

from rhm_theory import Grammar
from rhm_theory.cli import integer, main
from rhm_theory.cli.info import describe
from rhm_theory.core.sparse import SparseRHM, placement_table
from rhm_theory.core.validation import (
    INT64_LIMIT,
    MAX_D,
    MAX_HISTORY_PER_DECADE,
    MAX_NEXT_TOKEN_D,
    MAX_RULE_ENTRIES,
    check_feasible,
    check_sparse_size,
)
from rhm_theory.learning.history import history_steps
from rhm_theory.runs.spec import RunSpec
from rhm_theory.theory import next_token, next_token_symbolic, sparse_exact, sparse_symbolic

SPEC = {"v": 4, "n_c": 2, "m": 2, "s": 2, "L": 3, "P": 10, "P_test": 10, "seed": 0}


def _round_trip(model: SparseRHM, P: int = 40, seed: int = 1) -> None:
    """Sampled data are data of their own model: parse, then decode, gives them back."""
    x, y = model.sample(P, seed=seed, replace=True)
    labels, choices, placements = model.parse(x)
    assert np.array_equal(labels, y)
    assert np.array_equal(model.decode(labels, choices, placements), x)
    assert np.array_equal(model.placements[placements].max(axis=-1) < model.patch, np.ones_like(placements, bool))


# ----- 1. silent corruption: layout codes exact past int64 keys ---------------------------------------
@pytest.mark.parametrize("s, s0", [(s, s0) for s in range(1, 5) for s0 in range(4)])
def test_placement_tables_are_the_enumerated_layouts_in_lexicographic_order(s, s0):
    product = [[i * (s0 + 1) + r for i, r in enumerate(rs)] for rs in itertools.product(range(s0 + 1), repeat=s)]
    assert np.array_equal(placement_table(s, s0, "A"), np.array(product).reshape(-1, s))
    combinations = list(itertools.combinations(range(s * (s0 + 1)), s))
    assert np.array_equal(placement_table(s, s0, "B"), np.array(combinations).reshape(-1, s))


@settings(max_examples=examples(12), deadline=None)
@given(s=st.integers(12, 16), variant_b=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_sparse_data_parse_as_their_own_model_where_patch_keys_pass_int64(s, variant_b, seed):
    # patch**(s-1) = (2s)**(s-1) passes 2**63 from s = 15 on; variant B at s0 = 1 up to s = 12 (C(24, 12) layouts)
    s = min(s, 12) if variant_b else s
    model = SparseRHM(Grammar.random(2, 2, 2, s, 1, seed=seed), 1, "B" if variant_b else "A")
    _round_trip(model, seed=seed)
    moved = model.diffeomorphism(model.sample(10, seed=seed)[0], [1], seed=seed)  # the sensitivity D_{k,l} path
    model.parse(moved)


@pytest.mark.parametrize("s, s0, variant", [("15", "1", "A"), ("13", "2", "A"), ("12", "1", "B")])
def test_cli_sample_writes_data_of_the_model_it_writes_beside_them(tmp_path, capsys, s, s0, variant):
    out = tmp_path / "a.npz"
    args = [
        "sample",
        "--v",
        "2",
        "--nc",
        "2",
        "--m",
        "2",
        "--s",
        s,
        "--L",
        "1",
        "--s0",
        s0,
        "--variant",
        variant,
        "--P",
        "50",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    saved = np.load(out)
    model = SparseRHM(Grammar.from_json(str(saved["grammar"])), int(saved["s0"]), str(saved["variant"]))
    labels, choices, placements = model.parse(saved["x"])
    assert np.array_equal(labels, saved["y"])
    assert np.array_equal(model.decode(labels, choices, placements), saved["x"])
    assert len(np.unique(saved["x"], axis=0)) == 50  # distinct data, as drawn


# ----- 2. hangs: bounds before sizes ---------------------------------------------------------------------
@settings(max_examples=examples(25), deadline=None)
@given(offset=st.integers(-3, 3), variant=st.sampled_from("AB"))
def test_sparse_patch_bound_is_checked_at_the_bound(offset, variant):
    s0 = MAX_D - 1 + offset  # s = 1, L = 1: d = s0 + 1
    if s0 + 1 <= MAX_D:
        assert check_sparse_size(1, 1, 1, 1, s0, variant) == s0 + 1  # layouts of one child: s0 + 1
    else:
        with pytest.raises(ValueError, match=r"must be <= 2\*\*20"):
            check_sparse_size(1, 1, 1, 1, s0, variant)


@settings(max_examples=examples(40), deadline=None)
@given(s=st.integers(1, 14), s0=st.integers(0, 40))
def test_sparse_layout_table_bound_matches_the_exact_count(s, s0):
    patch = s * (s0 + 1)
    layouts = math.comb(patch, s)  # variant B
    if layouts * s > MAX_RULE_ENTRIES:
        with pytest.raises(ValueError, match="layout table may have at most 2\\*\\*26 entries"):
            check_sparse_size(1, 1, s, 1, s0, "B")
    else:
        assert check_sparse_size(1, 1, s, 1, s0, "B") == layouts


def test_sizes_that_hung_are_refused_or_answered():
    with pytest.raises(ValueError, match="tokens per datum is too large for s0 = 1000000"):
        SparseRHM(Grammar.random(1, 1, 1, 2**20, 1, seed=0), 10**6, "B")
    facts = describe(1, 1, 1, 2**20, 1, 10**6, "B")
    assert facts["feasible"] is False
    assert facts["n_placements"] is None
    assert "2**20" in facts["infeasible_because"]
    facts = describe(2, 1, 1, 1, 10**8)  # s = 1: n_nodes = L, never summed term by term
    assert facts["n_nodes"] == 10**8
    assert facts["d"] == 1
    assert "L must be <= 64" in facts["infeasible_because"]
    assert check_feasible(10**6, 1, 1, 10**7, 1) == (10**6, 1, 1, 10**7, 1)  # v**s compared, not computed
    with pytest.raises(ValueError, match="infeasible"):
        check_feasible(2, 5, 1, 2, 1)
    with pytest.raises(ValueError, match="L must be <= 64"):
        next_token_symbolic.term("W1", 2, 1, 1, 2, 10**7, 1)


def test_info_json_prints_a_78913_digit_p_max_exactly(capsys):
    assert main(["info", "--v", "2", "--nc", "1", "--m", "2", "--s", "2", "--L", "18", "--json"]) == 0
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        facts = json.loads(capsys.readouterr().out)
    finally:
        sys.set_int_max_str_digits(limit)
    assert facts["p_max"] == 2 ** sum(2**k for k in range(18))  # n_c m**n_nodes, n_nodes = 2**18 - 1


def test_next_token_theory_at_L_14_answers_and_past_its_bound_refuses(capsys):
    grammar = Grammar.random(2, 1, 1, 2, 14, seed=0)
    assert grammar.p_max == 1  # one datum: every window predicts x_d with certainty
    assert np.array_equal(next_token.optimal_losses(grammar), np.zeros(2**14))
    assert (
        main(
            [
                "theory",
                "--v",
                "2",
                "--nc",
                "1",
                "--m",
                "1",
                "--s",
                "2",
                "--L",
                "14",
                "--task",
                "next-token",
                "--seed",
                "0",
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["optimal_loss_by_window"] == [0.0] * 2**14
    big = Grammar.random(2, 1, 1, 2, MAX_NEXT_TOKEN_D.bit_length(), seed=0)  # d = 2 * MAX_NEXT_TOKEN_D
    with pytest.raises(ValueError, match="MAX_NEXT_TOKEN_D"):
        next_token.optimal_losses(big)


def test_next_token_losses_of_every_window_equal_the_single_window_ones():
    grammar = Grammar.random(3, 2, 2, 2, 3, seed=4)
    assert next_token.optimal_losses(grammar).tolist() == [
        next_token.optimal_loss(grammar, t) for t in range(grammar.d)
    ]
    limited = next_token.optimal_losses(grammar, max_items=40, above_limit="nan")
    for t, loss in enumerate(limited):  # NaN exactly where the single window is refused
        try:
            assert loss == next_token.optimal_loss(grammar, t, max_items=40)
        except ValueError:
            assert np.isnan(loss)
    assert np.isnan(limited).any()
    assert not np.isnan(limited).all()


@settings(max_examples=examples(30), deadline=None)
@given(per_decade=st.integers(MAX_HISTORY_PER_DECADE - 2, MAX_HISTORY_PER_DECADE + 2), total=st.integers(1, 10**6))
def test_history_per_decade_bound(per_decade, total):
    if per_decade > MAX_HISTORY_PER_DECADE:
        with pytest.raises(ValueError, match=f"per_decade must be <= {MAX_HISTORY_PER_DECADE}"):
            history_steps(total, per_decade)
        return
    steps = history_steps(total, per_decade)
    expected = {round(10 ** (k / per_decade)) for k in range(math.ceil(per_decade * math.log10(total)) + 1)}
    assert steps == sorted({step for step in expected if step < total} | {total})


@pytest.mark.parametrize(
    "total, per_decade, rule",
    [(10, -1, ">= 0"), (10, 10**9, "<= 1000"), (0, 4, ">= 1"), (INT64_LIMIT, 4, "<= 9223372036854775807")],
)
def test_history_steps_refuses_sizes_that_looped(total, per_decade, rule):
    with pytest.raises(ValueError, match=rule):
        history_steps(total, per_decade)


def test_run_spec_bounds_history_and_seed():
    with pytest.raises(ValueError, match="history_per_decade = 1000000000 is too large"):
        RunSpec(**SPEC, history_per_decade=10**9)
    with pytest.raises(ValueError, match="seed = 9223372036854775808 is too large"):
        RunSpec(**{**SPEC, "seed": INT64_LIMIT})
    assert RunSpec(**{**SPEC, "seed": INT64_LIMIT - 1}).seed == INT64_LIMIT - 1
    model = SparseRHM(Grammar.random(4, 2, 2, 2, 2, seed=0), 1)
    with pytest.raises(ValueError, match="seed = 10000000000000000000 is too large"):
        model.sample(3, seed=10**19)
    assert np.array_equal(model.sample(3, seed=INT64_LIMIT - 1)[0], model.sample(3, seed=INT64_LIMIT - 1)[0])


# ----- 5. accepted silently ------------------------------------------------------------------------------
@pytest.mark.parametrize("replace", ["no", None, 1, 0, "True"])
def test_sparse_sample_replace_must_be_a_bool(replace):
    model = SparseRHM(Grammar.random(4, 2, 2, 2, 2, seed=0), 1)
    with pytest.raises(ValueError, match="replace must be True or False"):
        model.sample(5, seed=0, replace=replace)
    with pytest.raises(ValueError, match="replace must be True or False"):
        model.sample_train_test(2, 2, seed=0, replace=replace)


@pytest.mark.parametrize("which", range(3))
def test_sparse_decode_refuses_float_arrays(which):
    model = SparseRHM(Grammar.random(4, 2, 2, 2, 2, seed=0), 1)
    x, _ = model.sample(3, seed=0)
    arrays = list(model.parse(x))
    arrays[which] = arrays[which].astype(float)
    with pytest.raises(ValueError, match="must be integers, got dtype float64"):
        model.decode(*arrays)


@pytest.mark.parametrize("total, per_decade", [(10, 2.5), (10.0, 4), (10, "8"), (10, None), (10, True)])
def test_history_steps_refuses_non_integers(total, per_decade):
    with pytest.raises(ValueError, match="must be an integer"):
        history_steps(total, per_decade)


@pytest.mark.parametrize("device", [None, "", "  ", 3])
def test_run_spec_device_must_be_a_non_empty_string(device):
    with pytest.raises(ValueError, match="device must be a non-empty string"):
        RunSpec(**SPEC, device=device)


def test_sparse_theory_applies_the_dense_bound_on_d(capsys):
    largest = math.isqrt(MAX_D) // 2 - 1  # s = 2, L = 2: d = (2 (s0 + 1))**2
    assert sparse_symbolic.evaluate(2, 2, 2, 2, 2, largest)["d"] == MAX_D
    for variant in "AB":
        with pytest.raises(ValueError, match=r"d must be <= 2\*\*20"):
            sparse_symbolic.evaluate(2, 2, 2, 2, 2, largest + 1, variant)
    assert main(["theory", "--v", "2", "--nc", "2", "--m", "2", "--s", "2", "--L", "4", "--s0", "8191", "--json"]) == 2
    assert "d must be <= 2**20" in capsys.readouterr().err


# ----- 6. API tracebacks ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call",
    [
        lambda model: next_token.optimal_loss(model, 0),
        lambda model: next_token.optimal_losses(model),
        lambda model: next_token.correlation_strength(model, 1),
        lambda model: next_token.covering_level(model, 0),
        lambda model: next_token.predictive(model, np.zeros((1, model.d), dtype=int)),
    ],
)
def test_next_token_refuses_a_sparse_model_in_one_line(call):
    model = SparseRHM(Grammar.random(4, 2, 2, 2, 2, seed=0), 1)
    with pytest.raises(ValueError, match=r"grammar must be a dense rhm_theory Grammar .*, got SparseRHM"):
        call(model)


@pytest.mark.parametrize(
    "call",
    [
        lambda g: sparse_exact.class_token_probs(g, 0),
        lambda g: sparse_exact.class_token_probs_all(g),
        lambda g: sparse_exact.slot_weights(g),
        lambda g: sparse_exact.position_transition_counts(g, 0, 0),
        lambda g: sparse_exact.posterior(g, np.zeros((1, 4), dtype=int)),
        lambda g: sparse_exact.log_evidence(g, np.zeros((1, 4), dtype=int)),
    ],
)
def test_sparse_exact_refuses_a_dense_grammar_in_one_line(call):
    with pytest.raises(ValueError, match=r"model must be a SparseRHM .*, got Grammar"):
        call(Grammar.random(4, 2, 2, 2, 2, seed=0))


@pytest.mark.parametrize("name", ["W4", None, 3])
def test_unknown_next_token_term_is_named(name):
    with pytest.raises(ValueError, match=f"unknown term {name!r}: expected one of W1, W2, W3, S_i, S_j"):
        next_token_symbolic.term(name, 8, 2, 2, 2, 2, 1)


# ----- 7. messages that leak internals -------------------------------------------------------------------
@settings(max_examples=examples(40), deadline=None)
@given(value=st.one_of(st.integers(-(2**64), 2**64), st.integers(INT64_LIMIT - 3, INT64_LIMIT + 3)))
def test_command_line_integers_are_int64_or_refused_naming_the_bound(value):
    import argparse

    if abs(value) < INT64_LIMIT:
        assert integer(str(value)) == value
    else:
        with pytest.raises(argparse.ArgumentTypeError, match="below 2\\*\\*63"):
            integer(str(value))


@pytest.mark.parametrize("digits", [4299, 4300, 5000])
def test_huge_integer_flags_say_too_large_not_the_conversion_limit(tmp_path, capsys, digits):
    out = tmp_path / "a.npz"
    huge = "9" * digits
    assert main(["info", "--v", "2", "--nc", "1", "--m", "1", "--s", "1", "--L", "1", "--s0", huge]) == 2
    assert (
        main(
            [
                "sample",
                "--v",
                "2",
                "--nc",
                "2",
                "--m",
                "2",
                "--s",
                "2",
                "--L",
                "1",
                "--s0",
                huge,
                "--P",
                "5",
                "--out",
                str(out),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 2
    assert "too large" in err
    assert "2**63" in err
    assert "Exceeds" not in err
    assert not out.exists()


def test_api_messages_of_huge_integers_name_the_bound():
    grammar = Grammar.random(2, 2, 2, 2, 1, seed=0)
    for s0, rule in [(10**5000, "is too large"), (-(10**5000), "must be >= 0")]:
        with pytest.raises(ValueError, match=rule) as error:
            SparseRHM(grammar, s0)
        assert "Exceeds" not in str(error.value)
        assert "e+5000" in str(error.value)
    with pytest.raises(ValueError, match=r"P = 1.000000e\+5000 training data"):
        RunSpec(**{**SPEC, "P": 10**5000})
