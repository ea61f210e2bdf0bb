"""Figures: the helpers every figure of the package uses, and the figures of a results file (``rhm report``).

Helpers: :func:`new_figure` (a matplotlib Figure outside pyplot, constrained layout), :func:`split_settings`
(legend labels with only the parameters that vary, the constant ones for the title), :func:`legend_outside`,
:func:`annotate_empty` (a panel without data says so), :func:`label_log_axis` and :func:`save_figure` (PNG at
200 dpi and a PDF next to it). Figure functions return the Figure (None when there is nothing to draw); the
caller saves it, so a notebook can show it.

Figures of a results file: rows are grouped by setting = (v, n_c, m, s, L, model, width); seeds are averaged.

- test error vs P / (n_c m^L), one curve per setting (the paper's collapse, arXiv:2307.02129 Eq. 7), with the
  P* threshold;
- P* vs n_c m^L for settings whose curve crosses the threshold, with a least-squares slope in log-log
  and its t confidence interval (rhm_theory.runs.pstar.fit_slope; the paper: slope 1);
- synonymic sensitivities S_{k,l} vs P / (n_c m^L) where the rows have them;
- the theory's correlation signal sigma_f2 and sampling noise noise_f2(P) vs P, crossing at P_c;
- learning curves of the runs with a stored history (rhm_theory.report.learning_curves).
"""

from __future__ import annotations

import math
import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import sympy as sp

from rhm_theory.core.rules import ncmL
from rhm_theory.report.checks import reached_threshold
from rhm_theory.runs.spec import error_threshold
from rhm_theory.theory import symbolic
from rhm_theory.theory.stats import estimate_pstar, fit_slope

SETTING = ("v", "n_c", "m", "s", "L", "model", "width")
DPI = 200
MATH_PARAMETERS = ("v", "n_c", "m", "s", "L")
P_SCALED = r"$P\,/\,(n_c m^L)$"
MAX_GRID_TICKS = 8  # a collapse figure labels every value of P / (n_c m^L) when there are at most this many
SENSITIVITY_COLUMN = re.compile(r"S_k(\d+)_l(\d+)$")


