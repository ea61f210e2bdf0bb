"""Synonym clustering from correlation vectors: counts against brute force, population vectors against
full enumeration, perfect clustering on exact correlations, chance level at tiny P, and the power-law
fit on curves with a known exponent."""

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st
from strategies import examples, grammars

from rhm_theory import Grammar
from rhm_theory.synonyms.clustering import (
    centred_correlations,
    cluster_synonyms,
    debiased_embedding,
    fit_crossing_power_law,
    kmeans_labels,
    lowest_level_synonyms,
    population_tuple_probs,
    score_clustering,
    tuple_class_counts,
)
from rhm_theory.theory.exact import tuple_correlations


@settings(max_examples=examples(20), deadline=None)
@given(grammar=grammars(max_p_max=600), data=st.data())
def test_counts_match_a_python_loop(grammar, data):
    x, y = grammar.sample(data.draw(st.integers(1, min(grammar.p_max, 50))), seed=data.draw(st.integers(0, 99)))
    n_patches = grammar.d // grammar.s
    patch = data.draw(st.sampled_from([None, *range(n_patches)]))
    expected = np.zeros((grammar.n_c, grammar.v**grammar.s), dtype=int)
    for row, label in zip(x, y):
        for j in range(n_patches) if patch is None else [patch]:
            code = 0
            for token in row[j * grammar.s : (j + 1) * grammar.s]:
                code = code * grammar.v + int(token)
            expected[label, code] += 1
    np.testing.assert_array_equal(
        tuple_class_counts(x, y, v=grammar.v, n_c=grammar.n_c, s=grammar.s, patch=patch), expected
    )


