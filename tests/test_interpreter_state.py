"""A module that holds the interpreter's own registries under names of its own (`from sys
import modules`, `from os import environ`) does not make them its recorded state.

cbor2 5.6.5's `_encoder` imports `modules` from sys to resolve its deferred encoder types.
As the workload imported more modules, the global looked changed, and every recorded call
of `CBOREncoder.encode_map` carried the workload's whole sys.modules as module state: its
`sitecustomize` (perfloop's start-up hook) loaded in no worker, so the target was
unverifiable; put in place, it would have refilled the worker's sys.modules.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pypi_sdists import cached_sdist, unpacked

import perfloop
from perfloop.results import Decision

BENCH = """
import json  # imported after lib: sys.modules grows
from lib import setting, type_of

print([type_of(name) is not None for name in ("json.JSONDecoder", "collections.deque")])
print(setting("PERFLOOP_NOT_SET"))
"""

TYPE_OF = """
def type_of(name):
    module, _, attribute = name.rpartition(".")
    found = getattr(modules.get(module), attribute, None)
    if found is not None:
        _resolved[name] = found
    return found
"""

LIB = (
    "from os import environ\nfrom sys import modules\n\n_resolved = {}\n\n"
    + TYPE_OF
    + '\n\ndef setting(key):\n    return environ.get(key, "unset")\n'
)

CBOR2_WORKLOAD = """
from datetime import datetime, timezone
from decimal import Decimal

import cbor2

documents = [
    {"id": i, "name": f"item {i}", "tags": [f"t{j}" for j in range(i % 5)],
     "price": Decimal(f"{i}.{i % 100:02d}"), "blob": bytes(range(i % 40)),
     "when": datetime(2020, 1 + i % 12, 1 + i % 28, tzinfo=timezone.utc),
     "children": [{"k": j, "v": [j, str(j)]} for j in range(i % 4)]}
    for i in range(60)
]
print(sum(len(cbor2.loads(cbor2.dumps(document))) for document in documents))
"""

# the method's calls to self.encode through a local, as the hoisting rule writes it
ENCODE_MAP = """
def encode_map(self, value: Mapping[Any, Any]) -> None:
    self.encode_length(5, len(value))
    encode = self.encode
    for key, val in value.items():
        encode(key)
        encode(val)
"""


@pytest.mark.slow
def test_a_module_holding_sys_modules_replays_without_it(make_project) -> None:
    root = make_project({"lib.py": LIB, "bench.py": BENCH})
    result = perfloop.verify(
        "lib:type_of",
        TYPE_OF.replace("found", "value"),  # a renamed local
        root=root,
        workload="python bench.py",
        tiers=("replay",),
        mutants=0,
    )
    assert result.decision is Decision.EQUIVALENT, result.reason
    # the module's own cache is still its state: a rewrite that stops filling it is caught
    forgetful = TYPE_OF.replace("_resolved[name] = found", "pass")
    caught = perfloop.verify(
        "lib:type_of", forgetful, root=root, run=result.run_id, tiers=("replay",), mutants=0
    )
    assert caught.decision is Decision.DIFFERENT, caught.reason
    assert "_resolved" in caught.reason


@pytest.mark.slow
def test_cbor2_encoders_replay(tmp_path: Path) -> None:
    tree = unpacked(cached_sdist("cbor2==5.6.5", "cbor2-5.6.5.tar.gz"), tmp_path)
    (tree / "workload.py").write_text(CBOR2_WORKLOAD, encoding="utf-8")
    result = perfloop.verify(
        "cbor2._encoder:CBOREncoder.encode_map",
        ENCODE_MAP,
        root=tree,
        workload="python workload.py",
        tiers=("replay",),
        mutants=0,
    )
    assert result.decision is Decision.EQUIVALENT, result.reason
    (replay,) = result.verdict.runs  # type: ignore[union-attr]
    assert replay.outcome == "same" and replay.inputs >= 50, replay
