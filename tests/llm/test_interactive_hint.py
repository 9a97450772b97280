"""A person's hint in `optimize --interactive` reaches the LLM's prompt: the real command in a
pseudo-terminal, the LLM a real OpenAI-style server on loopback that keeps what it was sent.
Then Ctrl-D in the middle: what was decided stays in the store, the files stay as they were."""

from __future__ import annotations

import sqlite3

import pexpect
import pytest
from fake_openai_server import FakeOpenAI, answer
from terminal_session import decisions, listed, spawn

LIB = """
def known(skus, catalog):
    found = 0
    for sku in skus:
        if sku in catalog:
            found += 1
    return found
"""

BENCH = """
import random
from shop import known

rng = random.Random(0)
baskets = [[rng.randint(1, 10_000) for _ in range(300)] for _ in range(40)]
catalog = list(range(0, 4000, 3))
print(sum(known(b, catalog) for b in baskets))
"""

PYPROJECT = """
[tool.perfloop]
workload = "python bench.py"
functions = ["shop:known"]
rules = ["set-membership"]
mutants = 0
fuzz-examples = 20
symbolic-seconds = 0
rollout = false
project-tests = false
measure-processes = 1
measure-budget = 2
"""

FIRST = """```python
def known(skus, catalog):
    catalog = set(catalog)
    return sum(sku in catalog for sku in skus)
```"""
HINTED = """```python
def known(skus, catalog):
    wanted = frozenset(catalog)
    return len([sku for sku in skus if sku in wanted])
```"""
HINT = "try a frozenset and a list comprehension"


@pytest.mark.slow
def test_a_hint_goes_into_the_prompt_and_ctrl_d_keeps_what_was_decided(make_project) -> None:
    root = make_project({"shop.py": LIB, "bench.py": BENCH, "pyproject.toml": PYPROJECT})
    with FakeOpenAI([answer(FIRST), answer(HINTED)]) as server:
        child = spawn(
            root,
            "optimize",
            "--interactive",
            "--llm",
            "openai:fake-model",
            "--llm-base-url",
            server.base_url,
            "--llm-rounds",
            "0",
        )
        shown = listed(child)
        assert "llm:propose" in shown and "rule:set-membership" in shown, child.before
        assert "m HINT ask the LLM for more" in child.before
        assert len(server.requests) == 1 and HINT not in server.user_prompts()[0]

        child.sendline(f"m {HINT}")
        child.expect_exact("1 new candidate, 1 verified")
        shown = listed(child)
        assert "llm:hint" in shown
        assert len(server.requests) == 2
        prompt = server.user_prompts()[1]
        assert prompt.startswith("Make the Python function `known` faster.")
        assert prompt.rstrip().endswith(f"asks for this:\n{HINT}")  # in the prompt, as typed

        child.sendline(f"r {shown['rule:set-membership'][0]}")
        listed(child)
        child.sendeof()  # Ctrl-D: stop here
        child.expect(pexpect.EOF)
        child.close()
    assert child.exitstatus == 130
    assert "interrupted" in child.before and "perfloop resume" in child.before

    assert (root / "shop.py").read_text().strip() == LIB.strip()  # nothing written
    made = decisions(root)
    assert [(f, a) for f, a, *_ in made] == [
        ("shop:known", "asked for more"),
        ("shop:known", "rejected"),
    ]
    assert made[0][4] == "1 new candidate, 1 verified"
    with sqlite3.connect(root / ".perfloop" / "perfloop.db") as db:
        (status,) = db.execute("SELECT status FROM runs").fetchone()
        (hint,) = db.execute("SELECT text FROM review_decisions WHERE seq = 0").fetchone()
        purposes = [p for (p,) in db.execute("SELECT purpose FROM llm_calls ORDER BY rowid")]
    assert status == "interrupted" and hint == HINT
    assert purposes == ["propose", "hint"]
