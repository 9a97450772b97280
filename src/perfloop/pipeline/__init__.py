"""The pipeline of `perfloop optimize`: the stages in order, each a call into its package.

profile → targets → capture → (per target: propose → gate → verify → measure → select)
→ merge → whole-workload A/B → patch (+ apply) → report.

    run.py         the order of the stages; `optimize` and `resume`
    context.py     what every stage is handed (settings, project, store, proposers, limits)
    targets.py     profile the workload, choose the targets, read their sources
    candidates.py  one target: propose, gate, verify, measure, select; rules combined
    merge.py       the winners merged per file, kept where they still verify together
    confirm.py     the whole workload original against patched; apply and confirm

These modules only decide what to hand on: the work is done by the stages' packages
(profile, capture, propose, verification, measure, patch, report).
"""

from perfloop.pipeline.run import optimize, resume

__all__ = ["optimize", "resume"]
