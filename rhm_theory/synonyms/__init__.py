"""Layer 3, synonyms: synonym detection from token-class correlations (clustering), one step of
gradient descent (one_step), the layer-wise algorithm (layerwise), the uncorrelated RHM (uncorrelated).

May import: core, theory (not symbolic), numpy, scikit-learn. Never torch or sympy.
"""
