"""The terminal side of `optimize --interactive`: show a target's candidates, ask what to do.

The decisions themselves (what an accept, a rejection, an edit or a hint does, and
recording them) are perfloop.pipeline.review's; this module only shows and asks.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from rich.console import Console
from rich.syntax import Syntax

from perfloop.config import ConfigError
from perfloop.model import CandidateResult
from perfloop.patch import FileChange, unified_diff
from perfloop.pipeline.review import NO_LLM, Request, TargetView
from perfloop.report.summary import speed_text
from perfloop.report.terminal import counterexample_lines
from perfloop.report.verification import strength_text, tiers_text
from perfloop.results import Counterexample, ReviewAction

HELP = """\
  a N        accept candidate N (its change is applied at the end, as with --apply)
  r N        reject candidate N
  e N        edit candidate N in $EDITOR; the edit is verified and timed before you can accept it
  m HINT     ask the LLM for more candidates, with your hint in its prompt
  k          keep the original: accept none of this function's candidates
  d N        show candidate N's diff again
  ?          this help
Ctrl-C or Ctrl-D stops here: the decisions made so far are kept in the run store and
nothing is written to your files (perfloop resume RUN_ID asks about the rest)."""

_ACTIONS = {
    "a": ReviewAction.ACCEPTED,
    "r": ReviewAction.REJECTED,
    "e": ReviewAction.EDITED,
    "m": ReviewAction.HINTED,
    "k": ReviewAction.KEPT_ORIGINAL,
}


def require_terminal() -> None:
    """ConfigError (exit 2) when nobody can answer: --interactive reads a terminal."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise ConfigError(
            "--interactive asks a person at a terminal, but standard input or output is not "
            "one (a pipe, a file, CI). Run it in a terminal, or leave out --interactive and "
            "review the run's patch.diff and report.md (then --apply, or `perfloop verify` "
            "your own version of a function)"
        )


