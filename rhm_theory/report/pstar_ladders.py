"""The deep CNN's P* on a ladder of sizes (docs/theory.md, 'P* ladders of the deep CNN'): the n_c
exponent at each m^L, the m^L exponent at each n_c and the S_{k,l} drop at each m^L, each rung fitted
as the joint fit (c) and the S_{k,l} check are (rhm_theory.report.learning_checks), and each ladder
decided by the trend verdict (rhm_theory.report.trends). Pure functions of measured curves.

Inputs, per setting (v, n_c, m, L): ``curves`` (P_values (n_P,), test errors (n_seeds, n_P)),
``converged`` (n_seeds, n_P) bools, ``sensitivities`` (n_seeds, n_P, L, L) with [..., k-1, l-1] =
S_{k,l}, ``seconds`` (the wall seconds of its runs) and ``device`` (where they ran).
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from rhm_theory.core.validation import as_generator
from rhm_theory.report.checks import Check, require_trained
from rhm_theory.report.learning_checks import (
    HALF,
    N_C_ALTERNATIVES,
    ORDER,
    PAPER_PSTAR,
    PSTAR_FRACTION,
    _normalised_curves,
    crossing_bracket,
    design_rules,
    drop_ratio,
    joint_fit,
    pmax_alternative,
    widen,
)
from rhm_theory.report.trends import rungs_text, trend_check, undecided_ladder

PAPER_SENSITIVITY = "arXiv:2307.02129, Figs. 5, 6"
DROP_ALTERNATIVES = {
    "log2(P_half/P*) = -1 (the drop a factor 2 before P*)": -1.0,
    "log2(P_half/P*) = +1 (the drop a factor 2 after P*)": 1.0,
}


def m_L_alternatives(s: int, L: int) -> dict[str, float]:
    """The m^L exponent's alternatives at depth L: P_max-like (learning_checks.pmax_alternative), and 0.5."""
    return {**pmax_alternative(s, L), "b = 0.5": 0.5}


def group(settings, key) -> dict[float, list[int]]:
    """Indices of the settings (v, n_c, m, L) by ``key(setting)``, in increasing key order."""
    found = defaultdict(list)
    for i, setting in enumerate(settings):
        found[float(key(setting))].append(i)
    return dict(sorted(found.items()))


def exponent_rung(settings, normalised, factor, *, n_boot: int, seed) -> tuple[dict | None, tuple[str, str] | None]:
    """One rung's exponent of P* in one factor: the slope of log P* on log ``factor(v, n_c, m, L)``
    (arrays) over ``settings``, with its 95% bootstrap interval over seeds widened for few seeds (as
    in (c)). Returns ({estimate, ci_low, ci_high}, None), or (None, (reason, needs)) when a design
    rule of docs/theory.md, 'Verdicts' fires."""
    fired = design_rules(settings, normalised, 1)
    if fired is not None:
        return None, fired
    fit = joint_fit(
        settings, normalised, PSTAR_FRACTION, n_boot, seed, factors_of=lambda *columns: factor(*columns)[:, None]
    )
    if fit is None:
        return None, ("the rung's settings do not vary the factor", "settings that vary it")
    n_seeds = min(e.shape[0] for _, e in normalised)
    low, high = widen(float(fit.exponents[0]), float(fit.ci_low[0]), float(fit.ci_high[0]), n_seeds)
    return {"estimate": float(fit.exponents[0]), "ci_low": low, "ci_high": high}, None


def drop_rung(settings, normalised, sensitivities, *, n_boot: int, seed) -> tuple[dict | None, tuple[str, str] | None]:
    """One rung of the S_{k,l} ladder: the mean over settings and pairs k > l of log2(P_half / P*)
    (:func:`rhm_theory.report.learning_checks.drop_ratio`), with a 95% interval from resampling the
    seeds within each setting (widened for few seeds). A P* or P_half censored or unresolved (measured
    neighbours more than ORDER apart) fires the design rule instead."""
    fired = design_rules(settings, normalised, None, max_ratio=ORDER)
    if fired is not None:
        return None, fired
    pairs = [(i, k, l) for i, (_, _, _, L) in enumerate(settings) for k in range(L) for l in range(L) if k > l]
    for i, k, l in pairs:
        P, S = normalised[i][0], np.asarray(sensitivities[i], dtype=float)[:, :, k, l]
        _, status, ratio = crossing_bracket(P, S / S.mean(axis=0)[0], HALF)
        if status != "ok" or ratio > ORDER:
            what = "censored" if status != "ok" else f"unresolved (neighbours x{ratio:.2f} apart, rule: <= x{ORDER:g})"
            return None, (
                f"P_half of S_{k + 1},{l + 1} {what} in {settings[i]}",
                "P values extended x4 below the smallest one" if status != "ok" else "a P between its neighbours",
            )

    def mean_log2(draws) -> float:
        values = [
            drop_ratio(normalised[i][0], normalised[i][1], np.asarray(sensitivities[i], float)[:, :, k, l], draws[i])
            for i, k, l in pairs
        ]
        return float(np.mean(np.log2(values))) if all(v > 0 for v in values) else math.nan

    rng = as_generator(seed)
    sizes = [e.shape[0] for _, e in normalised]
    estimate = mean_log2([np.arange(n) for n in sizes])
    boot = np.array([mean_log2([rng.integers(0, n, n) for n in sizes]) for _ in range(n_boot)])
    boot = boot[np.isfinite(boot)]
    if not math.isfinite(estimate) or boot.size < 0.9 * n_boot:
        return None, ("P_half / P* undefined in too many resamples of seeds (a halving outside the grid)", "more seeds")
    low, high = widen(estimate, *np.quantile(boot, [0.025, 0.975]), min(sizes))
    return {"estimate": estimate, "ci_low": float(low), "ci_high": float(high)}, None