# ----- helpers shared by every figure of the package ----------------------------------------------
def new_figure(nrows: int = 1, ncols: int = 1, *, figsize, **kwargs):
    """(Figure, axes) as ``pyplot.subplots`` returns them, but a Figure outside pyplot (nothing global,
    nothing to close) with constrained layout, which makes room for legends placed outside the axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots(nrows, ncols, **kwargs)


def parameter_text(name: str, value) -> str:
    """'$n_c=4$' for a grammar parameter, 'cnn' for the model, 'width 128' for anything else."""
    if name in MATH_PARAMETERS:
        return f"${name}={value}$"
    return str(value) if name == "model" else f"{name} {value}"


def split_settings(settings, names=SETTING) -> tuple[list[str], str]:
    """Legend labels that name only the parameters that vary between ``settings`` (tuples of values in
    the order of ``names``), and the constant parameters as one string for the title."""
    settings = [tuple(setting) for setting in settings]
    varying = [i for i in range(len(names)) if len({setting[i] for setting in settings}) > 1]
    labels = [", ".join(parameter_text(names[i], setting[i]) for i in varying) for setting in settings]
    constant = (
        ", ".join(parameter_text(names[i], settings[0][i]) for i in range(len(names)) if i not in varying)
        if settings
        else ""
    )
    return labels, constant


def legend_outside(ax, source=None, *, below: bool = False, **kwargs) -> None:
    """A legend to the right of ``ax`` (under it if ``below``), outside the data, of the labelled artists of
    ``source`` (default ``ax``; another panel when one legend serves several); nothing when none has a label."""
    handles, labels = (source or ax).get_legend_handles_labels()
    if not labels:
        return
    place = (
        {"loc": "upper center", "bbox_to_anchor": (0.5, -0.2), "ncols": 2}
        if below
        else {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0)}
    )
    ax.legend(handles, labels, **{"borderaxespad": 0.0, "fontsize": "small", "frameon": False, **place, **kwargs})


def label_points(ax, xs, ys, labels) -> None:
    """Write each label next to its point (x, y): right of it in the left half of the (log) x range, left of
    it in the right half, so that no label runs off the axes."""
    xs = np.asarray(xs, dtype=float)
    middle = np.sqrt(xs.min() * xs.max())
    for x, y, label in zip(xs, ys, labels):
        right = x <= middle
        ax.annotate(
            label,
            (x, y),
            xytext=(6 if right else -6, 4),
            textcoords="offset points",
            fontsize="x-small",
            ha="left" if right else "right",
            va="bottom",
        )


def annotate_empty(ax, message: str) -> None:
    """A panel without data: ``message`` in its centre, no ticks (nothing that looks like a measured zero)."""
    ax.tick_params(
        which="both", left=False, bottom=False, labelleft=False, labelbottom=False
    )  # shared axes keep theirs
    ax.set(xlabel="", ylabel="")
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, wrap=True, color="0.3")
    for spine in ax.spines.values():
        spine.set_color("0.8")


def tick_text(value: float, _position=None) -> str:
    """A tick label: plain for 0.001 .. 99999, else in powers of ten ('$2\\times10^{5}$')."""
    if value <= 0:
        return ""
    exponent = math.floor(math.log10(value) + 1e-9)
    if -3 <= exponent <= 4:
        return f"{value:g}"
    mantissa = value / 10.0**exponent
    return f"$10^{{{exponent}}}$" if abs(mantissa - 1) < 1e-6 else f"${mantissa:.2g}\\times10^{{{exponent}}}$"


def log_tick_subs(low: float, high: float) -> tuple[float, ...]:
    """The sparsest of 10^k; 1, 2, 5 x 10^k; 1, 2, 3, 5, 7 x 10^k; 1..9 x 10^k that puts 3 ticks in [low, high]."""
    options = ((1.0,), (1.0, 2.0, 5.0), (1.0, 2.0, 3.0, 5.0, 7.0), tuple(float(k) for k in range(1, 10)))
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    for subs in options:
        ticks = [sub * 10.0**k for k in range(first, last + 1) for sub in subs]
        if sum(low * (1 - 1e-9) <= tick <= high * (1 + 1e-9) for tick in ticks) >= 3:
            return subs
    return options[-1]


def label_log_axis(axis) -> None:
    """Readable labels on a logarithmic matplotlib axis (call after plotting): at least 3 labelled ticks
    (:func:`log_tick_subs`), no labelled minor ticks (matplotlib's own overlap)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    low, high = sorted(axis.get_view_interval())
    axis.set_major_locator(LogLocator(subs=log_tick_subs(low, high)))
    axis.set_major_formatter(FuncFormatter(tick_text))
    axis.set_minor_formatter(NullFormatter())


def tidy_log_axes(fig) -> None:
    """:func:`label_log_axis` on every logarithmic axis of ``fig`` whose ticks were not set explicitly."""
    from matplotlib.ticker import FixedLocator

    for ax in fig.axes:
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale == "log" and not isinstance(axis.get_major_locator(), FixedLocator):
                label_log_axis(axis)


def save_figure(fig, out_dir: str | Path, name: str) -> str:
    """Write ``fig`` as ``out_dir/name`` (PNG, 200 dpi) and the same name with .pdf next to it, after
    :func:`tidy_log_axes`; closes it if pyplot made it; returns ``name``."""
    path = Path(out_dir) / name
    if path.suffix != ".png":
        raise ValueError(f"figure name must end in .png (a PDF is written next to it), got {name!r}")
    tidy_log_axes(fig)
    if fig.get_layout_engine() is None:
        fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    fig.savefig(path.with_suffix(".pdf"))
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close(fig)
    return name


# ----- figures of a results file ---------------------------------------------------------------
def _label(setting: tuple) -> str:
    v, n_c, m, s, L, model, width = setting
    return f"{model} w={width} v={v} n_c={n_c} m={m} s={s} L={L}"


def group_rows(rows: list[dict]) -> dict[tuple, list[dict]]:
    """Rows with a test error, grouped by setting."""
    groups = defaultdict(list)
    for row in rows:
        if row.get("test_error") is not None:
            groups[tuple(row[name] for name in SETTING)].append(row)
    return dict(groups)


def curve(rows: list[dict], column: str = "test_error") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per P: (P values, mean over seeds, standard error over seeds) of ``column``."""
    by_P = defaultdict(list)
    for row in rows:
        if row.get(column) is not None:
            by_P[row["P"]].append(row[column])
    P_values = np.array(sorted(by_P))
    means = np.array([np.mean(by_P[P]) for P in P_values])
    errors = np.array([np.std(by_P[P], ddof=1) / np.sqrt(len(by_P[P])) if len(by_P[P]) > 1 else 0.0 for P in P_values])
    return P_values, means, errors


def under_trained_text(rows: list[dict]) -> str:
    """'k/N (training loss up to X)': the rows whose run stopped before its training-loss threshold."""
    under = [row for row, reached in zip(rows, reached_threshold(rows)) if not reached]
    if not under:
        return f"0/{len(rows)}"
    losses = [row["train_loss"] for row in under if row.get("train_loss") is not None]
    worst = f" (training loss up to {max(losses):.3g})" if losses else ""
    return f"{len(under)}/{len(rows)}{worst}"


def seeds_text(groups: dict) -> str:
    """'3 seeds' or '2-3 seeds': how many seeds the settings' rows have."""
    counts = sorted({len({row["seed"] for row in group}) for group in groups.values()})
    return f"{counts[0]} seed{'s' if counts[-1] > 1 else ''}" if len(counts) == 1 else f"{counts[0]}-{counts[-1]} seeds"


def pstar_of(setting: tuple, rows: list[dict]):
    """P* of one setting from the seeds that have every P of its grid (None if fewer than 2 P values)."""
    P_values = sorted({row["P"] for row in rows})
    by_seed = defaultdict(dict)
    for row in rows:
        by_seed[row["seed"]][row["P"]] = row["test_error"]
    seeds = sorted(seed for seed, errors in by_seed.items() if len(errors) == len(P_values))
    if len(P_values) < 2 or not seeds:
        return None
    errors = np.array([[by_seed[seed][P] for P in P_values] for seed in seeds])
    return estimate_pstar(P_values, seeds, errors, error_threshold(setting[1], setting[5]), n_bootstrap=200, seed=0)


def pstar_slope(pstars: dict):
    """(slope, low, high) of log P* vs log(n_c m^L) over the settings whose P* is "ok", or None when
    fewer than 3 distinct n_c m^L have one. ``pstars``: setting -> PStarResult or None."""
    points = [
        (ncmL(setting[1], setting[2], setting[4]), r.pstar) for setting, r in pstars.items() if r and r.status == "ok"
    ]
    if len({scale for scale, _ in points}) < 3:
        return None
    scales, values = map(np.array, zip(*points))
    return fit_slope(np.log(scales), np.log(values))


def collapse_figure(groups: dict):
    """Test error / chance vs P / (n_c m^L), one curve per setting, with the P* threshold (None without rows)."""
    from matplotlib.ticker import NullLocator

    if not groups:
        return None
    settings = sorted(groups)
    labels, constant = split_settings(settings)
    fig, ax = new_figure(figsize=(6.4, 3.8))
    ratios = set()
    for setting, label in zip(settings, labels):
        P_values, means, errors = curve(groups[setting])
        scale, chance = ncmL(setting[1], setting[2], setting[4]), 1 - 1 / setting[1]
        ratios |= {round(P / scale, 3) for P in P_values}
        ax.errorbar(P_values / scale, means / chance, yerr=errors / chance, marker="o", ms=3, capsize=2, label=label)
    for fraction in sorted(
        {round(error_threshold(setting[1], setting[5]) / (1 - 1 / setting[1]), 9) for setting in settings}
    ):
        ax.axhline(fraction, color="k", ls=":", lw=1, label=f"$P^*$ threshold ({fraction:g})")
    ax.set(xscale="log", xlabel=P_SCALED, ylabel=r"test error / $(1 - 1/n_c)$")
    if len(ratios) <= MAX_GRID_TICKS:  # a sweep's grid of P / (n_c m^L): label exactly its values
        ax.set_xticks(sorted(ratios), [tick_text(ratio) for ratio in sorted(ratios)])
        ax.xaxis.set_minor_locator(NullLocator())
    ax.set_title(f"{constant}\nmean over {seeds_text(groups)}; bars: standard error", fontsize="medium")
    legend_outside(ax)
    tidy_log_axes(fig)
    return fig


def pstar_figure(pstars: dict):
    """P* (95 % bootstrap CI over seeds) vs n_c m^L, each point labelled with its setting, a slope-1
    guide and the fitted slope; settings without an "ok" P* are left out (the title counts them), None when
    none has one. ``pstars``: setting -> PStarResult or None."""
    points = sorted((setting, r) for setting, r in pstars.items() if r is not None and r.status == "ok")
    if not points:
        return None
    labels, constant = split_settings([setting for setting, _ in points])
    scales = np.array([ncmL(setting[1], setting[2], setting[4]) for setting, _ in points], dtype=float)
    values = np.array([r.pstar for _, r in points])
    lows = np.minimum([r.ci_low for _, r in points], values)
    highs = np.maximum([r.ci_high for _, r in points], values)
    fig, ax = new_figure(figsize=(6.0, 4.4))
    ax.errorbar(scales, values, yerr=[values - lows, highs - values], fmt="o", capsize=3, label="$P^*$ (95 % CI)")
    label_points(ax, scales, values, labels)
    reference = np.geomspace(scales.min() / 1.5, scales.max() * 1.5, 10)
    ax.plot(reference, reference * np.exp(np.mean(np.log(values / scales))), "k--", lw=0.8, label="slope 1 (the paper)")
    fit = pstar_slope(pstars)
    fitted = (
        f"fitted slope {fit[0]:.2f} [{fit[1]:.2f}, {fit[2]:.2f}]"
        if fit
        else "no slope fitted (fewer than 3 values of $n_c m^L$ with a $P^*$)"
    )
    ax.set(xscale="log", yscale="log", xlabel="$n_c m^L$", ylabel="$P^*$")
    left_out = len(pstars) - len(points)
    ax.set_title(
        f"{constant}\n{fitted}\nbars: 95 % bootstrap CI over seeds"
        + (f"; {left_out} setting{'s' if left_out > 1 else ''} without $P^*$ left out" if left_out else ""),
        fontsize="medium",
    )
    legend_outside(ax)
    tidy_log_axes(fig)
    return fig


def sensitivity_columns(rows: list[dict]) -> list[str]:
    """The S_{k,l} columns that some row measured, ordered by (k, l)."""
    names = {
        name for row in rows for name, value in row.items() if SENSITIVITY_COLUMN.match(name) and value is not None
    }
    return sorted(names, key=lambda name: tuple(map(int, SENSITIVITY_COLUMN.match(name).groups())))


def sensitivity_figure(groups: dict, pstars: dict | None = None, per_row: int = 4):
    """One panel per setting that measured S_{k,l}: mean over seeds (bars: standard error) vs P / (n_c m^L),
    solid for k > l (the claim: halves near P*, dotted line), dashed for k <= l; settings without S_{k,l}
    are left out (the title counts them); None when no row measured S_{k,l}."""
    measured = {setting: sensitivity_columns(group) for setting, group in sorted(groups.items())}
    measured = {setting: columns for setting, columns in measured.items() if columns}
    if not measured:
        return None
    colours = {
        column: f"C{i % 10}"
        for i, column in enumerate(sensitivity_columns([row for group in groups.values() for row in group]))
    }
    labels, constant = split_settings(list(measured))
    ncols = min(per_row, len(measured))
    nrows = math.ceil(len(measured) / ncols)
    fig, axes = new_figure(nrows, ncols, figsize=(3.0 * ncols + 1.3, 2.8 * nrows + 0.5), sharey=True, squeeze=False)
    for ax, (setting, columns), label in zip(axes.flat, measured.items(), labels):
        scale = ncmL(setting[1], setting[2], setting[4])
        for column in columns:
            k, l = map(int, SENSITIVITY_COLUMN.match(column).groups())
            P_values, means, errors = curve(groups[setting], column)
            ax.errorbar(
                P_values / scale,
                means,
                yerr=errors,
                color=colours[column],
                ls="-" if k > l else "--",
                marker="o" if k > l else "x",
                ms=3,
                capsize=2,
                label=f"$S_{{{k},{l}}}$",
            )
        result = (pstars or {}).get(setting)
        if result is not None and result.status == "ok":
            ax.axvline(result.pstar / scale, color="k", ls=":", lw=1, label="$P^*$")
        ax.set(xscale="log", xlabel=P_SCALED)
        ax.set_title(label, fontsize="small")
    for ax in axes.flat[len(measured) :]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("$S_{k,l}$")
    legend_outside(axes[0, -1], max(axes.flat[: len(measured)], key=lambda ax: len(ax.get_legend_handles_labels()[1])))
    left_out = len(groups) - len(measured)
    fig.suptitle(
        f"synonymic sensitivity, {constant}; mean over {seeds_text(groups)}, bars: standard error"
        + (f"\n({left_out} setting{'s' if left_out > 1 else ''} without $S_{{k,l}}$ left out)" if left_out else ""),
        fontsize="medium",
    )
    tidy_log_axes(fig)
    return fig


def correlations_figure(grammars):
    """The exact correlation signal sigma_f2 (dashed, one per grammar (v, n_c, m, s, L)) and sampling
    noise noise_f2(P) (solid, one line per distinct formula: grammars that share it share the line) vs P,
    with the crossing P_c marked; None without grammars."""
    if not grammars:
        return None
    grammars = sorted(grammars)
    labels, constant = split_settings(grammars, MATH_PARAMETERS)
    crossings = [float(symbolic.quantity("P_c", *params)) for params in grammars]
    P_grid = np.geomspace(max(1.0, min(crossings) / 100), max(crossings) * 100, 60)
    fig, ax = new_figure(figsize=(6.4, 4.0))
    noises = defaultdict(list)
    for params, label in zip(grammars, labels):
        noises[symbolic.quantity("noise_f2", *params)].append(label)
    styles = ("-", (0, (6, 2)), (0, (1, 1)), (0, (3, 1, 1, 1)))
    for i, (expression, sharing) in enumerate(noises.items()):
        noise = sp.lambdify(symbolic.P, expression)(P_grid) * np.ones_like(P_grid)
        shared = "; ".join(label for label in sharing if label)
        ax.plot(
            P_grid,
            noise,
            color="0.35",
            ls=styles[i % len(styles)],
            lw=1.2,
            label=f"noise {shared}" if len(noises) > 1 else "noise",
        )
    for i, (params, label, P_c) in enumerate(zip(grammars, labels, crossings)):
        signal = float(symbolic.quantity("sigma_f2", *params))
        ax.axhline(signal, color=f"C{i % 10}", ls="--", lw=1)
        ax.plot([P_c], [signal], "o", color=f"C{i % 10}", label=f"{label}{': ' if label else ''}$P_c={P_c:.4g}$")
    ax.set(xscale="log", yscale="log", xlabel="$P$", ylabel="variance of $n_c f$")
    ax.set_title(
        f"{constant}\nexact signal $\\sigma_f^2$ (dashed) vs sampling noise; dots: crossing $P_c$", fontsize="medium"
    )
    legend_outside(ax)
    tidy_log_axes(fig)
    return fig


REPORT_FIGURES = ("collapse", "pstar", "sensitivity", "correlations", "learning_curves")
# Fields of a results row the report reads: the setting, P and seed.
REPORT_FIELDS = (*SETTING, "P", "seed")


def report_files(out_dir: str | Path) -> list[Path]:
    """Every file :func:`write_report` may write into ``out_dir`` (summary.md, each figure's PNG and PDF)."""
    out_dir = Path(out_dir)
    return [out_dir / "summary.md"] + [out_dir / f"{name}.{kind}" for name in REPORT_FIGURES for kind in ("png", "pdf")]


def write_report(
    rows: list[dict], out_dir: str | Path, failures: list[dict] | None = None, history: list[dict] | None = None
) -> Path:
    """Write the figures (PNG and PDF) and ``summary.md`` into ``out_dir``; returns the summary's path.
    A figure without data is left out and the summary says why. ``history``: learning-curve records
    (ResultsStore.history()), drawn by rhm_theory.report.learning_curves."""
    from rhm_theory.report.learning_curves import NO_HISTORY, learning_curves_caption, learning_curves_figure

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    groups = group_rows(rows)
    lines = [
        "# rhm-theory results report",
        "",
        f"{len(rows)} stored runs in {len(groups)} settings; {len(failures or [])} failed runs waiting for a retry.",
        "",
    ]

    pstars = {setting: pstar_of(setting, group) for setting, group in sorted(groups.items())}
    lines += [
        "## P* per setting",
        "",
        "Under-trained: runs that stopped without reaching their training-loss threshold "
        "(at the epoch or step cap, or diverged), with the largest final training loss among them; their test "
        "errors, and a P* drawn from them, describe the training budget rather than what the data allow.",
        "",
        "| setting | n_c m^L | P* | 95% CI | status | under-trained |",
        "|---|---|---|---|---|---|",
    ]
    for setting, result in pstars.items():
        scale = ncmL(setting[1], setting[2], setting[4])
        under = under_trained_text(groups[setting])
        if result is None:
            lines.append(f"| {_label(setting)} | {scale} | - | - | fewer than 2 sizes | {under} |")
        else:
            lines.append(
                f"| {_label(setting)} | {scale} | {result.pstar:.4g} | [{result.ci_low:.4g}, {result.ci_high:.4g}] | "
                f"{result.status} | {under} |"
            )
    fit = pstar_slope(pstars)
    if fit:
        lines += [
            "",
            f"Fitted slope of log P* vs log(n_c m^L): **{fit[0]:.3f}** (95% CI [{fit[1]:.3f}, {fit[2]:.3f}]; the paper: 1).",
        ]

    grammars = sorted({setting[:5] for setting in groups})
    lines += [
        "",
        "## Correlation signal and sampling noise (exact closed forms)",
        "",
        "| v, n_c, m, s, L | sigma_f2 | P_c | P_c / (n_c m^L) |",
        "|---|---|---|---|",
    ]
    for params in grammars:
        P_c = float(symbolic.quantity("P_c", *params))
        lines.append(
            f"| {params} | {float(symbolic.quantity('sigma_f2', *params)):.4g} | {P_c:.4g} | "
            f"{P_c / ncmL(params[1], params[2], params[4]):.4g} |"
        )

    figures = list(
        zip(
            REPORT_FIGURES,
            (
                (collapse_figure(groups), "no runs with a test error"),
                (pstar_figure(pstars), "no setting's seed-mean test error crossed its P* threshold inside its P grid"),
                (sensitivity_figure(groups, pstars), "no run measured S_{k,l} (sensitivity_samples = 0)"),
                (correlations_figure(grammars), "no grammar"),
                (learning_curves_figure(rows, history or []), NO_HISTORY),
            ),
        )
    )
    lines += ["", "## Learning curves", "", learning_curves_caption(rows, history or [])]
    if failures:
        lines += ["", "## Failed runs (retried by the next `rhm sweep`)", ""]
        lines += [f"- `{failure['key']}`: {failure['error'].splitlines()[0]}" for failure in failures]
    lines += ["", "## Figures (PNG, PDF next to each)", ""]
    for name, (fig, missing) in figures:
        lines.append(
            f"![{name}]({save_figure(fig, out_dir, name + '.png')})"
            if fig is not None
            else f"- no {name} figure: {missing}."
        )
    summary = report_files(out_dir)[0]
    summary.write_text("\n".join([*lines, ""]))
    return summary
