"""Start-up time of the ``rhm`` command: median wall time of fresh interpreters running
``rhm --help``, ``rhm --version`` and ``rhm info``, next to a bare ``python -c pass``.

    python benchmarks/cli_startup.py [--repeats 7] [--tree PATH]

``--tree`` measures another checkout (e.g. an older commit in a git worktree) through PYTHONPATH.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ENTRY = "import sys; from rhm_theory.cli import main; sys.exit(main())"
CASES = {
    "python -c pass": ["-c", "pass"],
    "rhm --help": ["-c", ENTRY, "--help"],
    "rhm --version": ["-c", ENTRY, "--version"],
    "rhm info": ["-c", ENTRY, "info", "--v", "8", "--nc", "8", "--m", "8", "--s", "2", "--L", "6"],
}


def median_seconds(args: list[str], repeats: int, tree: str) -> tuple[float, int]:
    """Median wall time and the exit status of the last run."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()  # cwd = tree: `python -c` puts the working directory first on sys.path
        done = subprocess.run(
            [sys.executable, *args],
            cwd=tree,
            env=dict(os.environ, PYTHONPATH=tree),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times), done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--tree", default=str(Path(__file__).resolve().parents[1]), help="checkout to measure")
    args = parser.parse_args()
    print(f"tree {args.tree}, median of {args.repeats} fresh interpreters")
    for name, case in CASES.items():
        seconds, status = median_seconds(case, args.repeats, args.tree)
        print(f"{name:>16}: {seconds:.3f} s" + (f"  (exit status {status})" if status else ""))


if __name__ == "__main__":
    main()
