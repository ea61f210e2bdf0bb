"""Exact theory with weighted (power-law, arXiv:2505.07067) rules against brute force over every datum
and its probability: class-token and tuple statistics, datum probabilities and the data entropy, BP
(posterior, marginals, evidence, posterior samples) and the next-token optima, including the uniform limit."""

import math

import numpy as np
import pytest
from hypothesis import given, settings as hsettings, strategies as st
from scipy.stats import chisquare
from strategies import examples, grammars

from rhm_theory import Grammar, bp, exact, next_token
from rhm_theory.core.rules import tuples_to_codes
from rhm_theory.core.sampling import data_to_indices, index_digits

SMALL = [(3, 2, 2, 2, 2), (4, 2, 3, 2, 2), (3, 2, 2, 2, 3), (4, 2, 2, 3, 2), (4, 3, 3, 2, 2)]


def weighted(params, seed, kind):
    """A weighted grammar: power-law rules ("zipf"), or arbitrary ones with some zero probabilities."""
    if kind == "zipf":
        return Grammar.random(*params, seed=seed, zipf=0.8)
    base = Grammar.random(*params, seed=seed)
    rng = np.random.default_rng(seed)
    probs = []
    for k in range(base.L):
        p = rng.dirichlet(np.ones(base.m), size=base.owners(k))
        p[rng.random(p.shape) < 0.25] = 0.0
        p[:, 0] += 0.05
        probs.append(p / p.sum(axis=1, keepdims=True))
    return Grammar.from_rules(base.rules, base.v, probs=probs)


CASES = [(params, seed, kind) for seed, params in enumerate(SMALL) for kind in ("zipf", "arbitrary")]


def brute_force(grammar):
    """Every datum x (p_max, d), its label, its probability and the symbols of its nodes, by walking each
    derivation top-down: symbols[l - 1] (p_max, s**(L-l+1)) for level l = 1..L, symbols[L] the class."""
    x, y = grammar.enumerate()
    choices, labels = index_digits(grammar, np.arange(grammar.p_max))
    assert np.array_equal(labels, y)
    prob = np.full(grammar.p_max, 1.0 / grammar.n_c)
    levels, node = [y[:, None]], 0
    for rules, probs in zip(grammar.rules, grammar.probs):
        parents = levels[-1]
        children = np.empty((grammar.p_max, parents.shape[1] * grammar.s), dtype=np.int64)
        for position in range(parents.shape[1]):
            a, j = parents[:, position], choices[node]
            prob *= probs[a, j]
            children[:, position * grammar.s : (position + 1) * grammar.s] = rules[a, j]
            node += 1
        levels.append(children)
    assert np.array_equal(levels[-1], x)
    assert abs(prob.sum() - 1) <= 1e-12
    return x, y, prob, levels[::-1]


def given_class(values, y, prob, n_c, n_keys):
    """P(value = key | class) (n_c, n_keys) from per-datum values and probabilities."""
    out = np.zeros((n_c, n_keys))
    np.add.at(out, (y, values), prob)
    return out * n_c


# ----- class-token statistics ------------------------------------------------------------------------
@pytest.mark.parametrize("params, seed, kind", CASES)
def test_class_token_and_tuple_statistics_equal_weighted_enumeration(params, seed, kind):
    grammar = weighted(params, seed, kind)
    x, y, prob, levels = brute_force(grammar)
    for level in range(1, grammar.L + 1):
        every = exact.class_token_probs_all(grammar, level)
        for position in range(grammar.s ** (grammar.L - level + 1)):
            expected = given_class(levels[level - 1][:, position], y, prob, grammar.n_c, grammar.v)
            assert np.abs(exact.class_token_probs(grammar, position, level) - expected).max() <= 1e-12
            assert np.abs(every[position] - expected).max() <= 1e-12
            seen = expected.sum(axis=0) > 0
            corr = exact.correlations(grammar, position, level)
            assert np.array_equal(corr.mask[0], ~seen)
            assert np.abs(corr.data[:, seen] - expected[:, seen] / expected[:, seen].sum(axis=0)).max() <= 1e-12
    for patch in range(grammar.s ** (grammar.L - 1)):
        codes = tuples_to_codes(x[:, patch * grammar.s : (patch + 1) * grammar.s], grammar.v)
        expected = given_class(codes, y, prob, grammar.n_c, grammar.v**grammar.s)
        assert np.abs(exact.class_tuple_probs(grammar, patch) - expected).max() <= 1e-12
        seen = expected.sum(axis=0) > 0
        corr = exact.tuple_correlations(grammar, patch)
        assert np.abs(corr.data[:, seen] - expected[:, seen] / expected[:, seen].sum(axis=0)).max() <= 1e-12