@settings(max_examples=examples(15), deadline=None)
@given(grammar=grammars(max_p_max=2000))
def test_all_data_give_the_exact_population_correlations(grammar):
    """Counts over every datum (enumeration) against the foundation's exact transition products."""
    x, y = grammar.enumerate()
    for patch in [None, *range(grammar.d // grammar.s)]:
        counted = centred_correlations(tuple_class_counts(x, y, v=grammar.v, n_c=grammar.n_c, s=grammar.s, patch=patch))
        np.testing.assert_allclose(counted, centred_correlations(population_tuple_probs(grammar, patch)), atol=1e-12)
    exact = tuple_correlations(grammar, 0)
    seen = ~exact.mask[0]
    np.testing.assert_allclose(
        centred_correlations(population_tuple_probs(grammar, 0))[seen],
        grammar.n_c * exact.data[:, seen].T - 1,
        atol=1e-12,
    )


@settings(max_examples=examples(15), deadline=None)
@given(
    seed=st.integers(0, 2**16),
    params=st.sampled_from([(8, 8, 2, 2, 2), (8, 4, 4, 2, 3), (6, 6, 3, 2, 2), (4, 4, 4, 3, 2)]),
)
def test_exact_correlations_cluster_synonyms_perfectly_when_their_vectors_are_distinct(seed, params):
    grammar = Grammar.random(*params, seed=seed)
    probs = population_tuple_probs(grammar)
    codes, owners = lowest_level_synonyms(grammar)
    vectors = centred_correlations(probs)[codes]
    distinct = {tuple(np.round(vectors[owners == a][0], 12)) for a in range(grammar.v)}
    assume(len(distinct) == grammar.v)  # two parents that look alike cannot be separated
    score = cluster_synonyms(grammar, probs, seed=seed)
    assert score.ari == 1.0
    assert score.majority_fraction == 1.0
    assert score.error == 0.0


def test_tiny_training_sets_cluster_at_chance_level():
    aris = []
    for seed in range(10):
        grammar = Grammar.random(8, 8, 4, 2, 3, seed=seed)
        x, y = grammar.sample(4, seed=seed)
        aris.append(cluster_synonyms(grammar, tuple_class_counts(x, y, v=8, n_c=8, s=2), seed=0).ari)
    assert abs(np.mean(aris)) < 0.05


@settings(max_examples=examples(30), deadline=None)
@given(labels=st.lists(st.integers(0, 3), min_size=2, max_size=30), relabel=st.permutations(range(4)), data=st.data())
def test_scores_are_permutation_invariant_and_majority_matches_a_count(labels, relabel, data):
    true = np.array(labels)
    predicted = np.array(data.draw(st.lists(st.integers(0, 3), min_size=true.size, max_size=true.size)))
    score = score_clustering(true, predicted)
    assert score == score_clustering(true, np.array(relabel)[predicted])
    majority = sum(max(np.sum((true == a) & (predicted == c)) for c in range(4)) for a in set(labels))
    assert score.majority_fraction == pytest.approx(majority / true.size)
    assert score_clustering(true, true).majority_fraction == 1.0


def test_power_law_fit_recovers_a_known_exponent():
    """Error curves 1 / (1 + (P / P_c)^2) with P_c = 3 scale^1.5 plus seed noise: the fit finds 1.5."""
    rng = np.random.default_rng(0)
    scales = np.array([10.0, 30.0, 100.0, 300.0])
    sweeps = []
    for scale in scales:
        P = np.geomspace(scale, 1000 * scale**1.5, 25)
        curve = 1 / (1 + (P / (3 * scale**1.5)) ** 2)
        sweeps.append((P, curve + 0.02 * rng.standard_normal((5, P.size))))
    fit = fit_crossing_power_law(sweeps, scales, threshold=0.5, n_boot=200, seed=1)
    assert fit.ci_low[0] < 1.5 < fit.ci_high[0]
    assert fit.ci_high[0] - fit.ci_low[0] < 0.1
    assert fit.prefactor == pytest.approx(3, rel=0.1)
    np.testing.assert_allclose(fit.crossings, 3 * scales**1.5, rtol=0.05)


def test_two_factor_fit_separates_the_exponents():
    """P_c = 2 a^0.5 b^1 on a grid of (a, b): the joint fit returns (0.5, 1)."""
    factors = np.array([(a, b) for a in (4.0, 16.0, 64.0) for b in (10.0, 100.0)])
    sweeps = []
    for a, b in factors:
        P = np.geomspace(1, 1e5, 40)
        sweeps.append((P, (1 / (1 + P / (2 * np.sqrt(a) * b)))[None, :]))
    fit = fit_crossing_power_law(sweeps, factors, threshold=0.5, n_boot=10, seed=0)
    np.testing.assert_allclose(fit.exponents, [0.5, 1.0], atol=0.02)
    with pytest.raises(ValueError, match="single-scale"):
        _ = fit.exponent


def test_fit_refuses_curves_that_do_not_cross():
    P = np.array([1.0, 2.0, 4.0])
    with pytest.raises(ValueError, match="more settings than exponents"):
        fit_crossing_power_law([(P, np.ones((2, 3)))], [1.0], threshold=0.5, seed=0)
    with pytest.raises(ValueError, match="do not cross"):
        fit_crossing_power_law([(P, np.ones((2, 3))), (P, np.ones((2, 3)))], [1.0, 2.0], threshold=0.5, seed=0)


def test_bad_inputs_raise():
    x = np.zeros((3, 4), dtype=int)
    with pytest.raises(ValueError, match="patch"):
        tuple_class_counts(x, np.zeros(3, dtype=int), v=2, n_c=2, s=2, patch=2)
    with pytest.raises(ValueError, match="multiple of s"):
        tuple_class_counts(x, np.zeros(3, dtype=int), v=2, n_c=2, s=3)
    with pytest.raises(ValueError, match="n_clusters = 5"):
        kmeans_labels(np.zeros((4, 2)), 5, seed=0)


def test_debiased_embedding_clusters_through_unequal_noise_that_defeats_plain_kmeans():
    """16 clusters of 4 points in 400 dimensions; each point has its own noise level (0.5x to 1.5x), so
    squared norms differ by far more than the squared separation of the centres: k-means on the points
    groups them by noise level, the diagonal-free Gram embedding recovers the clusters."""
    rng = np.random.default_rng(0)
    n_clusters, size, dim = 16, 4, 400
    centres = np.sqrt(0.3) * rng.standard_normal((n_clusters, dim))
    labels = np.repeat(np.arange(n_clusters), size)
    noise = rng.uniform(0.5, 1.5, (labels.size, 1)) * rng.standard_normal((labels.size, dim))
    points = centres[labels] + noise
    plain = score_clustering(labels, kmeans_labels(points, n_clusters, seed=0)).ari
    debiased = score_clustering(labels, kmeans_labels(debiased_embedding(points, n_clusters), n_clusters, seed=0)).ari
    assert debiased > 0.9, (debiased, plain)
    assert plain < 0.5, (debiased, plain)


def test_both_methods_cluster_exact_correlations_and_reject_bad_arguments():
    grammar = Grammar.random(8, 8, 2, 2, 2, seed=3)
    probs = population_tuple_probs(grammar)
    assert (
        cluster_synonyms(grammar, probs, 0, method="debiased").error == cluster_synonyms(grammar, probs, 0).error == 0.0
    )
    with pytest.raises(ValueError, match="method must be one of"):
        cluster_synonyms(grammar, probs, 0, method="spectral")
    with pytest.raises(ValueError, match="rank = 5 exceeds"):
        debiased_embedding(np.zeros((4, 3)), 5)
