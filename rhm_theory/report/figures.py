"""Figures and summary of a results file (``rhm report``): works on any rows, partial sweeps included.

Rows are grouped by setting = (v, n_c, m, s, L, model, width); seeds are averaged. Figures:
- test error vs P / (n_c m^L), one curve per setting (the paper's collapse, Eq. 7);
- P* vs n_c m^L for settings whose curve crosses the threshold, with a least-squares slope in log-log
  and its t confidence interval (rhm_theory.runs.pstar.fit_slope; the paper: slope 1);
- synonymic sensitivities S_{k,l} vs P / (n_c m^L) where the rows have them;
- the theory's correlation signal sigma_f2 and sampling noise noise_f2(P) vs P, crossing at P_c.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import sympy as sp

from rhm_theory.theory import symbolic
from rhm_theory.core.rules import ncmL
from rhm_theory.runs.spec import error_threshold
from rhm_theory.theory.stats import estimate_pstar, fit_slope

SETTING = ("v", "n_c", "m", "s", "L", "model", "width")


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


def write_report(rows: list[dict], out_dir: str | Path, failures: list[dict] | None = None) -> Path:
    """Write the figures (PNG) and ``summary.md`` into ``out_dir``; returns the summary's path."""
    plt = pyplot()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    groups = group_rows(rows)
    lines = ["# rhm-theory results report", "", f"{len(rows)} stored runs in {len(groups)} settings; "
             f"{len(failures or [])} failed runs waiting for a retry.", ""]

    fig, ax = plt.subplots(figsize=(6, 4))
    for setting, group in sorted(groups.items()):
        P_values, means, errors = curve(group)
        scale, chance = ncmL(setting[1], setting[2], setting[4]), 1 - 1 / setting[1]
        ax.errorbar(P_values / scale, means / chance, yerr=errors / chance, marker="o", ms=3, label=_label(setting))
    ax.set(xscale="log", xlabel="P / (n_c m^L)", ylabel="test error / (1 - 1/n_c)", title="test error vs P / (n_c m^L)")
    if groups:
        ax.legend(fontsize=6)
    save_figure(fig, out_dir, "collapse.png")

    lines += ["## P* per setting", "", "| setting | n_c m^L | P* | 95% CI | status |", "|---|---|---|---|---|"]
    points = []
    for setting, group in sorted(groups.items()):
        result = pstar_of(setting, group)
        scale = ncmL(setting[1], setting[2], setting[4])
        if result is None:
            lines.append(f"| {_label(setting)} | {scale} | - | - | fewer than 2 sizes |")
            continue
        lines.append(f"| {_label(setting)} | {scale} | {result.pstar:.4g} | [{result.ci_low:.4g}, {result.ci_high:.4g}] | {result.status} |")
        if result.status == "ok":
            points.append((scale, result.pstar, result.ci_low, result.ci_high))
    fig, ax = plt.subplots(figsize=(5, 4))
    if points:
        scales, pstars, lows, highs = map(np.array, zip(*points))
        ax.errorbar(scales, pstars, yerr=[pstars - np.minimum(lows, pstars), np.maximum(highs, pstars) - pstars], fmt="o")
        reference = np.geomspace(scales.min(), scales.max(), 10)
        ax.plot(reference, reference * np.exp(np.mean(np.log(pstars / scales))), "k--", lw=0.8, label="slope 1")
        if len(set(scales)) >= 3:
            slope, low, high = fit_slope(np.log(scales), np.log(pstars))
            lines += ["", f"Fitted slope of log P* vs log(n_c m^L): **{slope:.3f}** (95% CI [{low:.3f}, {high:.3f}]; the paper: 1)."]
            ax.set_title(f"P* vs n_c m^L: slope {slope:.2f} [{low:.2f}, {high:.2f}]")
        ax.legend()
    ax.set(xscale="log", yscale="log", xlabel="n_c m^L", ylabel="P*")
    save_figure(fig, out_dir, "pstar.png")

    sensitivity_columns = sorted({name for row in rows for name in row if name.startswith("S_k") and row[name] is not None})
    fig, ax = plt.subplots(figsize=(6, 4))
    for setting, group in sorted(groups.items()):
        scale = ncmL(setting[1], setting[2], setting[4])
        for column in sensitivity_columns:
            P_values, means, _ = curve(group, column)
            if P_values.size:
                ax.plot(P_values / scale, means, marker=".", label=f"{column} {_label(setting)}")
    ax.set(xscale="log", xlabel="P / (n_c m^L)", ylabel="S_{k,l}", title="synonymic sensitivity")
    if sensitivity_columns:
        ax.legend(fontsize=5)
    save_figure(fig, out_dir, "sensitivity.png")

    fig, ax = plt.subplots(figsize=(6, 4))
    grammars = sorted({setting[:5] for setting in groups})
    lines += ["", "## Correlation signal and sampling noise (exact closed forms)", "",
              "| v, n_c, m, s, L | sigma_f2 | P_c | P_c / (n_c m^L) |", "|---|---|---|---|"]
    for params in grammars:
        signal = float(symbolic.quantity("sigma_f2", *params))
        P_c = symbolic.quantity("P_c", *params)
        P_grid = np.geomspace(max(1.0, float(P_c) / 100), float(P_c) * 100, 30)
        noise = sp.lambdify(symbolic.P, symbolic.quantity("noise_f2", *params))(P_grid) * np.ones_like(P_grid)
        line = ax.plot(P_grid, noise, label=f"noise {params}")[0]
        ax.axhline(signal, color=line.get_color(), ls="--", lw=0.8)
        ax.axvline(float(P_c), color=line.get_color(), ls=":", lw=0.8)
        lines.append(f"| {params} | {signal:.4g} | {float(P_c):.4g} | {float(P_c) / ncmL(params[1], params[2], params[4]):.4g} |")
    ax.set(xscale="log", yscale="log", xlabel="P", ylabel="variance of n_c f", title="signal (dashed) vs noise, P_c (dotted)")
    if grammars:
        ax.legend(fontsize=6)
    save_figure(fig, out_dir, "correlations.png")

    if failures:
        lines += ["", "## Failed runs (retried by the next `rhm sweep`)", ""]
        lines += [f"- `{failure['key']}`: {failure['error'].splitlines()[0]}" for failure in failures]
    lines += ["", "![collapse](collapse.png)", "![pstar](pstar.png)", "![sensitivity](sensitivity.png)",
              "![correlations](correlations.png)", ""]
    summary = out_dir / "summary.md"
    summary.write_text("\n".join(lines))
    return summary


def label_log_axis(axis) -> None:
    """Plain labels on a logarithmic matplotlib axis (call after plotting): at 10^k, and also at 2 and
    5 x 10^k when the axis spans at most two decades (matplotlib's own minor labels overlap)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    low, high = sorted(axis.get_view_interval())
    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0) if np.log10(high / low) <= 2 else (1.0,)))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend (figures are only written to files)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, out_dir: str | Path, name: str, dpi: int = 110) -> str:
    """Label the logarithmic axes of ``fig`` plainly (:func:`label_log_axis`), lay it out, write it
    to ``out_dir/name`` and close it; returns ``name``."""
    for ax in fig.axes:
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale == "log":
                label_log_axis(axis)
    fig.tight_layout()
    fig.savefig(Path(out_dir) / name, dpi=dpi)
    pyplot().close(fig)
    return name
