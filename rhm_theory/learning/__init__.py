"""Layer 3, learning: training settings (config, torch-free), torch encodings (encoding), networks
(models), the training loop (training), K networks trained at once (ensemble), synonymic sensitivity
of trained networks (sensitivity).

May import: core, theory (not symbolic), numpy, torch. Never sympy, synonyms, runs, report or cli.
"""
