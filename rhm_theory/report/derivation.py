"""A derivation tree drawn readably: ``draw_derivation(grammar, x)`` (networkx tree of
rhm_theory.core.graphs.derivation_tree, laid out level by level, matplotlib).

Layout: the d tokens sit at x = 0..d-1 on the bottom row, each parent centred over its s children,
the class at the top; row = level (docs/theory.md, 'The model'). Node labels are the symbols; the
production j used at an internal node is written to its right.
"""

from __future__ import annotations

import networkx as nx

from rhm_theory.core.graphs import derivation_tree


def derivation_layout(tree: nx.DiGraph) -> dict[tuple[int, int], tuple[float, int]]:
    """Positions (x, level) of the nodes of a derivation tree: leaves (level 1) at x = position,
    every other node at the mean x of its children."""
    layout = {}
    for node in sorted(tree.nodes, key=lambda node: node[0]):  # level 1 first, the class last
        level, position = node
        children = list(tree.successors(node))
        x = float(position) if not children else sum(layout[c][0] for c in children) / len(children)
        layout[node] = (x, level)
    return layout


def draw_derivation(grammar, x, ax=None):
    """Draw the derivation of one datum ``x`` (tokens, shape (d,)) of ``grammar``; returns the Figure.

    ``ax``: a matplotlib Axes to draw into (default: a new Figure sized to d and L).
    """
    tree = derivation_tree(grammar, x)
    layout = derivation_layout(tree)
    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(max(4.0, 0.55 * grammar.d + 1.5), 1.0 + 0.9 * (grammar.L + 1)), layout="constrained")
        ax = fig.add_subplot()
    fig = ax.figure
    for parent, child in tree.edges:
        (x0, y0), (x1, y1) = layout[parent], layout[child]
        ax.plot([x0, x1], [y0, y1], color="0.6", lw=1, zorder=1)
    top = grammar.L + 1
    for node, (px, level) in layout.items():
        attributes = tree.nodes[node]
        colour = "tab:red" if level == top else ("tab:blue" if level == 1 else "tab:green")
        ax.scatter([px], [level], s=330, color="white", edgecolors=colour, linewidths=1.5, zorder=2)
        ax.text(px, level, str(attributes["symbol"]), ha="center", va="center", fontsize=9, zorder=3)
        if "production" in attributes:
            ax.annotate(
                f"$j={attributes['production']}$",
                (px, level),
                xytext=(12, 0),
                textcoords="offset points",
                va="center",
                fontsize=7,
                color="0.35",
                zorder=3,
            )  # right of the circle (radius ~10 pt)
    ax.set_yticks(range(1, top + 1))
    ax.set_yticklabels(["tokens (level 1)", *(f"level {k}" for k in range(2, top)), "class"])
    ax.set_xticks(range(grammar.d))
    ax.set_xlabel("input position")
    ax.set_xlim(-0.7, grammar.d - 0.3)
    ax.set_ylim(0.5, top + 0.6)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", length=0)
    v, n_c, m, s, L = (grammar.params[k] for k in ("v", "n_c", "m", "s", "L"))
    ax.set_title(f"derivation of one datum: RHM $v={v}$, $n_c={n_c}$, $m={m}$, $s={s}$, $L={L}$", fontsize=10)
    return fig
