"""Grammar construction: validity of drawn rules, uniform draw, round trips, and bad input."""

import json
from collections import Counter

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings as hsettings, strategies as st
from strategies import examples, grammars, settings

from rhm_theory import Grammar
from rhm_theory.core.rules import tuples_to_codes


@given(settings(), st.integers(0, 2**32 - 1))
@hsettings(max_examples=examples(60), deadline=None)
def test_random_rules_are_in_range_unambiguous_and_shaped(params, seed):
    v, n_c, m, s, L = params
    grammar = Grammar.random(v, n_c, m, s, L, seed=seed)
    rules = grammar.rules
    assert len(rules) == L
    for k, r in enumerate(rules):
        assert r.shape == ((n_c if k == 0 else v), m, s)
        assert r.min() >= 0
        assert r.max() < v
        codes = tuples_to_codes(r.reshape(-1, s), v)
        assert np.unique(codes).size == codes.size  # no tuple has two owners or two uses
    assert grammar.p_max == n_c * m ** sum(s**k for k in range(L))
    assert isinstance(grammar.p_max, int)


def test_same_seed_same_rules_and_different_seed_different_rules():
    a = Grammar.random(8, 8, 4, 2, 3, seed=5)
    b = Grammar.random(8, 8, 4, 2, 3, seed=5)
    c = Grammar.random(8, 8, 4, 2, 3, seed=6)
    assert all(x.tobytes() == y.tobytes() for x, y in zip(a.rules, b.rules))
    assert a == b
    assert a != c


def test_rule_sets_are_drawn_uniformly():
    # v = 2, s = 2: 4 tuples; one class with m = 2 productions: C(4, 2) = 6 possible sets, equally likely.
    n = 6000
    counts = Counter(
        frozenset(map(tuple, Grammar.random(2, 1, 2, 2, 1, seed=seed).rules[0][0].tolist())) for seed in range(n)
    )
    assert len(counts) == 6
    expected = n / 6
    chi2 = sum((c - expected) ** 2 / expected for c in counts.values())
    assert chi2 < 20.5  # 99.9% quantile of chi-square with 5 degrees of freedom


def test_large_tuple_space_draws_without_listing_it():
    # v**s = 10**8 tuples: drawn as distinct codes, never as a list of all tuples
    grammar = Grammar.random(10_000, 16, 8, 2, 2, seed=0)
    codes = tuples_to_codes(grammar.rules[1].reshape(-1, 2), 10_000)
    assert np.unique(codes).size == 10_000 * 8


@given(grammars())
@hsettings(max_examples=examples(40), deadline=None)
def test_json_and_networkx_round_trips_are_exact(grammar):
    assert Grammar.from_json(grammar.to_json()) == grammar
    back = Grammar.from_networkx(grammar.to_networkx())
    assert back == grammar
    assert all(a.tobytes() == b.tobytes() for a, b in zip(back.rules, grammar.rules))


def test_save_and_load(tmp_path):
    grammar = Grammar.random(5, 3, 2, 2, 3, seed=1)
    path = tmp_path / "g.json"
    grammar.save(path)
    assert Grammar.load(path) == grammar
    assert json.loads(path.read_text())["n_c"] == 3


def test_from_rules_accepts_rules_made_elsewhere():
    rules = [np.array([[[0, 1], [1, 1]], [[1, 0], [0, 0]]]), np.array([[[0, 0], [1, 1]], [[0, 1], [1, 0]]])]
    grammar = Grammar.from_rules(rules, v=2)
    assert (grammar.v, grammar.n_c, grammar.m, grammar.s, grammar.L) == (2, 2, 2, 2, 2)
    assert grammar.p_max == 2 * 2**3


def test_derivation_tree_has_level_position_symbol_and_reproduces_the_datum():
    grammar = Grammar.random(4, 3, 2, 2, 3, seed=3)
    x, y = grammar.sample(5, seed=0)
    for datum, label in zip(x, y):
        tree = grammar.derivation_tree(datum)
        assert nx.is_arborescence(tree)
        assert tree.number_of_nodes() == sum(2**k for k in range(4))
        assert tree.nodes[(4, 0)]["symbol"] == label
        leaves = sorted((n for n in tree if tree.out_degree(n) == 0), key=lambda n: n[1])
        assert [tree.nodes[n]["symbol"] for n in leaves] == datum.tolist()
        for node, attrs in tree.nodes(data=True):
            assert node == (attrs["level"], attrs["position"])
            if attrs["level"] > 1:  # each internal node used one of its owner's productions
                children = [tree.nodes[c]["symbol"] for c in sorted(tree.successors(node), key=lambda c: c[1])]
                k = grammar.L + 1 - attrs["level"]
                assert children == grammar.rules[k][attrs["symbol"], attrs["production"]].tolist()


