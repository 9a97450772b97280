"""The recipe library: every verified, faster edit of a project's runs, with its evidence.

A recipe is derived from the run store (the same slow/fast pairs `perfloop export --format
pie` writes, perfloop.export.verified_faster), never kept apart from it: its before and after
source, where it came from (rule ids, the LLM's model, a proposer command), its speedup and
interval, the Python it was measured under, each verification tier's verdict and the
verification's strength, and its rewrite template when its shape generalises
(perfloop.recipes.template). A candidate made from a recipe carries the origin
`recipe:<id>`; when one behaves differently from the function it was applied to, in a
later run, that run's store says where and why, and the recipe is marked: listed with the
failure, not proposed again and not shown to an LLM (nor are recipes made from it or with
its template). A check that failed (a timeout, a crash of perfloop's worker) or could not
decide marks nothing.

`perfloop recipes export` writes a library as versioned JSON (`perfloop.recipes/1`) that
another project reads with `perfloop optimize --recipes FILE`, failures included.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from perfloop.config import ConfigError
from perfloop.export import optimize_runs, verified_faster
from perfloop.model import CandidateResult, RunId, VerdictStatus
from perfloop.qualnames import function_source
from perfloop.recipes.template import Template, generalise
from perfloop.store.runs import RunStore

SCHEMA = "perfloop.recipes/1"
ORIGIN = "recipe:"  # the origin of a candidate a recipe's template made


@dataclass(frozen=True)
class Evidence:
    """One verification tier's verdict on the recipe's own edit."""

    tier: str
    outcome: str
    inputs: int
    note: str | None = None


@dataclass(frozen=True)
class Failure:
    """Where a candidate made from a recipe did not behave like the function, and why."""

    recipe_id: str
    run_id: str
    function: str
    why: str


@dataclass(frozen=True)
class Recipe:
    recipe_id: str
    function: str  # where it was learned, module:qualname
    path: str
    run_id: str
    python: str
    origin: str  # as the candidate carried it: rule:x, rules:a+b, llm:propose, cmd:NAME...
    proposer: str  # in words: "rule hoist_invariant", "LLM qwen2.5-coder (llm:propose)"
    before: str
    after: str
    speedup: float
    ci: tuple[float, float]
    p_value: float | None
    evidence: tuple[Evidence, ...]
    strength: float | None  # the mutation score of the verification that judged it
    template: Template | None
    no_template: str | None = None  # why its shape does not generalise
    runs: tuple[str, ...] = ()  # every run that found this same edit

    @property
    def from_rules(self) -> bool:
        return self.origin.startswith(("rule:", "rules:"))


@dataclass(frozen=True)
class Library:
    recipes: tuple[Recipe, ...] = ()
    failures: tuple[Failure, ...] = ()
    sources: tuple[str, ...] = field(default=())  # where it was read from, in words

    def find(self, recipe_id: str) -> Recipe:
        """The recipe with this id or unique id prefix; ConfigError says what is known."""
        found = [r for r in self.recipes if r.recipe_id.startswith(recipe_id)]
        if len(found) == 1:
            return found[0]
        known = ", ".join(r.recipe_id for r in self.recipes) or "none yet"
        if not found:
            raise ConfigError(f"no recipe {recipe_id!r}; `perfloop recipes` lists them ({known})")
        raise ConfigError(f"{recipe_id!r} names several recipes ({known}); give more of its id")

    def failures_of(self, recipe: Recipe) -> tuple[Failure, ...]:
        """Where the recipe failed: itself, the recipe it was made from (origin
        `recipe:<id>`), or another recipe with the same template."""
        ids = {recipe.recipe_id}
        if recipe.origin.startswith(ORIGIN):
            ids.add(recipe.origin.removeprefix(ORIGIN))
        if recipe.template is not None:
            ids |= {r.recipe_id for r in self.recipes if r.template == recipe.template}
        return tuple(f for f in self.failures if f.recipe_id in ids)

    def proposable(self) -> tuple[Recipe, ...]:
        """Recipes whose template may be tried on other functions: one per template, not
        marked as failed, not a rule's (the rule itself proposes its edit everywhere)."""
        chosen: dict[Template, Recipe] = {}
        for recipe in self.recipes:
            if recipe.template is None or recipe.from_rules or self.failures_of(recipe):
                continue
            known = chosen.get(recipe.template)
            if known is None or recipe.speedup > known.speedup:
                chosen[recipe.template] = recipe
        return tuple(chosen.values())

    def marked(self) -> tuple[Recipe, ...]:
        return tuple(r for r in self.recipes if self.failures_of(r))

    def digest(self) -> str:
        """What decides the candidates the library proposes (for the result cache key)."""
        parts = [
            (r.recipe_id, asdict(r.template) if r.template else None) for r in self.proposable()
        ]
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]

    def merged(self, other: Library) -> Library:
        recipes = {r.recipe_id: r for r in self.recipes}
        for recipe in other.recipes:
            known = recipes.get(recipe.recipe_id)
            if known is None:
                recipes[recipe.recipe_id] = recipe
            else:
                runs = tuple(dict.fromkeys([*known.runs, *recipe.runs]))
                recipes[recipe.recipe_id] = replace(known, runs=runs)
        failures = tuple(dict.fromkeys([*self.failures, *other.failures]))
        return Library(tuple(recipes.values()), failures, (*self.sources, *other.sources))


