"""The ``rhm`` command line. Each sub-command lives in its own module exposing ``register(subparsers)``."""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import math
import sqlite3
import sys
from dataclasses import fields
from pathlib import Path

from rhm_theory.core.files import check_folder_path
from rhm_theory.core.validation import INT64_LIMIT, check_zipf, shown
from rhm_theory.learning.config import field_kinds
from rhm_theory.runs.spec import SETTING_FIELDS, SPEC_CHOICES, RunSpec

# Sub-command modules (rhm_theory/cli/<name>.py) and their one-line help. Add a new command here.
# Only the module of the command being run is imported (so `rhm --help` and `rhm info` load neither
# torch nor sympy); the others appear in the listing through this table.
COMMANDS = {
    "info": "parameters, d, p_max and feasibility of a setting",
    "sample": "draw data of a random grammar into an .npz file",
    "verify": "run the verification checks and write a report",
    "train": "train one network on RHM data and report its test error",
    "pstar": "measure P* (test error < threshold) over a grid of P and seeds, resumable",
    "theory": "exact rule-ensemble averages (sympy closed forms) at given parameters",
    "sweep": "run a sweep file (resumable; local processes or a Ray cluster)",
    "report": "figures and summary of a results file (partial ones too)",
    "diffuse": "forward-backward experiment: noise data, resample from the exact posterior, measure changes",
}


def integer(text: str) -> int:
    """How every ``type=int`` flag is parsed (registered by :class:`_Parser`): a decimal integer of
    magnitude below 2**63 (rhm_theory.core.validation.INT64_LIMIT), else a one-line error naming the
    bound (never Python's int-to-text limit)."""
    digits = text.strip().lstrip("+-").replace("_", "")
    if len(digits) > len(str(INT64_LIMIT)) and digits.isdecimal():
        raise argparse.ArgumentTypeError(
            f"integer of {len(digits)} digits is too large: integers on the command line must be below 2**63 in magnitude"
        )
    try:
        value = int(text) if digits.isascii() else None
    except ValueError:
        value = None
    if value is None:
        raise argparse.ArgumentTypeError(f"invalid integer {shown(text)}")
    if abs(value) >= INT64_LIMIT:
        raise argparse.ArgumentTypeError(
            f"integer {value} is too large: integers on the command line must be below 2**63 in magnitude"
        )
    return value


def add_grammar_args(parser: argparse.ArgumentParser, seed: bool = True) -> None:
    """The grammar flags shared by every command: --v --nc --m --s --L (and --seed)."""
    parser.add_argument("--v", type=int, required=True, help="vocabulary size per level")
    parser.add_argument("--nc", type=int, required=True, help="number of classes n_c")
    parser.add_argument("--m", type=int, required=True, help="multiplicity (synonyms per symbol)")
    parser.add_argument("--s", type=int, required=True, help="patch size (branching)")
    parser.add_argument("--L", type=int, required=True, help="number of levels")
    if seed:
        parser.add_argument("--seed", type=int, default=0, help="seed of the rules (default: %(default)s)")


