"""A proposer the user already has: a command (a coding agent, a model CLI, a script), run
once per target and per feedback round with the prompt perfloop would send a model.

`CommandProposer` is a `RoundProposer` like the LLM one: the same prompts (propose,
repair with the counterexample, refine with the speedup), the same rounds, and its
candidates go through the same gate, verification and measurement. Each run gets a folder
of its own under the run's folder (`.perfloop/runs/<run>/proposer/<n>-<function>-<purpose>/`)
with the prompt (`prompt.txt`, also on standard input), the context as JSON
(`context.json`), an empty `candidates/` folder for its answers, and the place for its
optional cost report (`cost.json`); environment variables name them (see `ENVIRONMENT`).
The command runs through `/bin/sh` in the project root, with the user's environment (it
may need the network and a key to reach its model), in a process group of its own that is
killed at the time budget.

What it leaves is read as text, never run here: every file in `candidates/` (else the
target's module if the command edited it in place, which is then put back, else its
standard output) is parsed like a model's answer (`perfloop.llm.parse`). Anything that goes
wrong (it cannot start, exits non-zero, hangs, writes nothing or garbage) is recorded with
the reason in the run store's `llm_calls` table, as `cmd:<name>`, and becomes a note on the
target; nothing here stops a run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shlex
import signal
import stat
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from perfloop.config import ConfigError, Settings
from perfloop.llm.parse import Parsed, parse_answer
from perfloop.llm.prompts import (
    Prompt,
    load_templates,
    problem_text,
    propose_prompt,
    refine_prompt,
    repair_prompt,
)
from perfloop.model import Candidate, CandidateResult, FunctionRef, LLMCall, TargetContext
from perfloop.outside.whole_class import class_source
from perfloop.patch import FileChange, revert_changes
from perfloop.qualnames import function_source
from perfloop.recipes.library import Library
from perfloop.recipes.proposer import recipe_examples
from perfloop.store.runs import RunStore

SCHEMA = "perfloop.proposer/1"
CANDIDATES_LIMIT = 8  # files taken from one run's candidates folder
FILE_LIMIT = 1 << 20  # bytes read from one file the command wrote
_TAIL = 600  # characters of the command's error output in a note
_GRACE_SECONDS = 3.0  # between SIGTERM and SIGKILL when the budget is spent

# the variables a run of the command gets, besides the user's environment
ENVIRONMENT = {
    "PERFLOOP_PROMPT": "the prompt file (system and user message, as plain text)",
    "PERFLOOP_CONTEXT": "the context file (JSON, schema perfloop.proposer/1)",
    "PERFLOOP_OUT": "the folder to write candidate files into (empty at the start)",
    "PERFLOOP_COST": "where the command may write what the run cost (JSON)",
    "PERFLOOP_FUNCTION": "the target as module:qualname",
    "PERFLOOP_FILE": "the target's source file (absolute path)",
    "PERFLOOP_PURPOSE": "propose, repair or refine",
    "PERFLOOP_ROOT": "the project root (also the working folder)",
    "PERFLOOP_TIMEOUT": "the seconds this run may take before it is killed",
}

# words before the program's own name in a command line (`python3 tools/propose.py`)
_LAUNCHERS = re.compile(
    r"^(env|exec|nice|nohup|time|command|python[\d.]*|pypy[\d.]*|sh|bash|zsh|node|"
    r"uv|uvx|run|npx|pipx|poetry|pdm|hatch|rye|conda)$"
)
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_NAME = re.compile(r"^[A-Za-z0-9_.+-]{1,64}$")

CallLog = Callable[[LLMCall], None]


@dataclass(frozen=True)
class CommandSettings:
    command: str
    name: str
    timeout: float = Settings.proposer_timeout
    rounds: int = Settings.proposer_rounds
    prompts: Path | None = None  # the same template overrides as the LLM's (llm-prompts)

    @property
    def origin(self) -> str:
        return f"cmd:{self.name}"


def program_name(command: str) -> str:
    """The name of the program a command line runs, for `cmd:<name>`: `claude -p` is
    claude, `python3 tools/propose.py --fast` is propose, `FOO=1 aider ...` is aider."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    for word in words:
        if _ASSIGNMENT.match(word) or word.startswith("-") or _LAUNCHERS.match(Path(word).name):
            continue
        stem = re.sub(r"\.(py|sh|js|mjs|rb|pl)$", "", Path(word).name)
        cleaned = re.sub(r"[^A-Za-z0-9_.+-]", "_", stem)[:64]
        if cleaned:
            return cleaned
    return "command"


