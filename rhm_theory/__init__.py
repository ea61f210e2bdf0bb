"""rhm-theory: exact statistics, symbolic closed forms and learning experiments for the Random
Hierarchy Model of Cagnetta, Petrini, Tomasini, Favero and Wyart (arXiv:2307.02129)."""

from .grammar import Grammar

__all__ = ["Grammar"]
__version__ = "0.1.0"