def recipe_id(before: str, after: str) -> str:
    return "r" + hashlib.sha256(f"{before}\0{after}".encode()).hexdigest()[:8]


def project_library(store: RunStore, source: str = "this project") -> Library:
    """The recipes of every optimize run in the store, and the failures of recipes there."""
    recipes: dict[str, Recipe] = {}
    failures: list[Failure] = []
    for run in optimize_runs(store, ()):
        models: dict[str, str] | None = None
        for target in run.targets:
            failures.extend(_failures(run.run_id, target.candidates))
            sources = run.sources.get(target.function)
            if sources is None:
                continue
            path, module_source = sources
            original = function_source(module_source, target.function.qualname)
            strength = target.strength.score if target.strength else None
            for result in verified_faster(target):
                if models is None:
                    models = {
                        c.candidate_id: c.model
                        for c in store.llm_calls(RunId(run.run_id))
                        if c.candidate_id
                    }
                recipe = _recipe(run.run_id, run.python, str(target.function), path, original)
                made = recipe(result, strength, models)
                known = recipes.get(made.recipe_id)
                if known is None:
                    recipes[made.recipe_id] = made
                elif run.run_id not in known.runs:
                    recipes[made.recipe_id] = replace(known, runs=(*known.runs, run.run_id))
    return Library(tuple(recipes.values()), tuple(dict.fromkeys(failures)), (source,))


def _recipe(run_id: str, python: str, function: str, path: str, before: str):
    def make(result: CandidateResult, strength: float | None, models: dict[str, str]) -> Recipe:
        candidate, verdict = result.candidate, result.verdict
        speedup = result.measurement.speedup if result.measurement else None
        assert verdict is not None and speedup is not None
        after = candidate.function_source
        template = generalise(before, after)
        return Recipe(
            recipe_id=recipe_id(before, after),
            function=function,
            path=path,
            run_id=run_id,
            python=python,
            origin=candidate.origin,
            proposer=_proposer(candidate.origin, models.get(candidate.candidate_id)),
            before=before,
            after=after,
            speedup=speedup.ratio,
            ci=(speedup.ci_low, speedup.ci_high),
            p_value=speedup.p_value,
            evidence=tuple(Evidence(t.tier, t.outcome, t.inputs, t.note) for t in verdict.runs),
            strength=strength,
            template=template if isinstance(template, Template) else None,
            no_template=template if isinstance(template, str) else None,
            runs=(run_id,),
        )

    return make


