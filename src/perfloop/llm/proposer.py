"""The LLM proposer: candidates from a language model, in rounds with execution feedback.

`LLMProposer` is a `RoundProposer` (see propose/rounds.py): it proposes from
the target's context (source, share of time, hot lines, observed types, sample
calls, hints, a verified rule result as seed), repairs rejected candidates with
their counterexample, and refines the best verified one with its speedup. Each
round asks for `samples` answers (greedy for one, `temperature` for several).
Every call is recorded in the run store, answered from its cache when the same
request was answered before, and counted against the token and time budgets.
An answer that gives no candidate is recorded with the reason; nothing here
stops a run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from perfloop.config import ConfigError, Settings
from perfloop.llm.client import ChatClient, ChatRequest, LLMUnavailable
from perfloop.llm.command import CommandProposer, check_command, command_settings
from perfloop.llm.journal import Answer, CallLog, Journal
from perfloop.llm.parse import Parsed, parse_answer
from perfloop.llm.prompts import (
    Prompt,
    load_templates,
    propose_prompt,
    refine_prompt,
    repair_prompt,
    unusable_prompt,
)
from perfloop.llm.settings import LLMSettings, llm_settings, make_client
from perfloop.model import Candidate, CandidateResult, FunctionRef, TargetContext
from perfloop.propose import propose_rule_candidates
from perfloop.recipes.library import Library, load_library
from perfloop.recipes.proposer import RecipeProposer, recipe_examples

_RATIONALE_LIMIT = 240


class LLMProposer:
    def __init__(
        self,
        settings: LLMSettings,
        client: ChatClient,
        store_path: Path,
        log: CallLog | None = None,
        recipes: Library | None = None,
    ) -> None:
        self.settings = settings
        self.recipes = recipes  # worked examples for the first prompt, chosen per target
        self.rounds = settings.rounds
        self.templates = load_templates(settings.prompts)
        self.journal = Journal(
            client,
            store_path,
            cache=settings.cache,
            prices=settings.prices,
            concurrency=settings.concurrency,
            log=log,
        )
        self._unavailable: str | None = None
        # the last conversation per target whose answers were all unusable, to say why
        self._unusable: dict[FunctionRef, tuple[Prompt, str, str]] = {}

    def exhausted(self) -> str | None:
        if self._unavailable:
            return self._unavailable
        budget = self.settings.token_budget
        if budget is not None and self.journal.tokens_spent >= budget:
            return f"the LLM token budget ({budget:,}) is spent"
        limit = self.settings.time_budget
        if limit is not None and self.journal.seconds_spent >= limit:
            return f"the LLM time budget ({limit:g} s) is spent"
        return None

    def propose(self, context: TargetContext) -> list[Candidate]:
        previous = self._unusable.pop(context.function, None)
        if previous is not None:
            prompt, answer, problem = previous
            follow_up = unusable_prompt(self.templates, context, prompt, answer, problem)
            return self._ask(context, "propose", follow_up)
        purpose = "hint" if context.request else "propose"  # a person asked for more
        prompt = propose_prompt(self.templates, context, recipe_examples(self.recipes, context))
        return self._ask(context, purpose, prompt)

    def repair(self, context: TargetContext, rejected: CandidateResult) -> list[Candidate]:
        return self._ask(context, "repair", repair_prompt(self.templates, context, rejected))

    def refine(self, context: TargetContext, best: CandidateResult) -> list[Candidate]:
        return self._ask(context, "refine", refine_prompt(self.templates, context, best))

    def close(self) -> None:
        self.journal.close()

    def _ask(self, context: TargetContext, purpose: str, prompt: Prompt) -> list[Candidate]:
        if self.exhausted():
            return []
        samples = self.settings.samples
        requests = [
            ChatRequest(
                messages=prompt.messages,
                cache_text=prompt.cache_text,
                temperature=self.settings.sampling_temperature(),
                max_tokens=self.settings.max_tokens,
                seed=sample,
            )
            for sample in range(samples)
        ]
        answers = self.journal.ask(context.run_id, context.function, purpose, requests)
        candidates: list[Candidate] = []
        unusable: tuple[str, str] | None = None
        for sample, answer in enumerate(answers):
            candidate, problem = self._judge(context, purpose, sample, answer)
            if candidate is not None:
                candidates.append(candidate)
            elif problem is not None and not answer.call.error:
                unusable = (answer.call.response, problem)
        if not candidates and unusable is not None:
            self._unusable[context.function] = (prompt, *unusable)
        return candidates

    def _judge(
        self, context: TargetContext, purpose: str, sample: int, answer: Answer
    ) -> tuple[Candidate | None, str | None]:
        call = answer.call
        if call.error:
            if answer.unavailable:
                self._unavailable = call.error
            self.journal.record(context.run_id, call)
            return None, call.error
        parsed = parse_answer(context, call.response, truncated=answer.truncated)
        if not isinstance(parsed, Parsed):
            self.journal.record(context.run_id, replace(call, problem=parsed.reason))
            return None, parsed.reason
        candidate = Candidate(
            function=context.function,
            origin=f"llm:{purpose}",
            rationale=self._rationale(call.response, sample, parsed.notes),
            module_source=parsed.module_source,
            function_source=parsed.function_source,
            path=context.path,
        )
        self.journal.record(context.run_id, replace(call, candidate_id=candidate.candidate_id))
        return candidate, None

    def _rationale(self, response: str, sample: int, notes: Sequence[str]) -> str:
        """The model's own words outside its code, shortened, and where the code came from."""
        prose = re.sub(r"```.*?(```|$)", " ", response, flags=re.S)
        prose = " ".join(prose.split())
        if len(prose) > _RATIONALE_LIMIT:
            prose = prose[: _RATIONALE_LIMIT - 3] + "..."
        source = f"proposed by {self.settings.label}"
        if self.settings.samples > 1:
            source += f" (sample {sample + 1} of {self.settings.samples})"
        parts = [prose or source, source if prose else "", "; ".join(notes)]
        return "; ".join(p for p in parts if p)


def proposers_for(settings: Settings, log: CallLog | None = None) -> tuple[object, ...]:
    """The rules, a RecipeProposer when `settings.recipes` names recipe libraries (whose
    recipes are then also the LLM's worked examples), an LLMProposer when `settings.llm`
    names a model, and a CommandProposer when `settings.proposer_cmd` names a command: each
    competes in the same pool.

    Raises ConfigError for bad settings and for a model or command that cannot be used at
    all (a missing package, model file or program, a wrong key, an unreachable server),
    before the run spends time on profiling.
    """
    proposers: list[object] = [propose_rule_candidates]
    store_path = settings.root.resolve() / ".perfloop" / "perfloop.db"
    library = None
    if settings.recipes:
        library = load_library(settings.recipes, settings.root.resolve())
        proposers.append(RecipeProposer(library))
    llm = llm_settings(settings)
    if llm is not None:
        try:
            client = make_client(llm)
            check = getattr(client, "check", None)
            if check is not None:
                check()
        except LLMUnavailable as exc:
            raise ConfigError(str(exc)) from exc
        proposers.append(LLMProposer(llm, client, store_path, log=log, recipes=library))
    command = command_settings(settings)
    if command is not None:
        check_command(command, settings.root.resolve())
        root = settings.root.resolve()
        proposers.append(CommandProposer(command, root, store_path, log=log, recipes=library))
    return tuple(proposers)