# ----- bad input: ValueError naming the value and the rule ----------------------------------------
@pytest.mark.parametrize(
    "params, words",
    [
        ((2, 8, 4, 2, 3), ["n_c*m", "32", "v**s = 4"]),  # too many class productions
        ((4, 2, 5, 2, 2), ["m <= v**(s-1) = 4", "v*m"]),  # m above v**(s-1)
        ((0, 2, 2, 2, 2), ["v must be >= 1", "0"]),
        ((4, -1, 2, 2, 2), ["n_c must be >= 1", "-1"]),
        ((4, 2, 2, 2, 0), ["L must be >= 1", "0"]),
        ((4.0, 2, 2, 2, 2), ["v must be an integer", "4.0"]),
        ((4, 2, 2.5, 2, 2), ["m must be an integer", "2.5"]),
        ((4, 2, True, 2, 2), ["m must be an integer", "True"]),
    ],
)
def test_bad_parameters_raise_value_error_naming_value_and_rule(params, words):
    with pytest.raises(ValueError) as error:  # noqa: PT011 - the message is checked word by word below
        Grammar.random(*params, seed=0)
    for word in words:
        assert word in str(error.value)


def test_rules_with_a_repeated_tuple_are_rejected():
    rules = [np.array([[[0, 1], [1, 1]], [[0, 1], [0, 0]]])]  # (0, 1) owned by both classes
    with pytest.raises(ValueError, match=r"ambiguous.*\(0, 1\)"):
        Grammar.from_rules(rules, v=2)
    rules = [np.array([[[0, 1], [0, 1]]])]  # the same production twice
    with pytest.raises(ValueError, match=r"ambiguous.*\(0, 1\)"):
        Grammar.from_rules(rules, v=2)


def test_rules_with_out_of_range_symbols_are_rejected():
    rules = [np.array([[[0, 1], [1, 2]]])]
    with pytest.raises(ValueError, match=r"rules\[0\]\[0, 1, 1\] = 2 is out of range.*range\(v=2\)"):
        Grammar.from_rules(rules, v=2)
    with pytest.raises(ValueError, match=r"-1 is out of range"):
        Grammar.from_rules([np.array([[[0, -1]]])], v=2)


def test_rules_of_wrong_shape_or_type_are_rejected():
    with pytest.raises(ValueError, match=r"rules\[1\] must have shape \(2, 1, 2\)"):
        Grammar.from_rules([np.array([[[0, 1]]]), np.array([[[0, 1]]])], v=2)
    with pytest.raises(ValueError, match="integer array"):
        Grammar.from_rules([np.array([[[0.0, 1.0]]])], v=2)


def test_networkx_graph_missing_a_child_is_rejected():
    graph = Grammar.random(3, 2, 2, 2, 2, seed=0).to_networkx()
    production = next(n for n, a in graph.nodes(data=True) if a["kind"] == "production")
    graph.remove_edges_from(list(graph.out_edges(production, keys=True)))
    with pytest.raises(ValueError, match="undefined"):
        Grammar.from_networkx(graph)


@pytest.mark.parametrize(
    "attribute, value, message",
    [
        ("rules_level", None, "has no 'rules_level' attribute"),
        ("owner", -1, r"owner must be an integer in range\(2\), got -1"),  # -1 would wrap to the last class
        ("index", 2, r"index must be an integer in range\(2\), got 2"),
        ("rules_level", 1.0, r"rules_level must be an integer in range\(2\)"),
    ],
)
def test_networkx_production_with_a_bad_attribute_is_a_one_line_error(attribute, value, message):
    graph = Grammar.random(3, 2, 2, 2, 2, seed=0).to_networkx()
    production = next(n for n, a in graph.nodes(data=True) if a["kind"] == "production" and a["rules_level"] == 0)
    if value is None:
        del graph.nodes[production][attribute]
    else:
        graph.nodes[production][attribute] = value
    with pytest.raises(ValueError, match=message):
        Grammar.from_networkx(graph)


def test_find_productions_refuses_tuples_that_would_alias_valid_ones():
    grammar = Grammar.random(4, 2, 2, 2, 2, seed=0)
    assert tuples_to_codes(np.array([0, 5]), 4) == tuples_to_codes(np.array([1, 1]), 4)  # why a check is needed
    with pytest.raises(ValueError, match=r"tuples must be in range\(v=4\)"):
        grammar.find_productions(0, np.array([0, 5]))
    with pytest.raises(ValueError, match="last axis of length s = 2"):
        grammar.find_productions(0, np.array([0, 1, 2]))
    for k in (-1, 2, True):
        with pytest.raises(ValueError, match="k \\(rules level\\)"):
            grammar.find_productions(k, np.array([0, 1]))
        with pytest.raises(ValueError, match="k \\(rules level\\)"):
            grammar.owners(k)
