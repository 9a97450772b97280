"""How long `perfloop optimize` takes with the local worker pool and with `--executor ray`
(a local Ray that perfloop starts), and whether both judge every candidate the same.

    .venv/bin/python benchmarks/ray_speed.py    # needs perfloop[ray]

On the bundled example (examples/shop, copied to a temporary folder), the script runs the
real command as a user would, `perfloop optimize --no-cache --json --workers N`, first
with the local pool, then with `--executor ray` on the targets the first run chose (the
same work), N the pool perfloop plans by default. Both runs' wall and CPU time (perfloop
and every process it waited for; Ray's own daemons are not its children, so Ray's CPU
time is left out of the second figure) and every candidate's verdict come from
benchmarks/pipeline_speed.py's helpers.

It prints a table, then as its last line one JSON object: workers, wall_local, wall_ray,
wall_ratio (local over Ray: above 1 means Ray was faster), cpu_local, cpu_ray,
verdicts_agree, same_order, tried_by_one, decisions_agree, load_average.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from pipeline_speed import compared, example, log, optimize, plan_workers  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds for one run")
    args = parser.parse_args()
    workers = plan_workers(None, 2048).count
    with tempfile.TemporaryDirectory(prefix="perfloop-ray-speed-") as tmp:
        subject = example(Path(tmp))
        log(f"example: perfloop optimize --workers {workers}")
        local = optimize(subject, workers, args.timeout)
        targets = tuple(function for function, _, _ in local.decisions)
        log(f"example: perfloop optimize --workers {workers} --executor ray, same targets")
        on_ray = optimize(
            replace(subject, arguments=("--executor", "ray")), workers, args.timeout, targets
        )
    agree, order, only = compared(local, on_ray)
    print(f"{'executor':<9} {'workers':>7} {'wall s':>8} {'CPU s':>8} {'load':>5}  verdicts")
    for name, run in (("local", local), ("ray", on_ray)):
        print(
            f"{name:<9} {run.workers:>7} {run.wall:>8.1f} {run.cpu:>8.1f} {run.load:>5.2f}  "
            f"{len(run.verdicts)} candidates"
        )
    print(f"{'ratio':<9} {'':>7} {local.wall / on_ray.wall:>8.2f}  (local over Ray)")
    print("same verdicts" if agree else "verdicts DIFFER", "in the same order" if order else "")
    for candidate in only:
        print(f"  tried by one run only (chosen by measured gain): {candidate}")
    headline = {
        "workers": workers,
        "wall_local": round(local.wall, 1),
        "wall_ray": round(on_ray.wall, 1),
        "wall_ratio": round(local.wall / on_ray.wall, 3),
        "cpu_local": round(local.cpu, 1),
        "cpu_ray": round(on_ray.cpu, 1),
        "verdicts_agree": agree,
        "same_order": order,
        "tried_by_one": len(only),
        "decisions_agree": local.decisions == on_ray.decisions,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
