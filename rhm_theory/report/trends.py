"""The trend verdict of a ladder: one exponent or ratio measured at rungs of increasing size
(docs/theory.md, 'Trend verdicts'). Pure functions of the measured rungs; no training here.

A rung is one full design with its own interval: {size, estimate, ci_low, ci_high, device} (size:
the rung's scale, e.g. m^L). The deviation of a rung is ``|estimate - claim|``. Its trend against log
size is bootstrapped by drawing each rung's estimate from a normal with the SD of its 95% interval.
"""

from __future__ import annotations

import math

import numpy as np

from rhm_theory.core.validation import as_generator
from rhm_theory.report.checks import Check

MIN_RUNGS = 3  # a trend needs at least this many rungs (docs/theory.md, 'Trend verdicts')
Z95 = 1.959963984540054


def _rung_arrays(rungs):
    for rung in rungs:
        for key in ("size", "estimate", "ci_low", "ci_high"):
            value = rung.get(key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"rung {rung!r}: {key} must be a finite number")
        if not (rung["ci_low"] <= rung["estimate"] <= rung["ci_high"]) or rung["size"] <= 0:
            raise ValueError(f"rung {rung!r}: needs size > 0 and ci_low <= estimate <= ci_high")
    rungs = sorted(rungs, key=lambda r: r["size"])
    size, estimate, low, high = (
        np.array([r[key] for r in rungs], dtype=float) for key in ("size", "estimate", "ci_low", "ci_high")
    )
    if len(set(size.tolist())) != len(size):
        raise ValueError(f"rungs must have distinct sizes, got {size.tolist()}")
    return rungs, size, estimate, low, high


def rungs_text(rungs) -> str:
    """The rungs as ``size: estimate [ci_low, ci_high]; ...``, in the order given."""
    return "; ".join(f"{r['size']:g}: {r['estimate']:.3f} [{r['ci_low']:.3f}, {r['ci_high']:.3f}]" for r in rungs)


def undecided_ladder(
    name: str,
    decided,
    *,
    claim: float,
    alternatives,
    source: str,
    figure: str,
    reason: str,
    needs: str,
    sizes: str = "",
) -> Check:
    """The INCONCLUSIVE check of a ladder that a rung's own design rule (censored P*, under-trained runs,
    no rung at all) keeps from a trend verdict (docs/theory.md, 'Trend verdicts'): ``decided`` are the
    rungs that were decided (dicts with size, estimate, ci_low, ci_high, device), kept as its trend."""
    trend = [{key: rung[key] for key in ("size", "estimate", "ci_low", "ci_high", "device")} for rung in decided]
    return Check(
        name,
        False,
        figure,
        alternatives=tuple(alternatives),
        kind="discriminating",
        source=source,
        claim=float(claim),
        trend=trend,
        sizes=sizes,
    ).inconclusive(reason, needs)


def deviation_slope(size, estimate, low, high, claim: float, *, n_boot: int, rng) -> tuple[float, float, float]:
    """Slope of ``|estimate - claim|`` against log size (least squares) with its 95% bootstrap interval."""
    sd = (high - low) / (2 * Z95)
    x = np.log(size)

    def slope(values):
        return float(np.polyfit(x, np.abs(values - claim), 1)[0])

    boot = [slope(estimate + sd * rng.standard_normal(estimate.size)) for _ in range(n_boot)]
    low_s, high_s = np.quantile(boot, [0.025, 0.975])
    return slope(estimate), float(low_s), float(high_s)


def extrapolated_size(
    size, estimate, low, high, claim: float, target: float, *, n_boot: int, rng
) -> tuple[float, float, float]:
    """The size at which the deviation, fitted as a power law of size (``log |dev|`` linear in log size),
    falls to ``target``: (estimate, 2.5% and 97.5% bootstrap quantiles); inf where the fit does not shrink."""
    sd = (high - low) / (2 * Z95)
    x = np.log(size)

    def crossing(values):
        deviation = np.maximum(np.abs(values - claim), 1e-300)
        beta, alpha = np.polyfit(x, np.log(deviation), 1)
        exponent = (math.log(target) - alpha) / beta if beta < 0 else math.inf
        return math.exp(exponent) if exponent < 700 else math.inf  # a nearly flat fit: beyond any float size

    boot = np.array([crossing(estimate + sd * rng.standard_normal(estimate.size)) for _ in range(n_boot)])
    q_low, q_high = np.quantile(boot, [0.025, 0.975])
    return crossing(estimate), float(q_low), float(q_high)


