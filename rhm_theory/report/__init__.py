"""Layer 5, report: the verification report (checks) and the figures of a results file (figures).

May import every lower layer and matplotlib. Only cli imports it.
"""