def test_exact_fractions_are_refused_for_weighted_rules_and_kept_for_uniform_ones():
    grammar = Grammar.random(4, 2, 2, 2, 2, seed=0, zipf=1)
    for call in (
        lambda: exact.class_token_probs(grammar, 0, exact=True),
        lambda: exact.class_tuple_probs(grammar, 0, exact=True),
        lambda: exact.correlations(grammar, 1, exact=True),
    ):
        with pytest.raises(ValueError, match="exact=True needs uniform rules") as error:
            call()
        assert "\n" not in str(error.value)
    plain = Grammar.random(4, 2, 2, 2, 2, seed=0)
    explicit = Grammar.from_rules(plain.rules, 4, probs=[np.full(p.shape, 0.5) for p in plain.probs])
    assert (exact.class_token_probs(explicit, 1, exact=True) == exact.class_token_probs(plain, 1, exact=True)).all()


# ----- the distribution of the data ------------------------------------------------------------------
@pytest.mark.parametrize("params, seed, kind", CASES)
def test_datum_probabilities_and_entropy_equal_enumeration(params, seed, kind):
    grammar = weighted(params, seed, kind)
    x, _, prob, _ = brute_force(grammar)
    with np.errstate(divide="ignore"):
        assert np.array_equal(np.isinf(exact.datum_log_probs(grammar, x)), prob == 0)
    possible = prob > 0
    assert np.abs(exact.datum_log_probs(grammar, x)[possible] - np.log(prob[possible])).max() <= 1e-12
    entropy = -(prob[possible] * np.log(prob[possible])).sum()
    assert abs(exact.data_entropy(grammar) - entropy) <= 1e-12
    assert exact.data_entropy(grammar) < math.log(grammar.p_max)


@given(grammars())
@hsettings(max_examples=examples(30), deadline=None)
def test_uniform_rules_give_every_datum_probability_one_over_p_max(grammar):
    x, _ = grammar.enumerate()
    assert np.abs(exact.datum_log_probs(grammar, x) + math.log(grammar.p_max)).max() <= 1e-12
    assert abs(exact.data_entropy(grammar) - math.log(grammar.p_max)) <= 1e-12


def test_power_law_entropy_is_log_n_c_plus_n_nodes_times_the_rank_entropy():
    grammar = Grammar.random(8, 4, 4, 2, 4, seed=2, zipf=1.5)
    f = np.sort(grammar.probs[0][0])
    assert abs(exact.data_entropy(grammar) - (math.log(4) - grammar.n_nodes * (f * np.log(f)).sum())) <= 1e-12


