"""The bundled example with the first six rules against the whole rule set.

    python benchmarks/rule_sets_on_example.py             # --top 20, about an hour
    python benchmarks/rule_sets_on_example.py --top 8     # quicker

Both runs use the same settings on fresh copies of examples/shop: `perfloop
optimize --top N --json`, once with `--rules` naming the six rules perfloop
started with (`perfloop.propose.rules.FIRST_SET`), once with every rule. A
function counts as a verified speedup when perfloop reports it improved:
verified on its recorded calls and faster beyond the threshold (the lower bound
of the 95% interval of the speedup clears --min-speedup).

The last line is one JSON object:
{"first_set": N, "all_rules": N, "strictly_more": bool, "top": N}
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from perfloop.propose.rules import FIRST_SET

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "shop"


def run(rules: str | None, top: int, scratch: Path) -> dict[str, object]:
    project = scratch / ("first-set" if rules else "all-rules")
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".perfloop", "__pycache__"))
    perfloop = Path(sys.executable).with_name("perfloop")
    command = [str(perfloop)] if perfloop.exists() else [sys.executable, "-m", "perfloop"]
    command += ["optimize", "--json", "--top", str(top)]
    if rules:
        command += ["--rules", rules]
    print(f"running {' '.join(command[1:])}", file=sys.stderr)
    done = subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=14400)
    if done.returncode != 0:
        raise SystemExit(f"perfloop failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout)


def best(target: dict[str, object]) -> str:
    if target["status"] != "improved":
        return "-"
    found = target["best"]
    assert isinstance(found, dict)
    return f"{found['origin']} {found['speedup']:.2f}× [{found['ci'][0]:.2f}, {found['ci'][1]:.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="perfloop-rule-sets-") as directory:
        scratch = Path(directory)
        first = run(",".join(FIRST_SET), args.top, scratch)
        every = run(None, args.top, scratch)
    rows: dict[str, list[str]] = {}
    for column, results in enumerate((first, every)):
        for target in results["targets"]:  # type: ignore[union-attr]
            rows.setdefault(target["function"], ["-", "-"])[column] = best(target)
    width = max(len(f) for f in rows)
    print(f"{'function':{width}}  {'first six rules':45}  all rules")
    for function, (a, b) in rows.items():
        print(f"{function:{width}}  {a:45}  {b}")
    counts = [
        sum(1 for t in results["targets"] if t["status"] == "improved")  # type: ignore[union-attr]
        for results in (first, every)
    ]
    print(f"verified speedups: first six rules {counts[0]}, all rules {counts[1]}")
    summary = {
        "first_set": counts[0],
        "all_rules": counts[1],
        "strictly_more": counts[1] > counts[0],
        "top": args.top,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
