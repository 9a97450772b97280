"""The MCP server driven as an agent drives it: a real client session over stdio."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from outside_project import EDGE, HONEST

import perfloop

ENGINE = ["--tiers", "replay,fuzz", "--fuzz-examples", "30", "--mutants", "0"]


async def agent_session(root: Path) -> dict[str, Any]:
    """What an agent does: list the tools, record calls once, verify two rewrites, measure one."""
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "perfloop", "mcp", "--root", str(root), *ENGINE],
        env={"PYTHONPATH": str(Path(perfloop.__file__).parent.parent)},  # this perfloop
    )
    seen: dict[str, Any] = {}
    async with stdio_client(server) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        seen["tools"] = {tool.name for tool in (await session.list_tools()).tools}
        captured = await session.call_tool("capture", {"target": "shop:cheapest"})
        run_id = captured.structured_content["run_id"]
        seen["capture"] = captured.structured_content
        for name, source in (("honest", HONEST), ("edge", EDGE)):
            answer = await session.call_tool(
                "verify", {"target": "shop:cheapest", "candidate_source": source, "run_id": run_id}
            )
            seen[f"verify {name}"] = answer
        seen["measure"] = await session.call_tool(
            "measure", {"target": "shop:cheapest", "candidate_source": HONEST, "run_id": run_id}
        )
        seen["propose"] = await session.call_tool("propose", {"target": "shop:cheapest"})
        seen["mistake"] = await session.call_tool(
            "verify", {"target": "shop:cheapst", "candidate_source": HONEST, "run_id": run_id}
        )
    return seen


@pytest.mark.slow
def test_an_agent_verifies_and_measures_rewrites_over_stdio(shop: Path) -> None:
    seen = anyio.run(agent_session, shop)

    assert seen["tools"] == {
        *("profile", "capture", "verify", "measure", "propose", "apply"),
        *("optimize", "review", "decide"),  # the review of an optimize run, for agents
    }
    assert seen["capture"]["calls_recorded"] == 21

    honest = seen["verify honest"]
    assert not honest.is_error
    assert honest.structured_content["decision"] == "equivalent"
    assert honest.structured_content["verdict"]["tiers"] == ["replay", "fuzz"]

    edge = seen["verify edge"].structured_content
    assert edge["decision"] == "different"
    assert edge["exit_code"] == 1
    assert edge["counterexample"]["code"] == "from shop import cheapest; cheapest([])"

    measured = seen["measure"]
    assert not measured.is_error
    speedup = measured.structured_content["measurement"]["speedup"]
    assert speedup["ci"][0] <= speedup["ratio"] <= speedup["ci"][1]
    noise = measured.structured_content["noise_floor"]
    assert noise["error"] is None and noise["processes"] == 4
    assert noise["threshold"] == measured.structured_content["threshold"] >= 1.05

    proposed = seen["propose"].structured_content["candidates"]
    assert any(c["origin"].startswith("rule:") for c in proposed)

    mistake = seen["mistake"]
    assert mistake.is_error
    assert "did you mean shop:cheapest?" in mistake.content[0].text
