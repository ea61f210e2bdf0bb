"""The sparse RHM (arXiv:2404.10727): counting, exact sampling, parsing and discrete diffeomorphisms."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings as hsettings, strategies as st
from scipy import stats
from strategies import examples, grammars

from rhm_theory import Grammar
from rhm_theory.sparse import SparseRHM


def _rows(x):
    return {row.tobytes() for row in np.ascontiguousarray(x, dtype=np.int64)}


def brute_force_data(grammar, s0, variant):
    """Every datum of the sparse model, built from its definition by recursion (no code shared)."""
    s, L, empty = grammar.s, grammar.L, grammar.v
    patch = s * (s0 + 1)
    layouts = [
        c
        for c in itertools.combinations(range(patch), s)
        if variant == "B" or all(position // (s0 + 1) == i for i, position in enumerate(c))
    ]

    def expand(symbol, k):  # all token sequences below a node of block k
        if k == L:
            return [(symbol,)]
        if symbol == empty:
            return [(empty,) * patch ** (L - k)]
        out = []
        for production in grammar.rule_tables[k][symbol]:
            for layout in layouts:
                slots = [empty] * patch
                for position, child in zip(layout, production):
                    slots[position] = int(child)
                for parts in itertools.product(*(expand(c, k + 1) for c in slots)):
                    out.append(sum(parts, ()))
        return out

    return [(datum, c) for c in range(grammar.n_c) for datum in expand(c, 0)]


SETTINGS = [
    ((3, 2, 2, 2, 2), 1),
    ((2, 2, 2, 3, 1), 1),
    ((2, 2, 2, 3, 1), 2),
    ((3, 3, 1, 2, 2), 2),
    ((4, 2, 2, 2, 1), 3),
]


@pytest.mark.parametrize("variant", ["A", "B"])
@pytest.mark.parametrize("params, s0", SETTINGS)
def test_p_max_and_enumeration_equal_the_brute_force_data_of_the_definition(params, s0, variant):
    grammar = Grammar.random(*params, seed=3)
    model = SparseRHM(grammar, s0, variant)
    brute = brute_force_data(grammar, s0, variant)
    assert len({datum for datum, _ in brute}) == len(brute) == model.p_max  # all distinct: the count is exact
    x, y = model.enumerate()
    assert x.shape == (model.p_max, model.d)
    assert x.dtype == np.int64
    assert _rows(x) == {np.array(datum, dtype=np.int64).tobytes() for datum, _ in brute}
    label_of = {np.array(datum, dtype=np.int64).tobytes(): c for datum, c in brute}
    assert [label_of[row.tobytes()] for row in x] == y.tolist()
    labels, choices, placements = model.parse(x)
    assert np.array_equal(labels, y)
    assert np.array_equal(model.decode(labels, choices, placements), x)
    assert np.array_equal(model.indices(x), np.arange(model.p_max))


def test_p_max_closed_forms():
    grammar = Grammar.random(8, 8, 4, 2, 3, seed=0)
    assert SparseRHM(grammar, 2, "A").p_max == 8 * (4 * 3**2) ** 7
    assert SparseRHM(grammar, 2, "B").p_max == 8 * (4 * 15) ** 7  # C(6, 2) = 15 layouts
    assert SparseRHM(grammar, 0, "B").p_max == grammar.p_max


@pytest.mark.parametrize("variant", ["A", "B"])
def test_s0_zero_reproduces_the_rhm_bytes(variant):
    small = Grammar.random(4, 3, 3, 2, 2, seed=1)
    model = SparseRHM(small, 0, variant)
    assert model.d == small.d
    assert model.p_max == small.p_max
    for replace in (False, True):
        a, b = model.sample(50, seed=7, replace=replace), small.sample(50, seed=7, replace=replace)
        assert a[0].tobytes() == b[0].tobytes()
        assert a[1].tobytes() == b[1].tobytes()
    assert all(p.tobytes() == q.tobytes() for p, q in zip(model.enumerate(), small.enumerate()))
    split_a = model.sample_train_test(20, 10, seed=2)
    split_b = small.sample_train_test(20, 10, seed=2)
    assert all(p.tobytes() == q.tobytes() for p, q in zip(split_a[0] + split_a[1], split_b[0] + split_b[1]))
    # the sparse expansion itself (used for s0 > 0) also gives the RHM's tokens at s0 = 0
    x, _y = small.enumerate()
    y_, choices = small.parse(x)
    assert np.array_equal(model._expand_sparse(y_, choices.T, np.zeros_like(choices.T)), x)
    huge = Grammar.random(8, 8, 8, 2, 6, seed=0)
    assert huge.p_max > 2**63
    a, b = SparseRHM(huge, 0, variant).sample(500, seed=3), huge.sample(500, seed=3)
    assert a[0].tobytes() == b[0].tobytes()
    assert a[1].tobytes() == b[1].tobytes()


@given(grammars(max_p_max=500, max_L=2), st.integers(0, 2), st.sampled_from("AB"), st.integers(0, 2**32 - 1))
@hsettings(max_examples=examples(25), deadline=None)
def test_sample_is_distinct_valid_reproducible_and_parses_back(grammar, s0, variant, seed):
    model = SparseRHM(grammar, s0, variant)
    P = min(model.p_max, 300)
    x, y = model.sample(P, seed=seed)
    assert x.shape == (P, model.d)
    assert x.dtype == np.int64
    assert len(_rows(x)) == P
    assert x.min() >= 0
    assert x.max() <= grammar.v
    assert ((x != grammar.v).sum(axis=1) == grammar.s**grammar.L).all()  # s**L informative tokens
    labels, choices, placements = model.parse(x)
    assert np.array_equal(labels, y)
    assert np.array_equal(model.decode(labels, choices, placements), x)
    x2, y2 = model.sample(P, seed=seed)
    assert x.tobytes() == x2.tobytes()
    assert y.tobytes() == y2.tobytes()


@pytest.mark.parametrize("variant", ["A", "B"])
def test_sampling_is_uniform_with_and_without_replacement(variant):
    model = SparseRHM(Grammar.random(3, 2, 2, 2, 2, seed=0), 1, variant)
    x, _ = model.sample(30 * model.p_max, seed=1, replace=True)
    counts = np.bincount(model.indices(x), minlength=model.p_max)
    assert stats.chisquare(counts).pvalue > 1e-4
    hits = np.zeros(model.p_max, dtype=np.int64)
    for seed in range(60):
        x, _ = model.sample(model.p_max // 4, seed=seed)
        hits[model.indices(x)] += 1
    assert stats.chisquare(hits).pvalue > 1e-4
    everything, _ = model.sample(model.p_max, seed=5)
    assert sorted(model.indices(everything).tolist()) == list(range(model.p_max))


def test_sampling_beyond_int64_p_max_is_distinct_and_valid():
    model = SparseRHM(Grammar.random(8, 8, 8, 2, 4, seed=0), 1, "B")
    assert model.p_max > 2**63
    x, y = model.sample(3000, seed=1)
    assert len(_rows(x)) == 3000
    assert np.array_equal(model.parse(x)[0], y)
    (x_train, _), (x_test, _) = model.sample_train_test(100, 50, seed=2)
    assert not (_rows(x_train) & _rows(x_test))


@given(st.sampled_from("AB"), st.integers(1, 2), st.integers(0, 2**32 - 1), st.data())
@hsettings(max_examples=examples(20), deadline=None)
def test_diffeomorphism_keeps_class_and_symbols_and_moves_only_chosen_layouts(variant, s0, seed, data):
    grammar = Grammar.random(4, 3, 2, 2, 3, seed=seed % 1000)
    model = SparseRHM(grammar, s0, variant)
    levels = data.draw(st.sets(st.integers(1, 3), min_size=1))
    x, y = model.sample(200, seed=seed)
    moved = model.diffeomorphism(x, sorted(levels), seed=seed + 1)
    _y0, c0, p0 = model.parse(x)
    y1, c1, p1 = model.parse(moved)
    assert np.array_equal(y1, y)  # every production, so every symbol, kept
    assert np.array_equal(c1, c0)
    # the input symbols, read left to right ignoring empties, are unchanged
    assert np.array_equal(np.sort(moved, axis=1), np.sort(x, axis=1))
    assert np.array_equal(x[x != grammar.v].reshape(200, -1), moved[moved != grammar.v].reshape(200, -1))
    for level in range(1, 4):
        block = slice((2 ** (3 - level) - 1), 2 ** (4 - level) - 1)  # nodes making level-l symbols
        if level in levels:
            assert (p1[:, block] != p0[:, block]).any()
        else:
            assert np.array_equal(p1[:, block], p0[:, block])


def test_bad_input_is_a_clear_error():
    grammar = Grammar.random(3, 2, 2, 2, 2, seed=0)
    with pytest.raises(ValueError, match="s0 must be >= 0"):
        SparseRHM(grammar, -1)
    with pytest.raises(ValueError, match="variant must be one of"):
        SparseRHM(grammar, 1, variant="C")
    model = SparseRHM(grammar, 1, "A")
    x, _ = model.sample(4, seed=0)
    with pytest.raises(ValueError, match=r"range\(v\+1=4\)"):
        model.parse(np.where(x == 3, 4, x))
    broken = x.copy()
    broken[0, :2] = x[0, 0] if x[0, 0] != 3 else x[0, 1]  # two tokens in one sub-patch of variant A
    broken[0, 2:4] = 3
    with pytest.raises(ValueError, match="not data of this sparse RHM"):
        model.parse(broken)
    with pytest.raises(ValueError, match=r"level must be in 1..L"):
        model.diffeomorphism(x, [3], seed=0)
    with pytest.raises(ValueError, match="p_max"):
        model.sample(model.p_max + 1, seed=0)