def ladder_check(
    name: str,
    found: dict,
    *,
    claim: float,
    alternatives: dict[str, float],
    converged,
    seconds,
    devices,
    source: str,
    seed,
    cost=None,
) -> Check:
    """The trend verdict of the rungs ``found`` ({size: (rung | None, fired | None)}), after the
    under-training rule over every run of the ladder (``converged``: bools per setting) and the rung
    rules (a rung whose design rule fired makes the ladder INCONCLUSIVE with its reason); ``seconds``
    and ``devices``: per rung, in size order."""
    rungs = [
        {"size": size, **rung, "device": device} for (size, (rung, _)), device in zip(found.items(), devices) if rung
    ]
    fired = [(size, why) for size, (_, why) in found.items() if why is not None]
    if fired:
        size, (reason, needs) = fired[0]
        check = undecided_ladder(
            name,
            rungs,
            claim=claim,
            alternatives=alternatives,
            source=source,
            figure=f"rungs (size: estimate [95%]) {rungs_text(rungs) or 'none decided'}; claim {claim:g}",
            reason=f"rung {size:g}: {reason}" + (f" (+{len(fired) - 1} more rungs)" if len(fired) > 1 else ""),
            needs=needs,
            sizes=f"{len(found)} rungs, size {min(found):g}-{max(found):g}",
        )
    else:
        check = trend_check(
            name, rungs, claim=claim, alternatives=alternatives, seed=seed, seconds=seconds, source=source
        )
    return require_trained(check, converged, cost)


def pstar_ladder_checks(
    settings, curves, *, converged, sensitivities, seconds, devices, s: int, n_boot: int = 1000, seed, cost=None
) -> list[Check]:
    """The three ladders of docs/theory.md, 'P* ladders of the deep CNN' on one grid of settings
    (v, n_c, m, L) (per-setting inputs in the module docstring): the n_c exponent per m^L (claim 1),
    the m^L exponent per n_c (claim 1) and the mean log2(P_half / P*) per m^L (claim 0)."""
    settings = [tuple(int(x) for x in setting) for setting in settings]
    normalised = _normalised_curves(settings, curves)
    depths = {L for *_, L in settings}
    if len(depths) != 1:
        raise ValueError(f"a ladder grid has one depth L, got {sorted(depths)}")
    L = depths.pop()

    def ladder(key, fit_rung):
        groups = group(settings, key)
        found = {
            size: fit_rung([settings[i] for i in idx], [normalised[i] for i in idx], idx)
            for size, idx in groups.items()
        }
        rung_seconds = [sum(seconds[i] for i in idx) for idx in groups.values()]
        rung_devices = [",".join(sorted({devices[i] for i in idx})) for idx in groups.values()]
        flags = [converged[i] for idx in groups.values() for i in idx]
        return found, rung_seconds, rung_devices, flags

    def by_exponent(factor):
        return lambda rung_settings, rung_normalised, _: exponent_rung(
            rung_settings, rung_normalised, factor, n_boot=n_boot, seed=seed
        )

    def by_drop(rung_settings, rung_normalised, idx):
        return drop_rung(rung_settings, rung_normalised, [sensitivities[i] for i in idx], n_boot=n_boot, seed=seed)

    designs = [
        (
            "P* ~ n_c^a at each m^L (ladder over m^L): a = 1",
            lambda st: st[2] ** st[3],
            by_exponent(lambda v, n_c, m, L: n_c),
            1.0,
            N_C_ALTERNATIVES,
            PAPER_PSTAR + "; ladder",
        ),
        (
            "P* ~ (m^L)^b at each n_c (ladder over n_c): b = 1",
            lambda st: st[1],
            by_exponent(lambda v, n_c, m, L: m**L),
            1.0,
            m_L_alternatives(s, L),
            PAPER_PSTAR + "; ladder",
        ),
        (
            "S_{k,l} (k > l) halves at P* (ladder over m^L): log2(P_half/P*) = 0",
            lambda st: st[2] ** st[3],
            by_drop,
            0.0,
            DROP_ALTERNATIVES,
            PAPER_SENSITIVITY + "; ladder",
        ),
    ]
    checks = []
    for name, key, fit_rung, claim, alternatives, source in designs:
        found, rung_seconds, rung_devices, flags = ladder(key, fit_rung)
        checks.append(
            ladder_check(
                name,
                found,
                claim=claim,
                alternatives=alternatives,
                converged=flags,
                seconds=rung_seconds,
                devices=rung_devices,
                source=source,
                seed=seed,
                cost=cost,
            )
        )
    return checks
