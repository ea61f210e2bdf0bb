"""Synonym detection from token-class correlations: clustering of correlation vectors.

Synonyms at the lowest level are the m s-tuples owned by one level-2 symbol; they have identical
correlation vectors f(. | mu) = P(class | patch = mu). From P samples, every tuple gets the centred
vector n_c f^(. | mu) - 1 (length n_c); the v m tuples of the grammar's lowest level are grouped into
v clusters and scored against the true synonym classes. Two methods (docs/theory-clustering.md):
``"kmeans"`` runs k-means on the vectors themselves; ``"debiased"`` first embeds them with the
leading eigenvectors of their Gram matrix without its diagonal (the inner products of different
tuples, whose independent sampling noises do not bias them), then runs k-means on the embedding.
The paper (arXiv:2307.02129, Appendix D, Fig. 10) reports that its layer-wise algorithm, which
clusters representations built from these correlations, succeeds at P ~ sqrt(n_c) m^L instead of the
n_c m^L at which each correlation is detectable (Eq. 10); the signal-to-noise count behind it holds
for the inner products of different tuples (the debiased statistic) while P < n_c m^L, and
docs/theory-clustering.md gives what verification/synonyms.py measures for both methods.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import adjusted_rand_score
from threadpoolctl import threadpool_limits

from rhm_theory.core.grammar import Grammar
from rhm_theory.core.rules import tuples_to_codes
from rhm_theory.core.validation import as_generator, check_int
from rhm_theory.theory.exact import class_posterior, class_tuple_probs, joint_counts
from rhm_theory.theory.stats import first_crossing


# ----- correlation vectors ----------------------------------------------------------------------
def tuple_class_counts(x, y, *, v: int, n_c: int, s: int, patch: int | None = None) -> np.ndarray:
    """Counts (n_c, v**s) of (class, s-tuple) over the data ``x`` (P, d), ``y`` (P,).

    ``patch``: index of the input patch (positions patch*s .. patch*s+s-1); None pools all d/s
    patches (each datum then contributes d/s tuple occurrences).
    """
    x, y = np.asarray(x, dtype=np.int64), np.asarray(y, dtype=np.int64)
    if x.ndim != 2 or x.shape[1] % s or y.shape != (x.shape[0],):
        raise ValueError(f"expected x (P, d) with d a multiple of s={s} and y (P,), got {x.shape} and {y.shape}")
    n_patches = x.shape[1] // s
    codes = tuples_to_codes(x.reshape(x.shape[0], n_patches, s), v)
    if patch is not None:
        if not 0 <= patch < n_patches:
            raise ValueError(f"patch must be in range({n_patches}) (d/s patches), got {patch}")
        codes = codes[:, patch : patch + 1]
    return joint_counts(codes, np.broadcast_to(y[:, None], codes.shape), n_c=n_c, n_keys=v**s)


def centred_correlations(counts) -> np.ndarray:
    """Centred correlation vectors (v**s, n_c): n_c P(class | tuple) - 1 from counts (n_c, v**s).

    A tuple never observed carries no information and gets the zero vector (uniform posterior).
    Works for integer counts and for population probabilities (uniform class prior).
    """
    posterior = class_posterior(np.asarray(counts, dtype=float))
    return np.where(posterior.mask, 0.0, posterior.shape[0] * posterior.data - 1.0).T


def population_tuple_probs(grammar: Grammar, patch: int | None = None) -> np.ndarray:
    """Exact P(patch = mu | class) (n_c, v**s); ``patch=None`` sums over all d/s patches."""
    patches = range(grammar.d // grammar.s) if patch is None else [patch]
    return sum(class_tuple_probs(grammar, j) for j in patches)


def lowest_level_synonyms(grammar: Grammar) -> tuple[np.ndarray, np.ndarray]:
    """The v m tuple codes of the lowest level (v m,) and their synonym class = owning symbol (v m,)."""
    rules = grammar.rules[-1]  # (v or n_c, m, s): productions of the symbols just above the input
    codes = tuples_to_codes(rules.reshape(-1, grammar.s), grammar.v)
    owners = np.repeat(np.arange(rules.shape[0]), grammar.m)
    return codes, owners


# ----- clustering and its scores ----------------------------------------------------------------
def _sklearn_seed(seed) -> int:
    """An int random_state for scikit-learn: the int seed itself, or one draw from a Generator."""
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(2**31))
    return check_int("seed", seed, minimum=0)


def kmeans_labels(vectors, n_clusters: int, seed) -> np.ndarray:
    """k-means (scikit-learn, 10 restarts) cluster labels of the rows; ``seed``: an int or a numpy
    Generator (one int drawn from it for scikit-learn).

    Raises ValueError if there are fewer rows than clusters; identical rows (e.g. unseen tuples) are
    allowed, and scikit-learn's warning about fewer distinct points than clusters is silenced. Runs on
    one OpenMP thread (threadpoolctl, a scikit-learn dependency), scoped to this call: at these sizes
    (at most v**s rows) threads only add overhead, ten-fold on a busy machine.
    """
    vectors = np.asarray(vectors, dtype=float)
    n_clusters = check_int("n_clusters", n_clusters)
    if vectors.shape[0] < n_clusters:
        raise ValueError(f"cannot form n_clusters = {n_clusters} clusters from {vectors.shape[0]} vectors")
    kmeans = KMeans(n_clusters=n_clusters, n_init=10, random_state=_sklearn_seed(seed))
    with warnings.catch_warnings(), threadpool_limits(limits=1, user_api="openmp"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        return kmeans.fit_predict(vectors)


@dataclass(frozen=True)
class ClusteringScore:
    """Permutation-invariant agreement of a clustering with the true synonym classes.

    ``ari``: adjusted Rand index (1 perfect, about 0 for chance). ``majority_fraction``: fraction of
    tuples whose cluster is the most common cluster of their synonym class.
    ``error`` = 1 - ari is the clustering error used for P_cluster.
    """

    ari: float
    majority_fraction: float

    @property
    def error(self) -> float:
        return 1.0 - self.ari


def score_clustering(true_classes, predicted) -> ClusteringScore:
    """Score predicted cluster labels (n,) against true classes (n,)."""
    true_classes, predicted = np.asarray(true_classes), np.asarray(predicted)
    if true_classes.shape != predicted.shape or true_classes.ndim != 1:
        raise ValueError(
            f"true and predicted labels must be 1-d of equal length, got {true_classes.shape} and {predicted.shape}"
        )
    _, true_index = np.unique(true_classes, return_inverse=True)
    _, pred_index = np.unique(predicted, return_inverse=True)
    table = np.zeros((true_index.max() + 1, pred_index.max() + 1), dtype=np.int64)
    np.add.at(table, (true_index, pred_index), 1)
    majority = table.max(axis=1).sum() / true_classes.size
    return ClusteringScore(float(adjusted_rand_score(true_classes, predicted)), float(majority))


METHODS = ("kmeans", "debiased")


def debiased_embedding(vectors, rank: int) -> np.ndarray:
    """Rows (n, rank) whose inner products approximate those of ``vectors`` (n, k) between different rows.

    The Gram matrix of the rows has its diagonal (each row's squared norm, which carries that row's
    own noise) set to zero; the embedding is its ``rank`` leading eigenvectors scaled by the square
    roots of their (clipped at 0) eigenvalues.
    """
    vectors = np.asarray(vectors, dtype=float)
    rank = check_int("rank", rank, 1)
    if rank > vectors.shape[0]:
        raise ValueError(f"rank = {rank} exceeds the number of vectors {vectors.shape[0]}")
    gram = vectors @ vectors.T
    np.fill_diagonal(gram, 0.0)
    values, vectors_ = np.linalg.eigh(gram)
    top = np.argsort(values)[::-1][:rank]
    return vectors_[:, top] * np.sqrt(np.clip(values[top], 0.0, None))


def cluster_synonyms(grammar: Grammar, counts, seed, method: str = "kmeans") -> ClusteringScore:
    """Cluster the grammar's lowest-level tuples by their correlation vectors from ``counts``
    (n_c, v**s: empirical counts or population probabilities) into v groups and score them.
    ``seed`` (int or Generator) seeds k-means.

    ``method``: "kmeans" (k-means on the vectors) or "debiased" (k-means on the
    :func:`debiased_embedding` of rank min(v, n_c - 1), the rank of the noise-free vectors).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    codes, owners = lowest_level_synonyms(grammar)
    vectors = centred_correlations(counts)[codes]
    if method == "debiased":
        vectors = debiased_embedding(vectors, min(grammar.v, grammar.n_c - 1))
    return score_clustering(owners, kmeans_labels(vectors, len(np.unique(owners)), seed))


