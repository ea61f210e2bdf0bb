"""Training settings: the one table of training fields and defaults, shared by ``rhm train``,
``rhm pstar``, the sweep files' [training] section (rhm_theory.runs.sweep) and the run spec
(rhm_theory.runs.spec.RunSpec). Torch-free, so that specs, sweeps and reports load without torch.

Defaults follow the paper's protocol (arXiv:2307.02129; docs/theory.md, 'Networks and training
protocol'): mean-field CNN, SGD with momentum, cosine learning-rate schedule, stop at training loss 1e-3.
"""

from __future__ import annotations

import math
import typing
from dataclasses import dataclass, field, fields

from rhm_theory.core.validation import check_choice, check_int, check_per_decade

MODEL_NAMES = ("cnn", "lcn", "fcn", "deep_fcn", "transformer")
PARAMETRIZATIONS = ("mean_field", "standard")
OPTIMIZERS = ("sgd", "adam")
# class: predict the class from the d tokens; next-token: predict the last token x_d from the others,
# the last position replaced by a mask token (docs/theory-next-token.md, 'The learning task').
TASKS = ("class", "next-token")
# Fields that take one of a fixed list of names.
# Which network the test figures describe: the last one, or the best of up to EVAL_POINTS checkpoints by
# the cross-entropy on the first half of the test set, reported on the second half (rhm_theory.learning.training).
SELECTIONS = ("last", "best")
CHOICES = {
    "task": TASKS,
    "model": MODEL_NAMES,
    "parametrization": PARAMETRIZATIONS,
    "optimizer": OPTIMIZERS,
    "select": SELECTIONS,
}


def _setting(default, help: str):
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True, kw_only=True)
class TrainSettings:
    """The training fields of a run and their defaults (one table for every entry point).

    ``lr`` is multiplied by the model's ``lr_scale`` (width under mean field) for SGD; Adam uses it
    as given. ``max_epochs`` also sets the length of the cosine schedule (``max_steps`` overrides it
    when given), so it changes the result even when training stops earlier at ``loss_threshold``.
    """

    task: str = _setting("class", "class, or next-token (predict the masked last token)")
    model: str = _setting("cnn", "network")
    width: int = _setting(256, "hidden width / channels")
    parametrization: str = _setting("mean_field", "weight scaling")
    optimizer: str = _setting("sgd", "optimizer")
    lr: float = _setting(0.1, "learning rate before x lr_scale")
    momentum: float = _setting(0.9, "SGD momentum")
    batch_size: int = _setting(128, "SGD batch size")
    loss_threshold: float = _setting(1e-3, "stop when the epoch's mean training loss is below this")
    max_epochs: int = _setting(300, "epoch cap; also the length of the cosine learning-rate schedule")
    max_steps: int | None = _setting(None, "optional cap on SGD steps (then also the schedule length)")
    device: str = _setting("cpu", "torch device, e.g. cpu or cuda")
    history_per_decade: int = _setting(
        8, "learning-curve records (test error, train loss) per decade of SGD steps, log-spaced, plus the last step"
    )
    select: str = _setting(
        "last",
        "last: test figures of the final network; best: of the checkpoint with the lowest "
        "cross-entropy on the first half of the test set, measured on the second half",
    )

    def validate(self) -> None:
        """Raise ValueError naming the first training field that breaks its rule."""
        for name, choices in CHOICES.items():
            check_choice(name, getattr(self, name), choices)
        check_int("width", self.width)
        check_int("batch_size", self.batch_size)
        check_int("max_epochs", self.max_epochs)
        if self.max_steps is not None:
            check_int("max_steps", self.max_steps)
        check_per_decade(self.history_per_decade, "history_per_decade")
        for name in ("lr", "loss_threshold"):
            value = getattr(self, name)
            if isinstance(value, bool) or not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive finite number, got {value!r}")
        if not (0 <= self.momentum < 1):
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum!r}")

    def settings(self) -> dict:
        """The training fields as a dict (name -> value)."""
        return {name: getattr(self, name) for name in TRAINING_FIELDS}


@dataclass(frozen=True, kw_only=True)
class TrainConfig(TrainSettings):
    """Training settings plus the seed of the initialisation and batch order (required) and a
    progress-bar switch: the argument of rhm_theory.learning.training.train."""

    seed: int
    progress: bool = False

    def validate(self) -> None:
        super().validate()
        check_int("seed", self.seed, minimum=0)


TRAINING_FIELDS = tuple(f.name for f in fields(TrainSettings))


def field_kinds(cls) -> dict[str, type]:
    """The scalar type (int, float, str or bool) of every field of a settings dataclass; a field
    annotated ``X | None`` has kind X."""
    hints = typing.get_type_hints(cls)
    kinds = {}
    for f in fields(cls):
        options = [t for t in (typing.get_args(hints[f.name]) or (hints[f.name],)) if t is not type(None)]
        kinds[f.name] = options[0]
    return kinds
