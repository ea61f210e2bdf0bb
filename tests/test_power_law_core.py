"""Power-law (Zipf) rules of arXiv:2505.07067 in the core: drawing, the uniform limit byte for byte,
exact i.i.d. sampling, validation, JSON and networkx round trips, and the command line."""

import json

import numpy as np
import pytest
from hypothesis import given, settings as hsettings, strategies as st
from scipy.stats import chisquare
from strategies import examples, grammars

from rhm_theory import Grammar, exact
from rhm_theory.cli import main
from rhm_theory.core.rule_probs import PROB_SUM_TOLERANCE, production_counts, rank_frequencies, zipf_weights
from rhm_theory.core.rules import codes_to_tuples, draw_distinct
from rhm_theory.core.sampling import data_to_indices, derivation, expand, indices_to_data, parse, uniform_digits
from rhm_theory.core.sparse import SparseRHM


def old_random_rules(v, n_c, m, s, L, seed):
    """The rules as Grammar.random drew them before rule probabilities existed."""
    rng = np.random.default_rng(seed)
    return [
        codes_to_tuples(draw_distinct(v**s, (n_c if k == 0 else v) * m, rng).reshape(-1, m), v, s) for k in range(L)
    ]


def old_samples(grammar, P, seed, replace):
    """The data as Grammar.sample drew them before rule probabilities existed (p_max <= 2**62)."""
    rng = np.random.default_rng(seed)
    if replace:
        y, choices = uniform_digits(grammar, P, rng)
        return expand(grammar, y, choices), y
    return indices_to_data(grammar, draw_distinct(grammar.p_max, P, rng))


def uniform(grammar):
    return [np.full((grammar.owners(k), grammar.m), 1.0 / grammar.m) for k in range(grammar.L)]


def random_probs(grammar, seed, zeros=False):
    """Arbitrary rule probabilities (rows of a Dirichlet draw; some entries 0 when ``zeros``)."""
    rng = np.random.default_rng(seed)
    probs = [rng.dirichlet(np.ones(grammar.m), size=grammar.owners(k)) for k in range(grammar.L)]
    if zeros:
        for p in probs:
            p[rng.random(p.shape) < 0.3] = 0.0
            p[:, 0] += 1e-3  # no row all zero
            p /= p.sum(axis=1, keepdims=True)
    return probs


# ----- the uniform limit is today's grammar, byte for byte ------------------------------------------
@pytest.mark.parametrize("params, seed", [((8, 4, 4, 2, 3), 3), ((5, 3, 2, 3, 2), 11), ((6, 6, 3, 2, 2), 0)])
def test_zipf_none_and_explicit_uniform_probs_are_todays_grammar_and_data(params, seed):
    old = old_random_rules(*params, seed)
    plain = Grammar.random(*params, seed=seed)
    explicit = Grammar.from_rules(old, params[0], probs=uniform(plain))
    for grammar in (plain, Grammar.random(*params, seed=seed, zipf=None), explicit):
        assert all(a.tobytes() == b.tobytes() for a, b in zip(grammar.rules, old))
        assert not grammar.weighted
        assert grammar.zipf is None
        assert grammar == plain
        assert hash(grammar) == hash(plain)
        assert grammar.to_json() == plain.to_json()
        assert "probs" not in grammar.to_dict()
        P = min(300, plain.p_max)
        for replace in (False, True):
            assert all(
                a.tobytes() == b.tobytes()
                for a, b in zip(grammar.sample(P, seed=5, replace=replace), old_samples(plain, P, 5, replace))
            )
        assert exact.class_token_probs_all(grammar).tobytes() == exact.class_token_probs_all(plain).tobytes()
    assert all((p == 1.0 / plain.m).all() and not p.flags.writeable for p in plain.probs)


def test_zipf_rules_are_the_rules_of_zipf_none():
    for seed in range(5):
        zipf = Grammar.random(8, 4, 4, 2, 3, seed=seed, zipf=0.7)
        assert all(a.tobytes() == b.tobytes() for a, b in zip(zipf.rules, old_random_rules(8, 4, 4, 2, 3, seed)))
        assert zipf.weighted
        assert zipf.zipf == 0.7
        assert zipf != Grammar.random(8, 4, 4, 2, 3, seed=seed)