# ----- P sweep, P_cluster and the scaling fit ---------------------------------------------------
def clustering_error_curve(grammar: Grammar, P_values, seed, patch: int | None = 0, methods=("kmeans",)) -> np.ndarray:
    """Clustering errors 1 - ARI (len(methods), len(P_values)) on nested training sets of the given sizes.

    ``seed`` (int or Generator) draws one sample of max(P_values) distinct data, then the k-means
    seed; size P uses the sample's first P data (a uniform P-subset, since the sample is in random
    order); every method and size uses the same k-means seed.
    """
    P_values = np.asarray([check_int("P", P) for P in P_values])
    rng = as_generator(seed)
    x, y = grammar.sample(int(P_values.max()), rng)
    kmeans_seed = int(rng.integers(2**31))
    counts = [
        tuple_class_counts(x[:P], y[:P], v=grammar.v, n_c=grammar.n_c, s=grammar.s, patch=patch) for P in P_values
    ]
    return np.array([[cluster_synonyms(grammar, c, kmeans_seed, method).error for c in counts] for method in methods])


@dataclass(frozen=True)
class PowerLawFit:
    """Fit P_cluster = prefactor * prod_i scale_i**exponents[i]; [ci_low[i], ci_high[i]] are 95%
    bootstrap intervals from ``n_boot`` resamples (those where every crossing stayed inside its
    sweep); ``crossings``: the measured P_cluster of each setting."""

    exponents: np.ndarray
    prefactor: float
    ci_low: np.ndarray
    ci_high: np.ndarray
    n_boot: int
    crossings: np.ndarray

    @property
    def exponent(self) -> float:
        """The exponent of a single-scale fit."""
        if self.exponents.size != 1:
            raise ValueError(f"not a single-scale fit: it has {self.exponents.size} exponents (read .exponents)")
        return float(self.exponents[0])