# ----- belief propagation ------------------------------------------------------------------------------
def brute_force_bp(grammar, likelihoods):
    """Posterior, log evidence, node marginals (bottom-up, like bp.node_marginals) and leave-one-out token
    marginals of per-leaf likelihoods (Q, d, v), by summing over every datum with its probability."""
    x, y, prob, levels = brute_force(grammar)
    per_leaf = likelihoods[:, np.arange(grammar.d)[None, :], x]  # (Q, p_max, d)
    weights = prob * per_leaf.prod(axis=2)
    total = weights.sum(axis=1)
    posterior = np.stack([weights[:, y == alpha].sum(axis=1) for alpha in range(grammar.n_c)], axis=1) / total[:, None]
    marginals = []
    for symbols in levels:
        n_symbols = grammar.n_c if symbols is levels[-1] else grammar.v
        one_hot = np.eye(n_symbols)[symbols]  # (p_max, positions, n_symbols)
        marginals.append(np.einsum("qp,pia->qia", weights, one_hot) / total[:, None, None])
    others = prob[None, :, None] * np.stack(
        [np.delete(per_leaf, j, axis=2).prod(axis=2) for j in range(grammar.d)], axis=2
    )  # (Q, p_max, d)
    loo = np.einsum("qpj,pja->qja", others, np.eye(grammar.v)[x])
    return posterior, np.log(total), marginals, loo / loo.sum(axis=2, keepdims=True)


@pytest.mark.parametrize("params, seed, kind", CASES)
def test_weighted_bp_equals_brute_force_within_1e_12(params, seed, kind):
    grammar = weighted(params, seed, kind)
    rng = np.random.default_rng(seed)
    likelihoods = rng.random((6, grammar.d, grammar.v)) ** 2 + 1e-2
    likelihoods[0] = 1.0  # no evidence: the prior marginals
    likelihoods[1, :, 0] = 0.0  # token 0 ruled out everywhere: some data impossible, others not
    likelihoods[1, 0, 0] = 1.0
    posterior, evidence, marginals, loo = brute_force_bp(grammar, likelihoods)
    assert np.abs(bp.posterior(grammar, likelihoods) - posterior).max() < 1e-12
    assert np.abs(bp.log_evidence(grammar, likelihoods) - evidence).max() < 1e-12
    for ours, expected in zip(bp.node_marginals(grammar, likelihoods), marginals):
        assert ours.shape == expected.shape
        assert np.abs(ours - expected).max() < 1e-12
    assert np.abs(bp.token_marginals(grammar, likelihoods)[0] - marginals[0][0]).max() < 1e-12
    assert np.abs(bp.token_marginals(grammar, likelihoods, leave_one_out=True) - loo).max() < 1e-12


@pytest.mark.parametrize("params, seed, kind", CASES)
def test_weighted_clean_data_evidence_is_the_datum_probability(params, seed, kind):
    grammar = weighted(params, seed, kind)
    x, y, prob, _ = brute_force(grammar)
    x, y, prob = x[prob > 0], y[prob > 0], prob[prob > 0]
    assert np.abs(bp.log_evidence(grammar, x) - np.log(prob)).max() < 1e-12
    assert np.abs(bp.log_evidence(grammar, np.eye(grammar.v)[x]) - np.log(prob)).max() < 1e-12
    assert np.abs(bp.posterior(grammar, x)[np.arange(y.size), y] - 1).max() < 1e-12


def test_uniform_limit_of_the_weighted_code_path_is_the_uniform_result():
    plain = Grammar.random(4, 2, 3, 2, 2, seed=6)
    rng = np.random.default_rng(0)
    nearly = [np.full(p.shape, 1 / 3) * (1 + 1e-13 * rng.standard_normal(p.shape)) for p in plain.probs]
    near = Grammar.from_rules(plain.rules, 4, probs=[p / p.sum(axis=1, keepdims=True) for p in nearly])
    assert near.weighted
    likelihoods = rng.random((5, plain.d, plain.v))
    x, _ = plain.enumerate()
    pairs = [
        (
            bp.posterior(g, likelihoods),
            bp.log_evidence(g, likelihoods),
            bp.log_evidence(g, x),
            exact.class_tuple_probs(g, 1),
            exact.class_token_probs(g, 2),
            next_token.optimal_losses(g),
            next_token.token_correlation(g, 3),
            exact.data_entropy(g),
        )
        for g in (plain, near)
    ]
    for a, b in zip(*pairs):
        assert np.abs(np.asarray(a) - np.asarray(b)).max() < 1e-11


