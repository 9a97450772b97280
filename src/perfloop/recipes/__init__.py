"""recipes: what earlier runs verified, kept as reusable knowledge.

library.py    recipes derived from the run store (before/after, origin, speedup, evidence),
              marks for recipes that later failed verification, JSON import/export
template.py   a recipe's edit generalised into a rewrite template (anti-unification style)
proposer.py   the templates as a proposer, and recipes chosen as few-shot examples for an LLM
"""
