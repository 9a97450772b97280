"""An agent asks perfloop's LLM proposer for more with a hint, over MCP on stdio: the model is
a real OpenAI-style server on loopback that keeps what it was sent. The hinted candidate is
verified and measured, offered by `review` beside the others, and accepted by its id."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from fake_openai_server import FakeOpenAI, answer
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

import perfloop

pytestmark = [pytest.mark.llm, pytest.mark.slow]

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


async def agent(root: Path, base_url: str) -> dict[str, Any]:
    server = StdioServerParameters(
        command=sys.executable,
        args=[
            "-m",
            "perfloop",
            "mcp",
            "--root",
            str(root),
            "--llm",
            "openai:fake-model",
            "--llm-base-url",
            base_url,
            "--llm-rounds",
            "0",
        ],
        env={"PYTHONPATH": str(Path(perfloop.__file__).parent.parent)},
    )
    seen: dict[str, Any] = {}
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        run = (
            await session.call_tool("optimize", {"functions": ["shop:known"]})
        ).structured_content
        seen["optimize"] = run

        async def decide(**arguments: Any) -> Any:
            return await session.call_tool(
                "decide", {"run_id": run["run_id"], "target": "shop:known", **arguments}
            )

        seen["empty"] = await decide(action="hint", text="  ")
        seen["hint"] = (await decide(action="hint", text=HINT)).structured_content
        seen["review"] = (
            await session.call_tool("review", {"run_id": run["run_id"]})
        ).structured_content
        hinted = seen["hint"]["candidates"][0]["candidate_id"]
        seen["accept"] = (await decide(action="accept", candidate_id=hinted)).structured_content
    return seen


def test_an_agents_hint_reaches_the_model_and_its_candidate_can_be_accepted(
    make_project,
) -> None:
    root = make_project({"shop.py": LIB, "bench.py": BENCH, "pyproject.toml": PYPROJECT})
    with FakeOpenAI([answer(FIRST), answer(HINTED)]) as model:
        seen = anyio.run(agent, root, model.base_url)
        prompts = model.user_prompts()

    (target,) = seen["optimize"]["targets"]
    offered = {c["origin"] for c in target["candidates"]}
    assert {"llm:propose", "rule:set-membership"} <= offered, target
    assert seen["empty"].is_error and "hint needs text" in seen["empty"].content[0].text

    hint = seen["hint"]
    assert hint["outcome"] == "1 new candidate, 1 verified"
    (new,) = hint["candidates"]
    assert new["origin"] == "llm:hint" and new["verified"] is True, new
    assert new["evidence"].startswith("replay: ") and new["ci"][0] <= new["speedup"]
    assert "wanted = frozenset(catalog)" in new["diff"]
    assert len(prompts) == 2 and HINT not in prompts[0]
    assert prompts[1].rstrip().endswith(f"asks for this:\n{HINT}")  # in the prompt, as sent

    (reviewed,) = seen["review"]["targets"]
    ids = [c["candidate_id"] for c in reviewed["candidates"]]
    assert new["candidate_id"] in ids  # offered like the others
    assert len(ids) == len(target["candidates"]) + 1

    assert seen["accept"]["applied"] is True, seen["accept"]
    assert "wanted = frozenset(catalog)" in (root / "shop.py").read_text()
    with sqlite3.connect(root / ".perfloop" / "perfloop.db") as db:
        actions = db.execute(
            "SELECT action, text, outcome FROM review_decisions ORDER BY seq"
        ).fetchall()
        purposes = [p for (p,) in db.execute("SELECT purpose FROM llm_calls ORDER BY rowid")]
    assert actions[0] == ("asked for more", HINT, "1 new candidate, 1 verified")
    assert actions[1][0] == "accepted"
    assert purposes == ["propose", "hint"]
