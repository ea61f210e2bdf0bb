"""networkx views of a grammar and of one datum's derivation (exchange and inspection format only).

Grammar graph (MultiDiGraph, graph attributes v, n_c, m, s, L, and zipf when the grammar has one):

- ("class", alpha) and ("symbol", level, a) for level 1..L, attributes kind, level, symbol;
- ("production", k, owner, j): production j of ``owner`` in rules[k], attributes kind, rules_level, owner, index;
- edges owner -> production with attribute prob = probs[k][owner, j] (the rule's probability), and
  production -> child symbol (level L - k) with key = attribute slot = i.
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
from numpy.typing import ArrayLike

from rhm_theory.core.sampling import block_offsets, parse
from rhm_theory.core.validation import shown

if TYPE_CHECKING:  # Grammar imports this module: no import at run time
    from rhm_theory.core.grammar import Grammar


def _owner_node(grammar: Grammar, k: int, owner: int) -> tuple[str, int] | tuple[str, int, int]:
    return ("class", owner) if k == 0 else ("symbol", grammar.L - k + 1, owner)


def grammar_to_networkx(grammar: Grammar) -> nx.MultiDiGraph:
    """The grammar's rules as a MultiDiGraph (see module docstring); round-trips exactly."""
    graph = nx.MultiDiGraph(**grammar.params, **({} if grammar.zipf is None else {"zipf": grammar.zipf}))
    for alpha in range(grammar.n_c):
        graph.add_node(("class", alpha), kind="class", level=grammar.L + 1, symbol=alpha)
    for level in range(1, grammar.L + 1):
        for a in range(grammar.v):
            graph.add_node(("symbol", level, a), kind="symbol", level=level, symbol=a)
    for k, (rules, probs) in enumerate(zip(grammar.rule_tables, grammar.probs)):
        for owner in range(rules.shape[0]):
            for j in range(grammar.m):
                node = ("production", k, owner, j)
                graph.add_node(node, kind="production", rules_level=k, owner=owner, index=j)
                graph.add_edge(_owner_node(grammar, k, owner), node, kind="produces", prob=float(probs[owner, j]))
                for slot, child in enumerate(rules[owner, j]):
                    graph.add_edge(node, ("symbol", grammar.L - k, int(child)), key=slot, slot=slot)
    return graph


def _index_attribute(attrs: dict, key: str, size: int, where: str) -> int:
    """``attrs[key]`` as an int in range(size), else a one-line ValueError naming ``where`` (never wrapped)."""
    if key not in attrs:
        raise ValueError(f"{where} has no {key!r} attribute")
    value = attrs[key]
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= int(value) < size:
        raise ValueError(f"{where}: {key} must be an integer in range({size}), got {shown(value)}")
    return int(value)


def rules_from_networkx(graph: nx.MultiDiGraph) -> tuple[list[np.ndarray], int, list[list[list[Any]]] | None]:
    """(rules, v, probs) of a graph made by :func:`grammar_to_networkx` (Grammar.from_networkx builds the
    grammar): probs from the edges' prob attributes, None (1/m) when no edge has one; ValueError if the
    graph does not describe full rules, or gives only some productions a probability."""
    try:
        v, n_c, m, s, L = (int(graph.graph[key]) for key in ("v", "n_c", "m", "s", "L"))
    except KeyError as missing:
        raise ValueError(f"graph attribute {missing} is missing: expected v, n_c, m, s, L") from None
    rules = [np.full((n_c if k == 0 else v, m, s), -1, dtype=np.int64) for k in range(L)]
    probs = [
        np.empty((n_c if k == 0 else v, m), dtype=object) for k in range(L)
    ]  # values as given: checked by the Grammar
    given = [np.zeros(p.shape, dtype=bool) for p in probs]
    for node, attrs in graph.nodes(data=True):
        if attrs.get("kind") != "production":
            continue
        k = _index_attribute(attrs, "rules_level", L, f"production {node}")
        owner = _index_attribute(attrs, "owner", n_c if k == 0 else v, f"production {node}")
        j = _index_attribute(attrs, "index", m, f"production {node}")
        for _, _, edge in graph.in_edges(node, data=True):
            if "prob" in edge:
                probs[k][owner, j], given[k][owner, j] = edge["prob"], True
        for _, child, edge in graph.out_edges(node, data=True):
            slot = _index_attribute(edge, "slot", s, f"the edge {node} -> {child}")
            if rules[k][owner, j, slot] != -1:
                raise ValueError(f"production {node} has two children in slot {slot}")
            rules[k][owner, j, slot] = _index_attribute(graph.nodes[child], "symbol", v, f"symbol node {child}")
    for k, r in enumerate(rules):
        if (r == -1).any():
            where = tuple(int(i) for i in np.argwhere(r == -1)[0])
            raise ValueError(f"the graph leaves rules[{k}]{list(where)} undefined")
    if not any(g.any() for g in given):
        return rules, v, None
    for k, g in enumerate(given):
        if not g.all():
            owner, j = (int(i) for i in np.argwhere(~g)[0])
            raise ValueError(
                f"the graph gives some productions a prob but not production {j} of symbol {owner} in rules[{k}]"
            )
    return rules, v, [p.tolist() for p in probs]


def derivation_tree(grammar: Grammar, x: ArrayLike) -> nx.DiGraph:
    """The derivation of one datum ``x`` (tokens of shape (d,)) as a tree.

    Nodes (level, position) for levels 1..L+1 (level L+1, position 0 is the class), attributes
    level, position, symbol, and for internal nodes production (the index j of the rule used).
    Edges parent -> child carry the slot. ValueError if x is not a datum of the grammar.
    """
    x = np.asarray(x)
    if x.shape != (grammar.d,):
        raise ValueError(f"derivation_tree takes one datum of shape (d={grammar.d},), got {x.shape}")
    y, choices = parse(grammar, x[None, :])
    offsets = block_offsets(grammar)
    tree = nx.DiGraph(**grammar.params)
    symbols = [int(y[0])]
    tree.add_node((grammar.L + 1, 0), level=grammar.L + 1, position=0, symbol=symbols[0])
    for k, rules in enumerate(grammar.rule_tables):
        level = grammar.L - k  # level of the children
        children = []
        for position, symbol in enumerate(symbols):
            j = int(choices[0, offsets[k] + position])
            tree.nodes[(level + 1, position)]["production"] = j
            for slot, child in enumerate(rules[symbol, j]):
                child_position = position * grammar.s + slot
                tree.add_node((level, child_position), level=level, position=child_position, symbol=int(child))
                tree.add_edge((level + 1, position), (level, child_position), slot=slot)
                children.append(int(child))
        symbols = children
    return tree