def fit_crossing_power_law(sweeps, scales, threshold: float, n_boot: int = 1000, *, seed) -> PowerLawFit:
    """Fit the crossing points of several settings as a power law of their predicted scales.

    ``sweeps``: one pair (P_values (n_P,), errors (n_seeds, n_P)) per setting (rows: independent
    grammars and samples). ``scales``: (n_settings,) one predicted scale per setting (e.g.
    sqrt(n_c) m**L), or (n_settings, k) k factors fitted with separate exponents (e.g. n_c and m**L).
    Each setting's P_cluster is the crossing of its seed-averaged curve
    (:func:`rhm_theory.theory.stats.first_crossing`, the same rule as P*); log P_cluster is fitted linearly in
    the log scales (least squares, with an intercept). The intervals resample the seeds of every
    setting (stratified bootstrap), so they measure sampling noise, not model error. Raises
    ValueError if a crossing lies outside its sweep or there are too few settings.
    """
    log_scales = np.log(np.asarray(scales, dtype=float).reshape(len(scales), -1))
    n_settings, k = log_scales.shape
    if len(sweeps) != n_settings or n_settings < k + 1:
        raise ValueError(
            f"need one sweep per setting and more settings than exponents, got {len(sweeps)} sweeps, "
            f"{n_settings} settings and {k} exponents"
        )
    design = np.column_stack([log_scales, np.ones(n_settings)])
    grids = [np.asarray(P_values, dtype=float) for P_values, _ in sweeps]
    curves = [np.atleast_2d(np.asarray(errors, dtype=float)) for _, errors in sweeps]

    def crossings(rows) -> np.ndarray:
        found = [first_crossing(P, c[r].mean(axis=0), threshold) for P, c, r in zip(grids, curves, rows)]
        return np.array([P if status == "ok" else np.nan for P, status in found])

    def coefficients(points) -> np.ndarray:  # k exponents, then the log prefactor
        return np.linalg.lstsq(design, np.log(points), rcond=None)[0]

    points = crossings([np.arange(c.shape[0]) for c in curves])
    if np.isnan(points).any():
        bad = np.flatnonzero(np.isnan(points)).tolist()
        raise ValueError(f"the error curves of settings {bad} do not cross threshold {threshold} inside their sweeps")
    fitted = coefficients(points)
    rng = as_generator(seed)
    boot = []
    for _ in range(check_int("n_boot", n_boot)):
        resampled = crossings([rng.integers(0, c.shape[0], c.shape[0]) for c in curves])
        if not np.isnan(resampled).any():
            boot.append(coefficients(resampled)[:k])
    if not boot:
        raise ValueError("no bootstrap resample kept every crossing inside its sweep")
    low, high = np.quantile(np.array(boot), [0.025, 0.975], axis=0)
    return PowerLawFit(fitted[:k], float(np.exp(fitted[k])), low, high, len(boot), points)
