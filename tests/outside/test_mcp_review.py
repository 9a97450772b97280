"""`optimize --interactive` for agents: the MCP tools optimize, review and decide, over stdio."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from outside_project import EDGE, HONEST

import perfloop
from perfloop.store.runs import RunStore

ENGINE = ["--tiers", "replay,fuzz", "--fuzz-examples", "30", "--mutants", "0"]


async def agent_review(root: Path) -> dict[str, Any]:
    """An agent runs optimize, rejects a candidate, edits wrongly then rightly, accepts."""
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "perfloop", "mcp", "--root", str(root), *ENGINE],
        env={"PYTHONPATH": str(Path(perfloop.__file__).parent.parent)},
    )
    seen: dict[str, Any] = {}
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        seen["tools"] = {tool.name for tool in (await session.list_tools()).tools}
        ran = await session.call_tool(
            "optimize", {"functions": ["shop:cheapest", "shop:Cart.total"]}
        )
        seen["optimize"] = run = ran.structured_content
        total = next(t for t in run["targets"] if t["function"] == "shop:Cart.total")

        async def decide(**arguments: Any) -> Any:
            return await session.call_tool("decide", {"run_id": run["run_id"], **arguments})

        first = total["candidates"][0]["candidate_id"]
        seen["reject"] = await decide(target="shop:Cart.total", action="reject", candidate_id=first)
        seen["keep"] = await decide(target="shop:Cart.total", action="keep")
        seen["hint"] = await decide(target="shop:Cart.total", action="hint", text="use sum()")
        seen["wrong"] = await decide(target="shop:cheapest", action="edit", candidate_source=EDGE)
        seen["right"] = await decide(target="shop:cheapest", action="edit", candidate_source=HONEST)
        seen["bad id"] = await decide(target="shop:cheapest", action="accept", candidate_id="f00")
        seen["accept"] = await decide(
            target="shop:cheapest", action="accept", candidate_source=HONEST
        )
        seen["review"] = (
            await session.call_tool("review", {"run_id": run["run_id"]})
        ).structured_content
    return seen


@pytest.mark.slow
def test_an_agent_reviews_a_run_edits_and_accepts_over_stdio(shop: Path) -> None:
    seen = anyio.run(agent_review, shop)
    assert {"optimize", "review", "decide"} <= seen["tools"]

    run = seen["optimize"]
    total = next(t for t in run["targets"] if t["function"] == "shop:Cart.total")
    assert total["candidates"], run  # the sum-loop rule's verified candidate, with evidence
    offered = total["candidates"][0]
    assert offered["evidence"].startswith("replay: ") and "+++ b/shop.py" in offered["diff"]
    assert (offered["speedup"] is None) or offered["ci"][0] <= offered["speedup"]

    wrong = seen["wrong"].structured_content
    assert wrong["verify"]["decision"] == "different"
    assert wrong["verify"]["counterexample"]["code"] == "from shop import cheapest; cheapest([])"
    assert "measure" not in wrong  # a different edit is not timed
    right = seen["right"].structured_content
    assert right["verify"]["decision"] == "equivalent" and "measure" in right
    hint = seen["hint"]  # no model for this server or run: said so, nothing recorded
    assert hint.is_error and "no LLM proposer is configured" in hint.content[0].text
    assert "perfloop mcp --llm" in hint.content[0].text
    assert seen["bad id"].is_error and "has no candidate f00" in seen["bad id"].content[0].text

    accepted = seen["accept"].structured_content
    assert accepted["applied"] is True, accepted
    assert "return min(prices)" in (shop / "shop.py").read_text()

    actions = [d["action"] for d in seen["review"]["decisions"]]
    assert actions == ["rejected", "kept the original", "edited", "edited", "accepted"]
    store = RunStore(shop / ".perfloop" / "perfloop.db")
    try:
        recorded = store.decisions(run["run_id"])
    finally:
        store.close()
    assert recorded[2].outcome.startswith("different") and recorded[3].outcome.startswith(
        "equivalent"
    )
    shown = subprocess.run(
        [sys.executable, "-m", "perfloop", "show", run["run_id"]],
        cwd=shop,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "shop:cheapest: accepted edit:mcp" in shown  # decided after the run: still shown