def command_settings(settings: Settings) -> CommandSettings | None:
    """None without `proposer-cmd`; ConfigError for settings that cannot work."""
    if settings.proposer_cmd is None:
        return None
    command = settings.proposer_cmd.strip()
    if not command:
        raise ConfigError(
            "proposer-cmd is empty; give the command that writes candidates, e.g. "
            "--proposer-cmd 'python propose.py' (see the README)"
        )
    name = settings.proposer_name or program_name(command)
    if not _NAME.match(name):
        raise ConfigError(
            f"proposer-name {name!r} must be letters, digits and . _ + - (at most 64), "
            "e.g. claude or my-agent"
        )
    return CommandSettings(
        command,
        name,
        settings.proposer_timeout,
        settings.proposer_rounds,
        Path(settings.llm_prompts) if settings.llm_prompts else None,
    )


def check_command(settings: CommandSettings, root: Path) -> None:
    """ConfigError, before the run spends time, when the command's program is not there."""
    try:
        words = shlex.split(settings.command)
    except ValueError as exc:
        raise ConfigError(
            f"proposer-cmd {settings.command!r} is not a valid shell command: {exc}"
        ) from None
    program = next((w for w in words if not _ASSIGNMENT.match(w)), None)
    if program is None or not re.match(r"^[\w./+-]+$", program):
        return  # shell syntax that only the shell can judge
    found = subprocess.run(
        ["/bin/sh", "-c", 'command -v "$1"', "sh", program],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode != 0:
        raise ConfigError(
            f"proposer-cmd: {program!r} is not a program on PATH or a file in {root}; "
            "install it, or give its path (the command runs in the project root)"
        )


class CommandProposer:
    """Candidates from a user's command; see the module docstring."""

    def __init__(
        self,
        settings: CommandSettings,
        root: Path,
        store_path: Path,
        log: CallLog | None = None,
        recipes: Library | None = None,
    ) -> None:
        self.settings = settings
        self.recipes = recipes  # worked examples for the first prompt, chosen per target
        self.rounds = settings.rounds
        self.root = root
        self.templates = load_templates(settings.prompts)
        self.store_path = store_path
        self.log = log
        self._store: RunStore | None = None
        self._runs = 0
        self._unavailable: str | None = None
        self._gave_nothing: set[FunctionRef] = set()

    def exhausted(self) -> str | None:
        return self._unavailable

    def propose(self, context: TargetContext) -> list[Candidate]:
        if context.function in self._gave_nothing:
            return []  # the same command on the same prompt: no second try
        examples = recipe_examples(self.recipes, context)
        return self._run(
            context, "propose", propose_prompt(self.templates, context, examples), None
        )

    def repair(self, context: TargetContext, rejected: CandidateResult) -> list[Candidate]:
        prompt = repair_prompt(self.templates, context, rejected)
        return self._run(context, "repair", prompt, rejected)

    def refine(self, context: TargetContext, best: CandidateResult) -> list[Candidate]:
        return self._run(context, "refine", refine_prompt(self.templates, context, best), best)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    @property
    def store(self) -> RunStore:
        if self._store is None:
            self._store = RunStore(self.store_path)
        return self._store

    # --- one run of the command --------------------------------------------------------

    def _run(
        self,
        context: TargetContext,
        purpose: str,
        prompt: Prompt,
        previous: CandidateResult | None,
    ) -> list[Candidate]:
        if self._unavailable:
            return []
        self._runs += 1
        folder = self._folder(context, purpose)
        files = _RunFiles.create(folder)
        system, user = (m.content for m in prompt.messages[:2])
        prompt_text = f"{system}\n\n{user}"
        files.prompt.write_text(prompt_text, encoding="utf-8")
        document = context_document(context, purpose, system, user, previous, files, self)
        files.context.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        outcome = self._execute(context, purpose, files)
        candidates, problems = self._read_candidates(context, purpose, files, outcome)
        cost, cost_problem = read_cost(files.cost)
        if cost_problem:
            problems.append(cost_problem)
        if outcome.error is not None or not candidates:
            self._gave_nothing.add(context.function)
        call = LLMCall(
            function=context.function,
            purpose=purpose,
            model=self.settings.origin,
            prompt=prompt_text,
            response=outcome.summary(folder, [c.candidate_id for c in candidates]),
            prompt_tokens=cost.prompt_tokens,
            completion_tokens=cost.completion_tokens,
            seconds=cost.seconds if cost.seconds is not None else outcome.seconds,
            cache_key=hashlib.sha256(f"{folder}\n{time.time()}".encode()).hexdigest(),
            cost=cost.dollars,
            error=outcome.error,
            problem="; ".join(problems) if problems and outcome.error is None else None,
            candidate_id=",".join(c.candidate_id for c in candidates) or None,
        )
        self.store.save_llm_call(context.run_id, call)
        if self.log is not None:
            self.log(call)
        return candidates

    def _folder(self, context: TargetContext, purpose: str) -> Path:
        slug = re.sub(r"[^A-Za-z0-9_.]+", "_", str(context.function))[:80]
        run_dir = self.root / ".perfloop" / "runs" / context.run_id
        return run_dir / "proposer" / f"{self._runs:02d}-{slug}-{purpose}"

    def _execute(self, context: TargetContext, purpose: str, files: _RunFiles) -> _Outcome:
        target_file = self.root / context.path
        before = _read_bytes(target_file)
        environment = dict(os.environ)
        environment.update(
            {
                "PERFLOOP_PROMPT": str(files.prompt),
                "PERFLOOP_CONTEXT": str(files.context),
                "PERFLOOP_OUT": str(files.out),
                "PERFLOOP_COST": str(files.cost),
                "PERFLOOP_FUNCTION": str(context.function),
                "PERFLOOP_FILE": str(target_file),
                "PERFLOOP_PURPOSE": purpose,
                "PERFLOOP_ROOT": str(self.root),
                "PERFLOOP_TIMEOUT": f"{self.settings.timeout:g}",
            }
        )
        timeout = self.settings.timeout
        started = time.perf_counter()
        edited: str | None = None
        try:
            with (
                files.prompt.open("rb") as stdin,
                files.stdout.open("wb") as stdout,
                files.stderr.open("wb") as stderr,
            ):
                try:
                    process = subprocess.Popen(
                        ["/bin/sh", "-c", self.settings.command],
                        cwd=self.root,
                        env=environment,
                        stdin=stdin,
                        stdout=stdout,
                        stderr=stderr,
                        start_new_session=True,
                    )
                except OSError as exc:
                    return _Outcome(0.0, None, False, f"could not start /bin/sh: {exc}")
                try:
                    returncode: int | None = process.wait(timeout=timeout)
                    timed_out = False
                except subprocess.TimeoutExpired:
                    _stop_group(process)
                    returncode, timed_out = None, True
                except BaseException:  # Ctrl-C: the command's whole group goes too
                    _kill_group(process)
                    raise
                finally:
                    _kill_group(process)  # what it left running in the background
        finally:
            after = _read_bytes(target_file)
            if before is not None and after != before:  # edited in place: take it, put it back
                edited = (after or b"").decode("utf-8", errors="replace")
                revert_changes(self.root, [FileChange(context.path, before.decode(), "")])
        seconds = time.perf_counter() - started
        error = None
        if timed_out:
            error = (
                f"stopped after {timeout:g} s (proposer-timeout), killed with every process "
                "it started; nothing it wrote was used"
            )
        elif returncode == 127:
            error = f"could not run the command (exit 127): {_tail(files.stderr)}"
            self._unavailable = f"the proposer command cannot run: {error}"
        elif returncode != 0:
            shown = f"killed by signal {-returncode}" if returncode < 0 else f"status {returncode}"
            error = f"exited with {shown}, so nothing it wrote was used: {_tail(files.stderr)}"
        return _Outcome(seconds, returncode, timed_out, error, edited)

    def _read_candidates(
        self, context: TargetContext, purpose: str, files: _RunFiles, outcome: _Outcome
    ) -> tuple[list[Candidate], list[str]]:
        problems: list[str] = []
        if outcome.error is not None:
            if outcome.edited is not None:
                problems.append(f"it edited {context.path}; perfloop put the file back as it was")
            return [], problems
        answers, unreadable = _written(files.out)
        problems += unreadable
        if outcome.edited is not None:
            taken = not answers
            problems.append(
                f"it edited {context.path} in place; perfloop put the file back as it was"
                + (" and took the function from its version" if taken else "")
            )
            if taken:
                answers = [(context.path, outcome.edited)]
        if not answers and not unreadable:
            printed = _read_text(files.stdout)
            if printed is not None and printed.strip():
                answers = [("standard output", printed)]
        if not answers and not unreadable:
            problems.append(
                "it wrote nothing into $PERFLOOP_OUT, left the module as it was and printed "
                "no Python code"
            )
        candidates: list[Candidate] = []
        for label, text in answers:
            parsed = parse_answer(context, text)
            if not isinstance(parsed, Parsed):
                problems.append(f"{label}: {parsed.reason}")
                continue
            notes = "; ".join(parsed.notes)
            candidates.append(
                Candidate(
                    function=context.function,
                    origin=self.settings.origin,
                    rationale=(
                        f"written by the proposer command {self.settings.name} ({purpose}, "
                        f"{label})" + (f"; {notes}" if notes else "")
                    ),
                    module_source=parsed.module_source,
                    function_source=parsed.function_source,
                    path=context.path,
                )
            )
        return candidates, problems


@dataclass(frozen=True)
class _RunFiles:
    folder: Path
    prompt: Path
    context: Path
    out: Path
    cost: Path
    stdout: Path
    stderr: Path

    @classmethod
    def create(cls, folder: Path) -> _RunFiles:
        out = folder / "candidates"
        out.mkdir(parents=True, exist_ok=True)
        names = ("prompt.txt", "context.json", "cost.json", "stdout.txt", "stderr.txt")
        prompt, context, cost, stdout, stderr = (folder / name for name in names)
        return cls(folder, prompt, context, out, cost, stdout, stderr)


@dataclass(frozen=True)
class _Outcome:
    seconds: float
    returncode: int | None
    timed_out: bool
    error: str | None
    edited: str | None = None  # the target's module as the command left it, if it changed it

    def summary(self, folder: Path, candidate_ids: Sequence[str]) -> str:
        """What the run did, for the store and --llm-log (its files stay in `folder`)."""
        if self.timed_out:
            ended = "killed at the time budget"
        elif self.returncode is None:
            ended = "did not start"
        else:
            ended = f"exit status {self.returncode}"
        found = ", ".join(candidate_ids) if candidate_ids else "none"
        return f"{ended} after {self.seconds:.1f} s; candidates: {found}; files in {folder}"


@dataclass(frozen=True)
class Cost:
    """What the command says its run cost; zero tokens and no money when it says nothing."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float | None = None
    dollars: float | None = None


def read_cost(path: Path) -> tuple[Cost, str | None]:
    """The command's cost report (`{"prompt_tokens": 812, "completion_tokens": 240,
    "seconds": 4.2, "cost": 0.0031}`, every key optional), and what was wrong with it."""
    text = _read_text(path)
    if text is None:
        return Cost(), None
    problem = (
        "its cost report ($PERFLOOP_COST) was not used: it must be a JSON object with "
        "prompt_tokens and completion_tokens (whole numbers), seconds and cost (US dollars)"
    )
    try:
        document = json.loads(text)
    except ValueError:
        return Cost(), problem
    if not isinstance(document, dict):
        return Cost(), problem

    def number(key: str, kind: type) -> float | int | None:
        value = document.get(key)
        if value is None:
            return None
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or value < 0 or (kind is int and value != int(value)):
            raise ValueError(key)
        return int(value) if kind is int else float(value)

    try:
        prompt_tokens = number("prompt_tokens", int) or 0
        completion_tokens = number("completion_tokens", int) or 0
        seconds, dollars = number("seconds", float), number("cost", float)
    except ValueError:
        return Cost(), problem
    return Cost(int(prompt_tokens), int(completion_tokens), seconds, dollars), None


def context_document(
    context: TargetContext,
    purpose: str,
    system: str,
    user: str,
    previous: CandidateResult | None,
    files: _RunFiles,
    proposer: CommandProposer,
) -> dict[str, object]:
    """What the command is told about the target, as the JSON in $PERFLOOP_CONTEXT."""
    function = context.function
    profile = context.line_profile
    hot = profile.hottest(count=8, min_share=0.0) if profile is not None else ()
    before = None
    if previous is not None:
        before = {
            "origin": previous.candidate.origin,
            "source": previous.candidate.function_source,
            "outcome": outcome_text(previous),
        }
    return {
        "schema": SCHEMA,
        "purpose": purpose,
        "run_id": context.run_id,
        "function": str(function),
        "module": function.module,
        "qualname": function.qualname,
        "name": function.name,
        "path": context.path,
        "file": str(proposer.root / context.path),
        "project_root": str(proposer.root),
        "kind": "class" if context.whole_class else "function",
        "source": (class_source if context.whole_class else function_source)(
            context.module_source, function.qualname
        ),
        "hot_methods": [
            {"method": method, "share": round(share, 4)} for method, share in context.hot_methods
        ],
        "module_source": context.module_source,
        "share": round(context.share, 4),
        "parameter_types": {t.parameter: list(t.types) for t in context.parameter_types},
        "return_types": list(context.return_types),
        "calls": list(context.sample_calls),
        "hot_lines": [
            {"line": t.lineno, "text": t.text, "share": round(t.share, 4), "hits": t.hits}
            for t in hot
        ],
        "tried": [
            {
                "origin": r.candidate.origin,
                "outcome": outcome_text(r),
                "speedup": _ratio(r),
                "source": r.candidate.function_source,
            }
            for r in context.tried
        ],
        "previous": before,
        "system_prompt": system,
        "prompt": user,
        "out_dir": str(files.out),
        "cost_file": str(files.cost),
        "timeout": proposer.settings.timeout,
    }


def outcome_text(result: CandidateResult) -> str:
    """What became of a candidate, in a sentence: rejected with why, or measured."""
    verdict, measurement = result.verdict, result.measurement
    if not result.gate.passed or verdict is None or verdict.status.value != "equivalent":
        return problem_text(result)
    if measurement is None or measurement.speedup is None:
        error = measurement.error if measurement else "it was not measured"
        return f"It behaves the same; timing it failed: {error}."
    speedup = measurement.speedup
    word = "faster" if measurement.faster else "not faster beyond the threshold"
    return (
        f"It behaves the same and measured {speedup.ratio:.2f}x "
        f"[{speedup.ci_low:.2f}, {speedup.ci_high:.2f}]: {word}."
    )


def _ratio(result: CandidateResult) -> float | None:
    speedup = result.measurement.speedup if result.measurement else None
    return round(speedup.ratio, 4) if speedup is not None else None


def _written(folder: Path) -> tuple[list[tuple[str, str]], list[str]]:
    """The candidate files the command wrote (name order, hidden ones left out), as text,
    and what was wrong with those that could not be read."""
    answers: list[tuple[str, str]] = []
    problems: list[str] = []
    try:
        entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    except OSError as exc:
        return [], [f"its candidates folder could not be read: {exc.strerror}"]
    for path in entries:
        if len(answers) == CANDIDATES_LIMIT:
            problems.append(
                f"it wrote {len(entries)} files; only the first {CANDIDATES_LIMIT} were used"
            )
            break
        text = _read_text(path)
        if text is None:
            problems.append(f"{path.name}: not a regular file of at most {FILE_LIMIT:,} bytes")
        elif "\x00" in text or "\ufffd" in text:
            problems.append(f"{path.name}: not UTF-8 text")
        else:
            answers.append((path.name, text))
    return answers, problems


def _read_text(path: Path) -> str | None:
    """A regular file's text (never following a symlink, never blocking on a pipe), or None."""
    data = _read_bytes(path)
    return None if data is None else data.decode("utf-8", errors="replace")


def _read_bytes(path: Path) -> bytes | None:
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None
        data = handle.read(FILE_LIMIT + 1)
    return None if len(data) > FILE_LIMIT else data


def _tail(path: Path) -> str:
    text = (_read_text(path) or "").strip()
    if not text:
        return "it printed nothing on standard error"
    lines = text.splitlines()
    shown = " | ".join(line.strip() for line in lines[-3:] if line.strip())
    return shown if len(shown) <= _TAIL else "..." + shown[-_TAIL:]


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the command's process group, SIGKILL if it is still there after a grace."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        _kill_group(process)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
