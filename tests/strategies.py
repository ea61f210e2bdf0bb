"""Hypothesis strategies shared by the tests: small feasible RHM settings and their grammars.

Constructive (no filtering, no fallback): the depth L is drawn first (L >= 2 in most draws), then
a multiplicity m that keeps p_max small, s, a vocabulary v feasible for that m, and n_c. Each draw
records a hypothesis event (L and whether m > 1), shown by ``pytest --hypothesis-show-statistics``.
"""

from hypothesis import event, settings as hypothesis_settings, strategies as st

from rhm_theory import Grammar
from rhm_theory.core.rules import n_nodes, p_max

MAX_V = MAX_M = MAX_N_C = 4
BASE_EXAMPLES = 100  # max_examples of the "ci" profile (tests/conftest.py): the sizes each test was tuned to


def examples(n: int) -> int:
    """``n`` examples scaled by the loaded hypothesis profile: n under "ci" (and hypothesis' default),
    4 n under "dev" (tests/conftest.py)."""
    return max(1, round(n * hypothesis_settings.default.max_examples / BASE_EXAMPLES))


@st.composite
def settings(draw, max_p_max: int = 4000, max_L: int = 3, min_m: int = 1):
    """(v, n_c, m, s, L) feasible, with p_max <= max_p_max (so enumeration is cheap) and m >= min_m."""
    L = draw(st.sampled_from(2 * list(range(max_L, 1, -1)) + [1]))  # L >= 2 in most draws
    m = draw(st.integers(min_m, max(m for m in range(1, MAX_M + 1) if m ** n_nodes(2, L) <= max_p_max)))
    s = draw(st.sampled_from([s for s in (2, 3) if m ** n_nodes(s, L) <= max_p_max]))
    # feasibility: m <= v**(s-1) when there are hidden levels, and n_c m <= v**s
    v = draw(st.integers(next(v for v in range(2, MAX_V + 1) if m <= v ** (s - 1 if L >= 2 else s)), MAX_V))
    n_c = draw(st.integers(1, min(MAX_N_C, v**s // m, max_p_max // p_max(1, m, s, L))))
    event(f"L = {L}, m {'> 1' if m > 1 else '= 1'}")
    return v, n_c, m, s, L


@st.composite
def grammars(draw, max_p_max: int = 4000, max_L: int = 3, min_m: int = 1):
    params = draw(settings(max_p_max, max_L, min_m))
    return Grammar.random(*params, seed=draw(st.integers(0, 2**32 - 1)))
