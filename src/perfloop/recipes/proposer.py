"""Recipes at work: their templates as a proposer beside the rules, and the recipes most
like a target as worked examples in an LLM's prompt.

`RecipeProposer` is a plain proposer (called once per target, like the rules): every
proposable recipe whose template matches the target gives one candidate, origin
`recipe:<id>`, which the pipeline gates, verifies and measures like any other. Recipes
marked as failed are not tried (`perfloop recipes` shows them, with where and why).
"""

from __future__ import annotations

import ast
import math
from collections import Counter
from collections.abc import Sequence

from perfloop.model import Candidate, FunctionRef, TargetContext
from perfloop.qualnames import function_source
from perfloop.recipes.library import ORIGIN, Library, Recipe
from perfloop.recipes.template import apply_template

EXAMPLES = 2  # recipes shown to an LLM per prompt
MIN_SIMILARITY = 0.35  # below this, an example misleads more than it teaches


class RecipeProposer:
    """Candidates from the templates of a recipe library."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self.recipes = library.proposable()

    @property
    def cache_identity(self) -> str:
        """What decides its candidates, for the result cache's key."""
        return f"recipes {self.library.digest()}"

    def summary(self) -> str:
        marked = len(self.library.marked())
        text = (
            f"recipes: {len(self.library.recipes)} from {', '.join(self.library.sources)}; "
            f"{len(self.recipes)} with a template tried on each target"
        )
        if marked:
            text += f"; {marked} marked as failed elsewhere, not tried (`perfloop recipes`)"
        return text

    def __call__(self, function: FunctionRef, path: str, module_source: str) -> list[Candidate]:
        candidates = []
        for recipe in self.recipes:
            assert recipe.template is not None
            try:
                applied = apply_template(recipe.template, module_source, function.qualname)
            except Exception:  # a template that cannot handle odd code simply does not fire
                continue
            if applied is None:
                continue
            names = ", ".join(f"{k}={v}" for k, v in applied.bindings)
            candidates.append(
                Candidate(
                    function=function,
                    origin=f"{ORIGIN}{recipe.recipe_id}",
                    rationale=(
                        f"recipe {recipe.recipe_id} learned on {recipe.function} "
                        f"({recipe.proposer}, {recipe.speedup:.2f}x there), with {names}"
                    ),
                    module_source=applied.module_source,
                    function_source=applied.function_source,
                    path=path,
                )
            )
        return candidates


def similar_recipes(
    library: Library, source: str, count: int = EXAMPLES, minimum: float = MIN_SIMILARITY
) -> list[Recipe]:
    """The recipes whose `before` is most like `source` (cosine similarity of their syntax
    node kinds, attribute names and called names), best first: the fastest one per
    function learned on, marked ones left out."""
    target = _features(source)
    if not target:
        return []
    fastest: dict[str, Recipe] = {}
    for recipe in library.recipes:
        if library.failures_of(recipe) or recipe.before.strip() == source.strip():
            continue
        known = fastest.get(recipe.before)
        if known is None or recipe.speedup > known.speedup:
            fastest[recipe.before] = recipe
    scored = []
    for recipe in fastest.values():
        score = _cosine(target, _features(recipe.before))
        if score >= minimum:
            scored.append((score, recipe.speedup, recipe))
    scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [recipe for _score, _speedup, recipe in scored[:count]]


def _features(source: str) -> Counter[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return Counter()
    features: Counter[str] = Counter()
    for node in ast.walk(tree):
        features[type(node).__name__] += 1
        if isinstance(node, ast.Attribute):
            features[f".{node.attr}"] += 2
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            features[f"{node.func.id}()"] += 2
    return features


def _cosine(a: Counter[str], b: Counter[str]) -> float:
    dot = sum(a[k] * b[k] for k in a.keys() & b.keys())
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


def recipe_examples(library: Library | None, context: TargetContext) -> str:
    """The prompt section of worked examples for this target (empty without a library,
    and for a whole class: the recipes are rewrites of single functions)."""
    if library is None or context.whole_class:
        return ""
    source = function_source(context.module_source, context.function.qualname)
    return examples_text(similar_recipes(library, source))


def examples_text(recipes: Sequence[Recipe]) -> str:
    """The recipes as worked examples for a prompt (empty when there are none)."""
    if not recipes:
        return ""
    parts = ["\n\nRewrites of other functions that were verified and measured faster:"]
    for recipe in recipes:
        parts.append(
            f"\nBefore ({recipe.function}):\n```python\n{recipe.before.strip()}\n```\n"
            f"After ({recipe.speedup:.2f}x faster, behaved the same):\n"
            f"```python\n{recipe.after.strip()}\n```"
        )
    return "\n".join(parts)
