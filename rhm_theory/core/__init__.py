"""Layer 1, core: parameter checks, production rules, the Grammar, exact sampling, networkx views.

May import: numpy, networkx and the standard library; nothing else from rhm_theory.
"""
