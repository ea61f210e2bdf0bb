"""The Random Hierarchy Model grammar: validated parameters and production rules (docs/theory.md, 'The model').

Rules are a list of L integer arrays in top-down order: ``rules[0]`` has shape (n_c, m, s) and holds
the class productions (entries are level-L symbols); ``rules[k]`` for k >= 1 has shape (v, m, s) and
holds the productions of the level-(L-k+1) symbols (entries are level-(L-k) symbols, level 1 being
the input alphabet). Within one level no s-tuple appears twice (the grammar is unambiguous).

Rule probabilities ``probs`` (rhm_theory.core.rule_probs): L float64 arrays (n_c, m) then (v, m), in the
order of the rules; 1/m everywhere for the RHM, power-law (Zipf) rows for the model of arXiv:2505.07067.
"""

from __future__ import annotations

import json
import os
from functools import cached_property

import numpy as np

from rhm_theory.core import graphs, rule_probs, sampling
from rhm_theory.core.rules import codes_to_tuples, draw_distinct, n_nodes, p_max, tuples_to_codes
from rhm_theory.core.validation import as_generator, check_int, check_params, check_zipf, shown

JSON_FORMAT = "rhm-grammar"
JSON_VERSION = 1


class Grammar:
    """An RHM grammar. Build with :meth:`random`, :meth:`from_rules`, :meth:`from_json` or
    :meth:`from_networkx`; never mutated after construction.

    Attributes: ``v, n_c, m, s, L`` (the paper's names), ``d = s**L`` input tokens,
    ``n_nodes = (s**L - 1)/(s - 1)`` productions per datum, ``p_max`` (exact int), ``probs`` (rule
    probabilities, see :attr:`probs`), ``zipf`` (the power-law exponent a the probabilities were drawn
    with, or None) and ``weighted`` (False when every probability is exactly 1/m).

    ``probs=None`` is 1/m everywhere: the same grammar, data and statistics as uniform ``probs`` given
    explicitly. ``zipf`` labels power-law probabilities: each row of ``probs`` must then be a permutation
    of rule_probs.zipf_weights(m, zipf).
    """

    def __init__(self, rules, v, probs=None, *, zipf=None):
        v = check_int("v", v)
        if not isinstance(rules, (list, tuple)) or len(rules) == 0:
            raise ValueError(f"rules must be a non-empty list of L integer arrays, got {type(rules).__name__}")
        arrays = [_as_int_array(r, k) for k, r in enumerate(rules)]
        if arrays[0].ndim != 3:
            raise ValueError(f"rules[0] must have shape (n_c, m, s), got shape {arrays[0].shape}")
        n_c, m, s = arrays[0].shape
        L = len(arrays)
        self.v, self.n_c, self.m, self.s, self.L = check_params(v, n_c, m, s, L)
        for k, r in enumerate(arrays):
            owners = n_c if k == 0 else v
            if r.shape != (owners, m, s):
                raise ValueError(f"rules[{k}] must have shape ({owners}, {m}, {s}), got {r.shape}")
            bad = np.argwhere((r < 0) | (r >= v))
            if bad.size:
                where = tuple(int(i) for i in bad[0])
                raise ValueError(f"rules[{k}]{list(where)} = {int(r[where])} is out of range: symbols must be in range(v={v})")
            codes = tuples_to_codes(r.reshape(-1, s), v)
            uniq, first, counts = np.unique(codes, return_index=True, return_counts=True)
            if (counts > 1).any():
                dup = int(uniq[np.argmax(counts > 1)])
                owners_of = [divmod(int(i), m) for i in np.flatnonzero(codes == dup)]
                raise ValueError(
                    f"rules[{k}] is ambiguous: the tuple {tuple(int(b) for b in codes_to_tuples(dup, v, s))} "
                    f"appears {int(counts.max())} times (as (owner, production) {owners_of}); "
                    "each s-tuple may have at most one owner and productions must be distinct"
                )
        self._rules = [r.copy() for r in arrays]
        for r in self._rules:
            r.setflags(write=False)
        owners = [self.owners(k) for k in range(L)]
        self._probs = rule_probs.uniform_probs(owners, m) if probs is None else rule_probs.check_probs(probs, owners, m)
        self.weighted = probs is not None and not rule_probs.is_uniform(self._probs, m)
        self.zipf = None if zipf is None else _check_zipf_rows(self._probs, m, check_zipf(zipf))
        self.d = s**L
        self.n_nodes = n_nodes(s, L)
        self.p_max = p_max(n_c, m, s, L)

    # ----- construction -------------------------------------------------------------------------
    @classmethod
    def random(cls, v, n_c, m, s, L, seed, *, zipf=None) -> "Grammar":
        """Draw rules uniformly without replacement among the v**s tuples, independently per level.

        ``seed``: int or numpy Generator. The same seed gives the same rules on every machine.
        ``zipf=a`` (a finite real > 0): power-law rules (arXiv:2505.07067), each symbol's m productions
        get f_r proportional to r**-(1+a) in a random rank order; the orders are drawn from the same
        generator after all the rules, so the rules are those of ``zipf=None``.
        """
        v, n_c, m, s, L = check_params(v, n_c, m, s, L)
        if zipf is not None:
            zipf = check_zipf(zipf)
        rng = as_generator(seed)
        rules = []
        for k in range(L):
            owners = n_c if k == 0 else v
            codes = draw_distinct(v**s, owners * m, rng).reshape(owners, m)
            rules.append(codes_to_tuples(codes, v, s))
        if zipf is None:
            return cls(rules, v)
        probs = [rule_probs.draw_zipf_probs(r.shape[0], m, zipf, rng) for r in rules]
        return cls(rules, v, probs, zipf=zipf)

    @classmethod
    def from_rules(cls, rules, v, *, probs=None) -> "Grammar":
        """Grammar from explicit rules (list of L int arrays, top-down; see module docstring) and
        optional rule probabilities (list of L float arrays (owners, m); None: 1/m everywhere)."""
        return cls(rules, v, probs)

    @property
    def rules(self) -> list[np.ndarray]:
        """The rules as a list of L int64 arrays (copies), top-down: (n_c, m, s) then (v, m, s)."""
        return [r.copy() for r in self._rules]

    @property
    def rule_tables(self) -> tuple[np.ndarray, ...]:
        """Read-only views of the L rule arrays (no copy), top-down: (n_c, m, s) then (v, m, s)."""
        return tuple(self._rules)

    @property
    def probs(self) -> list[np.ndarray]:
        """Rule probabilities, L read-only float64 arrays, top-down: (n_c, m) then (v, m); entry [a, j] is
        the probability that symbol a uses production j of the rules, each row summing to 1."""
        return list(self._probs)

    @property
    def params(self) -> dict:
        return {"v": self.v, "n_c": self.n_c, "m": self.m, "s": self.s, "L": self.L}

    def owners(self, k: int) -> int:
        """Number of symbols owning the productions of rules[k] (n_c for k = 0, else v)."""
        return self.n_c if k == 0 else self.v

    @cached_property
    def slot_tables(self) -> list[list[np.ndarray]]:
        """Per level k and slot i: 1-D table, entry owner*m + j = slot i of production j of owner."""
        return [[np.ascontiguousarray(r.reshape(-1, self.s)[:, i]) for i in range(self.s)] for r in self._rules]

    @cached_property
    def tuple_lookup(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per level k: (sorted tuple codes, flat production index owner*m + j for each code)."""
        tables = []
        for r in self._rules:
            codes = tuples_to_codes(r.reshape(-1, self.s), self.v)
            order = np.argsort(codes)
            tables.append((codes[order], order.astype(np.int64)))
        return tables

    def find_productions(self, k: int, tuples) -> tuple[np.ndarray, np.ndarray]:
        """The production of rules[k] that emits each s-tuple (the grammar is unambiguous, so at most
        one does): tuples (..., s) ints in range(v) -> (index (...) int64 = owner * m + j, -1 where no
        production emits the tuple; found (...) bool)."""
        sorted_codes, production = self.tuple_lookup[k]
        codes = tuples_to_codes(tuples, self.v)
        where = np.searchsorted(sorted_codes, codes).clip(max=sorted_codes.size - 1)
        found = sorted_codes[where] == codes
        return np.where(found, production[where], -1), found

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, Grammar)
            and self.params == other.params
            and all(np.array_equal(a, b) for a, b in zip(self._rules, other._rules))
            and all(np.array_equal(a, b) for a, b in zip(self._probs, other._probs))
        )

    def __hash__(self):
        probs = tuple(p.tobytes() for p in self._probs) if self.weighted else ()  # unweighted: all 1/m
        return hash((tuple(self.params.values()), tuple(r.tobytes() for r in self._rules), probs))

    def __repr__(self) -> str:
        weights = f", zipf={self.zipf}" if self.zipf is not None else ", weighted" if self.weighted else ""
        return f"Grammar(v={self.v}, n_c={self.n_c}, m={self.m}, s={self.s}, L={self.L}{weights})"

    # ----- data (implemented in rhm_theory.core.sampling) -------------------------------------------------
    def sample(self, P, seed, replace=False):
        """P data ``(x, y)``: tokens (P, d) int64 in range(v), labels (P,) in range(n_c).

        Without replacement (default) the P data are distinct and uniform; P > p_max is an error.
        A weighted grammar needs replace=True: P i.i.d. data of its distribution (ValueError otherwise).
        """
        return sampling.sample(self, P, seed, replace=replace)

    def sample_train_test(self, P_train, P_test, seed, replace=False):
        """Train and test sets ((x_train, y_train), (x_test, y_test)): disjoint without replacement; a
        weighted grammar needs replace=True (both i.i.d.; see rhm_theory.core.sampling.sample_train_test)."""
        return sampling.sample_train_test(self, P_train, P_test, seed, replace=replace)

    def enumerate(self, max_items=2**22):
        """All p_max data ``(x, y)`` in canonical order; ValueError if p_max > max_items."""
        return sampling.enumerate_data(self, max_items=max_items)

    def decode(self, y, choices):
        """Tokens (P, d) from labels (P,) and production choices (P, n_nodes); see rhm_theory.core.sampling."""
        return sampling.decode(self, y, choices)

    def check_tokens(self, x, name: str = "tokens") -> np.ndarray:
        """Tokens ``x`` as int64 (P, d) in range(v), else ValueError naming ``name``."""
        return sampling.check_tokens(self, x, name)

    def parse(self, x):
        """Inverse of :meth:`decode`: tokens (P, d) -> (labels (P,), choices (P, n_nodes))."""
        return sampling.parse(self, x)

    # ----- JSON ----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The grammar as a JSON-ready dict; ``probs`` (and ``zipf``) only when present, so an unweighted
        grammar writes what it always did."""
        data = {
            "format": JSON_FORMAT,
            "version": JSON_VERSION,
            **self.params,
            "rules": [r.tolist() for r in self._rules],
        }
        if self.weighted:
            data["probs"] = [p.tolist() for p in self._probs]
        if self.zipf is not None:
            data["zipf"] = self.zipf
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Grammar":
        """Grammar from :meth:`to_dict`'s dict; ValueError naming the first missing or ill-typed field."""
        if not isinstance(data, dict):
            raise ValueError(f"an RHM grammar must be a JSON object, got {type(data).__name__}")
        if data.get("format") != JSON_FORMAT:
            raise ValueError(f"not an RHM grammar: format is {data.get('format')!r}, expected {JSON_FORMAT!r}")
        version = data.get("version")
        if isinstance(version, bool) or version != JSON_VERSION:
            raise ValueError(f"unsupported grammar version {version!r}, expected {JSON_VERSION}")
        missing = [k for k in ("v", "n_c", "m", "s", "L", "rules") if k not in data]
        if missing:
            raise ValueError(f"grammar JSON lacks the field(s) {', '.join(missing)}")
        if not isinstance(data["rules"], list):
            raise ValueError(f"grammar JSON field rules must be a list of L nested integer lists, got {type(data['rules']).__name__}")
        stated = {k: check_int(k, data[k]) for k in ("v", "n_c", "m", "s", "L")}
        check_params(*stated.values())
        try:
            rules = [np.asarray(r) for r in data["rules"]]
        except ValueError as error:  # ragged nested lists
            raise ValueError(f"grammar JSON rules must be rectangular integer arrays: {error}") from None
        grammar = cls(rules, stated["v"], data.get("probs"), zipf=data.get("zipf"))
        if stated != grammar.params:
            raise ValueError(f"grammar JSON parameters {stated} disagree with its rules {grammar.params}")
        return grammar

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "Grammar":
        """Grammar from :meth:`to_json`'s text; ValueError if it is not valid JSON of a grammar."""
        try:
            data = json.loads(text)
        except (TypeError, json.JSONDecodeError) as error:
            raise ValueError(f"grammar JSON is not valid JSON text: {error}") from None
        return cls.from_dict(data)

    def save(self, path: str | os.PathLike) -> None:
        with open(path, "w") as f:
            f.write(self.to_json())

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Grammar":
        with open(path) as f:
            return cls.from_json(f.read())

    # ----- networkx (implemented in rhm_theory.core.graphs) -------------------------------------------
    def to_networkx(self):
        """The rules as a networkx MultiDiGraph; see :func:`rhm_theory.core.graphs.grammar_to_networkx`."""
        return graphs.grammar_to_networkx(self)

    @classmethod
    def from_networkx(cls, graph) -> "Grammar":
        rules, v, probs = graphs.rules_from_networkx(graph)
        return cls(rules, v, probs, zipf=graph.graph.get("zipf"))

    def derivation_tree(self, x):
        """The tree of hidden symbols of one datum (tokens of shape (d,)); see rhm_theory.core.graphs."""
        return graphs.derivation_tree(self, x)


def _check_zipf_rows(probs: list[np.ndarray], m: int, zipf: float) -> float:
    """``zipf`` if every row of ``probs`` is a permutation of the power-law weights of exponent zipf, else ValueError."""
    weights = rule_probs.zipf_weights(m, zipf)
    for k, p in enumerate(probs):
        bad = ~(np.sort(p, axis=1)[:, ::-1] == weights).all(axis=1)
        if bad.any():
            a = int(np.argmax(bad))
            raise ValueError(f"probs[{k}][{a}] = {shown(p[a].tolist())} (symbol {a} in rules[{k}]) is not a permutation "
                             f"of the zipf = {zipf} weights {shown(weights.tolist())}")
    return zipf


def _as_int_array(r, k: int) -> np.ndarray:
    a = np.asarray(r)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.integer)):
        raise ValueError(f"rules[{k}] must be an integer array, got dtype {a.dtype}")
    return a.astype(np.int64)
