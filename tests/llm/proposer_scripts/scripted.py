"""A proposer command for the tests: what it does depends on the target it is asked about
($PERFLOOP_FUNCTION) and why ($PERFLOOP_PURPOSE), so one run of perfloop meets every case."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

function = os.environ["PERFLOOP_FUNCTION"]
purpose = os.environ["PERFLOOP_PURPOSE"]
out = Path(os.environ["PERFLOOP_OUT"])
prompt = Path(os.environ["PERFLOOP_PROMPT"]).read_text()
context = json.loads(Path(os.environ["PERFLOOP_CONTEXT"]).read_text())
assert context["function"] == function and context["purpose"] == purpose
assert prompt == sys.stdin.read()  # the prompt comes on standard input too

if function == "lib:total" and purpose == "propose":
    (out / "total.py").write_text("def total(xs):\n    return sum(xs)\n")
    cost = {"prompt_tokens": 120, "completion_tokens": 30, "seconds": 1.5, "cost": 0.002}
    Path(os.environ["PERFLOOP_COST"]).write_text(json.dumps(cost))
elif function == "lib:count_common" and purpose == "propose":
    (out / "sets.py").write_text("def count_common(a, b):\n    return len(set(a) & set(b))\n")
elif function == "lib:count_common" and purpose == "repair":
    assert "behaves differently" in prompt, prompt  # the counterexample came back
    (out / "fixed.py").write_text(
        "```python\ndef count_common(a, b):\n    lookup = set(b)\n"
        "    return sum(1 for x in a if x in lookup)\n```\n"
    )
elif function == "lib:largest":  # hangs, with a child of its own that must die with it
    child = subprocess.Popen(["sleep", "300"])
    Path(os.environ["PERFLOOP_ROOT"], "child.pid").write_text(str(child.pid))
    time.sleep(300)
elif function == "lib:smallest":
    print("smallest: the model refused (quota exceeded)", file=sys.stderr)
    sys.exit(1)
elif function == "lib:squares":
    (out / "garbage.py").write_text("def squares(n:\n    return [\n")
# anything else (a refinement): exit 0 having written nothing