def zipf_exponent(text: str) -> float:
    """How --zipf is parsed: a finite real number a > 0 (rhm_theory.core.validation.check_zipf), else a
    one-line error naming the value."""
    try:
        value = float(text)
    except ValueError:
        value = text
    try:
        return check_zipf(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_zipf_arg(parser: argparse.ArgumentParser) -> None:
    """--zipf A: power-law rules f_r ~ r**-(1+A) (arXiv:2505.07067), for the commands that take them."""
    parser.add_argument(
        "--zipf",
        type=zipf_exponent,
        default=None,
        metavar="A",
        help="power-law (Zipf) rules: each symbol's m productions get probabilities ~ r**-(1+A), "
        "ranks r = 1..m in a random order per symbol (A > 0; default: uniform rules)",
    )


def add_sparse_args(parser: argparse.ArgumentParser, default_s0=0) -> None:
    """The sparse-RHM flags (arXiv:2404.10727): --s0 (empty positions per child) and --variant A|B."""
    parser.add_argument(
        "--s0", type=int, default=default_s0, help="sparsity s0 >= 0 of the sparse RHM (default: %(default)s)"
    )
    parser.add_argument("--variant", choices=("A", "B"), default=None, help="sparse layout variant (default: A)")


def add_run_settings(parser: argparse.ArgumentParser) -> None:
    """One flag per run setting (rhm_theory.runs.spec.SETTING_FIELDS: the training fields, --P-test,
    --sensitivity-samples, --rules, --s0, --variant, --zipf) with the type, choices, help and default of the
    RunSpec field (--zipf parsed by :func:`zipf_exponent`)."""
    kinds = {**field_kinds(RunSpec), "zipf": zipf_exponent}
    group = parser.add_argument_group("run settings (rhm_theory.runs.spec.RunSpec)")
    for field in fields(RunSpec):
        if field.name in SETTING_FIELDS:
            group.add_argument(
                f"--{field.name.replace('_', '-')}",
                dest=field.name,
                type=kinds[field.name],
                default=field.default,
                choices=SPEC_CHOICES.get(field.name),
                help=f"{field.metadata['help']} (default: %(default)s)",
            )


def describe_data(spec: RunSpec) -> str:
    """The data of a run in words, e.g. ``RHM(v=8, n_c=8, m=4, s=2, L=3)``, ``RHM(..., zipf=1.5)`` (i.i.d. data
    of power-law rules) or ``sparse RHM A(..., s0=1)``."""
    grammar = f"v={spec.v}, n_c={spec.n_c}, m={spec.m}, s={spec.s}, L={spec.L}"
    if spec.zipf is not None:
        grammar += f", zipf={spec.zipf}"
    return f"sparse RHM {spec.variant}({grammar}, s0={spec.s0})" if spec.s0 else f"RHM({grammar})"


def run_settings(args: argparse.Namespace) -> dict:
    """The run settings given by the flags of :func:`add_run_settings`."""
    return {name: getattr(args, name) for name in SETTING_FIELDS}


def add_force_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs (default: refuse)")


def output_file(path, force: bool) -> Path:
    """``path`` as an output file name, checked before anything is computed: its folder exists, it is
    not a folder, and it does not exist yet unless ``force``."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"output {path} is a folder: give a file name")
    if not path.parent.is_dir():
        raise ValueError(f"output {path}: the folder {path.parent} does not exist (or is not a folder)")
    if path.exists() and not force:
        raise ValueError(f"output {path} exists: pass --force to overwrite it")
    return path


def shared_folder(path) -> Path:
    """``path`` as a folder that outputs are added to (created later with its parents; it may hold
    files already): not a file, and no file among its parents."""
    return check_folder_path("output folder", path)


def output_folder(path, force: bool) -> Path:
    """``path`` as an output folder (created later with its parents): not a file, no file among its
    parents, and empty unless ``force``."""
    path = shared_folder(path)
    if path.is_dir() and any(path.iterdir()) and not force:
        raise ValueError(f"output folder {path} is not empty: pass --force to overwrite the files in it")
    return path


def add_save_model_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--save-model",
        metavar="DIR",
        help="write each run's trained weights to DIR/<run key>.pt (state_dict) and its spec to DIR/<run key>.json",
    )


def runner_of(args: argparse.Namespace):
    """The function that executes one run: run_one, saving the trained network under ``--save-model``
    when given (a picklable partial, for worker processes)."""
    from rhm_theory.runs.experiment import run_one

    if not args.save_model:
        return run_one
    return functools.partial(run_one, save_model=str(shared_folder(args.save_model)))


def add_devices_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--devices",
        default=None,
        metavar="LIST",
        help="comma-separated torch devices, e.g. cuda:0,cuda:1: local runs are spread over them "
        "round-robin (the run keys do not depend on it; default: each run's --device)",
    )


def devices_of(args: argparse.Namespace) -> list[str] | None:
    """The device names of ``--devices`` (checked usable on this machine), or None."""
    from rhm_theory.runs.backends import check_devices

    if args.devices is None:
        return None
    names = [name.strip() for name in args.devices.split(",")]
    if not all(names):
        raise ValueError(
            f"--devices {args.devices!r} has an empty device name: give a comma-separated list such as cuda:0,cuda:1"
        )
    return check_devices(names)


def print_json(value) -> None:
    """Print ``value`` as one line of strict JSON: NaN and infinite floats become null (results that
    have them say why, e.g. stop_reason "diverged"); exact integers of any size (the sizes of a
    grammar are bounded by rhm_theory.core.validation.check_size, so their digits are too)."""
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        print(json.dumps(_finite(value), allow_nan=False))
    finally:
        sys.set_int_max_str_digits(limit)


def _finite(value):
    """``value`` with every NaN or infinite float (in nested dicts and lists) replaced by None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (exit code 2), like every rhm error, and
    whose ``type=int`` flags (its sub-parsers' too) are parsed by :func:`integer`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register("type", int, integer)

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``rhm`` parser; only ``command``'s sub-parser (imported on demand) has its flags."""
    from rhm_theory import __version__

    parser = _Parser(prog="rhm", description="Random Hierarchy Model: data, exact theory, experiments")
    parser.add_argument("--version", action="version", version=f"rhm {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name, summary in COMMANDS.items():
        if name == command:
            importlib.import_module(f"rhm_theory.cli.{name}").register(subparsers)
            sub = subparsers.choices[name]
            sub.description = sub.description or summary
        else:
            subparsers.add_parser(name, help=summary, add_help=False)
    return parser


def main(argv=None) -> int:
    """Run one sub-command. Bad input (ValueError), file-system and results-file errors print one line
    naming the problem and exit 2; Ctrl-C prints one line and exits 130 (finished runs stay stored)."""
    command = "rhm"
    argv = sys.argv[1:] if argv is None else list(argv)
    selected = next((word for word in argv if not word.startswith("-")), None)
    try:
        try:
            args = build_parser(selected).parse_args(argv)
        except SystemExit as exit:  # --help, or a flag error already printed on one line
            return exit.code
        command = f"rhm {args.command}"
        return int(args.func(args) or 0)
    except KeyboardInterrupt as error:
        detail = f": {error}" if str(error) else " by Ctrl-C (runs in flight abandoned; finished runs are stored)"
        print(f"{command}: interrupted{detail}", file=sys.stderr)
        return 130
    except (ValueError, OSError, sqlite3.Error) as error:  # bad input: one clear line, no traceback
        print(f"{command}: error: {_one_line(error)}", file=sys.stderr)
        return 2


def _one_line(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror and error.filename is not None:
        text = f"{error.filename}: {error.strerror}"
    else:
        text = str(error) or type(error).__name__
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
