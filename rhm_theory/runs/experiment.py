"""One learning experiment: a run spec (grammar parameters, P, seed, model and training settings) -> a
tidy result row. ``run_one`` is a pure top-level function of its spec, so it runs unchanged in a
process pool or on a remote worker; the caller stores the rows (rhm_theory.runs.store).

The run seed is split with numpy's SeedSequence into independent seeds for the rules, the data
(training and test sets), the network initialisation and batch order, and the synonymic exchanges:
two runs with the same seed and grammar parameters share their rules, whatever P.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass

import numpy as np

from rhm_theory.core.grammar import Grammar
from rhm_theory.learning.models import MODEL_NAMES
from rhm_theory.learning.sensitivity import synonymic_sensitivity
from rhm_theory.learning.training import TrainConfig, train
from rhm_theory.core.validation import check_int, check_params

# Models with one hidden layer; P* uses the shallow threshold for them (docs/theory.md, 'Sample complexity').
SHALLOW_MODELS = ("fcn",)
SEED_ROLES = ("rules", "data", "init", "exchange")
# RunSpec fields passed unchanged to rhm_theory.learning.training.TrainConfig (its seed is the derived "init" seed).
TRAINING_FIELDS = ("model", "width", "parametrization", "optimizer", "lr", "momentum", "batch_size",
                   "loss_threshold", "max_epochs", "max_steps", "device")


@dataclass(frozen=True)
class RunSpec:
    """Everything that determines one run. P training data and P_test test data (disjoint).

    ``sensitivity_samples`` > 0: also measure S_{k,l} (rhm_theory.learning.sensitivity) on that many test
    data (at most P_test); 0 skips it.
    """

    v: int
    n_c: int
    m: int
    s: int
    L: int
    P: int
    seed: int
    P_test: int = 2048
    model: str = "cnn"
    width: int = 256
    parametrization: str = "mean_field"
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    batch_size: int = 128
    loss_threshold: float = 1e-3
    max_epochs: int = 300
    max_steps: int | None = None
    device: str = "cpu"
    sensitivity_samples: int = 0

    def __post_init__(self):
        v, n_c, m, s, L = check_params(self.v, self.n_c, self.m, self.s, self.L)
        check_int("P", self.P)
        check_int("P_test", self.P_test)
        check_int("seed", self.seed, minimum=0)
        check_int("width", self.width)
        check_int("sensitivity_samples", self.sensitivity_samples, minimum=0)
        if self.model not in MODEL_NAMES:
            raise ValueError(f"unknown model {self.model!r}: expected one of {', '.join(MODEL_NAMES)}")
        p_max = n_c * m ** sum(s**k for k in range(L))
        if self.P + self.P_test > p_max:
            raise ValueError(
                f"P = {self.P} training data plus P_test = {self.P_test} test data exceed p_max = {p_max}: "
                f"P must be <= p_max - P_test = {p_max - self.P_test}"
            )
        if self.sensitivity_samples > self.P_test:
            raise ValueError(
                f"sensitivity_samples = {self.sensitivity_samples} must be <= P_test = {self.P_test} "
                "(sensitivities are measured on test data)"
            )

    def replace(self, **changes) -> "RunSpec":
        """A copy with some fields changed (validated again)."""
        return RunSpec(**{**asdict(self), **changes})


def run_key(spec: RunSpec) -> str:
    """Stable identifier of a run: a hash of all its spec fields (same spec, same key, on every machine)."""
    canonical = json.dumps(asdict(spec), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def derive_seeds(seed: int) -> dict[str, int]:
    """Independent 63-bit seeds for each role in SEED_ROLES, derived from the run seed by SeedSequence."""
    children = np.random.SeedSequence(check_int("seed", seed, minimum=0)).spawn(len(SEED_ROLES))
    return {role: int(child.generate_state(2, dtype=np.uint64)[0] >> np.uint64(1)) for role, child in zip(SEED_ROLES, children)}


def error_threshold(n_c: int, model: str) -> float:
    """Test error that defines P* (docs/theory.md, 'Sample complexity'): 0.1 (1 - 1/n_c), or 0.7 (1 - 1/n_c) for shallow nets."""
    return (0.7 if model in SHALLOW_MODELS else 0.1) * (1.0 - 1.0 / n_c)


def run_one(spec: RunSpec, progress: bool = False) -> dict:
    """Train one network as ``spec`` says and return its row: every spec field, the run key, the
    derived seeds, test_error, train_loss, epochs, steps, seconds (training), stop_reason, wall_seconds
    (whole run) and, when asked, S_k{k}_l{l} for every hidden layer k and level l.
    """
    start = time.perf_counter()
    seeds = derive_seeds(spec.seed)
    grammar = Grammar.random(spec.v, spec.n_c, spec.m, spec.s, spec.L, seed=seeds["rules"])
    train_set, test_set = grammar.sample_train_test(spec.P, spec.P_test, seed=seeds["data"])
    config = TrainConfig(**{name: getattr(spec, name) for name in TRAINING_FIELDS}, seed=seeds["init"], progress=progress)
    result = train(grammar, train_set, test_set, config)
    row = {"key": run_key(spec), **asdict(spec), **{f"{role}_seed": value for role, value in seeds.items()}}
    row.update(
        test_error=float(result.test_error),
        train_loss=float(result.train_loss),
        epochs=int(result.epochs),
        steps=int(result.steps),
        seconds=float(result.seconds),
        stop_reason=str(result.stop_reason),
    )
    if spec.sensitivity_samples:
        S = synonymic_sensitivity(
            result.model, grammar, test_set[0][: spec.sensitivity_samples], seed=seeds["exchange"], device=spec.device
        )
        row.update({f"S_k{k + 1}_l{l + 1}": float(S[k, l]) for k in range(S.shape[0]) for l in range(S.shape[1])})
    row["wall_seconds"] = time.perf_counter() - start
    return row

