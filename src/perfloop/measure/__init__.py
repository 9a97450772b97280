"""measure: how much faster a candidate is, with an interval a sceptic accepts.

Two A/B measurements: `measure_candidate` times the target function alone on
the recorded calls (micro), `measure_workload` times the user's whole workload
command with candidates in place.

Why our own harness rather than pyperf or timeit: we compare two versions of one
function on the same captured inputs, and that needs things those tools do not
give together: both versions in one process (same interpreter state, same
inputs), paired and interleaved ABBA blocks so machine drift hits both sides
equally, a fresh copy of the inputs per call prepared outside the timed region
(functions mutate their arguments), untrusted code confined to sandboxed
workers, and a decision on the ratio's confidence interval rather than on two
separate means. We keep pyperf's good habits: calibrated loop counts, several
fresh processes, warm-ups, and the method stated next to every number.
"""

from perfloop.measure.micro import measure_candidate
from perfloop.measure.settings import MeasureSettings
from perfloop.measure.whole_workload import WorkloadComparison, measure_workload

__all__ = ["MeasureSettings", "WorkloadComparison", "measure_candidate", "measure_workload"]
