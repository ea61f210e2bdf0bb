"""Figures: save_figure's files, the helpers' labels and ticks, and the `rhm report` figures on data and on
input without data (left out, never an empty panel)."""

import itertools

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from rhm_theory.report.figures import (
    annotate_empty,
    collapse_figure,
    correlations_figure,
    group_rows,
    label_log_axis,
    new_figure,
    pstar_figure,
    pstar_of,
    save_figure,
    sensitivity_figure,
    split_settings,
    write_report,
)


def synthetic_rows(with_sensitivity: bool, ratios=(0.25, 1, 4, 16)):
    """Rows of 2 settings x len(ratios) sizes x 3 seeds whose error falls through 0.1 x chance near P = 2 n_c m^L."""
    rows = []
    for n_c in (2, 4):
        scale = n_c * 2**2
        for ratio in ratios:
            for seed in range(3):
                row = {
                    "v": 4,
                    "n_c": n_c,
                    "m": 2,
                    "s": 2,
                    "L": 2,
                    "model": "cnn",
                    "width": 8,
                    "P": int(ratio * scale),
                    "seed": seed,
                    "test_error": (1 - 1 / n_c) / (1 + ratio**3) + 0.001 * seed,
                }
                if with_sensitivity:
                    row.update(S_k1_l1=0.9, S_k1_l2=0.9, S_k2_l1=0.9 / (1 + ratio), S_k2_l2=0.9)
                rows.append(row)
    return rows


def test_save_figure_writes_png_at_200_dpi_and_pdf(tmp_path):
    fig, ax = new_figure(figsize=(3, 2))
    ax.plot([1, 10, 100], [1, 2, 3])
    assert save_figure(fig, tmp_path, "x.png") == "x.png"
    with Image.open(tmp_path / "x.png") as image:
        assert image.size == (600, 400)
        assert np.allclose(image.info["dpi"], 200, atol=0.5)
    assert (tmp_path / "x.pdf").read_bytes()[:5] == b"%PDF-"
    with pytest.raises(ValueError, match=r"must end in .png"):
        save_figure(fig, tmp_path, "x.svg")


def test_split_settings_labels_only_what_varies():
    labels, constant = split_settings([(8, 4, 2, 2, 3, "cnn", 128), (8, 8, 2, 2, 3, "cnn", 128)])
    assert labels == ["$n_c=4$", "$n_c=8$"]
    assert constant == "$v=8$, $m=2$, $s=2$, $L=3$, cnn, width 128"
    assert split_settings([(8, 4, 2, 2, 3, "cnn", 128)])[0] == [""]


@pytest.mark.parametrize("low, high", [(200, 900), (30, 700), (1, 1e6), (1.1, 1.9)])
def test_log_axis_has_at_least_three_labelled_ticks(low, high):
    fig, ax = new_figure(figsize=(4, 3))
    ax.plot([low, high], [1, 2])
    ax.set(xscale="log", xlim=(low, high))
    label_log_axis(ax.xaxis)
    fig.canvas.draw()
    shown = [
        label
        for loc, label in zip(ax.xaxis.get_majorticklocs(), ax.get_xticklabels())
        if low * (1 - 1e-9) <= loc <= high * (1 + 1e-9) and label.get_text()
    ]
    assert len(shown) >= 3
    boxes = [label.get_window_extent() for label in shown]
    assert all(a.x1 < b.x0 for a, b in itertools.pairwise(boxes))  # left to right, no overlap


def test_annotate_empty_keeps_the_ticks_of_a_shared_panel():
    fig, (full, empty) = new_figure(1, 2, figsize=(6, 3), sharey=True)
    full.plot([0, 1], [0, 5])
    annotate_empty(empty, "not measured")
    fig.canvas.draw()
    assert [t.get_text() for t in empty.texts] == ["not measured"]
    assert any(label.get_text() for label in full.get_yticklabels())
    assert not any(label.get_text() and label.get_visible() for label in empty.get_yticklabels())


