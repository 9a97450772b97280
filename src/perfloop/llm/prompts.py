"""Prompts built from what perfloop knows about a target, from templates users can override.

The templates are text files in `perfloop/llm/prompts/` (system, propose,
repair, refine, contract, unusable; for a whole class as the target class_system,
class_propose and class_contract instead of the first, second and fifth) with `$name`
placeholders (string.Template; write `$$` for a dollar sign). A folder named by
`llm-prompts` may hold any of them under the same file names; those win. Optional
sections (hot lines, types, calls, hints, helpers, a seed, worked examples from the
recipe library; a class's hot methods) are filled in as whole paragraphs, or empty.
"""

from __future__ import annotations

import ast
import string
from dataclasses import dataclass, fields
from importlib import resources
from pathlib import Path

from perfloop import qualnames
from perfloop.config import ConfigError
from perfloop.llm.client import Message
from perfloop.llm.hints import about, hot_line_hints, rule_hints
from perfloop.model import CandidateResult, FunctionRef, TargetContext, VerdictStatus
from perfloop.outside.whole_class import class_source
from perfloop.propose import propose_rule_candidates
from perfloop.qualnames import find_class, find_function

_CALL_REPR_LIMIT = 160
_HELPER_LINES_LIMIT = 60


@dataclass(frozen=True)
class Templates:
    system: str
    propose: str
    repair: str
    refine: str
    contract: str
    unusable: str
    class_system: str
    class_propose: str
    class_contract: str


def load_templates(override: Path | None = None) -> Templates:
    """The bundled templates, each replaced by `override/<name>.txt` where that exists."""
    names = [f.name for f in fields(Templates)]
    if override is not None and not override.is_dir():
        raise ConfigError(f"llm-prompts: {override} is not a folder of prompt templates")
    if override is not None:
        unknown = sorted(p.stem for p in override.glob("*.txt") if p.stem not in names)
        if unknown:
            raise ConfigError(
                f"llm-prompts: {override} has templates perfloop does not use "
                f"({', '.join(unknown)}); "
                f"the template files are {', '.join(n + '.txt' for n in names)}"
            )
    texts = {}
    bundled = resources.files("perfloop.llm") / "prompts"
    for name in names:
        custom = override / f"{name}.txt" if override is not None else None
        if custom is not None and custom.is_file():
            texts[name] = custom.read_text(encoding="utf-8")
        else:
            texts[name] = (bundled / f"{name}.txt").read_text(encoding="utf-8")
    return Templates(**texts)


def _fill(template: str, name: str, values: dict[str, str]) -> str:
    try:
        return string.Template(template).substitute(values).strip() + "\n"
    except KeyError as exc:
        raise ConfigError(
            f"the {name} prompt template uses ${exc.args[0]}, which perfloop does not fill in; "
            f"it fills in: {', '.join('$' + k for k in sorted(values))}"
        ) from None
    except ValueError as exc:
        raise ConfigError(
            f"the {name} prompt template is malformed ({exc}); write $$ for $"
        ) from None


def function_source(module_source: str, qualname: str) -> str:
    """The function's own source (decorators included), dedented; empty if it is not there."""
    return qualnames.function_source(module_source, qualname).rstrip("\n")


def _section(title: str, items: list[str]) -> str:
    if not items:
        return ""
    return f"\n\n{title}\n" + "\n".join(f"- {item}" for item in items)


def _code_section(title: str, code: str) -> str:
    return f"\n\n{title}\n```python\n{code.strip()}\n```" if code.strip() else ""