def trend_check(
    name: str,
    rungs,
    *,
    claim: float,
    alternatives: dict[str, float],
    n_boot: int = 2000,
    seed,
    seconds=None,
    source: str = "",
) -> Check:
    """The trend verdict of a ladder (docs/theory.md, 'Trend verdicts').

    ``rungs``: dicts {size, estimate, ci_low, ci_high, device}; ``claim``: the claimed value;
    ``alternatives``: {description: value}; ``seconds``: optional CPU-seconds per rung (same order as
    sorted sizes) for the cost in ``needs`` (extrapolated as a power law of size). PASS: the largest
    rung's interval contains the claim and excludes the alternatives. FAIL: it excludes the claim and
    the deviation's slope against log size has an interval reaching 0 or above. INCONCLUSIVE: it
    excludes the claim but the deviation shrinks significantly ("approaching: ..."), fewer than
    MIN_RUNGS rungs, or the largest interval holds the claim and an alternative.
    """
    rungs, size, estimate, low, high = _rung_arrays(list(rungs))
    rng = as_generator(seed)
    shown = rungs_text(rungs)
    figure = f"rungs (size: estimate [95%]) {shown}; claim {claim:g}"
    trend = [
        {
            "size": float(r["size"]),
            "estimate": float(r["estimate"]),
            "ci_low": float(r["ci_low"]),
            "ci_high": float(r["ci_high"]),
            "device": str(r.get("device", "cpu")),
        }
        for r in rungs
    ]
    top_low, top_high, top = low[-1], high[-1], estimate[-1]
    inside = [label for label, value in alternatives.items() if top_low <= value <= top_high]
    contains = bool(top_low <= claim <= top_high)
    base = {
        "alternatives": tuple(alternatives),
        "kind": "discriminating",
        "measured": float(top),
        "source": source,
        "sizes": f"{len(rungs)} rungs, size {size[0]:g}-{size[-1]:g}",
        "claim": float(claim),
        "trend": trend,
        "versus": f"{top:.3g} [{top_low:.3g}, {top_high:.3g}] at size {size[-1]:g} vs {claim:g}",
    }
    check = Check(name, contains and not inside, figure, **base)
    if len(rungs) < MIN_RUNGS:
        return check.inconclusive(
            f"too few rungs: {len(rungs)} (rule: >= {MIN_RUNGS})", f">= {MIN_RUNGS} rungs of increasing size"
        )
    if contains:
        if inside:
            return check.inconclusive(
                f"the largest rung's interval contains the claim {claim:g} and {'; '.join(inside)}",
                "a larger rung, or more seeds at the largest one",
            )
        return check
    slope, s_low, s_high = deviation_slope(size, estimate, low, high, claim, n_boot=n_boot, rng=rng)
    slope_text = f"deviation slope against log size {slope:.3g} [{s_low:.3g}, {s_high:.3g}]"
    if s_high >= 0:
        return Check(name, False, f"{figure}; {slope_text}: not shrinking", **base)
    target = (top_high - top_low) / 2
    needed, n_low, n_high = extrapolated_size(size, estimate, low, high, claim, target, n_boot=n_boot, rng=rng)
    needs = f"size ~{needed:.3g} [{n_low:.3g}, {n_high:.3g}] (extrapolated deviation = the largest rung's half-width {target:.3g})"
    if seconds is not None and len(seconds) == len(size) and min(seconds) > 0:
        p, c = np.polyfit(np.log(size), np.log(np.asarray(seconds, dtype=float)), 1)
        needs += (
            f"; ~{math.exp(c) * needed**p / 60:.3g} CPU-min for that rung (cost ~ size^{p:.2f} fitted on the rungs)"
        )
    return Check(name, False, f"{figure}; {slope_text}", **base).inconclusive(
        f"approaching: {shown}; {slope_text}", needs
    )


def ladder_figure(checks, alternatives, *, xlabel, ylabel, labels=None):
    """One panel per ladder: each rung's estimate with its 95% interval against its size (log x, marker
    by device), the claim as a solid line and each alternative dashed. ``checks``: trend checks of
    :func:`trend_check`; ``alternatives``: {description: value}, shared, or a list of one per check;
    ``xlabel`` and ``ylabel``: shared strings or lists of one per check; ``labels``: panel titles
    (default the check names). Returns the Figure."""
    from rhm_theory.report.figures import new_figure

    checks = list(checks)

    def per_check(value):
        return list(value) if isinstance(value, (list, tuple)) else [value] * len(checks)

    fig, axes = new_figure(1, len(checks), figsize=(4.2 * len(checks) + 0.6, 4.6), squeeze=False)
    markers = {"cpu": "o", "cuda": "s"}
    panels = zip(
        axes[0],
        checks,
        per_check(alternatives),
        per_check(xlabel),
        per_check(ylabel),
        labels or [c.name for c in checks],
    )
    for ax, check, shown, x_text, y_text, title in panels:
        rungs = sorted(check.trend, key=lambda r: r["size"])
        for device in sorted({r["device"] for r in rungs}):
            mine = [r for r in rungs if r["device"] == device]
            size = np.array([r["size"] for r in mine])
            estimate = np.array([r["estimate"] for r in mine])
            error = np.array(
                [[r["estimate"] - r["ci_low"] for r in mine], [r["ci_high"] - r["estimate"] for r in mine]]
            )
            ax.errorbar(
                size,
                estimate,
                yerr=error,
                fmt=markers.get(device, "^"),
                color="C0",
                capsize=3,
                label=f"rungs ({device}), 95% CI",
            )
        ax.axhline(check.claim, color="k", lw=1.2, label=f"claim {check.claim:g}")
        for i, (label, value) in enumerate(shown.items()):
            ax.axhline(value, color=f"C{i + 1}", ls="--", lw=1, label=label)
        if not rungs:
            ax.text(0.5, 0.5, "no rung decided", ha="center", va="center", transform=ax.transAxes, color="0.3")
        ax.set_xscale("log")
        ax.set(xlabel=x_text, ylabel=y_text)
        ax.set_title(f"{title}: {check.verdict}", fontsize="small")
        ax.legend(fontsize="x-small", frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    return fig
