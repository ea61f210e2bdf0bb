"""``rhm diffuse``: forward-backward experiments with the exact BP denoiser at several noise levels.

For each noise level: P data are noised by the channel, resampled from the exact posterior, and the
retention of every level (tokens first, class last), the fraction of tokens changed, the
susceptibility and the correlation of changes are printed, with the mean-field prediction of
rhm_theory.theory.denoising_theory. ``--json`` prints one strict-JSON object.
"""

from __future__ import annotations

import json

import numpy as np

from rhm_theory import Grammar
from rhm_theory.core.validation import check_int, check_params
from rhm_theory.theory import denoising_theory, diffusion
from rhm_theory.theory.noise import CHANNELS, check_channel, check_noise

from . import add_grammar_args


def parse_noise_levels(text: str) -> list[float]:
    """ "0.1,0.2" -> [0.1, 0.2]; each level must be a number in [0, 1]."""
    levels = []
    for item in text.split(","):
        try:
            value = float(item)
        except ValueError:
            raise ValueError(
                f"--noise must be a comma-separated list of numbers in [0, 1], got {item.strip()!r}"
            ) from None
        levels.append(check_noise(value))
    return levels


def run(args) -> int:
    levels = parse_noise_levels(args.noise)
    channel = check_channel(args.channel)
    P = check_int("P", args.P)
    max_distance = check_int("max-distance", args.max_distance, minimum=0)
    v, n_c, _, s, L = check_params(args.v, args.nc, args.m, args.s, args.L)
    diffusion.check_experiment_size(P, s**L, v, n_c)  # before the grammar and data are drawn
    grammar = Grammar.random(args.v, args.nc, args.m, args.s, args.L, seed=args.seed)
    rng = np.random.default_rng(check_int("sample-seed", args.sample_seed, minimum=0))
    x, _ = grammar.sample(P, seed=rng, replace=True)
    critical = denoising_theory.critical_noise(grammar.v, grammar.m, grammar.s, channel=channel)
    results = []
    for level in levels:
        row = diffusion.forward_backward(grammar, x, level, channel=channel, seed=rng).to_dict()
        row["change_correlation"] = row["change_correlation"][: max_distance + 1]
        row["mean_field_retention"] = denoising_theory.retention_profile(
            grammar.v, grammar.m, grammar.s, grammar.L, level, channel=channel
        )
        results.append(row)
    if args.json:
        document = {
            "grammar": grammar.params,
            "seed": args.seed,
            "sample_seed": args.sample_seed,
            "P": P,
            "channel": channel,
            "mean_field_critical_noise": critical,
            "results": results,
        }
        print(json.dumps(document, allow_nan=False))
        return 0
    print(f"{grammar!r}, channel {channel}, P = {P}; mean-field critical noise: {critical}")
    print(
        f"{'noise':>6} {'class kept':>10} {'mean-field':>10} {'tokens changed':>14} {'susceptibility':>14}  retention by level (tokens first)"
    )
    for row in results:
        levels_text = " ".join(f"{r:.3f}" for r in row["retention"])
        print(
            f"{row['noise']:>6.3f} {row['class_retention']:>10.3f} {row['mean_field_retention'][-1]:>10.3f} "
            f"{row['tokens_changed']:>14.3f} {row['susceptibility']:>14.3f}  {levels_text}"
        )
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "diffuse",
        description=__doc__,
    )
    add_grammar_args(parser)
    parser.add_argument("--noise", required=True, help="comma-separated noise levels in [0, 1], e.g. 0.1,0.2,0.3")
    parser.add_argument("--channel", default="uniform", choices=CHANNELS, help="noise channel (default: %(default)s)")
    parser.add_argument("--P", type=int, default=200, help="number of data (default: %(default)s)")
    parser.add_argument(
        "--sample-seed", type=int, default=1, help="seed of the data, noise and resampling (default: %(default)s)"
    )
    parser.add_argument(
        "--max-distance",
        type=int,
        default=32,
        help="largest distance of the change correlation printed (default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)