def test_report_figures_on_data():
    groups = group_rows(synthetic_rows(True))
    pstars = {setting: pstar_of(setting, group) for setting, group in groups.items()}
    assert all(r.status == "ok" for r in pstars.values())
    collapse = collapse_figure(groups)
    assert isinstance(collapse, Figure)
    ax = collapse.axes[0]
    thresholds = [line for line in ax.get_lines() if "threshold" in line.get_label()]
    assert len(thresholds) == 1  # 0.1 x chance (docs/theory.md)
    assert np.allclose(thresholds[0].get_ydata(), 0.1)
    assert [t.get_text() for t in ax.get_legend().get_texts()][-2:] == ["$n_c=2$", "$n_c=4$"]
    assert "$v=4$" in ax.get_title()
    assert "standard error" in ax.get_title()
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "0.25",
        "1",
        "4",
        "16",
    ]  # the grid's P / (n_c m^L), each labelled
    figure = pstar_figure(pstars)
    assert sorted(t.get_text() for t in figure.axes[0].texts) == ["$n_c=2$", "$n_c=4$"]  # each point labelled
    assert "95 % bootstrap CI" in figure.axes[0].get_title()
    assert "left out" not in figure.axes[0].get_title()
    assert "no slope fitted (fewer than 3 values of $n_c m^L$" in figure.axes[0].get_title()  # 2 settings: no fit
    one = pstar_figure({**pstars, (4, 8, 2, 2, 2, "cnn", 8): None})  # a setting with fewer than 2 sizes
    assert "1 setting without $P^*$ left out" in one.axes[0].get_title()
    sensitivity = sensitivity_figure(groups, pstars)
    assert len(sensitivity.axes) == 2
    assert {"$S_{2,1}$", "$S_{1,2}$", "$P^*$"} <= {t.get_text() for t in sensitivity.axes[-1].get_legend().get_texts()}
    correlations = correlations_figure(sorted({setting[:5] for setting in groups}))
    assert len([line for line in correlations.axes[0].get_lines() if line.get_label().startswith("noise")]) == 2


def test_report_figures_without_data_are_left_out(tmp_path):
    assert collapse_figure({}) is None
    assert correlations_figure([]) is None
    groups = group_rows(synthetic_rows(False, ratios=(0.25, 0.5)))  # no S_{k,l}; the error never crosses 0.1 x chance
    pstars = {setting: pstar_of(setting, group) for setting, group in groups.items()}
    assert all(r.status == "above_grid" for r in pstars.values())
    assert pstar_figure(pstars) is None
    assert sensitivity_figure(groups, pstars) is None
    summary = write_report(synthetic_rows(False, ratios=(0.25, 0.5)), tmp_path / "out").read_text()
    assert "- no pstar figure:" in summary
    assert "- no sensitivity figure:" in summary
    written = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert written == ["collapse.pdf", "collapse.png", "correlations.pdf", "correlations.png", "summary.md"]
    assert "![collapse](collapse.png)" in summary
    assert "pstar.png" not in summary


def test_report_counts_under_trained_runs_per_setting(tmp_path):
    rows = synthetic_rows(False)
    for i, row in enumerate(rows):  # n_c = 2: every third run stops at its epoch cap; n_c = 4: all reach the threshold
        capped = row["n_c"] == 2 and i % 3 == 0
        row.update(stop_reason="max_epochs" if capped else "loss_threshold", train_loss=0.5 + i if capped else 1e-4)
    capped = [row for row in rows if row["stop_reason"] == "max_epochs"]
    summary = write_report(rows, tmp_path / "out").read_text()
    table = [line for line in summary.splitlines() if line.startswith("| cnn")]
    assert table[0].endswith(f"| {len(capped)}/12 (training loss up to {max(r['train_loss'] for r in capped):.3g}) |")
    assert table[1].endswith("| 0/12 |")


def test_learning_curve_panels_follow_numeric_order():
    from rhm_theory.report.learning_curves import curve_runs

    rows = [
        {"key": f"k{n_c}", "v": 4, "n_c": n_c, "m": 2, "s": 2, "L": 2, "model": "cnn", "width": 8, "P": 16, "seed": 0}
        for n_c in (16, 8, 32)
    ]
    history = [{"key": row["key"], "step": 1, "train_loss": 1.0, "test_error": 0.5} for row in rows]
    assert [runs[0][0]["n_c"] for runs in curve_runs(rows, history).values()] == [8, 16, 32]  # not "16" < "32" < "8"
