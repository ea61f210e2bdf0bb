"""Hypothesis strategies shared by the tests: small feasible RHM settings and their grammars."""

from hypothesis import strategies as st

from rhm_theory import Grammar


@st.composite
def settings(draw, max_p_max: int = 4000, max_L: int = 3):
    """(v, n_c, m, s, L) feasible and with p_max <= max_p_max (so enumeration is cheap)."""
    s = draw(st.integers(2, 3))
    v = draw(st.integers(2, 4))
    L = draw(st.integers(1, max_L))
    m_max = v ** (s - 1) if L >= 2 else v**s
    m = draw(st.integers(1, min(m_max, 4)))
    n_c = draw(st.integers(1, min(v**s // m, 4)))
    n_nodes = sum(s**k for k in range(L))
    if n_c * m**n_nodes > max_p_max:
        # shrink to a feasible small setting instead of filtering (keeps generation fast)
        L, m = 1, min(m, 2)
        n_c = min(n_c, v**s // m)
    return v, n_c, m, s, L


@st.composite
def grammars(draw, max_p_max: int = 4000, max_L: int = 3):
    params = draw(settings(max_p_max, max_L))
    return Grammar.random(*params, seed=draw(st.integers(0, 2**32 - 1)))