def _trim(text: str, limit: int = _CALL_REPR_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _types(context: TargetContext) -> str:
    parts = [f"{t.parameter}: {' | '.join(t.types)}" for t in context.parameter_types]
    if context.return_types:
        parts.append(f"returns {' | '.join(context.return_types)}")
    return _section("Types seen in the workload:", parts)


def _helpers(context: TargetContext) -> str:
    """The module's imports and the module-level functions and classes the target uses."""
    try:
        tree = ast.parse(context.module_source)
    except SyntaxError:
        return ""
    find = find_class if context.whole_class else find_function
    target = find(tree, context.function.qualname)
    if target is None:
        return ""
    used = {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    lines = context.module_source.splitlines()
    imports, helpers = [], []
    for node in tree.body:
        text = "\n".join(lines[node.lineno - 1 : node.end_lineno])
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.append(text)
        elif (
            isinstance(node, (ast.FunctionDef, ast.ClassDef))
            and node.name in used
            and node.name != context.function.qualname.split(".")[0]
        ):
            helpers.append(text)
    helper_text = "\n\n".join(helpers)
    if helper_text.count("\n") > _HELPER_LINES_LIMIT:
        helper_text = "\n".join(helper_text.splitlines()[:_HELPER_LINES_LIMIT]) + "\n# ..."
    return _code_section("The module imports:", "\n".join(imports)) + _code_section(
        "It uses these definitions of the module (leave them as they are):", helper_text
    )


def _seed(context: TargetContext) -> str:
    best = max(
        (r for r in context.verified if r.measurement and r.measurement.speedup),
        key=lambda r: r.measurement.speedup.ratio,  # type: ignore[union-attr]
        default=None,
    )
    if best is None:
        return ""
    return _code_section(
        "A rewrite that behaves the same is already faster; beat it:",
        best.candidate.function_source,
    )


def _common(templates: Templates, context: TargetContext) -> dict[str, str]:
    if context.whole_class:
        return _class_common(templates, context)
    name = context.function.qualname.rsplit(".", 1)[-1]
    try:
        tree = ast.parse(context.module_source)
        function = find_function(tree, context.function.qualname)
    except SyntaxError:
        function = None
    return {
        "name": name,
        "qualname": context.function.qualname,
        "kind": "function",
        "path": context.path,
        "share": about(context.share),
        "source": function_source(context.module_source, context.function.qualname),
        "hot_lines": _section(
            "Where its time goes:", hot_line_hints(function, context.line_profile)
        ),
        "methods": "",
        "types": _types(context),
        "calls": _section(
            "Calls seen in the workload:", [_trim(c) for c in context.sample_calls[:3]]
        ),
        "hints": _section("Rewrites that may apply:", rule_hints(context)),
        "helpers": _helpers(context),
        "seed": _seed(context),
        "contract": _fill(templates.contract, "contract", {"name": name}).strip(),
        "request": _request(context.request),
        "examples": "",
    }


def _class_common(templates: Templates, context: TargetContext) -> dict[str, str]:
    """The values for a whole class as the target: its source, its hot methods with their
    shares, the shapes of its instances' recorded histories, the rules that fire on its
    hot methods."""
    name = context.function.qualname
    methods = [f"`{method}`: {about(share)}" for method, share in context.hot_methods]
    hints = []
    for method, _share in context.hot_methods:
        ref = FunctionRef(context.function.module, f"{name}.{method}")
        for candidate in propose_rule_candidates(ref, context.path, context.module_source):
            rule = candidate.origin.removeprefix("rule:")
            hints.append(f"in `{method}`, {rule}: {candidate.rationale}")
    return {
        "name": name,
        "qualname": name,
        "kind": "class",
        "path": context.path,
        "share": about(context.share),
        "source": class_source(context.module_source, name).rstrip("\n"),
        "hot_lines": "",
        "methods": _section("Its hot methods, each with its own share of the time:", methods),
        "types": "",
        "calls": _section(
            "Instances the workload made (the constructor, then the methods called on it):",
            [_trim(c, 2 * _CALL_REPR_LIMIT) for c in context.sample_calls[:3]],
        ),
        "hints": _section("Rewrites of its methods that may apply:", hints),
        "helpers": _helpers(context),
        "seed": _seed(context),
        "contract": _fill(templates.class_contract, "class_contract", {"name": name}).strip(),
        "request": _request(context.request),
        "examples": "",
    }


def _request(hint: str) -> str:
    """A person's hint (optimize --interactive), in their own words."""
    if not hint.strip():
        return ""
    return f"\n\nThe engineer reviewing your rewrites asks for this:\n{hint.strip()}"


# measured figures: they vary from run to run, so the cache key leaves them out. The seed
# is one of them: which verified rewrite measured fastest can flip between close ones.
_MEASURED = ("share", "hot_lines", "methods", "speedup", "seed")


@dataclass(frozen=True)
class Prompt:
    """The messages sent, and the text that identifies the request in the cache: the same
    messages with the measured figures (shares, hot lines, speedups, the fastest verified
    rewrite given as seed) left out, so that a re-run of the same code is answered from
    the cache despite timing noise."""

    messages: tuple[Message, ...]
    cache_text: str


def _prompt(
    templates: Templates,
    name: str,
    template: str,
    values: dict[str, str],
    whole_class: bool = False,
) -> Prompt:
    system = Message(
        "system", (templates.class_system if whole_class else templates.system).strip()
    )
    if "request" not in _placeholders(template):  # a person's hint reaches every template
        template = template.rstrip() + "$request"
    stable = {k: (f"<{k}>" if k in _MEASURED else v) for k, v in values.items()}
    return Prompt(
        (system, Message("user", _fill(template, name, values))),
        f"{system.content}\n{_fill(template, name, stable)}",
    )


def _placeholders(template: str) -> set[str]:
    return {
        match.group("named") or match.group("braced")
        for match in string.Template.pattern.finditer(template)
        if match.group("named") or match.group("braced")
    }


def propose_prompt(templates: Templates, context: TargetContext, examples: str = "") -> Prompt:
    """`examples`: verified rewrites of similar functions (perfloop.recipes), or empty."""
    values = _common(templates, context)
    values["examples"] = examples
    if context.whole_class:
        return _prompt(templates, "class_propose", templates.class_propose, values, True)
    return _prompt(templates, "propose", templates.propose, values)


def problem_text(result: CandidateResult) -> str:
    """Why a candidate was rejected, as the model should read it: the counterexample first."""
    if not result.gate.passed:
        return f"It was rejected before running: {result.gate.reason}."
    verdict = result.verdict
    if verdict is None:
        return "It could not be checked."
    if verdict.status is VerdictStatus.DIFFERENT and verdict.difference is not None:
        call = verdict.difference.call
        if "\n" in call.strip():  # a sequence of calls on one object (a whole class)
            return (
                f"On these calls it behaves differently from the original:\n"
                f"```python\n{_sequence(call)}\n```\n{verdict.difference.description}."
            )
        return (
            f"On the recorded call `{_trim(call, 400)}` it behaves differently "
            f"from the original: {verdict.difference.description}."
        )
    return f"Checking it failed: {verdict.reason or verdict.status.value}."


def _sequence(code: str, lines: int = 14) -> str:
    """A sequence of calls as code, each line shortened, its middle left out if long."""
    shown = [_trim(line) for line in code.strip().splitlines()]
    if len(shown) > lines:
        shown = [*shown[: lines // 2], "# ...", *shown[-(lines // 2) :]]
    return "\n".join(shown)


def repair_prompt(
    templates: Templates, context: TargetContext, rejected: CandidateResult
) -> Prompt:
    values = _common(templates, context)
    values["candidate"] = rejected.candidate.function_source.strip()
    values["problem"] = problem_text(rejected)
    return _prompt(templates, "repair", templates.repair, values, context.whole_class)


def refine_prompt(templates: Templates, context: TargetContext, best: CandidateResult) -> Prompt:
    values = _common(templates, context)
    values["candidate"] = best.candidate.function_source.strip()
    speedup = best.measurement.speedup if best.measurement else None
    values["speedup"] = f"about {speedup.ratio:.1f}x" if speedup else "not measurably"
    return _prompt(templates, "refine", templates.refine, values, context.whole_class)


def unusable_prompt(
    templates: Templates, context: TargetContext, previous: Prompt, answer: str, problem: str
) -> Prompt:
    """The previous conversation, its unusable answer, and what was wrong with it."""
    name = context.function.qualname.rsplit(".", 1)[-1]
    follow_up = _fill(templates.unusable, "unusable", {"name": name, "problem": problem})
    return Prompt(
        (*previous.messages, Message("assistant", answer), Message("user", follow_up)),
        f"{previous.cache_text}\n[assistant]\n{answer}\n[user]\n{follow_up}",
    )
