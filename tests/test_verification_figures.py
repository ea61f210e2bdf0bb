"""The plotting functions of verification/*.py return matplotlib Figures (the scripts save them) and
say so on a panel whose data is missing, instead of leaving it empty."""

from types import SimpleNamespace

import numpy as np
import pytest
from matplotlib.figure import Figure
from verification_scripts import load_verification_script


def texts(ax) -> list[str]:
    return [text.get_text() for text in ax.texts]


def pstar_result(P_values, errors, pstar):
    return SimpleNamespace(
        P_values=P_values,
        mean_errors=np.asarray(errors, dtype=float),
        pstar=pstar,
        ci_low=pstar * 0.9,
        ci_high=pstar * 1.1,
    )


@pytest.fixture(scope="module")
def scripts():
    return {
        name: load_verification_script(name)
        for name in ("foundation", "controls", "sample_complexity", "correlations", "diffusion", "synonyms")
    }


def test_sample_complexity_figures_and_settings_without_pstar(scripts):
    sc = scripts["sample_complexity"]
    settings = ((4, 2, 3, 3), (4, 4, 3, 3))
    found = pstar_result([27, 108, 432], [0.5, 0.2, 0.01], 200.0)
    missing = pstar_result([54, 216, 864], [0.7, 0.7, 0.7], np.inf)  # the error never fell below the threshold
    S_kl = np.full((2, 3, 3, 3), 0.5)
    figure = sc.plot_collapse(settings, [found, missing])
    assert isinstance(figure, Figure)
    assert "no $P^*$ in the bracket: 2: $n_c=4$" in figure.axes[1].get_title()
    assert texts(figure.axes[1]) == ["1"]  # the point that has a P* is labelled with its setting's number
    assert [line.get_label() for line in figure.axes[0].get_lines()][:2] == ["1: $n_c=2$", "2: $n_c=4$"]
    empty = sc.plot_collapse(settings, [missing, missing])
    assert texts(empty.axes[1]) == ["no setting's error fell below the $P^*$ threshold"]
    sensitivity = sc.plot_sensitivity(settings, [found, missing], [S_kl, S_kl])
    assert len(sensitivity.axes[0].get_lines()) > 0
    assert texts(sensitivity.axes[1]) == ["no finite $P^*$:\nP / P* undefined"]
    fcn = sc.plot_fcn(((3, 3, 3, 3),), [([100, 500], np.array([[0.6, 0.1], [0.6, 0.1]]))])
    assert isinstance(fcn, Figure)
    assert any("threshold" in line.get_label() for line in fcn.axes[0].get_lines())


def test_synonym_figures_and_a_fit_without_crossings(scripts):
    syn = scripts["synonyms"]
    grid = np.array([10.0, 100.0, 1000.0])
    sweeps = [
        ((32, n_c, 4, 3), 8.0, grid, {method: np.array([[1.0, 0.6, 0.1]]) for method in syn.METHODS}) for n_c in (8, 32)
    ]
    fits = {(method, level): None for method in syn.METHODS for level in (syn.ONSET, syn.MIDPOINT)}
    figure = syn.plot_clustering(sweeps, fits)
    assert isinstance(figure, Figure)
    crossing_panels = [ax for ax in figure.axes if ax.texts]
    assert len(crossing_panels) == 2 * len(syn.METHODS)
    assert all(texts(ax) == ["no crossing in some setting:\nnothing to fit"] for ax in crossing_panels)
    steps = [
        ((32, n_c, 8, 2), 64.0 * n_c, grid, np.array([[0.9, 0.5, 0.1]]), np.array([[1.0, 2.0, 3.0]])) for n_c in (4, 16)
    ]
    fit = SimpleNamespace(
        crossings=np.array([256.0, 1024.0]),
        exponents=np.array([1.0, 1.0]),
        ci_low=np.array([0.9, 0.9]),
        ci_high=np.array([1.1, 1.1]),
    )
    one_step = syn.plot_one_step(steps, fit)
    assert not one_step.axes[2].texts
    assert "$b = 1.00$" in one_step.axes[2].get_title()
    layerwise = syn.plot_layerwise(
        (4, 4, 4, 3), 256, grid, np.array([[0.7, 0.3, 0.0]]), np.array([[0.7, 0.2, 0.0]]), 0.075
    )
    assert isinstance(layerwise, Figure)


def test_correlation_diffusion_foundation_controls_figures(scripts):
    corr = scripts["correlations"]
    points = [(0.01, 0.0101, 0.0099, 0.0103), (0.1, 0.099, 0.097, 0.101), (0.0, 0.0, 0.0, 0.0)]
    figure = corr.plot_monte_carlo(points, 100)
    assert "(1 exact zeros not shown)" in figure.get_suptitle()
    assert all(
        texts(ax) == ["no nonzero closed form"] for ax in corr.plot_monte_carlo([(0.0, 0.0, 0.0, 0.0)], 100).axes
    )
    sizes = np.array([10.0, 100.0, 1000.0])
    curve = ((8, 8, 8, 2, 2), sizes, 0.3 + 40 / sizes, 0.01 * np.ones(3), 0.3 + 40 / sizes, 0.3, 133.0, True, None)
    noise = corr.plot_noise([curve])
    assert noise.axes[0].get_ylabel() == r"$\langle (n_c \hat f - 1)^2 \rangle$"
    assert isinstance(corr.plot_asymptotics([("$n_c = v$ (exact)", np.array([2, 20]), [3.0, 1.1])]), Figure)
    diffusion = scripts["diffusion"]
    eps = np.linspace(0.1, 0.6, 4)
    curves = {L: np.tile(np.linspace(1, 0.1, 4)[:, None], (1, 5)) for L in (2, 4)}
    changed = {L: np.tile(np.arange(4)[:, None], (1, 5)) for L in (2, 4)}
    assert isinstance(diffusion.plot(eps, curves, curves, changed, 0.36, None, 16, 5), Figure)
    counts = np.full(24, 100)
    assert isinstance(scripts["foundation"].plot_counts(counts, counts, 1 / 3), Figure)
    controls = scripts["controls"]
    errors = {"uncorrelated": np.full((2, 2), 0.5), "random": np.array([[0.2, 0.01], [0.25, 0.02]])}
    assert isinstance(controls.plot(controls.QUICK, [128, 1024], errors), Figure)