@pytest.mark.parametrize("kind", ["zipf", "arbitrary"])
def test_posterior_samples_follow_the_weighted_distribution(kind):
    grammar = weighted((3, 2, 2, 2, 2), 8, kind)  # p_max = 16
    _, _, prob, _ = brute_force(grammar)
    draws = 20000
    tokens, labels = bp.sample_posterior(grammar, np.ones((draws, grammar.d, grammar.v)), seed=2)
    counts = np.bincount(data_to_indices(grammar, tokens), minlength=grammar.p_max)
    assert np.array_equal(grammar.parse(tokens)[0], labels)
    assert (counts[prob == 0] == 0).all()
    assert chisquare(counts[prob > 0], draws * prob[prob > 0]).pvalue > 1e-4
    x, _ = grammar.enumerate()
    likelihoods = np.random.default_rng(4).random((1, grammar.d, grammar.v)) ** 2 + 0.05
    posterior = prob * np.prod(likelihoods[0, np.arange(grammar.d)[None, :], x], axis=1)
    tokens, _ = bp.sample_posterior(grammar, np.repeat(likelihoods, draws, axis=0), seed=5)
    counts = np.bincount(data_to_indices(grammar, tokens), minlength=grammar.p_max)
    assert chisquare(counts[prob > 0], (draws * posterior / posterior.sum())[prob > 0]).pvalue > 1e-4


# ----- next-token optima -----------------------------------------------------------------------------------
def brute_next_token(x, prob, t, v):
    """P(x_d | last t tokens) per datum (P, v) and H(x_d | window), for data x (P, d) of probabilities prob > 0."""
    d = x.shape[1]
    group = np.unique(x[:, d - 1 - t : d - 1], axis=0, return_inverse=True)[1].ravel() if t else np.zeros(len(x), int)
    joint = np.zeros((group.max() + 1, v))
    np.add.at(joint, (group, x[:, -1]), prob)
    conditional = joint / joint.sum(axis=1, keepdims=True)
    return conditional[group], -(prob * np.log(conditional[group, x[:, -1]])).sum()


@pytest.mark.parametrize("params, seed, kind", CASES)
def test_next_token_optima_and_correlations_equal_weighted_enumeration(params, seed, kind):
    grammar = weighted(params, seed, kind)
    x, _, prob, _ = brute_force(grammar)
    x, prob = x[prob > 0], prob[prob > 0]
    losses = next_token.optimal_losses(grammar)
    for t in range(grammar.d):
        rows, entropy = brute_next_token(x, prob, t, grammar.v)
        assert abs(losses[t] - entropy) <= 1e-12
        assert abs(next_token.optimal_loss(grammar, t) - entropy) <= 1e-12
        assert np.abs(next_token.predictive(grammar, x, window=t) - rows).max() <= 1e-12
    for distance in range(1, grammar.d):
        joint = np.zeros((grammar.v, grammar.v))
        np.add.at(joint, (x[:, -1 - distance], x[:, -1]), prob)
        expected = joint - np.outer(joint.sum(axis=1), joint.sum(axis=0))
        assert np.abs(next_token.token_correlation(grammar, distance) - expected).max() <= 1e-12


@given(grammars(max_p_max=1000, min_m=2), st.floats(0.1, 3), st.integers(0, 2**32 - 1))
@hsettings(max_examples=examples(20), deadline=None)
def test_zipf_grammars_statistics_are_distributions(grammar, a, seed):
    weighted_grammar = Grammar.random(grammar.v, grammar.n_c, grammar.m, grammar.s, grammar.L, seed=seed, zipf=a)
    x, _, prob, _ = brute_force(weighted_grammar)
    assert np.abs(np.exp(exact.datum_log_probs(weighted_grammar, x)) - prob).max() <= 1e-12
    probs = exact.class_token_probs_all(weighted_grammar)
    assert np.allclose(probs.sum(axis=-1), 1.0, atol=1e-12)
