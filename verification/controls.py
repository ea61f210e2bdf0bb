"""Controls: the uncorrelated RHM (rhm_theory.synonyms.uncorrelated), where no token or tuple carries
information about the class, so the synonym-detection mechanism of the paper (arXiv:2307.02129, Fig. 9;
docs/theory.md, 'The uncorrelated RHM') has nothing to detect."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from rhm_theory.report.checks import Check, Section, section_main
from rhm_theory.synonyms.uncorrelated import uncorrelated_grammar
from rhm_theory.theory.exact import class_token_probs

S = 2
UNCORRELATED = (4, 4, 4, 3)  # (v, n_c, m, L)


def check_uncorrelated_exact(params) -> Check:
    v, n_c, m, L = params
    grammar = uncorrelated_grammar(v, n_c, m, S, L, seed=0)
    uniform = all((class_token_probs(grammar, j, exact=True) == Fraction(1, v)).all() for j in range(grammar.d))
    return Check(f"uncorrelated RHM {params}: exact P(x_j = mu | class) = 1/v at every position", uniform,
                 f"{grammar.d} positions x {n_c} classes x {v} tokens checked with exact fractions")


def run(out_dir: Path, quick: bool = True) -> Section:
    return Section("Controls: the uncorrelated RHM", [check_uncorrelated_exact(UNCORRELATED)],
                   "Uncorrelated RHM: every parent owns whole balanced blocks of tuples (rhm_theory.synonyms.uncorrelated).")


if __name__ == "__main__":
    section_main(run, __doc__)
