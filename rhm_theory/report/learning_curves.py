"""Learning curves of a results file: training loss and test error vs SGD step (log axes) from the
history table (rhm_theory.runs.store.ResultsStore.history; records of rhm_theory.learning.history).

One row of two panels per setting (every spec field but P and the seed), one line per run coloured by
P (the seeds of one P share its colour); the legend names P, the row titles only the fields that vary
between settings, the figure title the constant ones (rhm_theory.report.figures.split_settings).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from rhm_theory.report.figures import legend_outside, new_figure, split_settings
from rhm_theory.runs.spec import GRID_FIELDS, KEY_DEFAULTS, SETTING_FIELDS

MAX_SETTINGS = 4  # rows of panels in one figure; the caption says when settings are left out
SETTING_FIELDS_OF_CURVES = tuple(name for name in GRID_FIELDS + SETTING_FIELDS if name not in ("P", "seed"))
TITLE_FIELDS = ("model", "width", "v", "n_c", "m", "s", "L", "s0", "rules", "task", "zipf")  # constants worth naming
NO_HISTORY = (
    "no run in this file has a stored history (runs stored before histories were recorded, or none finished yet)"
)


def curve_runs(rows: list[dict], history: list[dict]) -> dict[tuple, list[tuple[dict, list[dict]]]]:
    """The runs that have a history, grouped by setting (values of SETTING_FIELDS_OF_CURVES):
    setting -> [(row, its records by step)], sorted by (P, seed)."""
    records = defaultdict(list)
    for record in history:
        records[record["key"]].append(record)
    settings = defaultdict(list)
    for row in rows:
        if records.get(row.get("key")):
            setting = tuple(row.get(name) for name in SETTING_FIELDS_OF_CURVES)
            settings[setting].append((row, sorted(records[row["key"]], key=lambda record: record["step"])))
    for runs in settings.values():
        runs.sort(key=lambda run: (run[0]["P"], run[0]["seed"]))
    return dict(sorted(settings.items(), key=lambda item: _natural_order(item[0])))


def _natural_order(setting: tuple) -> list[tuple]:
    """Sort key of a setting: numbers in numeric order (n_c = 8 before 16), None last, mixed types apart."""
    return [(value is None, type(value).__name__, value) for value in setting]


def _named_fields(settings: list[tuple]) -> list[str]:
    """The fields worth naming: those that vary, and the constant TITLE_FIELDS not at a KEY_DEFAULTS default."""
    names = []
    for i, name in enumerate(SETTING_FIELDS_OF_CURVES):
        values = {setting[i] for setting in settings}
        if len(values) > 1 or (name in TITLE_FIELDS and values - {None, KEY_DEFAULTS.get(name)}):
            names.append(name)
    return names


def learning_curves_figure(rows: list[dict], history: list[dict]):
    """A matplotlib Figure of the learning curves (see the module docstring), or None when no run has
    a history. A zero test error is not drawn (log axis)."""
    from matplotlib import colormaps

    settings = curve_runs(rows, history)
    if not settings:
        return None
    names = _named_fields(list(settings))
    labels, constant = split_settings(
        [tuple(setting[SETTING_FIELDS_OF_CURVES.index(n)] for n in names) for setting in settings], names
    )
    shown = list(settings)[:MAX_SETTINGS]
    fig, axes = new_figure(len(shown), 2, figsize=(9, 2.6 * len(shown) + 0.6), squeeze=False)
    for (loss_ax, error_ax), setting, label in zip(axes, shown, labels):
        runs = settings[setting]
        sizes = sorted({row["P"] for row, _ in runs})
        colours = colormaps["viridis"](np.linspace(0.0, 0.85, len(sizes)))
        for row, records in runs:
            first_seed = row is next(r for r, _ in runs if r["P"] == row["P"])
            steps = np.array([record["step"] for record in records], dtype=float)
            for ax, column in ((loss_ax, "train_loss"), (error_ax, "test_error")):
                values = np.array([np.nan if r[column] is None else r[column] for r in records], dtype=float)
                ax.plot(
                    steps,
                    np.where(values > 0, values, np.nan),
                    color=colours[sizes.index(row["P"])],
                    lw=1.2,
                    alpha=0.85,
                    label=f"$P={row['P']}$" if first_seed and ax is error_ax else None,
                )
        for ax in (loss_ax, error_ax):
            ax.set_xscale("log")
            ax.set_yscale("log", nonpositive="mask")
            ax.set_xlabel(r"SGD step $t$")
        loss_ax.set_ylabel("training loss (nats)")
        error_ax.set_ylabel(r"test error $\epsilon$")
        if label:
            loss_ax.set_title(label, loc="left", fontsize="medium")
        several_seeds = len(runs) > len(sizes)
        legend_outside(error_ax, title="one line per seed" if several_seeds else None, title_fontsize="small")
    fig.suptitle(f"learning curves: {constant}" if constant else "learning curves")
    return fig


def learning_curves_caption(rows: list[dict], history: list[dict]) -> str:
    """The summary's sentence about the learning-curve figure (or why there is none)."""
    settings = curve_runs(rows, history)
    if not settings:
        return f"No learning curves: {NO_HISTORY}."
    runs = sum(len(group) for group in settings.values())
    left_out = (
        f" Only the first {MAX_SETTINGS} of {len(settings)} settings are drawn." if len(settings) > MAX_SETTINGS else ""
    )
    return (
        f"Learning curves of {runs} runs: mean training loss of the current epoch and test error on the whole "
        f"test set after log-spaced SGD steps (the last point is the run's end); one line per run, colour by P; "
        f"a zero test error is not drawn on the log axis.{left_out}"
    )