def _proposer(origin: str, model: str | None) -> str:
    kind, _, detail = origin.partition(":")
    if kind == "rule":
        return f"rule {detail}"
    if kind == "rules":
        return "rules " + " + ".join(detail.split("+"))
    if kind == "llm":
        return f"LLM {model or '(model not recorded)'} ({origin})"
    if kind == "cmd":
        return f"proposer command {detail}"
    if kind == "recipe":
        return f"recipe {detail}'s template"
    return origin  # an outside agent's own words


def _failures(run_id: str, results: Iterable[CandidateResult]) -> list[Failure]:
    found = []
    for result in results:
        origin, verdict = result.candidate.origin, result.verdict
        if not origin.startswith(ORIGIN) or verdict is None:
            continue
        if verdict.status is not VerdictStatus.DIFFERENT:
            continue  # a check that failed (a timeout) or could not decide blames no recipe
        difference = verdict.difference
        if difference is not None:
            tier = f" ({difference.tier})" if difference.tier else ""
            why = f"behaved differently{tier} on {difference.call}: {difference.description}"
        else:
            why = f"behaved differently: {verdict.reason or 'no detail recorded'}"
        found.append(
            Failure(origin.removeprefix(ORIGIN), run_id, str(result.candidate.function), why)
        )
    return found


# --- reading and writing ---------------------------------------------------------------


def load_library(sources: Sequence[str], root: Path) -> Library:
    """The recipes of `sources` (files written by `perfloop recipes export`, or project
    folders with perfloop runs) and the failures this project's runs found for them."""
    library = Library()
    for source in sources:
        library = library.merged(_load_source(source, root))
    own = root / ".perfloop" / "perfloop.db"
    if own.exists() and not any(_same_project(s, root) for s in sources):
        store = RunStore(own)
        try:  # the marks this project's runs gave, for recipes read from elsewhere
            library = library.merged(Library((), project_library(store).failures))
        finally:
            store.close()
    return library


def _same_project(source: str, root: Path) -> bool:
    path = Path(source) if Path(source).is_absolute() else root / source
    return path.is_dir() and path.resolve() == root.resolve()


def _load_source(source: str, root: Path) -> Library:
    path = Path(source) if Path(source).is_absolute() else root / source
    if path.is_dir():
        db = path / ".perfloop" / "perfloop.db"
        if not db.exists():
            raise ConfigError(
                f"recipes: {path} has no perfloop runs (no .perfloop/perfloop.db); give a "
                "project perfloop optimized, or a file written by `perfloop recipes export`"
            )
        store = RunStore(db)
        try:
            return project_library(store, f"the runs in {path}")
        finally:
            store.close()
    if not path.is_file():
        raise ConfigError(
            f"recipes: {path} does not exist; give a file written by `perfloop recipes "
            "export --output FILE`, or a project folder perfloop optimized"
        )
    try:
        return from_json(json.loads(path.read_text(encoding="utf-8")), str(path))
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"recipes: {path} is not a recipe library written by `perfloop recipes export` "
            f"({exc.__class__.__name__}: {exc})"
        ) from exc


def to_json(library: Library) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "recipes": [asdict(r) for r in library.recipes],
        "failures": [asdict(f) for f in library.failures],
    }


def from_json(document: dict[str, Any], source: str) -> Library:
    if document.get("schema") != SCHEMA:
        raise ValueError(f"schema {document.get('schema')!r}, expected {SCHEMA!r}")
    recipes = []
    for item in document["recipes"]:
        template = item["template"]
        recipes.append(
            Recipe(
                **{
                    **item,
                    "ci": tuple(item["ci"]),
                    "evidence": tuple(Evidence(**e) for e in item["evidence"]),
                    "runs": tuple(item["runs"]),
                    "template": None
                    if template is None
                    else Template(
                        template["pattern"],
                        template["replacement"],
                        tuple(tuple(pair) for pair in template["constant_types"]),
                        tuple(template["fresh"]),
                    ),
                }
            )
        )
    failures = tuple(Failure(**f) for f in document["failures"])
    return Library(tuple(recipes), failures, (source,))
