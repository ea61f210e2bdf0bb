"""The run spec: everything that determines one learning run (grammar parameters, P, seed, test-set
size and the training settings of rhm_theory.learning.config), its key, its derived seeds and the
test-error threshold that defines P* (the same chance-level threshold for power-law rules, whose learning
curve is a power law: docs/theory-power-law.md). Torch-free, so that sweeps and reports load without torch.

The run seed is split with numpy's SeedSequence into independent seeds for the rules, the data
(training and test sets), the network initialisation and batch order, and the synonymic exchanges:
two runs with the same seed and grammar parameters share their rules, whatever P.
"""

from __future__ import annotations

import hashlib
import json
import numbers
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from rhm_theory.core.rules import SPARSE_VARIANTS, sparse_p_max
from rhm_theory.core.validation import (
    INT64_LIMIT,
    check_int,
    check_params,
    check_per_decade,
    check_sparse_size,
    check_text,
    check_zipf,
    shown,
)
from rhm_theory.learning.config import CHOICES, TrainSettings, field_kinds

# Models with one hidden layer; P* uses the shallow threshold for them (docs/theory.md, 'Sample complexity').
SHALLOW_MODELS = ("fcn",)
SEED_ROLES = ("rules", "data", "init", "exchange")
# RunSpec fields set by the grammar parameters, the training-set size and the run seed; the other
# fields (SETTING_FIELDS) have defaults and are flags of ``rhm train`` and ``rhm pstar``.
GRID_FIELDS = ("v", "n_c", "m", "s", "L", "P", "seed")
RULES = ("random", "uncorrelated")  # rhm_theory.runs.experiment.GRAMMARS builds each
# Fields that take one of a fixed list of names (flags and sweep fields check them).
SPEC_CHOICES = {**CHOICES, "rules": RULES, "variant": SPARSE_VARIANTS}
# Fields added after runs were first stored: left out of the run key at their default, so old keys stay valid.
KEY_DEFAULTS = {
    "rules": "random",
    "task": "class",
    "s0": 0,
    "variant": "A",
    "history_per_decade": 8,
    "select": "last",
    "zipf": None,
}


