"""A layer-wise clustering algorithm: learn the hierarchy bottom-up from token-class correlations
alone, without gradient descent (the paper's, arXiv:2307.02129 Appendix D, alternates one gradient
step with k-means of the representations; here the correlation vectors are clustered directly).

Fit, on training data (x (P, s**L), y (P,)):

1. At the current level, pool the (class, s-tuple) counts over all patches (the rules of one level are
   the same at every position), give each observed tuple its centred correlation vector
   n_c P^(class | tuple) - 1 and group the observed tuples into v clusters by k-means.
2. Replace every patch by its cluster id: the data become sequences of s**(L-1) symbols in range(v).
3. Repeat up to sequences of one s-tuple, then classify each top tuple by the majority class of the
   training data that reach it.

Predict by the same reductions. A test patch whose tuple was never seen in training (or contains an
unknown symbol) becomes the unknown symbol -1; a datum whose top tuple is unknown gets the most
frequent training class (a guess, counted as an error when wrong).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rhm_theory.core.rules import tuples_to_codes
from rhm_theory.core.validation import as_generator, check_int
from rhm_theory.synonyms.clustering import centred_correlations, kmeans_labels, tuple_class_counts

UNKNOWN = -1


@dataclass(frozen=True)
class LayerwiseClassifier:
    """Fitted layer-wise algorithm. ``cluster_maps``: per clustered level, an array (v**s,) mapping
    tuple codes to a cluster id in range(v) or UNKNOWN; ``top_classes`` (v**s,): class of each top
    tuple or UNKNOWN; ``fallback``: class predicted for unknown top tuples."""

    v: int
    s: int
    cluster_maps: list[np.ndarray]
    top_classes: np.ndarray
    fallback: int

    def predict(self, x) -> np.ndarray:
        """Predicted classes (P,) of tokens ``x`` (P, s**L) with L = len(cluster_maps) + 1."""
        symbols = np.asarray(x, dtype=np.int64)
        expected = self.s ** (len(self.cluster_maps) + 1)
        if symbols.ndim != 2 or symbols.shape[1] != expected:
            raise ValueError(f"x must have shape (P, {expected}) for this classifier, got {symbols.shape}")
        for table in self.cluster_maps:
            symbols = reduce_patches(symbols, table, self.v, self.s)
        top = reduce_patches(symbols, self.top_classes, self.v, self.s)[:, 0]
        return np.where(top == UNKNOWN, self.fallback, top)


def reduce_patches(symbols, table, v: int, s: int) -> np.ndarray:
    """Replace each s-patch of ``symbols`` (P, n) by ``table[code]`` -> (P, n/s); patches holding an
    UNKNOWN symbol become UNKNOWN."""
    patches = symbols.reshape(symbols.shape[0], -1, s)
    unknown = (patches == UNKNOWN).any(axis=2)
    codes = tuples_to_codes(np.where(patches == UNKNOWN, 0, patches), v)
    return np.where(unknown, UNKNOWN, table[codes])


def fit_layerwise(x, y, *, v: int, n_c: int, s: int, seed) -> LayerwiseClassifier:
    """Fit the layer-wise algorithm (module docstring) on x (P, s**L) tokens in range(v), y (P,).

    k-means at each level uses ``seed`` (int, or Generator: one draw per level). Cost: L - 1 k-means runs on at most v**s points.
    """
    x, y = np.asarray(x, dtype=np.int64), np.asarray(y, dtype=np.int64)
    n_c, v, s = check_int("n_c", n_c), check_int("v", v), check_int("s", s, minimum=2)
    if x.ndim != 2 or y.shape != (x.shape[0],) or x.shape[0] == 0:
        raise ValueError(f"expected x (P >= 1, d) and y (P,), got {x.shape} and {y.shape}")
    L = 1
    while s**L < x.shape[1]:
        L += 1
    if s**L != x.shape[1]:
        raise ValueError(f"the input length d = {x.shape[1]} is not a power of s = {s}")
    symbols, cluster_maps = x, []
    for _ in range(L - 1):
        counts = tuple_class_counts(symbols, y, v=v, n_c=n_c, s=s)
        observed = np.flatnonzero(counts.sum(axis=0))
        table = np.full(v**s, UNKNOWN, dtype=np.int64)
        table[observed] = kmeans_labels(centred_correlations(counts)[observed], min(v, observed.size), seed)
        cluster_maps.append(table)
        symbols = reduce_patches(symbols, table, v, s)
    counts = tuple_class_counts(symbols, y, v=v, n_c=n_c, s=s)
    top_classes = np.where(counts.sum(axis=0) > 0, counts.argmax(axis=0), UNKNOWN)
    fallback = int(np.bincount(y, minlength=n_c).argmax())
    return LayerwiseClassifier(v, s, cluster_maps, top_classes, fallback)


def layerwise_error_curve(grammar, P_values, P_test: int, seed) -> np.ndarray:
    """Test error (len(P_values),) of the layer-wise algorithm trained on nested sets of sizes P_values,
    all disjoint from one test set of P_test data (drawn together from ``seed``, int or Generator,
    then the k-means seeds)."""
    P_values = [check_int("P", P) for P in P_values]
    rng = as_generator(seed)
    (x, y), (x_test, y_test) = grammar.sample_train_test(max(P_values), check_int("P_test", P_test), rng)
    errors = []
    for P in P_values:
        classifier = fit_layerwise(x[:P], y[:P], v=grammar.v, n_c=grammar.n_c, s=grammar.s, seed=rng)
        errors.append(float(np.mean(classifier.predict(x_test) != y_test)))
    return np.array(errors)