# ----- drawing ----------------------------------------------------------------------------------------
@given(st.integers(1, 40), st.floats(0.01, 20))
@hsettings(max_examples=examples(40), deadline=None)
def test_zipf_weights_are_normalised_power_laws(m, a):
    f = zipf_weights(m, a)
    assert f.shape == (m,)
    assert abs(f.sum() - 1) <= 1e-12
    assert (np.diff(f) <= 0).all()
    assert np.allclose(f / f[0], np.arange(1, m + 1, dtype=float) ** -(1 + a), rtol=1e-12, atol=0)


@given(grammars(min_m=2), st.floats(0.1, 4))
@hsettings(max_examples=examples(25), deadline=None)
def test_random_zipf_probs_are_read_only_permutations_of_the_power_law_per_symbol(grammar, a):
    weighted = Grammar.random(grammar.v, grammar.n_c, grammar.m, grammar.s, grammar.L, seed=3, zipf=a)
    f = zipf_weights(grammar.m, a)
    for k, p in enumerate(weighted.probs):
        assert p.shape == (weighted.owners(k), grammar.m)
        assert p.dtype == np.float64
        assert not p.flags.writeable
        assert (np.sort(p, axis=1)[:, ::-1] == f).all()
        assert np.abs(p.sum(axis=1) - 1).max() <= 1e-12
    assert weighted == Grammar.random(grammar.v, grammar.n_c, grammar.m, grammar.s, grammar.L, seed=3, zipf=a)


def test_rank_orders_differ_between_symbols_and_seeds():
    orders = {
        tuple(np.argsort(row))
        for seed in range(3)
        for p in Grammar.random(8, 8, 4, 2, 2, seed=seed, zipf=1).probs
        for row in p
    }
    assert len(orders) > 12  # of 24 orders of 4 ranks, over 48 rows
    assert Grammar.random(8, 8, 4, 2, 2, seed=0, zipf=1) != Grammar.random(8, 8, 4, 2, 2, seed=0, zipf=2)


# ----- sampling -----------------------------------------------------------------------------------------
def test_weighted_samples_have_the_zipf_rank_frequencies_within_binomial_error():
    grammar = Grammar.random(8, 4, 4, 2, 3, seed=1, zipf=1.0)
    P = 20000
    x, y = grammar.sample(P, seed=7, replace=True)
    f = zipf_weights(4, 1.0)
    frequencies = rank_frequencies(grammar, x)
    for k in range(grammar.L):
        n = P * grammar.s**k  # nodes of block k: each draws its rank i.i.d. from f
        assert (np.abs(frequencies[k] - f) <= 5 * np.sqrt(f * (1 - f) / n)).all(), (k, frequencies[k], f)
    labels = np.bincount(y, minlength=grammar.n_c)  # classes stay uniform
    assert chisquare(labels).pvalue > 1e-4


def test_weighted_samples_follow_the_exact_datum_probabilities():
    grammar = Grammar.from_rules(
        Grammar.random(3, 2, 2, 2, 2, seed=8).rules,
        3,
        probs=random_probs(Grammar.random(3, 2, 2, 2, 2, seed=8), 1, zeros=True),
    )
    draws = 40000
    x, _ = grammar.sample(draws, seed=2, replace=True)
    every, _ = grammar.enumerate()
    p = np.exp(exact.datum_log_probs(grammar, every))
    counts = np.bincount(data_to_indices(grammar, x), minlength=grammar.p_max)
    assert (counts[p == 0] == 0).all()
    assert chisquare(counts[p > 0], draws * p[p > 0]).pvalue > 1e-4


def test_production_counts_count_every_node_once():
    grammar = Grammar.random(5, 3, 3, 2, 3, seed=4, zipf=0.5)
    x, _ = grammar.sample(500, seed=0, replace=True)
    counts = production_counts(grammar, x)
    assert [c.sum() for c in counts] == [500 * grammar.s**k for k in range(grammar.L)]
    assert [c.shape for c in counts] == [(grammar.owners(k), grammar.m) for k in range(grammar.L)]
    y, choices, symbols = derivation(grammar, x)
    assert all(np.array_equal(a, b) for a, b in zip(parse(grammar, x), (y, choices)))
    assert np.array_equal(symbols[:, 0], y)
    assert np.allclose(rank_frequencies(Grammar.random(5, 3, 3, 2, 3, seed=4), x).sum(axis=1), 1.0)


