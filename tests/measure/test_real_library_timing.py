"""How the timing treats a real parser's calls: markdown-it-py 3.0.0's inline `text` rule.

The rule moves `state.pos` past a run of plain text and adds it to `state.pending`. A
call on a state it already moved finds nothing to do, so timing it on the copy its first
run left would time nothing (see `_settles`); unpickling a fresh ~8 KB state for every
call of every pass left three pairs of blocks in a 9 s timing process and an interval
too wide to call a 1.8x rewrite faster. Its runs only rebind the state's attributes, so
each pass runs on shallow copies of one pristine state per call, and a call that finds
no run (and changes nothing) reuses one copy. Here the library, from its pinned sdist,
parses its own README while the rule's inputs are recorded as capture records them, and
the timing's first pass sorts them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pypi_sdists import cached_sdist, unpacked

import perfloop

SPEC = "markdown-it-py==3.0.0"
SDIST = "markdown-it-py-3.0.0.tar.gz"
SORT_CALLS = """
import importlib
import json
import sys
from pathlib import Path

from markdown_it import MarkdownIt

text_module = importlib.import_module("markdown_it.rules_inline.text")

from perfloop.measure.timing import RecordedInputs, Version, check_same_exceptions
from perfloop.runtime import pickling

recorded = []


def recording(frame, event, arg):  # a profile hook: the parser's objects stay untouched
    if event == "call" and frame.f_code is text_module.text.__code__ and len(recorded) < 60:
        call = (frame.f_locals["state"], frame.f_locals["silent"]), {}
        recorded.append(pickling.dumps(call, faithful=True))


md = MarkdownIt("commonmark")
sys.setprofile(recording)
md.render(Path("README.md").read_text(encoding="utf-8"))
sys.setprofile(None)

inputs = RecordedInputs(recorded)
side = Version(text_module, text_module.text)
check_same_exceptions(side, side, inputs, [""] * len(recorded))
passes = inputs.prepare(3, text_module)
answers = [text_module.text(*args, **kwargs) for args, kwargs in passes]
shallow_states = {id(passes[i][0][0]) for i in inputs.shallow}
print(json.dumps({
    "calls": len(recorded),
    "shallow": len(inputs.shallow),
    "kept": len(inputs.kept),
    "settled": len(inputs.settled),
    "moved": sum(answers[: len(recorded)]),
    "same_each_pass": answers == answers[: len(recorded)] * 3,
    "pristine_changed": inputs.changed_pristine(),
    "new_state_each_pass": all(
        len({id(passes[i + n * len(recorded)][0][0]) for n in range(3)}) == 3
        for i in inputs.shallow
    ),
    "shallow_states": len(shallow_states),
}))
"""


def test_markdown_it_text_rule_calls_run_on_shallow_copies_of_pristine_states(
    tmp_path: Path,
) -> None:
    tree = unpacked(cached_sdist(SPEC, SDIST), tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", SORT_CALLS],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
        # the tree's markdown_it, and the perfloop under test (not another installed one)
        env={
            "PYTHONPATH": f"{tree}:{Path(perfloop.__file__).parents[1]}",
            "PATH": "/usr/bin:/bin",
        },
    )
    assert done.returncode == 0, done.stderr
    sorted_calls = json.loads(done.stdout.strip().splitlines()[-1])
    assert sorted_calls["calls"] == 60
    # every call that moved the cursor runs on shallow copies, every other reuses a copy
    assert sorted_calls["shallow"] == sorted_calls["moved"] > 10
    assert sorted_calls["kept"] == 60 - sorted_calls["moved"] > 0
    assert sorted_calls["settled"] == 0
    # each pass starts from the pristine state, on a new copy of it, and finds the same run
    assert sorted_calls["same_each_pass"] and sorted_calls["new_state_each_pass"]
    assert sorted_calls["pristine_changed"] == []
