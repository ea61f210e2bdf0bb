"""Layer 2, theory: exact statistics of a grammar (exact), belief propagation (bp), the sympy closed
forms (symbolic), brute-force and Monte Carlo rule ensembles (ensemble), curve statistics (stats).

May import: core, numpy, scipy, sympy (symbolic only). Never torch.
"""