def test_weighted_grammars_refuse_distinct_sampling_in_one_line():
    grammar = Grammar.random(4, 2, 2, 2, 2, seed=0, zipf=1)
    for call in (lambda: grammar.sample(5, seed=0), lambda: grammar.sample_train_test(4, 4, seed=0)):
        with pytest.raises(ValueError, match="pass replace=True") as error:
            call()
        assert "\n" not in str(error.value)
    (x_train, _y_train), (x_test, y_test) = grammar.sample_train_test(40, 30, seed=0, replace=True)
    assert x_train.shape == (40, 4)
    assert x_test.shape == (30, 4)
    assert np.array_equal(parse(grammar, x_test)[0], y_test)
    with pytest.raises(ValueError, match="uniform rules"):
        SparseRHM(grammar, 1)


# ----- validation ----------------------------------------------------------------------------------------
BASE = Grammar.random(4, 2, 2, 2, 2, seed=0)


def probs_with(k, index, value):
    probs = [p.copy() for p in uniform(BASE)]
    probs[k][index] = value
    return probs


@pytest.mark.parametrize(
    "probs, pattern",
    [
        (probs_with(1, (2, 0), -0.5), r"probs\[1\]\[2, 0\] = -0.5 is negative.*production 0 of symbol 2 in rules\[1\]"),
        (probs_with(0, (1, 1), np.nan), r"probs\[0\]\[1, 1\] = nan is not finite"),
        (probs_with(1, (0, 1), np.inf), r"probs\[1\]\[0, 1\] = inf is not finite"),
        (probs_with(1, (3, 1), 0.6), r"probs\[1\]\[3\] sums to 1.1.*symbol 3 in rules\[1\] must sum to 1 within 1e-09"),
        (probs_with(0, (0, 0), 0.5 + 2 * PROB_SUM_TOLERANCE), r"probs\[0\]\[0\] sums to"),
        (
            [np.full((2, 3), 1 / 3), np.full((4, 2), 0.5)],
            r"probs\[0\] must have shape \(owners, m\) = \(2, 2\), got \(2, 3\)",
        ),
        ([np.full((2, 2), 0.5)], r"list of L = 2 arrays.*got 1 arrays"),
        (np.full((2, 2), 0.5), r"list of L = 2 arrays.*got ndarray"),
        ([[["a", "b"], ["c", "d"]], np.full((4, 2), 0.5)], r"probs\[0\] must hold real numbers"),
        ([[[0.5, 0.5], [1.0]], np.full((4, 2), 0.5)], r"probs\[0\] must be a rectangular array"),
    ],
)
def test_bad_probabilities_are_one_line_errors_naming_the_rule(probs, pattern):
    with pytest.raises(ValueError, match=pattern) as error:
        Grammar.from_rules(BASE.rules, 4, probs=probs)
    assert "\n" not in str(error.value)


def test_the_sum_tolerance_is_1e_9():
    Grammar.from_rules(BASE.rules, 4, probs=probs_with(0, (0, 0), 0.5 + 0.5 * PROB_SUM_TOLERANCE))
    assert PROB_SUM_TOLERANCE == 1e-9


@pytest.mark.parametrize("zipf", [0, -1, -0.5, float("nan"), float("inf"), -float("inf"), True, "1", 10**400])
def test_bad_zipf_exponents_are_one_line_errors(zipf):
    with pytest.raises(ValueError, match="zipf must be a finite real number > 0") as error:
        Grammar.random(4, 2, 2, 2, 2, seed=0, zipf=zipf)
    assert "\n" not in str(error.value)


def test_a_zipf_label_must_match_the_probabilities():
    grammar = Grammar.random(4, 2, 2, 2, 2, seed=0, zipf=1)
    with pytest.raises(ValueError, match=r"is not a permutation of the zipf = 2.0 weights"):
        Grammar(grammar.rules, 4, grammar.probs, zipf=2)


# ----- JSON and networkx ---------------------------------------------------------------------------------
@given(grammars(min_m=2), st.integers(0, 2**32 - 1), st.booleans())
@hsettings(max_examples=examples(25), deadline=None)
def test_weighted_json_and_networkx_round_trips_are_exact(grammar, seed, zipf):
    weighted = (
        Grammar.random(grammar.v, grammar.n_c, grammar.m, grammar.s, grammar.L, seed=seed, zipf=1.3)
        if zipf
        else Grammar.from_rules(grammar.rules, grammar.v, probs=random_probs(grammar, seed, zeros=True))
    )
    for back in (Grammar.from_json(weighted.to_json()), Grammar.from_networkx(weighted.to_networkx())):
        assert back == weighted
        assert back.zipf == weighted.zipf
        assert hash(back) == hash(weighted)
        assert all(a.tobytes() == b.tobytes() for a, b in zip(back.probs, weighted.probs))
    graph = weighted.to_networkx()
    k = weighted.L - 1
    owner, j = weighted.owners(k) - 1, weighted.m - 1
    assert (
        graph.edges[("symbol", 2, owner) if weighted.L > 1 else ("class", owner), ("production", k, owner, j), 0][
            "prob"
        ]
        == weighted.probs[k][owner, j]
    )