class TerminalReviewer:
    """Shows each target's candidates on `console` and reads the person's answers."""

    def __init__(
        self,
        console: Console,
        paused: Callable[[], AbstractContextManager[None]] = nullcontext,
        read: Callable[[str], str] = input,
    ) -> None:
        self.console, self._paused, self._read = console, paused, read
        self._min_speedup = 1.0
        self._shown: set[str] = set()  # candidates whose diff was shown: listed in brief

    def choose(self, view: TargetView) -> Request:
        self._min_speedup = view.threshold
        with self._paused():
            self._show_target(view)
            while True:
                try:
                    answer = self._read("perfloop> ").strip()
                except EOFError:  # Ctrl-D: stop as Ctrl-C does, keeping what was decided
                    self.console.print()
                    raise KeyboardInterrupt from None
                request = self._parse(answer, view)
                if request is not None:
                    return request

    def edit(self, result: CandidateResult) -> str | None:
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
        if not editor:
            self.tell("no editor: set $EDITOR (e.g. export EDITOR=nano) and try `e N` again")
            return None
        function = result.candidate.function
        original = result.candidate.function_source
        with tempfile.TemporaryDirectory(prefix="perfloop-edit-") as folder:
            path = Path(folder) / f"{function.qualname.replace('.', '_')}.py"
            path.write_text(original, encoding="utf-8")
            with self._paused():
                done = subprocess.run([*shlex.split(editor), str(path)], check=False)
            if done.returncode != 0:
                self.tell(f"the editor ({editor}) exited with {done.returncode}; edit dropped")
                return None
            edited = path.read_text(encoding="utf-8")
        if edited.strip() == original.strip():
            return None
        self.console.print("verifying and timing your edit ...", highlight=False)
        return edited

    def show(self, result: CandidateResult, counterexample: Counterexample | None) -> None:
        with self._paused():
            origin = result.candidate.origin
            if not result.gate.passed:
                self._line(f"{origin}: refused before running: {result.gate.reason}")
                return
            verdict = result.verdict
            if verdict is not None and verdict.status.value == "equivalent":
                speedup = result.measurement.speedup if result.measurement else None
                self._line(f"{origin}: verified ({tiers_text(verdict)})")
                self._line(f"  {speed_text(speedup, self._threshold(result))}")
                return
            if counterexample is not None:
                self._line(f"{origin}: DIFFERENT from the original")
                for line in counterexample_lines(counterexample, "  "):
                    self._line(f"  {line}")
                self._line("  edit it again (e N) or reject it (r N)")
                return
            why = verdict.reason if verdict is not None else "not checked"
            if verdict is not None and verdict.difference is not None:
                why = f"{verdict.difference.call}: {verdict.difference.description}"
            self._line(f"{origin}: not verified: {why}")

    def tell(self, message: str) -> None:
        with self._paused():
            self._line(message)

    def _line(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def _threshold(self, result: CandidateResult) -> float:
        speedup = result.measurement.speedup if result.measurement else None
        return speedup.threshold if speedup and speedup.threshold else self._min_speedup

    def _parse(self, answer: str, view: TargetView) -> Request | None:
        if not answer or answer in {"?", "h", "help"}:
            self._line(HELP)
            return None
        key, _, rest = answer.partition(" ")
        if key.lower() == "d" and rest.strip().isdigit() and 1 <= int(rest) <= len(view.listed):
            self._diff(view.listed[int(rest) - 1], view.module_source)
            return None
        action = _ACTIONS.get(key.lower())
        if action is None:
            self._line(f"unknown command {key!r}; type ? for the commands")
            return None
        if action is ReviewAction.KEPT_ORIGINAL:
            return Request(action)
        if action is ReviewAction.HINTED:
            if not view.llm:
                self._line(NO_LLM)
                return None
            if not rest.strip():
                self._line("say what you would like after m, e.g. `m use a set for the lookups`")
                return None
            return Request(action, text=rest.strip())
        if not rest.strip().isdigit() or not 1 <= int(rest) <= len(view.listed):
            shown = f"1 to {len(view.listed)}" if view.listed else "none: there are no candidates"
            self._line(f"give the candidate's number after {key} (the numbers are {shown})")
            return None
        return Request(action, int(rest))

    def _show_target(self, view: TargetView) -> None:
        target = view.target
        recorded = "instance histories" if target.whole_class else "calls"
        self.console.rule(
            f"Target {view.number} of {view.total}: {target.function}  "
            f"({target.share:.1%} of the time, {target.calls_recorded} {recorded} recorded)",
            align="left",
        )
        first = next((r.verdict for r in view.listed if r.verdict is not None), None)
        self._line(strength_text(target.strength, first))
        if not view.listed:
            self._line(f"no verified candidate ({target.reason or 'none left'})")
        for number, result in enumerate(view.listed, start=1):
            self._show_candidate(number, result, view.module_source)
        llm = "m HINT ask the LLM for more" if view.llm else "m (no LLM configured)"
        self._line(
            f"a N accept | r N reject | e N edit | {llm} | k keep the original | d N diff | ? help"
        )

    def _show_candidate(self, number: int, result: CandidateResult, original: str) -> None:
        candidate = result.candidate
        speedup = result.measurement.speedup if result.measurement else None
        self.console.print()
        if result.verdict is not None and result.verdict.status.value == "equivalent":
            status = speed_text(speedup, self._threshold(result))
            evidence = f"verified: {tiers_text(result.verdict)}"
        else:
            difference = result.verdict.difference if result.verdict else None
            status = "DIFFERENT" if difference else "not verified"
            evidence = (
                f"{difference.call}: {difference.description}"
                if difference
                else (result.gate.reason or (result.verdict.reason if result.verdict else ""))
            ) or ""
        self._line(f"[{number}] {candidate.origin}: {status}")
        self._line(f"    {evidence}")
        if candidate.candidate_id not in self._shown:
            self._shown.add(candidate.candidate_id)
            self._diff(result, original)

    def _diff(self, result: CandidateResult, original: str) -> None:
        candidate = result.candidate
        diff = unified_diff([FileChange(candidate.path, original, candidate.module_source)])
        self.console.print(Syntax(diff.rstrip("\n"), "diff", theme="ansi_dark", word_wrap=True))