@dataclass(frozen=True, kw_only=True)
class RunSpec(TrainSettings):
    """Everything that determines one run: the training fields of TrainSettings (with their
    defaults) plus the grammar, P training data and P_test test data (disjoint, so P + P_test <= p_max;
    i.i.d. for power-law rules, see ``zipf``), and the run seed.

    ``sensitivity_samples`` > 0: also measure S_{k,l} (rhm_theory.learning.sensitivity) on that many test
    data (at most P_test), and D_{k,l} when s0 > 0; 0 skips it.
    ``s0`` > 0: the data are those of the sparse RHM ``SparseRHM(grammar, s0, variant)`` (d = (s(s0+1))**L
    tokens in range(v+1); hierarchical nets with patch s(s0+1)); s0 = 0 is the RHM, whatever the variant.
    ``zipf`` = a > 0: power-law rules ``Grammar.random(..., zipf=a)`` (arXiv:2505.07067; docs/theory-power-law.md),
    random rules and s0 = 0 only. Training and test sets are then drawn i.i.d. (with replacement): a datum
    may repeat and a test datum may be a training datum, and P + P_test may exceed p_max. None: uniform rules.
    """

    v: int
    n_c: int
    m: int
    s: int
    L: int
    P: int
    seed: int
    P_test: int = field(
        default=2048, metadata={"help": "number of test data, disjoint from training (i.i.d. with zipf)"}
    )
    sensitivity_samples: int = field(
        default=0,
        metadata={"help": "also measure the synonymic sensitivities S_{k,l} on this many test data (0: skip)"},
    )
    rules: str = field(
        default="random",
        metadata={
            "help": "rules of the grammar: random (the RHM) or uncorrelated "
            "(no token-class correlations; m a multiple of v)"
        },
    )
    s0: int = field(default=0, metadata={"help": "sparsity of the sparse RHM (arXiv:2404.10727), s0 >= 0; 0: the RHM"})
    variant: str = field(default="A", metadata={"help": "layout variant of the sparse RHM (used when s0 > 0)"})
    zipf: float | None = field(
        default=None,
        metadata={
            "help": "power-law (Zipf) rules, probabilities ~ k**-(1+ZIPF) (arXiv:2505.07067), ZIPF > 0; training and test data are "
            "then drawn i.i.d., with replacement (they may overlap; P + P_test may exceed p_max); None: uniform rules"
        },
    )

    def __post_init__(self) -> None:
        if self.zipf is not None:  # before the float conversion below (an int beyond the float range is refused too)
            object.__setattr__(self, "zipf", check_zipf(self.zipf))
        for name, kind in field_kinds(RunSpec).items():  # numpy scalars and 1 for 1.0: one type, one run key
            value = getattr(self, name)
            if kind is float and isinstance(value, numbers.Real) and not isinstance(value, bool):
                object.__setattr__(self, name, float(value))
            elif kind is int and isinstance(value, numbers.Integral) and not isinstance(value, bool):
                object.__setattr__(self, name, int(value))
        v, n_c, m, s, L = check_params(self.v, self.n_c, self.m, self.s, self.L)
        check_int("P", self.P)
        check_int("P_test", self.P_test)
        check_int("seed", self.seed, minimum=0, maximum=INT64_LIMIT - 1)
        check_int("sensitivity_samples", self.sensitivity_samples, minimum=0)
        s0 = check_int("s0", self.s0, minimum=0)
        self.validate()
        check_text("device", self.device)
        check_per_decade(self.history_per_decade, "history_per_decade")
        if self.rules not in RULES:
            raise ValueError(f"unknown rules {self.rules!r}: expected one of {', '.join(RULES)}")
        if self.variant not in SPARSE_VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}: expected one of {', '.join(SPARSE_VARIANTS)}")
        if self.rules == "uncorrelated" and m % v:
            raise ValueError(f"rules 'uncorrelated' need m to be a multiple of v, got m = {m}, v = {v}")
        if s0 and self.task != "class":
            raise ValueError(f"s0 = {s0} needs task 'class' (got {self.task!r}): the sparse RHM has no next-token task")
        if self.zipf is not None and self.rules != "random":
            raise ValueError(
                f"zipf = {self.zipf} needs rules 'random' (got {self.rules!r}): power-law rules weight the random RHM"
            )
        if self.zipf is not None and s0:
            raise ValueError(f"zipf = {self.zipf} needs s0 = 0 (got s0 = {s0}): the sparse RHM takes uniform rules")
        check_sparse_size(n_c, m, s, L, s0, self.variant)
        data = sparse_p_max(n_c, m, s, L, s0, self.variant)
        if not self.iid and self.P + self.P_test > data:
            raise ValueError(
                f"P = {shown(self.P)} training data plus P_test = {shown(self.P_test)} test data exceed p_max = {shown(data)}: "
                f"P must be <= p_max - P_test = {shown(data - self.P_test)} (or lower P_test, --P-test on the command line)"
            )
        if self.sensitivity_samples and self.task != "class":
            raise ValueError(f"sensitivity_samples = {self.sensitivity_samples} needs task 'class' (got {self.task!r})")
        if self.sensitivity_samples > self.P_test:
            raise ValueError(
                f"sensitivity_samples = {shown(self.sensitivity_samples)} must be <= P_test = {shown(self.P_test)} "
                "(sensitivities are measured on test data)"
            )

    @property
    def iid(self) -> bool:
        """Whether the training and test sets are i.i.d. draws (with replacement): power-law rules; else
        P + P_test distinct data, split."""
        return self.zipf is not None

    def replace(self, **changes: Any) -> RunSpec:
        """A copy with some fields changed (validated again)."""
        return RunSpec(**{**asdict(self), **changes})

    def row(self) -> dict:
        """The spec as a flat dict, grid fields first (the leading columns of a result row)."""
        return {name: getattr(self, name) for name in GRID_FIELDS + SETTING_FIELDS}


SETTING_FIELDS = tuple(f.name for f in fields(RunSpec) if f.name not in GRID_FIELDS)


def run_key(spec: RunSpec) -> str:
    """Stable identifier of a run: a hash of all its spec fields (same spec, same key, on every machine);
    the fields of KEY_DEFAULTS count only when they differ from their default."""
    kept = {name: value for name, value in asdict(spec).items() if KEY_DEFAULTS.get(name, object()) != value}
    canonical = json.dumps(kept, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def derive_seeds(seed: int) -> dict[str, int]:
    """Independent 63-bit seeds for each role in SEED_ROLES, derived from the run seed by SeedSequence."""
    children = np.random.SeedSequence(check_int("seed", seed, minimum=0)).spawn(len(SEED_ROLES))
    return {
        role: int(child.generate_state(2, dtype=np.uint64)[0] >> np.uint64(1))
        for role, child in zip(SEED_ROLES, children)
    }


def error_threshold(n_c: int, model: str) -> float:
    """Test error that defines P* (docs/theory.md, 'Sample complexity'): 0.1 (1 - 1/n_c), or 0.7 (1 - 1/n_c)
    for shallow nets."""
    return (0.7 if model in SHALLOW_MODELS else 0.1) * (1.0 - 1.0 / n_c)