def test_json_and_graph_refuse_bad_probabilities():
    document = Grammar.random(4, 2, 2, 2, 2, seed=0, zipf=1).to_dict()
    document["probs"][1][0] = [0.7, 0.7]
    with pytest.raises(ValueError, match=r"probs\[1\]\[0\] sums to 1.4"):
        Grammar.from_dict(document)
    with pytest.raises(ValueError, match="zipf must be"):
        Grammar.from_dict({**Grammar.random(4, 2, 2, 2, 2, seed=0, zipf=1).to_dict(), "zipf": -1})
    graph = Grammar.random(4, 2, 2, 2, 2, seed=0, zipf=1).to_networkx()
    del graph.edges[("class", 0), ("production", 0, 0, 1), 0]["prob"]
    with pytest.raises(ValueError, match="not production 1 of symbol 0 in rules"):
        Grammar.from_networkx(graph)
    plain = Grammar.random(4, 2, 2, 2, 2, seed=0).to_networkx()
    for *_, edge in plain.edges(data=True):
        edge.pop("prob", None)
    assert Grammar.from_networkx(plain) == Grammar.random(
        4, 2, 2, 2, 2, seed=0
    )  # graphs without probabilities: uniform


# ----- the command line ----------------------------------------------------------------------------------
def test_cli_samples_power_law_data_iid_and_says_so(tmp_path, capsys):
    out = tmp_path / "F.npz"
    argv = [
        "sample",
        "--v",
        "8",
        "--nc",
        "4",
        "--m",
        "4",
        "--s",
        "2",
        "--L",
        "3",
        "--zipf",
        "1",
        "--P",
        "1000",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    assert "i.i.d." in capsys.readouterr().out
    with np.load(out) as data:
        grammar = Grammar.from_json(str(data["grammar"]))
        assert grammar == Grammar.random(8, 4, 4, 2, 3, seed=0, zipf=1)
        assert grammar.zipf == 1.0
        assert data["x"].shape == (1000, 8)
        assert np.array_equal(grammar.parse(data["x"])[0], data["y"])
        assert np.array_equal(data["x"], grammar.sample(1000, seed=0, replace=True)[0])


@pytest.mark.parametrize("command", ["sample", "info"])
@pytest.mark.parametrize("value", ["-1", "nan", "inf", "0", "abc"])
def test_cli_refuses_bad_zipf_in_one_line(tmp_path, capsys, command, value):
    out = tmp_path / "G.npz"
    argv = [command, "--v", "8", "--nc", "4", "--m", "4", "--s", "2", "--L", "3", "--zipf", value]
    argv += ["--P", "10", "--out", str(out)] if command == "sample" else []
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "zipf" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_cli_refuses_zipf_with_a_sparse_rhm(tmp_path, capsys):
    out = tmp_path / "G.npz"
    argv = [
        "sample",
        "--v",
        "8",
        "--nc",
        "4",
        "--m",
        "4",
        "--s",
        "2",
        "--L",
        "3",
        "--zipf",
        "1",
        "--s0",
        "1",
        "--P",
        "10",
        "--out",
        str(out),
    ]
    assert main(argv) == 2
    assert "--s0 must be 0" in capsys.readouterr().err
    assert not out.exists()


def test_cli_info_reports_the_power_law_facts(capsys):
    assert main(["info", "--v", "8", "--nc", "4", "--m", "4", "--s", "2", "--L", "3", "--zipf", "1", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    f = zipf_weights(4, 1.0)
    assert facts["zipf"] == 1.0
    assert facts["rule_prob_first"] == f[0]
    assert facts["rule_prob_last"] == f[-1]
    assert abs(facts["data_entropy_nats"] - exact.data_entropy(Grammar.random(8, 4, 4, 2, 3, seed=9, zipf=1))) <= 1e-12
    assert main(["info", "--v", "8", "--nc", "4", "--m", "4", "--s", "2", "--L", "3", "--json"]) == 0
    assert "zipf" not in json.loads(capsys.readouterr().out)
