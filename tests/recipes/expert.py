"""A proposer command standing in for an outside expert: it knows one rewrite (a slice
for a backwards copy loop) for `feed:reverse`, and keeps every prompt it is sent in
prompts/ so the tests can read which worked examples came with it."""

import os
from pathlib import Path

function = os.environ["PERFLOOP_FUNCTION"]
purpose = os.environ["PERFLOOP_PURPOSE"]
kept = Path(os.environ["PERFLOOP_ROOT"], "prompts")
kept.mkdir(exist_ok=True)
prompt = Path(os.environ["PERFLOOP_PROMPT"]).read_text()
(kept / f"{function.replace(':', '.')}.{purpose}.txt").write_text(prompt)

if function == "feed:reverse" and purpose == "propose":
    Path(os.environ["PERFLOOP_OUT"], "reverse.py").write_text(
        "def reverse(posts):\n    out = posts[::-1]\n    return out\n"
    )
# anything else: exit 0 having written nothing
