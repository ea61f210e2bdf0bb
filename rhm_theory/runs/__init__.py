"""Layer 4, runs: the run spec (spec, torch-free), one run as a tidy row (experiment), many runs
with ensembles of seeds (batched), results files (store), local and Ray execution (backends), P*
measurements (pstar), sweep files (sweep, ``sweeps/*.toml``).

May import: core, theory, learning, numpy, torch, and ray inside the Ray backend only.
"""
